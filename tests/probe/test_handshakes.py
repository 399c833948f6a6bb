"""Real handshakes against ``openssl s_server`` on 127.0.0.1: identities, client CAs, verdicts."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from mratrust.pki.facts import KeyType
from mratrust.pki.verify import TrustStore
from mratrust.probe.client import (
    ClientIdentity,
    ClientProfile,
    TlsVersion,
    Variant,
    build_offers,
    client_profile,
    load_client_identity,
    sigalgs_supported,
)
from mratrust.probe.engine import EndpointReport, ProbeTarget, Service, exit_code, probe_endpoints
from mratrust.probe.handshake import Phase, Timeouts
from mratrust.probe.outcome import Alert, Outcome
from mratrust.topology import EndpointKind, Purpose, row_for
from mratrust.versions import Version

from .conftest import NODE, Pki, SServer

pytestmark = [pytest.mark.openssl]

TIMEOUTS = Timeouts(connect=3, handshake=5, read=1, overall=30)
SIP = Service.of_row(row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, Purpose.SIP))
"""The servers listen on free ports: name the leg each one stands for (5061, 8443)."""
HTTPS = Service.of_row(row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, Purpose.HTTPS))
needs_sigalgs = pytest.mark.skipif(
    not sigalgs_supported(), reason="pyOpenSSL bindings lack SSL_CTX_set1_sigalgs_list"
)


def profile(
    version: str = "X15.3",
    *,
    upgraded: str | None = None,
    tls: tuple[TlsVersion, ...] | None = None,
    rsa_first: bool | None = None,
    identity: ClientIdentity | None = None,
) -> ClientProfile:
    return client_profile(
        Version.parse(version),
        upgraded_from=Version.parse(upgraded) if upgraded else None,
        tls_versions=tls,
        rsa_signature_first=rsa_first,
        identity=identity,
    )


def probe_one(
    server: SServer,
    prof: ClientProfile,
    *,
    trust: TrustStore | None,
    name: str | None = None,
    now: dt.datetime | None = None,
    service: Service | None = None,
) -> EndpointReport:
    target = ProbeTarget.parse(server.target, name=name)
    (report,) = probe_endpoints(
        [replace(target, service=service)],
        prof,
        trust=trust,
        now=now,
        timeouts=TIMEOUTS,
    )
    return report


@pytest.fixture(scope="module")
def trust(pki: Pki) -> TrustStore:
    return TrustStore([pki.root], label="root only")


# --------------------------------------------------------------------------- identities


@needs_sigalgs
def test_both_identities_are_found_under_tls12_and_tls13(
    servers: dict[str, SServer], trust: TrustStore, pki: Pki
) -> None:
    report = probe_one(servers["dual"], profile(), trust=trust, service=SIP)
    by_variant = {o.variant: o for o in report.observations}
    assert by_variant[Variant.TLS12_RSA].key_type is KeyType.RSA
    assert by_variant[Variant.TLS12_ECDSA].key_type is KeyType.ECDSA
    assert by_variant[Variant.TLS13_RSA].key_type is KeyType.RSA
    assert by_variant[Variant.TLS13_ECDSA].key_type is KeyType.ECDSA
    assert by_variant[Variant.TLS12_ECDSA].handshake.tls_version == "TLSv1.2"
    assert by_variant[Variant.TLS13_ECDSA].handshake.tls_version == "TLSv1.3"
    assert [i.key_type for i in report.identities] == [KeyType.RSA, KeyType.ECDSA]
    rsa_id, ec_id = report.identities
    assert rsa_id.leaf == pki.rsa_leaf and ec_id.leaf == pki.ec_leaf
    assert rsa_id.chain == (pki.rsa_leaf, pki.inter)
    assert set(ec_id.variants) == {Variant.TLS12_ECDSA, Variant.TLS13_ECDSA}
    assert all(o.outcome is Outcome.OK for o in report.observations)
    assert report.ok and exit_code([report]) == 0
    # the default offer on SIP (TLS 1.3, RSA first) already answers the forced TLS 1.3 RSA offer
    assert by_variant[Variant.TLS13_RSA].handshake.same_as is Variant.DEFAULT
    assert by_variant[Variant.TLS12_RSA].handshake.same_as is None
    assert by_variant[Variant.TLS13_ECDSA].handshake.same_as is None


@needs_sigalgs
def test_negative_twin_rsa_only_server_has_one_identity(
    servers: dict[str, SServer], trust: TrustStore
) -> None:
    report = probe_one(servers["rsa_only"], profile(), trust=trust)
    by_variant = {o.variant: o for o in report.observations}
    assert [i.key_type for i in report.identities] == [KeyType.RSA]
    assert by_variant[Variant.TLS12_ECDSA].outcome is Outcome.NO_SHARED_CIPHER
    # TLS 1.3 forces by order (ECDSA first, RSA after): the server answers with what it has
    tls13_ec = by_variant[Variant.TLS13_ECDSA]
    assert tls13_ec.outcome is Outcome.OK and tls13_ec.key_type is KeyType.RSA
    assert "asked for ECDSA first, the server presented its RSA certificate" in tls13_ec.message
    assert by_variant[Variant.TLS12_ECDSA].handshake.alert is Alert.HANDSHAKE_FAILURE
    # a forced offer the server cannot meet is a fact, not a failure
    assert report.ok and exit_code([report]) == 0


# --------------------------------------------------------------------------- the default offer


@needs_sigalgs
@pytest.mark.parametrize(
    ("version", "upgraded", "tls", "rsa_first", "expected"),
    [
        pytest.param("X15.3", None, None, None, KeyType.RSA, id="X15.3-tls13-rsa-sigalgs"),
        pytest.param("X15.3", None, None, False, KeyType.ECDSA, id="X15.3-pref-rsa-off"),
        pytest.param("X15.2", None, None, None, KeyType.RSA, id="X15.2-tls13-rsa-sigalgs"),
        pytest.param("X15.0", None, None, None, KeyType.ECDSA, id="X15.0-before-the-preference"),
        pytest.param("X14.2.1", None, None, None, KeyType.ECDSA, id="X14.2-tls13-openssl-order"),
        pytest.param(
            "X14.2.1", None, (TlsVersion.TLS1_2,), None, KeyType.ECDSA, id="X14.2-fresh-tls12"
        ),
        pytest.param(
            "X14.2.1", "X14.0.7", (TlsVersion.TLS1_2,), None, KeyType.RSA, id="X14.2-upgraded-tls12"
        ),
        pytest.param("X14.0.7", None, None, None, KeyType.RSA, id="X14.0.7-tls12"),
    ],
)
def test_default_offer_gets_what_expressway_gets(
    servers: dict[str, SServer],
    trust: TrustStore,
    version: str,
    upgraded: str | None,
    tls: tuple[TlsVersion, ...] | None,
    rsa_first: bool | None,
    expected: KeyType,
) -> None:
    # the SIP leg (5061): the leg TlsSignatureAlgoPrefRsa and the version default apply to
    report = probe_one(
        servers["dual"],
        profile(version, upgraded=upgraded, tls=tls, rsa_first=rsa_first),
        trust=trust,
        service=SIP,
    )
    assert report.default.key_type is expected
    assert next(i for i in report.identities if i.default).key_type is expected


@needs_sigalgs
@pytest.mark.parametrize("rsa_first", [None, True, False], ids=["default", "pref-on", "pref-off"])
@pytest.mark.parametrize("version", ["X15.2", "X15.3"])
def test_traffic_server_offers_ecdsa_first_in_tls13_whatever_the_sip_setting(
    servers: dict[str, SServer], trust: TrustStore, version: str, rsa_first: bool | None
) -> None:
    # knowledge base §6.1: the X15.2 RSA preference is SIP's; Traffic Server to 8443 keeps ECDSA
    report = probe_one(
        servers["dual"], profile(version, rsa_first=rsa_first), trust=trust, service=HTTPS
    )
    assert report.default.handshake.tls_version == "TLSv1.3"
    assert report.default.key_type is KeyType.ECDSA


@needs_sigalgs
def test_self_signed_ecdsa_identity_fails_even_when_expressway_gets_rsa(
    servers: dict[str, SServer], trust: TrustStore, pki: Pki
) -> None:
    # X15.3 with TLS 1.3 on SIP sends RSA signature algorithms first: it gets the trusted RSA
    # identity, but the self-signed ECDSA one is there for any offer that prefers ECDSA
    report = probe_one(servers["ec_self_signed"], profile(), trust=trust, service=SIP)
    assert report.default.outcome is Outcome.OK
    rsa_id, ec_id = report.identities
    assert rsa_id.verdict.ok and rsa_id.default
    assert ec_id.leaf == pki.ec_self and not ec_id.default
    assert ec_id.verdict.outcomes == (Outcome.UNTRUSTED,)
    assert report.failed and exit_code([report]) == 1


@needs_sigalgs
def test_twin_x153_on_the_https_leg_gets_the_self_signed_ecdsa(
    servers: dict[str, SServer], trust: TrustStore, pki: Pki
) -> None:
    # the same server as the HTTPS leg: Traffic Server offers ECDSA first under TLS 1.3 and
    # Expressway-C's own handshake gets the untrusted tomcat-ECDSA (it used to be called OK)
    report = probe_one(servers["ec_self_signed"], profile(), trust=trust, service=HTTPS)
    assert report.default.outcome is Outcome.UNTRUSTED
    assert report.default.leaf == pki.ec_self
    assert report.default.handshake.tls_version == "TLSv1.3"


@needs_sigalgs
def test_twin_x142_tls12_ecdsa_first_gets_the_self_signed_ecdsa(
    servers: dict[str, SServer], trust: TrustStore, pki: Pki
) -> None:
    # the classic break after an upgrade to X14.2 (fresh default cipher order, ECDSA first)
    report = probe_one(
        servers["ec_self_signed"], profile("X14.2.1", tls=(TlsVersion.TLS1_2,)), trust=trust
    )
    assert report.default.outcome is Outcome.UNTRUSTED
    assert report.default.leaf == pki.ec_self
    assert "self-signed certificate" in report.default.message
    assert "Error=self signed certificate " in report.default.log_lines[0]
    # and with the RSA prefix (upgraded from X14.0) Expressway-C gets the trusted RSA one
    fixed = probe_one(
        servers["ec_self_signed"],
        profile("X14.2.1", upgraded="X14.0.7", tls=(TlsVersion.TLS1_2,)),
        trust=trust,
    )
    assert fixed.default.outcome is Outcome.OK
    assert fixed.default.key_type is KeyType.RSA


# --------------------------------------------------------------------------- client certificates


def test_ca_names_the_server_accepts_are_reported(
    servers: dict[str, SServer], trust: TrustStore, pki: Pki
) -> None:
    identity = load_client_identity(pki.expc_pem, pki.expc_key)
    report = probe_one(servers["mtls"], profile(identity=identity), trust=trust)
    hs = report.default.handshake
    assert hs.client_cert_requested
    assert hs.client_ca_names == (pki.expc.issuer,)
    assert hs.client_cert_sent


def test_negative_twin_no_request_no_ca_names(
    servers: dict[str, SServer], trust: TrustStore, pki: Pki
) -> None:
    identity = load_client_identity(pki.expc_pem, pki.expc_key)
    report = probe_one(servers["dual"], profile(identity=identity), trust=trust)
    hs = report.default.handshake
    assert not hs.client_cert_requested
    assert hs.client_ca_names == ()
    assert not hs.client_cert_sent


@pytest.mark.parametrize(
    ("server", "tls_version"),
    [pytest.param("mtls", "TLSv1.3", id="tls13"), pytest.param("mtls12", "TLSv1.2", id="tls12")],
)
def test_mtls_accepted_with_the_right_certificate(
    servers: dict[str, SServer], trust: TrustStore, pki: Pki, server: str, tls_version: str
) -> None:
    identity = load_client_identity(pki.expc_pem, pki.expc_key)
    report = probe_one(servers[server], profile(identity=identity), trust=trust)
    assert report.default.outcome is Outcome.OK
    assert report.default.handshake.tls_version == tls_version
    assert report.default.handshake.alert is None
    assert exit_code([report]) == 0


@pytest.mark.parametrize(
    ("server", "tls_version", "phase"),
    [
        pytest.param("mtls", "TLSv1.3", Phase.POST_HANDSHAKE, id="tls13-after-handshake"),
        pytest.param("mtls12", "TLSv1.2", Phase.HANDSHAKE, id="tls12-in-handshake"),
    ],
)
def test_mtls_rejected_unknown_ca(
    servers: dict[str, SServer],
    trust: TrustStore,
    pki: Pki,
    server: str,
    tls_version: str,
    phase: Phase,
) -> None:
    rogue = load_client_identity(pki.rogue_pem, pki.rogue_key)
    report = probe_one(servers[server], profile(identity=rogue), trust=trust)
    d = report.default
    assert d.outcome is Outcome.CLIENT_REJECTED
    assert d.handshake.alert is Alert.UNKNOWN_CA
    assert d.handshake.phase is phase
    assert d.handshake.client_cert_sent
    if tls_version == "TLSv1.3":
        assert d.handshake.completed and d.handshake.tls_version == "TLSv1.3"
    assert "tlsv1 alert unknown ca" in d.log_lines[0]
    assert d.log_lines[0].startswith(f"ERROR: SSL connection failed for '{NODE}'")
    assert "CN=OTHER-ROOT" in d.message and "is not among the CA names" in d.message
    # the server's own certificate still verifies: we trust them, they do not trust us
    assert d.verdict is not None and d.verdict.ok
    assert exit_code([report]) == 1


@pytest.mark.parametrize(
    ("server", "alert"),
    [
        pytest.param("mtls", Alert.CERTIFICATE_REQUIRED, id="tls13"),
        pytest.param("mtls12", Alert.HANDSHAKE_FAILURE, id="tls12"),
    ],
)
def test_mtls_without_a_client_certificate(
    servers: dict[str, SServer], trust: TrustStore, server: str, alert: Alert
) -> None:
    report = probe_one(servers[server], profile(), trust=trust)
    assert report.default.outcome is Outcome.CLIENT_REJECTED
    assert report.default.handshake.alert is alert
    assert not report.default.handshake.client_cert_sent
    assert "--client-cert" in report.default.message


# --------------------------------------------------------------------------- server verdicts


def test_untrusted_chain_names_the_missing_root(servers: dict[str, SServer], pki: Pki) -> None:
    wrong = TrustStore([pki.other_root], label="other root")
    report = probe_one(servers["dual"], profile(), trust=wrong)
    d = report.default
    assert d.outcome is Outcome.UNTRUSTED
    assert d.verdict is not None and d.verdict.missing_issuer == pki.root.subject.rfc4514_string()
    assert (
        "Core server certificate verification failed for (cucm-pub.example.com)" in (d.log_lines[0])
    )
    assert "Error=self signed certificate in certificate chain" not in d.log_lines[0]
    assert "ENT-ROOT" in d.message and "trusted CA list" in d.message
    assert all(not i.verdict.ok for i in report.identities)
    assert exit_code([report]) == 1


def test_negative_twin_trusted_chain(servers: dict[str, SServer], trust: TrustStore) -> None:
    report = probe_one(servers["dual"], profile(), trust=trust)
    assert report.default.outcome is Outcome.OK
    assert report.default.verdict is not None and report.default.verdict.trust_checked
    assert report.default.log_lines == ()


def test_missing_intermediate_is_named(
    servers: dict[str, SServer], trust: TrustStore, pki: Pki
) -> None:
    report = probe_one(servers["leaf_only"], profile(), trust=trust, name=None)
    d = report.default
    assert d.chain == (pki.rsa_leaf,)
    assert d.outcome is Outcome.UNTRUSTED
    assert d.verdict is not None and d.verdict.missing_issuer == pki.inter.subject.rfc4514_string()
    assert "unable to get local issuer certificate" in d.log_lines[0]


def test_negative_twin_intermediate_in_the_store(servers: dict[str, SServer], pki: Pki) -> None:
    store = TrustStore([pki.root, pki.inter])
    report = probe_one(servers["leaf_only"], profile(), trust=store)
    assert report.default.outcome is Outcome.OK


def test_name_not_in_san(servers: dict[str, SServer], trust: TrustStore) -> None:
    report = probe_one(servers["dual"], profile(), trust=trust, name="cucm-sub1.example.com")
    d = report.default
    assert d.outcome is Outcome.NAME_MISMATCH
    assert "cucm-sub1.example.com is not in the SAN" in d.message
    assert d.log_lines == (
        "WARNING: SNI (cucm-pub.example.com) not in certificate. Action=Terminate "
        "server=cucm-pub.example.com(127.0.0.1)",
    )
    assert exit_code([report]) == 1


def test_negative_twin_name_in_san(servers: dict[str, SServer], trust: TrustStore) -> None:
    report = probe_one(servers["dual"], profile(), trust=trust, name=NODE)
    assert report.default.outcome is Outcome.OK


def test_expired_certificate(servers: dict[str, SServer], trust: TrustStore) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    report = probe_one(servers["dual"], profile(), trust=trust, now=later)
    assert report.default.outcome is Outcome.CERTIFICATE_INVALID
    assert "expired" in report.default.message
    assert "Error=certificate has expired" in report.default.log_lines[0]


def test_without_a_trust_store_only_names_and_validity_are_judged(
    servers: dict[str, SServer],
) -> None:
    report = probe_one(servers["dual"], profile(), trust=None)
    assert report.default.outcome is Outcome.OK
    assert report.default.verdict is not None
    assert not report.default.verdict.trust_checked
    assert "not checked" in report.default.message
    bad = probe_one(servers["dual"], profile(), trust=None, name="other.example.com")
    assert bad.default.outcome is Outcome.NAME_MISMATCH


def test_results_come_back_in_input_order(servers: dict[str, SServer], trust: TrustStore) -> None:
    order = ["mtls12", "dual", "leaf_only", "rsa_only", "dual"]
    targets = [ProbeTarget.parse(servers[k].target) for k in order]
    reports = probe_endpoints(targets, profile(), trust=trust, timeouts=TIMEOUTS, workers=8)
    assert [r.target.port for r in reports] == [servers[k].port for k in order]
    assert [r.default.outcome for r in reports] == [
        Outcome.CLIENT_REJECTED,
        Outcome.OK,
        Outcome.UNTRUSTED,
        Outcome.OK,
        Outcome.OK,
    ]


@pytest.mark.openssl
def test_a_run_parses_each_received_certificate_once(servers: dict[str, SServer]) -> None:
    # the offers of a run share what they received: the same server's certificate is one object
    import time

    from mratrust.probe.handshake import Seen, handshake

    offers = build_offers(client_profile(Version.parse("X15.3")))
    seen: Seen = {}
    limits = Timeouts(connect=3, handshake=3, read=1, overall=20)

    def chain(server: SServer, variant: Variant, shared: Seen | None) -> tuple[object, ...]:
        hs = handshake(
            "127.0.0.1",
            server.port,
            offer=offers[variant],
            server_name=NODE,
            timeouts=limits,
            deadline=time.monotonic() + 20,
            seen=shared,
        )
        assert hs.completed, hs.detail
        return hs.chain

    first = chain(servers["dual"], Variant.TLS12_RSA, seen)
    again = chain(servers["dual"], Variant.TLS12_RSA, seen)
    assert len(first) == 2 and all(a is b for a, b in zip(first, again, strict=True))
    other = chain(servers["dual"], Variant.TLS12_ECDSA, seen)
    assert other[0] is not first[0] and other[0] != first[0]  # the ECDSA leaf: its own object
    assert other[1] is first[1]  # the same intermediate, sent with both


@pytest.mark.openssl
def test_negative_twin_without_a_shared_table_each_handshake_parses_its_own(
    servers: dict[str, SServer],
) -> None:
    import time

    from mratrust.probe.handshake import handshake

    offer = build_offers(client_profile(Version.parse("X15.3")))[Variant.TLS12_RSA]
    limits = Timeouts(connect=3, handshake=3, read=1, overall=20)
    chains = [
        handshake(
            "127.0.0.1",
            servers["dual"].port,
            offer=offer,
            server_name=NODE,
            timeouts=limits,
            deadline=time.monotonic() + 20,
        ).chain
        for _ in range(2)
    ]
    assert chains[0] == chains[1]  # the same certificates...
    assert chains[0][0] is not chains[1][0]  # ...parsed twice
