"""Ctrl-C reaches the main thread and ends a probe at once.

The probe drives its handshakes from the calling thread; the only threads it starts are name
resolvers, and they block SIGINT and SIGTERM: the kernel hands a process's signal to any thread
that does not block it, and a thread that took SIGINT would leave the main thread waiting out its
timeout. These tests read each thread's blocked-signal mask from /proc, and send a real SIGINT to
a real probe that waits on a server that never answers.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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


def test_the_name_resolver_leaves_ctrl_c_to_the_main_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    seen: dict[str, set[int]] = {}
    real = socket.getaddrinfo

    def watched(*args: Any, **kw: Any) -> Any:  # the real resolver, and who called it
        seen[threading.current_thread().name] = _blocked(threading.get_native_id())
        return real(*args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", watched)
    try:
        probe_endpoints(
            [ProbeTarget.parse(f"cucm-pub.example.com:{port}{{localhost}}")],
            profile(),
            trust=None,
            timeouts=Timeouts(connect=2, handshake=0.3, read=0.3, overall=4),
        )
    finally:
        listener.close()
    assert seen == {"mratrust-resolve": {signal.SIGINT, signal.SIGTERM}}, seen
    # the negative twin: the main thread, which drives the handshakes, still takes them
    assert _blocked(threading.main_thread().native_id or 0) == set()


def _probe_waiting_on_a_silent_server() -> tuple[subprocess.Popen[str], socket.socket, list[Any]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(30)
    port = listener.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mratrust",
            "probe",
            f"cucm-pub.example.com:{port}{{127.0.0.1}}",
            "--timeout",
            "60",
            "--deadline",
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, listener, [listener.accept()[0]]  # the handshake has started and now waits


@pytest.mark.parametrize("interrupt", [True, False])
def test_ctrl_c_ends_a_waiting_probe_at_once(interrupt: bool) -> None:
    proc, listener, held = _probe_waiting_on_a_silent_server()
    try:
        if interrupt:
            proc.send_signal(signal.SIGINT)
        start = time.monotonic()
        try:
            out, err = proc.communicate(timeout=3)
        except subprocess.TimeoutExpired:
            out, err = "", None
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for s in (*held, listener):
            s.close()
    if interrupt:
        assert err is not None and took < 3, "Ctrl-C did not end the probe"
        assert proc.returncode == 130 and "mratrust: interrupted" in err and out == ""
    else:  # the negative twin: without the signal the probe is still waiting on its handshake
        assert err is None, err


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


# ---------------------------------------------- a Ctrl-C while OpenSSL runs the info callback


def _handshake_interrupted_in_the_callback(
    server: Any, monkeypatch: pytest.MonkeyPatch, *, interrupt: bool
) -> Any:
    """One handshake to ``server`` in which, when requested, a real SIGINT reaches this process
    while OpenSSL is inside the info callback (the first time a state is classified)."""
    import os

    from mratrust.probe import handshake as hs
    from mratrust.probe.client import Variant, build_offers, client_profile
    from mratrust.versions import Version

    from .conftest import NODE

    real = hs._state_kind
    sent: list[bytes] = []

    def classify(name: bytes) -> int:
        if interrupt and not sent:
            sent.append(name)
            os.kill(os.getpid(), signal.SIGINT)  # handled at the next bytecode: in here
        return real(name)

    monkeypatch.setattr(hs, "_state_kind", classify)
    monkeypatch.setattr(hs, "_STATE_KIND", {})  # every state classified again, in this test
    offer = build_offers(client_profile(Version.parse("X15.3")))[Variant.DEFAULT]
    result = hs.handshake(
        "127.0.0.1",
        server.port,
        offer=offer,
        server_name=NODE,
        timeouts=Timeouts(handshake=10),
        deadline=time.monotonic() + 20,
    )
    assert sent or not interrupt
    return result


def test_ctrl_c_inside_openssls_callback_ends_the_handshake(
    servers: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """cffi cannot pass an exception through OpenSSL: left to it, the KeyboardInterrupt would be
    printed and dropped, and the probe would wait out its handshake's time limit."""
    with pytest.raises(KeyboardInterrupt):
        _handshake_interrupted_in_the_callback(servers["dual"], monkeypatch, interrupt=True)
    assert "From cffi callback" not in capfd.readouterr().err


def test_negative_twin_the_same_handshake_without_ctrl_c_completes(
    servers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _handshake_interrupted_in_the_callback(servers["dual"], monkeypatch, interrupt=False)
    assert result.completed and result.failure is None
