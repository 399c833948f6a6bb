"""A probe leaves no reference cycles behind: every handshake's objects go when it ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from OpenSSL import SSL

from mratrust.probe.client import client_profile
from mratrust.probe.engine import ProbeTarget, probe_endpoints
from mratrust.probe.handshake import _Watch
from mratrust.versions import Version

from .conftest import SServer


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """What the collector finds unreachable while the test runs (kept for inspection)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


def _watches(found: list[object]) -> int:
    return sum(isinstance(o, _Watch) for o in found)


@pytest.mark.openssl
def test_a_probe_run_leaves_no_cycles(
    servers: dict[str, SServer], saved_garbage: list[object]
) -> None:
    reports = probe_endpoints(
        [ProbeTarget.parse(servers["dual"].target)],
        client_profile(Version.parse("X15.3")),
        trust=None,
    )
    assert reports[0].reachable
    del reports
    gc.collect()
    assert _watches(saved_garbage) == 0


def test_negative_twin_a_watch_left_attached_is_a_cycle(saved_garbage: list[object]) -> None:
    conn = SSL.Connection(SSL.Context(SSL.TLS_CLIENT_METHOD), None)
    _Watch(conn)  # never detached: its callback holds it through the bound method
    gc.collect()
    assert _watches(saved_garbage) == 1
    del conn
