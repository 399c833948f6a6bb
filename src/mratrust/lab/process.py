"""Start and stop a lab as a detached background process.

``lab_up`` starts ``python -m mratrust.lab.serve DIR SCENARIO --ttl N`` in its own session,
waits (bounded) for ``DIR/lab.json`` and checks that every port it lists accepts connections.
``lab_down`` sends SIGTERM (then SIGKILL after a bounded wait) and checks the ports are free.
Every failure is a :class:`LabError` with one clear line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import mratrust
from mratrust.errors import LabError
from mratrust.lab.layout import LAB_JSON, LAB_LOG, LAB_SCHEMA, PRIVATE_DIR
from mratrust.lab.scenarios import get_scenario
from mratrust.values import frozen

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
KILL_TIMEOUT = 5.0
STDERR_FILE = "lab.stderr"
_LAB_MARKERS = (STDERR_FILE, LAB_LOG, PRIVATE_DIR)
"""Files only a lab writes: a non-empty folder without any of them is the user's, not a lab's."""

# Popen objects of labs started by this process, so that their exit is reaped (no zombies, no
# "still running" warnings).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@frozen
class LabInfo:
    """A running (or last known) lab."""

    directory: Path
    scenario: str
    pid: int
    host: str
    inventory: Path
    log: Path
    ports: Mapping[str, Mapping[int, int]]
    started_at: datetime
    expires_at: datetime

    @classmethod
    def read(cls, directory: Path) -> LabInfo:
        """Read ``directory/lab.json`` (LabError if missing or malformed)."""
        path = Path(directory) / LAB_JSON
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LabError(f"{directory} holds no lab ({LAB_JSON} not found)") from None
        except (OSError, ValueError) as exc:
            raise LabError(f"{path} cannot be read: {exc}") from None
        try:
            if data.get("schema") != LAB_SCHEMA:
                raise ValueError(f"schema {data.get('schema')!r}, expected {LAB_SCHEMA!r}")
            base = Path(directory)
            return cls(
                directory=base,
                scenario=str(data["scenario"]),
                pid=int(data["pid"]),
                host=str(data["host"]),
                inventory=base / str(data["inventory"]),
                log=base / str(data["log"]),
                ports={
                    str(node): {int(role): int(port) for role, port in ports.items()}
                    for node, ports in data["ports"].items()
                },
                started_at=datetime.fromisoformat(str(data["started_at"])),
                expires_at=datetime.fromisoformat(str(data["expires_at"])),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LabError(f"{path} is not a lab file: {exc}") from None

    def endpoints(self) -> list[tuple[str, int, int]]:
        """``(node, port role, port)`` for every listener."""
        return [
            (node, role, port) for node, ports in self.ports.items() for role, port in ports.items()
        ]


# --------------------------------------------------------------------------- processes


def _reap(pid: int) -> None:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _is_lab_process(pid: int, directory: Path) -> bool:
    """True if ``pid`` is a lab process for ``directory`` (best effort where /proc exists)."""
    if not _alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"mratrust.lab.serve" in args and os.fsencode(str(directory.resolve())) in args


def _running_labs(directory: Path) -> list[int]:
    """Pids of lab processes serving ``directory``, found through /proc (empty elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    found = []
    for entry in proc.iterdir():
        if entry.name.isdigit() and _is_lab_process(int(entry.name), directory):
            found.append(int(entry.name))
    return found


def _listening(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect((host, port))
        except OSError:
            return False
        return True


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[-lines:])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(mratrust.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def lab_up(scenario_id: str, directory: Path | str, *, ttl_seconds: float = 3600) -> LabInfo:
    """Start scenario ``scenario_id`` as a background lab in ``directory``.

    Returns once every listener accepts connections. The lab process stops by itself after
    ``ttl_seconds``. Raises :class:`LabError` for an unknown scenario, a folder that already holds
    a running lab, a TTL that is not positive, or a lab that does not come up in time (with the
    tail of its stderr).
    """
    scenario = get_scenario(scenario_id)
    if ttl_seconds <= 0:
        raise LabError(f"--ttl must be a positive number of seconds (got {ttl_seconds})")
    directory = Path(directory).resolve()
    if directory.exists() and not directory.is_dir():
        raise LabError(f"{directory} is not a folder")
    lab_json = directory / LAB_JSON
    if lab_json.exists():
        try:
            old: LabInfo | None = LabInfo.read(directory)
        except LabError:
            old = None
            live = _running_labs(directory)
            if live:  # lab.json is damaged but its lab still runs: do not start a second one
                raise LabError(
                    f"{directory}/{LAB_JSON} cannot be read, but lab process "
                    f"{', '.join(map(str, live))} still serves this folder; stop it "
                    f"(kill {live[0]}) before starting another lab here"
                ) from None
        if old is not None and _is_lab_process(old.pid, directory):
            raise LabError(
                f"{directory} already holds a running lab (scenario {old.scenario}, "
                f"pid {old.pid}); run `mratrust lab down {directory}` first"
            )
        lab_json.unlink()
    elif (
        directory.is_dir()
        and any(directory.iterdir())
        and not any((directory / marker).exists() for marker in _LAB_MARKERS)
    ):
        # never write over a user's own files (an inventory.yaml, trust-store folders …)
        raise LabError(
            f"{directory} is not empty and holds no lab; give a new or empty folder for the lab"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        stderr_path = directory / STDERR_FILE
        stderr = stderr_path.open("wb")
    except OSError as exc:
        raise LabError(f"{directory}: cannot write the lab folder ({exc.strerror})") from None
    with stderr:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mratrust.lab.serve",
                str(directory),
                scenario.id,
                "--ttl",
                str(ttl_seconds),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=directory,
            env=_child_env(),
            start_new_session=True,
        )
    _CHILDREN[child.pid] = child
    try:
        return _wait_until_up(child, scenario.id, directory, stderr_path)
    except BaseException:
        # Ctrl-C or any failure while waiting: the detached child must not outlive us
        _stop_pid(child.pid)
        raise


def _wait_until_up(
    child: subprocess.Popen[bytes], scenario_id: str, directory: Path, stderr_path: Path
) -> LabInfo:
    """Wait (bounded) for lab.json and for every port it lists to accept connections."""
    lab_json = directory / LAB_JSON
    deadline = time.monotonic() + START_TIMEOUT
    info: LabInfo | None = None
    while time.monotonic() < deadline:
        code = child.poll()
        if code is not None:
            _CHILDREN.pop(child.pid, None)
            raise LabError(
                f"the lab process for {scenario_id} exited with code {code}: "
                f"{_tail(stderr_path) or 'no error output'}"
            )
        if lab_json.exists():
            info = LabInfo.read(directory)
            break
        time.sleep(0.05)
    if info is None:
        raise LabError(
            f"the lab for {scenario_id} did not start within {START_TIMEOUT:.0f} s: "
            f"{_tail(stderr_path) or 'no error output'}"
        )
    down = [f"{n}:{r}" for n, r, p in info.endpoints() if not _listening(info.host, p)]
    if down:
        raise LabError(f"the lab for {scenario_id} started but not listening on {', '.join(down)}")
    return info


def _stop_pid(pid: int) -> bool:
    """SIGTERM, bounded wait, SIGKILL, bounded wait; True if the process is gone."""
    for sig, timeout in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, KILL_TIMEOUT)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        child = _CHILDREN.get(pid)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if not _alive(pid):
            _CHILDREN.pop(pid, None)
            return True
    return False


def lab_down(directory: Path | str) -> LabInfo | None:
    """Stop the lab in ``directory`` and check that its ports are free; returns what it was.

    A lab whose process already ended (TTL) is cleaned up the same way; a lab folder whose lab was
    already stopped (no ``lab.json`` left, nothing serving it) returns None, so stopping twice is
    harmless. Raises :class:`LabError` if ``directory`` never held a lab, the process cannot be
    stopped, or a port is still listening afterwards.
    """
    directory = Path(directory).resolve()
    if (
        not (directory / LAB_JSON).exists()
        and directory.is_dir()
        and any((directory / marker).exists() for marker in _LAB_MARKERS)
    ):
        live = _running_labs(directory)
        if live:
            raise LabError(
                f"{directory}/{LAB_JSON} is gone, but lab process {', '.join(map(str, live))} "
                f"still serves this folder; stop it with kill {live[0]}"
            )
        return None
    info = LabInfo.read(directory)
    if _is_lab_process(info.pid, directory) and not _stop_pid(info.pid):
        raise LabError(f"the lab process {info.pid} in {directory} could not be stopped")
    deadline = time.monotonic() + STOP_TIMEOUT
    busy = [f"{n}:{r}" for n, r, p in info.endpoints() if _listening(info.host, p)]
    while busy and time.monotonic() < deadline:
        time.sleep(0.05)
        busy = [f"{n}:{r}" for n, r, p in info.endpoints() if _listening(info.host, p)]
    if busy:
        raise LabError(f"lab stopped but ports still listen: {', '.join(busy)}")
    with contextlib.suppress(FileNotFoundError):
        (directory / LAB_JSON).unlink()
    return info


def lab_status(directory: Path | str) -> tuple[LabInfo, bool]:
    """The lab of ``directory`` and whether its process is running."""
    directory = Path(directory).resolve()
    info = LabInfo.read(directory)
    return info, _is_lab_process(info.pid, directory)
