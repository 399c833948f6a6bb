"""What an offline audit loads before it evaluates anything: no pydantic plugin scan when run as a
command, no JSON encoder for a text report, no class for live handshakes it does not make."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Dir = Callable[[str], Path]

# runs the audit in a fresh interpreter, as a command (main()) or as a library call (main(argv)),
# and prints what pydantic's plugin loader did and which modules were loaded; a command ends
# with os._exit, so the report is printed from there
_SCRIPT = """
import os, sys
import mratrust.cli as cli

def report(code):
    from pydantic.plugin import _loader
    print("plugins", "scanned" if _loader._plugins is not None else "not-scanned")
    print("env", os.environ.get("PYDANTIC_DISABLE_PLUGINS"))
    print("modules", " ".join(sorted(sys.modules)))
    sys.stdout.flush()
    os._exit(code)

cli._exit_now = report
args = sys.argv[2:]
if sys.argv[1] == "command":
    sys.argv = ["mratrust", *args]
    cli.main()
else:
    report(cli.main(args))
"""


def _run(how: str, args: list[str], env_value: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if env_value is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = env_value
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, how, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def _audit(scenario_dir: Dir, tmp_path: Path, fmt: str) -> list[str]:
    inv = str(scenario_dir("B0") / "inventory.yaml")
    return ["audit", inv, "--format", fmt, "--now", "2026-11-29", "-o", str(tmp_path / "r")]


def test_a_command_skips_the_pydantic_plugin_scan(scenario_dir: Dir, tmp_path: Path) -> None:
    seen = _run("command", _audit(scenario_dir, tmp_path, "text"))
    assert seen["plugins"] == "not-scanned"
    assert seen["env"] == "__all__"
    assert (tmp_path / "r").read_text(encoding="utf-8").rstrip().splitlines()[-1].startswith(
        "Summary: "
    )


def test_a_library_call_leaves_pydantic_plugins_alone(scenario_dir: Dir, tmp_path: Path) -> None:
    seen = _run("library", _audit(scenario_dir, tmp_path, "text"))
    assert seen["plugins"] == "scanned"
    assert seen["env"] == "None"


def test_a_users_own_plugin_setting_is_kept(scenario_dir: Dir, tmp_path: Path) -> None:
    seen = _run("command", _audit(scenario_dir, tmp_path, "text"), env_value="some_plugin")
    assert seen["env"] == "some_plugin"
    assert seen["plugins"] == "scanned"  # a named plugin is disabled, the others are looked up


@pytest.mark.parametrize(("fmt", "loads_json"), [("text", False), ("json", True)])
def test_a_text_audit_loads_no_json_encoder(
    scenario_dir: Dir, tmp_path: Path, fmt: str, loads_json: bool
) -> None:
    modules = set(_run("command", _audit(scenario_dir, tmp_path, fmt))["modules"].split())
    assert "mratrust.audit" in modules
    assert ("json" in modules) is loads_json


def test_an_offline_audit_builds_no_class_for_live_handshakes(
    scenario_dir: Dir, tmp_path: Path
) -> None:
    offline = set(_run("command", _audit(scenario_dir, tmp_path, "text"))["modules"].split())
    assert "mratrust.rules.observed" in offline
    assert "mratrust.observation" not in offline
    from mratrust import probe_audit
    from mratrust.observation import Observed

    assert probe_audit.Observed is Observed  # what --probe records its handshakes with
