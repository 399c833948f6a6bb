"""Servers that misbehave on purpose: the probe classifies them and never hangs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from mratrust.probe.client import client_profile
from mratrust.probe.engine import EndpointReport, ProbeTarget, exit_code, probe_endpoints
from mratrust.probe.handshake import Phase, Timeouts
from mratrust.probe.outcome import Outcome
from mratrust.versions import Version

from .conftest import (
    LOOPBACK,
    NODE,
    RawServer,
    SServer,
    drip,
    free_port,
    garbage,
    huge_chain,
    reset,
    silent,
)

Behave = Callable[[socket.socket, threading.Event], None]
MakeServer = Callable[[Behave], RawServer]

FAST = Timeouts(connect=1.0, handshake=0.5, read=0.5, overall=10)
SLACK = 1.5
"""Scheduling slack on a busy CI machine, on top of the configured limit."""


def probe_port(port: int, timeouts: Timeouts = FAST) -> tuple[EndpointReport, float]:
    start = time.monotonic()
    (report,) = probe_endpoints(
        [ProbeTarget.parse(f"{NODE}:{port}{{{LOOPBACK}}}")],
        client_profile(Version.parse("X15.3")),
        trust=None,
        timeouts=timeouts,
    )
    return report, time.monotonic() - start


def test_silent_server_times_out_within_the_bound(raw_server: MakeServer) -> None:
    server = raw_server(silent)
    report, took = probe_port(server.port)
    assert report.default.outcome is Outcome.TIMEOUT
    assert report.default.handshake.phase is Phase.HANDSHAKE
    assert took < FAST.handshake + SLACK
    assert all(o.outcome is Outcome.SKIPPED for o in report.observations[1:])
    assert "no answer in time" in report.default.message
    assert exit_code([report]) == 3


@pytest.mark.openssl
def test_negative_twin_a_speaking_server_does_not_time_out(servers: dict[str, SServer]) -> None:
    report, took = probe_port(servers["dual"].port)
    assert report.default.outcome is Outcome.OK
    assert took < FAST.handshake + SLACK


def test_dripping_server_times_out_within_the_bound(raw_server: MakeServer) -> None:
    server = raw_server(drip)
    report, took = probe_port(server.port)
    assert report.default.outcome is Outcome.TIMEOUT
    assert took < FAST.handshake + SLACK


def test_garbage_is_not_tls(raw_server: MakeServer) -> None:
    server = raw_server(garbage)
    report, _ = probe_port(server.port)
    assert report.default.outcome is Outcome.NOT_TLS
    assert "does not speak TLS" in report.default.message
    assert report.default.log_lines[0].startswith(f"ERROR: SSL connection failed for '{NODE}': ")
    assert exit_code([report]) == 3


@pytest.mark.openssl
def test_negative_twin_tls_is_tls(servers: dict[str, SServer]) -> None:
    report, _ = probe_port(servers["dual"].port)
    assert report.default.outcome is not Outcome.NOT_TLS
    assert report.default.handshake.completed


def test_closed_port_is_refused() -> None:
    report, took = probe_port(free_port())
    assert report.default.outcome is Outcome.REFUSED
    assert report.default.handshake.phase is Phase.CONNECT
    assert "nothing listens" in report.default.message
    assert took < FAST.connect + SLACK


def test_negative_twin_open_port_is_not_refused(raw_server: MakeServer) -> None:
    server = raw_server(garbage)
    report, _ = probe_port(server.port)
    assert report.default.outcome is not Outcome.REFUSED


def test_reset_during_the_handshake(raw_server: MakeServer) -> None:
    server = raw_server(reset)
    report, _ = probe_port(server.port)
    assert report.default.outcome is Outcome.RESET
    assert exit_code([report]) == 3


def test_endless_certificate_message_stops(raw_server: MakeServer) -> None:
    server = raw_server(huge_chain)
    report, took = probe_port(server.port)
    assert report.default.outcome in (Outcome.TLS_ERROR, Outcome.TIMEOUT)
    assert took < FAST.handshake + SLACK
    if report.default.outcome is Outcome.TLS_ERROR:
        assert "excessive message size" in (report.default.handshake.detail or "")


def test_overall_deadline_bounds_a_whole_run(raw_server: MakeServer) -> None:
    server = raw_server(silent)
    limits = Timeouts(connect=1.0, handshake=5.0, read=0.5, overall=1.0)
    targets = [
        ProbeTarget.parse(f"n{i}.example.com:{server.port}{{{LOOPBACK}}}") for i in range(12)
    ]
    start = time.monotonic()
    reports = probe_endpoints(
        targets,
        client_profile(Version.parse("X15.3")),
        trust=None,
        timeouts=limits,
        workers=4,
        per_host=2,
    )
    took = time.monotonic() - start
    assert took < limits.overall + SLACK
    assert [r.target.host for r in reports] == [t.host for t in targets]
    assert all(r.default.outcome is Outcome.TIMEOUT for r in reports)
    # most of them never got a connection slot before the deadline
    assert any(r.default.handshake.phase is Phase.QUEUE for r in reports)
