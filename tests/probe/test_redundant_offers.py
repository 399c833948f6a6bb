"""No handshake whose answer is already known, counted on the wire.

A connection-counting relay sits in front of real ``openssl s_server`` processes: the number of
TCP connections the probe opens is what the server sees, not what the report claims.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from mratrust.pki.facts import KeyType
from mratrust.pki.verify import TrustStore
from mratrust.probe.client import Variant, build_offers, client_profile, sigalgs_supported
from mratrust.probe.engine import EndpointReport, ProbeTarget, Service, probe_endpoints
from mratrust.probe.handshake import Timeouts, handshake
from mratrust.probe.outcome import Outcome
from mratrust.topology import EndpointKind, Purpose, row_for
from mratrust.versions import Version

from .conftest import LOOPBACK, NODE, Pki, SServer, start_s_server

pytestmark = [
    pytest.mark.openssl,
    pytest.mark.skipif(
        not sigalgs_supported(), reason="pyOpenSSL bindings lack SSL_CTX_set1_sigalgs_list"
    ),
]

TIMEOUTS = Timeouts(connect=3, handshake=5, read=1, overall=30)
HTTPS = Service.of_row(row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, Purpose.HTTPS))
SIP = Service.of_row(row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, Purpose.SIP))
PIPE_LIMIT = 10.0
"""Seconds one relayed connection may last."""


class CountingRelay:
    """127.0.0.1:port forwarding every connection to ``upstream``, counting them."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.sock = socket.create_server((LOOPBACK, 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.count = 0
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            t = threading.Thread(target=self._pipe, args=(client,), daemon=True)
            t.start()
            self.threads.append(t)

    def _pipe(self, client: socket.socket) -> None:
        with client, socket.create_connection((LOOPBACK, self.upstream), timeout=3) as server:
            ends = {client: server, server: client}
            until = time.monotonic() + PIPE_LIMIT
            while not self.stopping.is_set() and time.monotonic() < until:
                ready, _, _ = select.select(list(ends), [], [], 0.2)
                for src in ready:
                    try:
                        data = src.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return
                    with contextlib.suppress(OSError):
                        ends[src].sendall(data)

    def target(self) -> str:
        return f"{NODE}:{self.port}{{{LOOPBACK}}}"

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()
        self.acceptor.join(timeout=5)
        for t in self.threads:
            t.join(timeout=5)


@pytest.fixture(scope="module")
def peers(pki: Pki) -> Iterator[dict[str, SServer]]:
    """s_server flavours for these tests: both identities with the client's order, both with the
    server's own order (``-serverpref``), and one identity of each type alone."""
    rsa = ("-cert", str(pki.rsa_pem), "-key", str(pki.rsa_key), "-cert_chain", str(pki.inter_pem))
    chain = str(pki.inter_pem)
    ecdsa = ("-dcert", str(pki.ec_pem), "-dkey", str(pki.ec_key), "-dcert_chain", chain)
    ecdsa_alone = ("-cert", str(pki.ec_pem), "-key", str(pki.ec_key), "-cert_chain", chain)
    running: dict[str, SServer] = {}
    try:
        running["dual"] = start_s_server(*rsa, *ecdsa)
        running["dual_serverpref"] = start_s_server(*rsa, *ecdsa, "-serverpref")
        running["rsa_only"] = start_s_server(*rsa)
        running["ecdsa_only"] = start_s_server(*ecdsa_alone)
        yield running
    finally:
        for server in running.values():
            server.stop()


@pytest.fixture(scope="module")
def trust(pki: Pki) -> TrustStore:
    return TrustStore([pki.root], label="root only")


