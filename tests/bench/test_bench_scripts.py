"""The benchmarks still run: each script end to end at a tiny size, as the README invokes it
(the numbers are not checked here: they are measured under bench/, never in a test)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_audit_bench_prints_its_ratios(tmp_path: Path) -> None:
    mratrust = Path(sys.executable).with_name("mratrust")
    baseline = str(mratrust) if mratrust.exists() else shutil.which("mratrust")
    assert baseline, "the mratrust command is installed beside the test's Python"
    done = _run(
        "audit_bench.py", "--sizes", "20", "--repeat", "1", "--stages", "--baseline", baseline
    )
    assert done.returncode in (0, 1), done.stderr  # 1: a goal missed at this tiny size
    out = done.stdout
    for fmt in ("text", "json"):
        assert f"mratrust audit --format {fmt}" in out and f"baseline audit --format {fmt}" in out
    assert "ratio wall" in out and "per round:" in out and "stages (one fresh process)" in out
    assert "mratrust --version" in out and "Traceback" not in done.stderr


def test_negative_twin_a_broken_build_stops_the_audit_bench(tmp_path: Path) -> None:
    """A baseline that fails is said in one line and ends the bench: no ratio is made up."""
    broken = tmp_path / "mratrust"
    broken.write_text('#!/bin/sh\necho "broken build" >&2\nexit 3\n', encoding="utf-8")
    broken.chmod(0o755)
    done = _run("audit_bench.py", "--sizes", "20", "--repeat", "1", "--baseline", str(broken))
    assert done.returncode == 1
    assert "exited 3: broken build" in done.stderr and "Traceback" not in done.stderr
    assert "baseline audit --format" not in done.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the probe bench runs openssl s_server")
def test_the_probe_bench_probes_and_checks_its_targets() -> None:
    done = _run(
        "probe_bench.py", "--no-sslyze", "--listeners", "2", "--per-listener", "2", "--repeat", "1"
    )
    assert done.returncode == 0, done.stderr
    assert "(4/4 verified, RSA+ECDSA found on 4" in done.stdout
    assert "mratrust probe    :" in done.stdout and "import mratrust.probe.engine" in done.stdout


@pytest.mark.parametrize(
    ("script", "args", "said"),
    [
        ("audit_bench.py", ["--repeat", "0"], "argument --repeat: '0' is not a whole number"),
        ("audit_bench.py", ["--sizes", "1000,ten"], "argument --sizes: 'ten' is not a whole"),
        ("probe_bench.py", ["--listeners", "0"], "argument --listeners: '0' is not a whole"),
        ("probe_bench.py", ["--listeners", "300"], "argument --listeners: at most 254"),
        ("probe_bench.py", ["--repeat", "-2"], "argument --repeat: '-2' is not a whole"),
    ],
)
def test_negative_twin_bad_arguments_are_one_usage_line(
    script: str, args: list[str], said: str
) -> None:
    done = _run(script, *args)
    assert done.returncode == 2
    assert said in done.stderr and "Traceback" not in done.stderr
