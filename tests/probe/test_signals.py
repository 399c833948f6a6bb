"""Ctrl-C reaches the main thread: the probe's worker threads block SIGINT and SIGTERM.

The kernel hands a process's signal to any thread that does not block it; a worker that took
SIGINT would leave the main thread waiting out its timeout. These tests read each thread's
blocked-signal mask from /proc while a real probe waits on a server that never answers.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from mratrust.probe.engine import ProbeTarget, probe_endpoints
from mratrust.probe.handshake import Timeouts
from mratrust.threads import leave_signals_to_main

from .test_handshakes import profile

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads thread masks from /proc"
)


def _blocked(native_id: int) -> set[int]:
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    mask = int(next(ln for ln in status.splitlines() if ln.startswith("SigBlk:")).split()[1], 16)
    return {n for n in (signal.SIGINT, signal.SIGTERM) if mask >> (n - 1) & 1}


def test_probe_workers_leave_ctrl_c_to_the_main_thread() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    seen: dict[str, set[int]] = {}
    run = threading.Thread(
        target=probe_endpoints,
        args=([ProbeTarget.parse(f"cucm-pub.example.com:{port}{{127.0.0.1}}")], profile()),
        kwargs={"trust": None, "timeouts": Timeouts(connect=2, handshake=3, read=1, overall=4)},
        daemon=True,
    )
    held = []
    try:
        run.start()
        listener.settimeout(5)
        held.append(listener.accept()[0])  # a worker is now in its handshake, waiting
        for _ in range(50):  # bounded: the pool thread is already there
            workers = [t for t in threading.enumerate() if t.name.startswith("mratrust-probe")]
            if workers:
                break
            time.sleep(0.05)
        assert workers, "no probe worker thread"
        for t in workers:
            assert t.native_id is not None
            seen[t.name] = _blocked(t.native_id)
        seen["main"] = _blocked(threading.main_thread().native_id or 0)
    finally:
        for c in held:
            c.close()
        listener.close()
        run.join(timeout=10)
    assert all(v == {signal.SIGINT, signal.SIGTERM} for k, v in seen.items() if k != "main"), seen
    assert seen["main"] == set(), seen  # the negative twin: the main thread still takes them


def test_a_thread_started_by_a_worker_inherits_the_mask_and_others_do_not() -> None:
    got: dict[str, set[int]] = {}

    def inner() -> None:
        got["inner"] = _blocked(threading.get_native_id())

    def worker() -> None:
        leave_signals_to_main()
        got["worker"] = _blocked(threading.get_native_id())
        child = threading.Thread(target=inner)  # as the probe's name resolver is started
        child.start()
        child.join(timeout=5)

    def plain() -> None:
        got["plain"] = _blocked(threading.get_native_id())

    for fn in (worker, plain):
        t = threading.Thread(target=fn)
        t.start()
        t.join(timeout=5)
    assert got["worker"] == got["inner"] == {signal.SIGINT, signal.SIGTERM}
    assert got["plain"] == set()