def probe_counted(
    server: SServer, service: Service, trust: TrustStore, *, rsa_first: bool | None = None
) -> tuple[EndpointReport, int]:
    """Probe ``server`` as the leg ``service`` through a relay; the report and the connections."""
    relay = CountingRelay(server.port)
    try:
        target = replace(ProbeTarget.parse(relay.target()), service=service)
        prof = client_profile(Version.parse("X15.3"), rsa_signature_first=rsa_first)
        (report,) = probe_endpoints([target], prof, trust=trust, timeouts=TIMEOUTS)
    finally:
        relay.stop()
    return report, relay.count


def by_variant(report: EndpointReport) -> dict[Variant, tuple[KeyType | None, Variant | None]]:
    """Per offer: the certificate type that came back and which handshake answered it."""
    return {o.variant: (o.key_type, o.handshake.same_as) for o in report.observations}


# ------------------------------------------------ a TLS 1.3 offer the default already answered


def test_default_getting_the_type_it_did_not_ask_first_answers_both_tls13_offers(
    peers: dict[str, SServer], trust: TrustStore
) -> None:
    # Traffic Server asks ECDSA first; a server without ECDSA answers RSA: the ECDSA-first forced
    # offer would ask the same thing again, the RSA-first one would get the same RSA certificate
    report, connections = probe_counted(peers["rsa_only"], HTTPS, trust)
    seen = by_variant(report)
    assert seen[Variant.DEFAULT] == (KeyType.RSA, None)
    assert seen[Variant.TLS13_ECDSA] == (KeyType.RSA, Variant.DEFAULT)
    assert seen[Variant.TLS13_RSA] == (KeyType.RSA, Variant.DEFAULT)
    assert connections == 3  # default, TLS 1.2 RSA, TLS 1.2 ECDSA
    tls13_ec = next(o for o in report.observations if o.variant is Variant.TLS13_ECDSA)
    assert "asked for ECDSA first, the server presented its RSA certificate" in tls13_ec.message
    assert [i.key_type for i in report.identities] == [KeyType.RSA]
    assert report.ok


def test_negative_twin_a_server_with_both_is_asked_for_the_other_type(
    peers: dict[str, SServer], trust: TrustStore
) -> None:
    report, connections = probe_counted(peers["dual"], HTTPS, trust)
    seen = by_variant(report)
    assert seen[Variant.DEFAULT] == (KeyType.ECDSA, None)
    assert seen[Variant.TLS13_ECDSA] == (KeyType.ECDSA, Variant.DEFAULT)
    assert seen[Variant.TLS13_RSA] == (KeyType.RSA, None)  # made, and it finds the RSA identity
    assert connections == 4
    assert sorted(i.key_type.value for i in report.identities) == ["ecdsa", "rsa"]


def test_sip_rsa_first_default_on_an_ecdsa_only_server(
    peers: dict[str, SServer], trust: TrustStore
) -> None:
    # SIP from X15.2 asks RSA first: the ECDSA-only server answers ECDSA, and so would both
    # forced TLS 1.3 offers
    report, connections = probe_counted(peers["ecdsa_only"], SIP, trust)
    seen = by_variant(report)
    assert seen[Variant.DEFAULT] == (KeyType.ECDSA, None)
    assert seen[Variant.TLS13_RSA] == (KeyType.ECDSA, Variant.DEFAULT)
    assert seen[Variant.TLS13_ECDSA] == (KeyType.ECDSA, Variant.DEFAULT)
    assert connections == 3
    assert [i.key_type for i in report.identities] == [KeyType.ECDSA]


def test_negative_twin_sip_rsa_first_default_on_a_server_with_both(
    peers: dict[str, SServer], trust: TrustStore
) -> None:
    report, connections = probe_counted(peers["dual"], SIP, trust)
    seen = by_variant(report)
    assert seen[Variant.DEFAULT] == (KeyType.RSA, None)
    assert seen[Variant.TLS13_RSA] == (KeyType.RSA, Variant.DEFAULT)
    assert seen[Variant.TLS13_ECDSA] == (KeyType.ECDSA, None)
    assert connections == 4


# ------------------------------------- a TLS 1.2 offer for a type TLS 1.3 did not bring out


