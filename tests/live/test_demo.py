"""``mratrust demo`` end to end: two labs on loopback, live audits, the kit, labs stopped."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

from mratrust.demo import run_demo


def _lab_processes() -> set[int]:
    """The demo labs this test process started (other runs on the machine are not ours)."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True, timeout=30)
    ours = str(os.getpid())
    return {
        int(fields[0])
        for line in out.stdout.splitlines()[1:]
        if len(fields := line.split(None, 2)) == 3
        and fields[1] == ours
        and "mratrust.lab.serve" in fields[2]
        and "mratrust-demo-" in fields[2]
    }


def test_demo_runs_as_designed() -> None:
    before = _lab_processes()
    out = io.StringIO()
    assert run_demo(out=out) == 0
    text = out.getvalue()
    for step in ("1/4", "2/4", "3/4", "4/4", "done"):
        assert f"=== {step}" in text
    assert "clean, as expected" in text
    assert re.search(r"collected \S+collected-F01/inventory.yaml in [\d.]+ s", text)
    assert re.search(r"CUCM sent unknown_ca on [1-9]\d* handshakes", text)
    assert "utils service restart Cisco Tomcat" in text
    assert "PRIVATE KEY" not in text
    assert _lab_processes() <= before  # both labs stopped


def test_demo_from_the_command_line() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mratrust", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "\x1b[" not in done.stdout  # plain when piped
    assert "labs stopped" in done.stdout
