"""TLS 1.2 and 1.3 client authentication against real ``openssl s_server`` peers.

The matrix of issue 9 §1: TLS 1.2 and 1.3 × the server's RSA and ECDSA identity × Expressway-C's
certificate trusted / untrusted / absent × an RSA and an ECDSA client key. One probe run per
(server, client certificate) makes every offer (default, RSA and ECDSA forced under both versions),
so ten runs cover the matrix. Each offer must carry the verdict the server really gave: the strict
servers (``-verify_return_error``) refuse an untrusted certificate; the lax one (``-Verify 1``
alone, the command in the issue) logs the error and serves anyway, and that is what must be
reported for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from mratrust.pki.facts import KeyType
from mratrust.pki.verify import TrustStore
from mratrust.probe.client import (
    TLS13_ECDSA_FIRST,
    ClientIdentity,
    Variant,
    client_profile,
    load_client_identity,
    sigalgs_supported,
)
from mratrust.probe.engine import (
    EndpointReport,
    Observation,
    ProbeTarget,
    exit_code,
    probe_endpoints,
)
from mratrust.probe.handshake import Phase, Timeouts
from mratrust.probe.outcome import Alert, Outcome
from mratrust.probe.render import status, to_json, to_text
from mratrust.versions import Version

from .conftest import Pki, SServer, start_s_server

pytestmark = [
    pytest.mark.openssl,
    pytest.mark.skipif(not sigalgs_supported(), reason="pyOpenSSL lacks SSL_CTX_set1_sigalgs_list"),
]

TIMEOUTS = Timeouts(connect=3, handshake=5, read=2, overall=30)
CLIENTS = ("rsa-trusted", "rsa-untrusted", "ec-trusted", "ec-untrusted", "absent")
WANTED = {
    Variant.TLS12_RSA: KeyType.RSA,
    Variant.TLS12_ECDSA: KeyType.ECDSA,
    Variant.TLS13_RSA: KeyType.RSA,
    Variant.TLS13_ECDSA: KeyType.ECDSA,
}


def _client(pki: Pki, which: str) -> ClientIdentity | None:
    files: dict[str, tuple[Path, Path]] = {
        "rsa-trusted": (pki.expc_pem, pki.expc_key),
        "rsa-untrusted": (pki.rogue_pem, pki.rogue_key),
        "ec-trusted": (pki.expc_ec_pem, pki.expc_ec_key),
        "ec-untrusted": (pki.rogue_ec_pem, pki.rogue_ec_key),
    }
    if which == "absent":
        return None
    return load_client_identity(*files[which])


def _probe(server: SServer, pki: Pki, which: str) -> EndpointReport:
    profile = client_profile(Version.parse("X15.3"), identity=_client(pki, which))
    (report,) = probe_endpoints(
        [ProbeTarget.parse(server.target)],
        profile,
        trust=TrustStore([pki.root]),
        timeouts=TIMEOUTS,
    )
    return report


@pytest.fixture(scope="module")
def matrix(servers: dict[str, SServer], pki: Pki) -> dict[tuple[str, str], EndpointReport]:
    """Every (server, client certificate) probe, made once for the module."""
    return {
        (server, which): _probe(servers[server], pki, which)
        for server in ("mtls", "mtls12", "mtls_lax")
        for which in CLIENTS
    }


def _offers(report: EndpointReport) -> dict[Variant, Observation]:
    return {o.variant: o for o in report.observations}


@pytest.mark.parametrize("which", CLIENTS)
@pytest.mark.parametrize("server", ["mtls", "mtls12"])
def test_every_offer_gets_the_servers_verdict(
    matrix: dict[tuple[str, str], EndpointReport], server: str, which: str
) -> None:
    report = matrix[(server, which)]
    tls13 = server == "mtls"
    for obs in report.observations:
        variant = obs.variant
        hs = obs.handshake
        if not tls13 and variant in (Variant.TLS13_RSA, Variant.TLS13_ECDSA):
            assert obs.outcome is Outcome.NO_SHARED_PROTOCOL, (variant, obs.message)
            continue
        # the server's identity of the asked-for type came back, whatever the client key
        if variant in WANTED:
            assert obs.key_type is WANTED[variant], (variant, obs.message)
        assert hs.client_cert_requested
        if which.endswith("-trusted"):
            assert obs.outcome is Outcome.OK, (variant, obs.message)
            assert hs.client_cert_sent and hs.alert is None
            if hs.tls_version == "TLSv1.3":
                assert hs.client_verdict is not None
        elif which.endswith("-untrusted"):
            assert obs.outcome is Outcome.CLIENT_REJECTED, (variant, obs.message)
            assert hs.client_cert_sent and hs.alert is Alert.UNKNOWN_CA
            if hs.tls_version == "TLSv1.3" or (tls13 and variant is Variant.DEFAULT):
                assert hs.completed and hs.phase is Phase.POST_HANDSHAKE
            assert "unknown_ca" in obs.message
        else:
            assert obs.outcome is Outcome.CLIENT_REJECTED, (variant, obs.message)
            assert not hs.client_cert_sent
            expected = (
                Alert.CERTIFICATE_REQUIRED
                if tls13
                and variant
                in (
                    Variant.DEFAULT,
                    Variant.TLS13_RSA,
                    Variant.TLS13_ECDSA,
                )
                else Alert.HANDSHAKE_FAILURE
            )
            assert hs.alert is expected, (variant, hs.alert)
    if report.default.handshake.completed:
        assert report.default.handshake.tls_version == ("TLSv1.3" if tls13 else "TLSv1.2")
    else:  # TLS 1.2 ends in the handshake when the server refuses
        assert not tls13 and report.default.handshake.phase is Phase.HANDSHAKE
    # the summary and the exit code agree with the offers
    if which.endswith("-trusted"):
        assert status(report) == "ok" and exit_code([report]) == 0
    else:
        assert status(report) == "fail" and exit_code([report]) == 1


@pytest.mark.parametrize("which", ["rsa-untrusted", "ec-untrusted"])
def test_lax_server_really_accepts_an_untrusted_certificate(
    matrix: dict[tuple[str, str], EndpointReport], which: str
) -> None:
    # `-Verify 1` without -verify_return_error: s_server logs the chain error and answers; the
    # verdict is the server's, not a guess from the CA names it sent
    report = matrix[("mtls_lax", which)]
    for obs in report.observations:
        assert obs.outcome is Outcome.OK, (obs.variant, obs.message)
        assert obs.handshake.client_cert_sent
    assert report.default.handshake.client_verdict in (
        "it sent a session ticket",
        "it answered the request",
    )
    assert exit_code([report]) == 0


def test_lax_server_still_refuses_a_missing_certificate(
    matrix: dict[tuple[str, str], EndpointReport],
) -> None:
    report = matrix[("mtls_lax", "absent")]
    assert report.default.outcome is Outcome.CLIENT_REJECTED
    assert report.default.handshake.alert is Alert.CERTIFICATE_REQUIRED
    assert exit_code([report]) == 1


def test_rsa_client_key_signs_on_the_forced_ecdsa_tls13_offer(
    matrix: dict[tuple[str, str], EndpointReport],
) -> None:
    # the old ECDSA-only list left an RSA client key nothing to sign with: certificate_required
    obs = _offers(matrix[("mtls", "rsa-trusted")])[Variant.TLS13_ECDSA]
    assert obs.outcome is Outcome.OK, obs.message
    assert obs.handshake.client_cert_sent
    assert obs.key_type is KeyType.ECDSA
    assert TLS13_ECDSA_FIRST[0].startswith("ecdsa_") and "rsa_pss_rsae_sha256" in TLS13_ECDSA_FIRST


def test_text_summary_never_says_ok_while_an_offer_is_client_rejected(
    matrix: dict[tuple[str, str], EndpointReport],
) -> None:
    report = matrix[("mtls", "rsa-untrusted")]
    profile = client_profile(Version.parse("X15.3"))
    text = to_text([report], profile, trust=None)
    (head,) = [line for line in text.splitlines() if line.startswith(report.target.display)]
    assert "FAIL (client-rejected)" in head
    assert "0 ok, 1 failed" in text
    assert "(alert unknown_ca after the handshake)" in text
    doc = to_json([report], profile, trust=None, now=dt.datetime.now(dt.UTC))
    assert '"status": "fail"' in doc and '"outcome": "client-rejected"' in doc


def test_forced_offer_client_rejected_alone_fails_the_endpoint(
    matrix: dict[tuple[str, str], EndpointReport],
) -> None:
    # a report whose default offer is accepted but one forced offer is client-rejected is FAIL:
    # built from the real observations of two runs (accepted default, rejected forced offer)
    good = matrix[("mtls", "rsa-trusted")]
    bad = matrix[("mtls", "rsa-untrusted")]
    rejected = _offers(bad)[Variant.TLS13_ECDSA]
    mixed = EndpointReport(
        target=good.target,
        default=good.default,
        observations=tuple(
            rejected if o.variant is Variant.TLS13_ECDSA else o for o in good.observations
        ),
        identities=good.identities,
    )
    assert mixed.default.outcome is Outcome.OK
    assert mixed.failed and status(mixed) == "fail" and exit_code([mixed]) == 1
    text = to_text([mixed], client_profile(Version.parse("X15.3")), trust=None)
    (head,) = [line for line in text.splitlines() if line.startswith(mixed.target.display)]
    assert "FAIL (client-rejected on tls1.3-ecdsa" in head and " OK" not in head
    # negative twin: the all-accepted report stays OK
    assert status(good) == "ok" and exit_code([good]) == 0


@pytest.fixture(scope="module")
def ticketless(pki: Pki) -> Iterator[SServer]:
    """A strict TLS 1.3 server that sends no session ticket: only its answer shows acceptance."""
    server = start_s_server(
        "-cert",
        str(pki.rsa_pem),
        "-key",
        str(pki.rsa_key),
        "-cert_chain",
        str(pki.inter_pem),
        "-Verify",
        "1",
        "-verify_return_error",
        "-CAfile",
        str(pki.client_ca_pem),
        "-num_tickets",
        "0",
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("which", ["rsa-trusted", "rsa-untrusted"])
def test_without_a_ticket_the_answer_to_the_request_is_the_verdict(
    ticketless: SServer, pki: Pki, which: str
) -> None:
    profile = client_profile(Version.parse("X15.3"), identity=_client(pki, which))
    (report,) = probe_endpoints(
        [ProbeTarget.parse(ticketless.target)],
        profile,
        trust=TrustStore([pki.root]),
        timeouts=TIMEOUTS,
        variants=(Variant.DEFAULT,),
    )
    hs = report.default.handshake
    assert hs.tls_version == "TLSv1.3" and hs.completed
    if which == "rsa-trusted":
        assert report.default.outcome is Outcome.OK
        assert hs.client_verdict == "it answered the request"
        assert hs.elapsed < TIMEOUTS.read  # the answer came, not the read limit
    else:
        assert report.default.outcome is Outcome.CLIENT_REJECTED
        assert hs.alert is Alert.UNKNOWN_CA and hs.client_verdict is None
