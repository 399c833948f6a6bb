"""Servers that misbehave on purpose: the probe classifies them and never hangs."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mratrust.lab import pkigen as pg
from mratrust.probe.cli import main
from mratrust.probe.client import client_profile
from mratrust.probe.engine import EndpointReport, ProbeTarget, exit_code, probe_endpoints
from mratrust.probe.handshake import Phase, Timeouts
from mratrust.probe.outcome import Outcome
from mratrust.textsafe import escape_control
from mratrust.versions import Version

from .conftest import (
    LOOPBACK,
    NODE,
    NOW,
    Pki,
    RawServer,
    SServer,
    drip,
    free_port,
    garbage,
    huge_chain,
    reset,
    silent,
    start_s_server,
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


# --------------------------------------------------------------------------- hostile names

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m"
"""Clears the screen, sets the window title, rings the bell; then a C1 CSI."""


def _no_control(output: str) -> None:
    raw = output.encode()
    assert b"\x1b" not in raw and b"\x07" not in raw
    assert "\x9b" not in output and b"\x9b" not in output.encode("latin-1", "replace")


@pytest.fixture(scope="module")
def hostile_server(
    pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SServer, Path]]:
    """``openssl s_server`` whose certificate, issuer and client CA names are hostile."""
    d = tmp_path_factory.mktemp("hostile")
    ca = pg.make_ca("CA " + HOSTILE, now=NOW)
    leaf = pg.make_leaf(HOSTILE + "\nforged line", now=NOW, issuer=ca, san=(NODE,))
    cert = pg.write_certs(d / "leaf.pem", [leaf.cert])
    key = pg.write_key(d / "leaf.key", leaf.key)
    ca_pem = pg.write_certs(d / "ca.pem", [ca.cert])
    server = start_s_server(
        "-cert", str(cert), "-key", str(key), "-CAfile", str(ca_pem), "-verify", "1"
    )
    try:
        yield server, ca_pem
    finally:
        server.stop()


@pytest.mark.openssl
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_hostile_names_reach_no_output_raw(
    capsys: pytest.CaptureFixture[str],
    hostile_server: tuple[SServer, Path],
    pki: Pki,
    fmt: str,
) -> None:
    server, ca_pem = hostile_server
    code = main(
        [
            "probe",
            server.target,
            "--trust",
            str(ca_pem),
            "--client-cert",
            str(pki.expc_pem),
            "--client-key",
            str(pki.expc_key),
            "--format",
            fmt,
            "--default-only",
        ]
    )
    out, err = capsys.readouterr()
    _no_control(out)
    _no_control(err)
    # the names are shown, escaped, not dropped; the embedded newline forges no line
    shown = "CN=\\x1b[2J\\x1b]0\\;pwned\\x07\\x9b31m\\x0aforged line"
    assert "\nforged line" not in out
    if fmt == "json":
        doc = json.loads(out)
        subject = doc["endpoints"][0]["identities"][0]["chain"][0]["subject"]
        assert subject == shown
        names = doc["endpoints"][0]["default"]["client_certificate"]["ca_names"]
        assert names and "\x1b" not in names[0] and "\\x1b" in names[0]
    else:
        assert f"subject:    {shown}" in out
        assert "CA names accepted: CN=CA \\x1b[2J" in out
    assert code == 0  # the hostile CA is trusted and the SAN names the node: it verifies


def test_negative_twin_plain_names_are_unchanged() -> None:
    plain = "CN=cucm-pub.example.com,O=Exämple Corp 日本"
    assert escape_control(plain) == plain
    assert escape_control(HOSTILE) == "\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m"
    assert escape_control("a\tb\nc\x7f") == "a\\x09b\\x0ac\\x7f"
