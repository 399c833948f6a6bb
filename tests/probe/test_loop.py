"""One thread drives every handshake of a run: they overlap up to ``workers``, at most
``per_host`` to one address, and none starts after the run's deadline.

The servers are silent: the client holds each connection for its whole handshake limit, so the
connections that arrive together were open together. Each positive case has its twin with a
tighter limit.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from mratrust.probe.client import client_profile
from mratrust.probe.engine import ProbeTarget, probe_endpoints
from mratrust.probe.handshake import Phase, Timeouts
from mratrust.probe.outcome import Outcome
from mratrust.versions import Version

from .conftest import LOOPBACK, NODE, RawServer

LIMITS = Timeouts(connect=1.0, handshake=0.6, read=0.5, overall=20)


class OpenCount:
    """Behaviour of a silent server that records when each connection came and how many are
    still open (until the client closes them)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.came: list[float] = []

    @property
    def total(self) -> int:
        return len(self.came)

    @property
    def most(self) -> int:
        """The most connections that came within half a handshake limit of each other: the
        client holds each one for a whole limit, so those were open at the same time (counted
        by arrival, not by close, which the server may see a moment late)."""
        window = LIMITS.handshake / 2
        return max((sum(1 for t in self.came if s <= t < s + window) for s in self.came), default=0)

    def __call__(self, conn: socket.socket, stop: threading.Event) -> None:
        with self.lock:
            self.open += 1
            self.came.append(time.monotonic())
        try:
            conn.settimeout(10)
            while not stop.is_set() and conn.recv(4096):  # the ClientHello, then the client's close
                pass
        finally:
            with self.lock:
                self.open -= 1


def _probe(port: int, count: int, *, workers: int, per_host: int) -> tuple[float, list[Phase]]:
    targets = [ProbeTarget.parse(f"n{i}.{NODE}:{port}{{{LOOPBACK}}}") for i in range(count)]
    start = time.monotonic()
    reports = probe_endpoints(
        targets,
        client_profile(Version.parse("X15.3")),
        trust=None,
        timeouts=LIMITS,
        workers=workers,
        per_host=per_host,
    )
    took = time.monotonic() - start
    assert [r.target.host for r in reports] == [t.host for t in targets]
    assert all(r.default.outcome is Outcome.TIMEOUT for r in reports)
    return took, [r.default.handshake.phase for r in reports if r.default.handshake.phase]


MakeServer = Callable[[Callable[[socket.socket, threading.Event], None]], RawServer]


def test_handshakes_overlap_up_to_the_worker_limit(raw_server: MakeServer) -> None:
    counter = OpenCount()
    server = raw_server(counter)
    took, phases = _probe(server.port, 4, workers=4, per_host=4)
    assert counter.total == 4 and counter.most == 4  # all four waited at the same time
    assert phases == [Phase.HANDSHAKE] * 4
    assert took < 3 * LIMITS.handshake  # one wave, not four


def test_negative_twin_one_worker_makes_them_one_after_the_other(raw_server: MakeServer) -> None:
    counter = OpenCount()
    server = raw_server(counter)
    took, _ = _probe(server.port, 4, workers=1, per_host=4)
    assert counter.total == 4 and counter.most == 1
    assert took >= 4 * LIMITS.handshake


def test_per_host_limit_holds_under_many_workers(raw_server: MakeServer) -> None:
    counter = OpenCount()
    server = raw_server(counter)
    _probe(server.port, 4, workers=8, per_host=2)
    assert counter.total == 4 and counter.most == 2


def test_nothing_starts_after_the_run_deadline(raw_server: MakeServer) -> None:
    counter = OpenCount()
    server = raw_server(counter)
    targets = [ProbeTarget.parse(f"n{i}.{NODE}:{server.port}{{{LOOPBACK}}}") for i in range(6)]
    limits = Timeouts(connect=1.0, handshake=5.0, read=0.5, overall=0.8)
    reports = probe_endpoints(
        targets,
        client_profile(Version.parse("X15.3")),
        trust=None,
        timeouts=limits,
        workers=2,
        per_host=2,
    )
    phases = [r.default.handshake.phase for r in reports]
    assert counter.total == 2  # the two in flight at the deadline, no one after it
    assert phases.count(Phase.QUEUE) == 4
    queued = [r.default.handshake.detail or "" for r in reports[2:]]
    assert all("before a connection slot was free" in d for d in queued), queued


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_must_be_positive(workers: int) -> None:
    from mratrust.errors import InputError

    with pytest.raises(InputError, match="at least 1"):
        probe_endpoints([], client_profile(Version.parse("X15.3")), trust=None, workers=workers)


@pytest.mark.parametrize("broken", [True, False])
def test_a_step_that_raises_is_reported_and_the_run_goes_on(
    raw_server: MakeServer, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    """A bug in one handshake's steps (here: reading the chain raises once) becomes that
    handshake's TLS error; its socket is closed and every other handshake still ends normally."""
    import mratrust.probe.handshake as hs_module

    real = hs_module._peer_chain
    calls = {"n": 0}

    def first_one_breaks(conn: Any, *rest: Any) -> Any:
        calls["n"] += 1
        if broken and calls["n"] == 1:
            raise RuntimeError("a bug in the chain reader")
        return real(conn, *rest)

    monkeypatch.setattr(hs_module, "_peer_chain", first_one_breaks)
    counter = OpenCount()
    server = raw_server(counter)
    targets = [ProbeTarget.parse(f"n{i}.{NODE}:{server.port}{{{LOOPBACK}}}") for i in range(3)]
    reports = probe_endpoints(
        targets, client_profile(Version.parse("X15.3")), trust=None, timeouts=LIMITS, workers=3
    )
    outcomes = [r.default.outcome for r in reports]
    details = [r.default.handshake.detail or "" for r in reports]
    if broken:
        assert sorted(o.value for o in outcomes) == sorted(
            [Outcome.TLS_ERROR.value, Outcome.TIMEOUT.value, Outcome.TIMEOUT.value]
        )
        assert sum("RuntimeError: a bug in the chain reader" in d for d in details) == 1
    else:
        assert outcomes == [Outcome.TIMEOUT] * 3
        assert not any("RuntimeError" in d for d in details)
    for _ in range(50):  # bounded: the server sees every client close within a moment
        if counter.open == 0:
            break
        time.sleep(0.05)
    # a TLS error on the default offer does not skip the forced ones: four more connections
    assert counter.total == (3 + 4 if broken else 3) and counter.open == 0
