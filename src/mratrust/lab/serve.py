"""The lab process: ``python -m mratrust.lab.serve DIR SCENARIO [--ttl SECONDS]``.

Generates the scenario, starts every listener on 127.0.0.1, writes ``DIR/inventory.yaml`` (with
``probe:`` entries pointing at the listeners) and then ``DIR/lab.json`` (the readiness signal:
pid, ports, expiry), serves until SIGTERM/SIGINT or until the TTL runs out, and exits after
closing every socket. Started by :func:`mratrust.lab.process.lab_up`; not meant to be run by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from mratrust.errors import MratrustError
from mratrust.lab.layout import LAB_JSON, LAB_LOG, LAB_SCHEMA, PRIVATE_DIR
from mratrust.lab.mgmt import MGMT_LOG, MgmtServer, write_collect_files
from mratrust.lab.scenarios import build_scenario, write_material
from mratrust.lab.servers import LabServers


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to a temporary file and rename it into place."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stop_waiter() -> Callable[[float], None]:
    """Prepare for SIGTERM/SIGINT and return ``wait(seconds)``, which returns on either or after
    ``seconds``.

    Where possible the signals are blocked in every thread (threads started later inherit the
    mask) and taken synchronously with ``sigtimedwait``: a Python handler only runs when the
    kernel happens to deliver the signal to the main thread, and may otherwise wait for the
    whole TTL. Elsewhere a handler sets an event that the main thread polls.
    """
    if hasattr(signal, "pthread_sigmask") and hasattr(signal, "sigtimedwait"):
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

        def wait_signal(seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                if signal.sigtimedwait(STOP_SIGNALS, left) is not None:
                    return

        return wait_signal
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)

    def wait_event(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            stop.wait(timeout=min(left, 0.5))

    return wait_event


def serve(directory: Path, scenario_id: str, *, ttl_seconds: float) -> int:
    """Run the lab in this process until stopped or expired; 0 on a clean stop."""
    directory = directory.resolve()
    wait_for_stop = _stop_waiter()
    material = build_scenario(scenario_id)
    private = directory / PRIVATE_DIR
    private.mkdir(parents=True, exist_ok=True, mode=0o700)
    servers = LabServers(material, private, log_path=directory / LAB_LOG)
    servers.start()
    mgmt = MgmtServer(material, private, log_path=directory / MGMT_LOG)  # what collect reads
    try:
        mgmt.start()
        inventory = write_material(material, directory, probe=servers.probe_targets())
        write_collect_files(mgmt, directory, servers.probe_targets())
        started = datetime.now(UTC)
        expires = started + timedelta(seconds=ttl_seconds)
        write_json_atomically(
            directory / LAB_JSON,
            {
                "schema": LAB_SCHEMA,
                "pid": os.getpid(),
                "scenario": material.info.id,
                "directory": str(directory),
                "host": servers.host,
                "inventory": inventory.name,
                "log": LAB_LOG,
                "started_at": started.isoformat(timespec="seconds"),
                "expires_at": expires.isoformat(timespec="seconds"),
                "ports": {
                    node: {str(role): port for role, port in ports.items()}
                    for node, ports in servers.ports.items()
                },
            },
        )
        wait_for_stop(ttl_seconds)
    finally:
        mgmt.close()
        servers.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the lab process."""
    parser = argparse.ArgumentParser(prog="python -m mratrust.lab.serve")
    parser.add_argument("directory", type=Path)
    parser.add_argument("scenario")
    parser.add_argument("--ttl", type=float, default=3600.0)
    args = parser.parse_args(argv)
    try:
        return serve(args.directory, args.scenario, ttl_seconds=args.ttl)
    except MratrustError as exc:
        print(f"mratrust lab: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the folder or a file in it cannot be written
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"mratrust lab: cannot write the lab files{where}: {exc.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