def test_tls13_answers_cannot_prove_a_type_absent_so_tls12_asks_anyway(
    peers: dict[str, SServer], trust: TrustStore
) -> None:
    # A server that imposes its own order (-serverpref: OpenSSL's list, ECDSA first) answers both
    # TLS 1.3 orders exactly as a server that has no RSA identity at all. Only TLS 1.2, where the
    # suites name the type, tells them apart: the TLS 1.2 RSA offer is never skipped on the
    # strength of the TLS 1.3 answers.
    imposed, imposed_connections = probe_counted(peers["dual_serverpref"], HTTPS, trust)
    alone, alone_connections = probe_counted(peers["ecdsa_only"], HTTPS, trust)

    def tls13(report: EndpointReport) -> list[tuple[KeyType | None, str | None, str | None]]:
        return [
            (o.key_type, o.handshake.tls_version, o.handshake.cipher)
            for o in report.observations
            if o.variant in (Variant.DEFAULT, Variant.TLS13_RSA, Variant.TLS13_ECDSA)
        ]

    assert tls13(imposed) == tls13(alone)
    assert {t for t, _, _ in tls13(imposed)} == {KeyType.ECDSA}
    imposed_rsa = next(o for o in imposed.observations if o.variant is Variant.TLS12_RSA)
    alone_rsa = next(o for o in alone.observations if o.variant is Variant.TLS12_RSA)
    assert imposed_rsa.key_type is KeyType.RSA and imposed_rsa.outcome is Outcome.OK
    assert alone_rsa.outcome is Outcome.NO_SHARED_CIPHER and alone_rsa.key_type is None
    assert sorted(i.key_type.value for i in imposed.identities) == ["ecdsa", "rsa"]
    assert [i.key_type for i in alone.identities] == [KeyType.ECDSA]
    assert imposed_connections == alone_connections == 4


# ------------------------------------------------------ one name lookup per endpoint, not per offer


def test_a_name_is_resolved_once_for_all_the_offers_to_an_endpoint(
    peers: dict[str, SServer], trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counting(host: str | bytes, *args: object, **kwargs: object) -> object:
        lookups.append(host.decode() if isinstance(host, bytes) else host)  # plain names as bytes
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    port = peers["dual"].port
    # "localhost" goes through the resolver (::1 may come first and be refused: the next address
    # is tried, as for any name); the literal address is a second, distinct endpoint
    targets = [
        replace(ProbeTarget.parse(f"localhost:{port}", name=NODE, sni=NODE), service=HTTPS),
        replace(ProbeTarget.parse(f"{LOOPBACK}:{port}", name=NODE, sni=NODE), service=HTTPS),
    ]
    prof = client_profile(Version.parse("X15.3"))
    reports = probe_endpoints(targets, prof, trust=trust, timeouts=TIMEOUTS)
    assert all(r.ok for r in reports)
    made = [
        o for r in reports for o in r.observations if o.handshake.same_as is None
    ]  # every connection that was really opened
    assert len(made) == 8
    assert sorted(lookups) == sorted(["localhost", LOOPBACK])  # one lookup per endpoint
    assert {o.handshake.address for o in made} == {LOOPBACK}


def test_negative_twin_handshakes_outside_a_run_resolve_each_time(
    peers: dict[str, SServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counting(host: str | bytes, *args: object, **kwargs: object) -> object:
        lookups.append(host.decode() if isinstance(host, bytes) else host)  # plain names as bytes
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    offers = build_offers(client_profile(Version.parse("X15.3")), transport=HTTPS.transport)
    for variant in (Variant.DEFAULT, Variant.TLS12_RSA):
        hs = handshake(
            "localhost",
            peers["dual"].port,
            offer=offers[variant],
            server_name=NODE,
            timeouts=TIMEOUTS,
            deadline=time.monotonic() + 30,
        )
        assert hs.completed
    assert lookups == ["localhost", "localhost"]
