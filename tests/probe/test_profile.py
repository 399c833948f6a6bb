"""Client emulation, targets and outcome tables: no sockets here."""

from __future__ import annotations

import pytest

from mratrust.errors import InputError
from mratrust.pki.verify import Reason
from mratrust.probe.client import (
    ECDSA_FIRST_SIGALGS,
    RSA_FIRST_SIGALGS,
    TlsVersion,
    Variant,
    build_offers,
    client_profile,
    load_client_identity,
    sigalgs_supported,
)
from mratrust.probe.engine import ProbeTarget
from mratrust.probe.outcome import (
    ALERT_OUTCOME,
    REASON_VERDICT,
    Alert,
    Outcome,
    OutcomeKind,
    openssl_error_line,
    outcome_for_alert,
    outcome_for_reason,
)
from mratrust.versions import RSA_PREFIX, Version

from .conftest import Pki


def V(text: str) -> Version:
    return Version.parse(text)


@pytest.mark.parametrize(
    ("version", "upgraded", "tls", "rsa_sig", "ecdsa_ciphers"),
    [
        pytest.param("X14.0.7", None, ("TLSv1.2",), False, False, id="X14.0.7-rsa-first"),
        pytest.param("X14.2.1", None, ("TLSv1.2", "TLSv1.3"), False, True, id="X14.2-fresh"),
        pytest.param("X14.2.1", "X12.7", ("TLSv1.2", "TLSv1.3"), False, True, id="X14.2-from-12"),
        pytest.param(
            "X14.2.1", "X14.0.7", ("TLSv1.2", "TLSv1.3"), False, False, id="X14.2-from-14"
        ),
        pytest.param("X15.2", None, ("TLSv1.2", "TLSv1.3"), True, True, id="X15.2-fresh"),
        pytest.param("X15.3", "X14.0.7", ("TLSv1.2", "TLSv1.3"), True, False, id="X15.3-from-14"),
    ],
)
def test_profile_follows_the_version(
    version: str, upgraded: str | None, tls: tuple[str, ...], rsa_sig: bool, ecdsa_ciphers: bool
) -> None:
    profile = client_profile(V(version), upgraded_from=V(upgraded) if upgraded else None)
    assert tuple(v.value for v in profile.tls_versions) == tls
    assert profile.rsa_signature_first is rsa_sig
    assert profile.signature_algorithms == (RSA_FIRST_SIGALGS if rsa_sig else ECDSA_FIRST_SIGALGS)
    assert profile.prefers_ecdsa is ecdsa_ciphers
    assert profile.cipher_string.startswith(RSA_PREFIX) is not ecdsa_ciphers
    assert not profile.ciphers_configured
    first = profile.cipher_order[0]
    assert ("ECDSA" in first) is ecdsa_ciphers


def test_signature_preference_can_be_turned_off_and_on() -> None:
    off = client_profile(V("X15.3"), rsa_signature_first=False)
    on = client_profile(V("X14.2"), rsa_signature_first=True)
    assert off.signature_algorithms[0].startswith("ecdsa")
    assert on.signature_algorithms[0].startswith("rsa")


def test_configured_ciphers_win_over_the_default() -> None:
    profile = client_profile(V("X15.3"), ciphers="EECDH:EDH:HIGH:+ECDSA")
    assert profile.ciphers_configured
    assert profile.prefers_ecdsa is False
    assert "ECDHE-RSA" in profile.cipher_order[0]


def test_a_cipher_string_openssl_cannot_use_is_an_input_error() -> None:
    with pytest.raises(InputError, match="matches no cipher suite"):
        client_profile(V("X15.3"), ciphers="NOT-A-CIPHER")


def test_tls_versions_parse_and_reject() -> None:
    assert TlsVersion.parse("TLSv1.3") is TlsVersion.TLS1_3
    assert TlsVersion.parse("1.2") is TlsVersion.TLS1_2
    assert TlsVersion.parse("tls1.3") is TlsVersion.TLS1_3
    with pytest.raises(InputError, match="not a TLS version"):
        TlsVersion.parse("TLSv1.0")
    with pytest.raises(InputError, match="at least one TLS version"):
        client_profile(V("X15.3"), tls_versions=())


def test_offers_are_built_for_every_variant() -> None:
    offers = build_offers(client_profile(V("X15.3")))
    assert set(offers) == set(Variant)
    if sigalgs_supported():
        assert all(o.context is not None and o.skipped is None for o in offers.values())
    else:  # pragma: no cover - depends on the bindings
        assert offers[Variant.TLS13_RSA].skipped


CUCM = "cucm.example.com"


@pytest.mark.parametrize(
    ("text", "host", "port", "address", "sni"),
    [
        pytest.param(CUCM, CUCM, 8443, None, CUCM, id="host"),
        pytest.param(f"{CUCM}:6972", CUCM, 6972, None, CUCM, id="port"),
        pytest.param(f"{CUCM}:5091{{127.0.0.1}}", CUCM, 5091, "127.0.0.1", CUCM, id="address"),
        pytest.param("10.0.0.5:443", "10.0.0.5", 443, None, None, id="ip-no-sni"),
        pytest.param("[2001:db8::1]:8443", "2001:db8::1", 8443, None, None, id="ipv6"),
    ],
)
def test_targets_parse(
    text: str, host: str, port: int, address: str | None, sni: str | None
) -> None:
    target = ProbeTarget.parse(text)
    assert (target.host, target.port, target.address, target.server_name) == (
        host,
        port,
        address,
        sni,
    )
    assert target.expected_name == host
    assert target.connect_host == (address or host)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("cucm:http", "not a port number", id="word-port"),
        pytest.param("cucm:70000", "out of range", id="port-range"),
        pytest.param(":8443", "names no host", id="no-host"),
    ],
)
def test_bad_targets_are_input_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ProbeTarget.parse(text)


def test_overrides_of_sni_and_name() -> None:
    target = ProbeTarget.parse("10.1.1.1:8443", sni="cucm.example.com", name="cucm.example.com")
    assert target.server_name == "cucm.example.com"
    assert target.expected_name == "cucm.example.com"


def test_client_identity_loads_and_hides_the_key(pki: Pki) -> None:
    identity = load_client_identity(pki.expc_pem, pki.expc_key)
    assert identity.leaf == pki.expc
    text = repr(identity)
    assert "key=" not in text
    assert "PRIVATE" not in text


@pytest.mark.parametrize(
    ("key_attr", "message"),
    [
        pytest.param("rogue_key", "does not belong to the certificate", id="wrong-key"),
        pytest.param("encrypted_key", "encrypted", id="encrypted"),
        pytest.param("root_pem", "no private key", id="not-a-key"),
    ],
)
def test_client_identity_rejects_unusable_keys(pki: Pki, key_attr: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_client_identity(pki.expc_pem, getattr(pki, key_attr))


def test_every_outcome_has_a_kind_and_every_alert_a_unique_code() -> None:
    assert {o.kind for o in Outcome} <= set(OutcomeKind)
    codes = [a.code for a in Alert if a is not Alert.UNKNOWN]
    assert len(codes) == len(set(codes))
    assert Alert.from_code(48) is Alert.UNKNOWN_CA
    assert Alert.from_code(250) is Alert.UNKNOWN
    assert set(REASON_VERDICT) == set(Reason) - {Reason.CN_FALLBACK}


@pytest.mark.parametrize(
    ("alert", "requested", "outcome"),
    [
        pytest.param(Alert.UNKNOWN_CA, True, Outcome.CLIENT_REJECTED, id="unknown-ca"),
        pytest.param(Alert.BAD_CERTIFICATE, True, Outcome.CLIENT_REJECTED, id="bad-cert"),
        pytest.param(Alert.CERTIFICATE_REQUIRED, True, Outcome.CLIENT_REJECTED, id="required"),
        pytest.param(Alert.HANDSHAKE_FAILURE, True, Outcome.CLIENT_REJECTED, id="hf-after-request"),
        pytest.param(Alert.HANDSHAKE_FAILURE, False, Outcome.NO_SHARED_CIPHER, id="hf-no-request"),
        pytest.param(Alert.PROTOCOL_VERSION, False, Outcome.NO_SHARED_PROTOCOL, id="version"),
        pytest.param(Alert.INTERNAL_ERROR, False, Outcome.TLS_ERROR, id="other"),
    ],
)
def test_alerts_map_through_the_table(alert: Alert, requested: bool, outcome: Outcome) -> None:
    assert outcome_for_alert(alert, client_cert_requested=requested) is outcome


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        pytest.param("wrong version number", Outcome.NOT_TLS, id="wrong-version"),
        pytest.param("packet length too long", Outcome.NOT_TLS, id="length"),
        pytest.param("unexpected eof while reading", Outcome.RESET, id="eof"),
        pytest.param("no ciphers available", Outcome.NO_SHARED_CIPHER, id="ciphers"),
        pytest.param("unsupported protocol", Outcome.NO_SHARED_PROTOCOL, id="protocol"),
        pytest.param("something new", Outcome.TLS_ERROR, id="unknown"),
    ],
)
def test_openssl_reasons_map_through_the_table(reason: str, outcome: Outcome) -> None:
    assert outcome_for_reason(reason) is outcome


def test_traffic_server_error_line_matches_the_knowledge_base() -> None:
    # knowledge base §10.1, the line engineers grep for
    assert openssl_error_line("tlsv1 alert unknown ca", alert=Alert.UNKNOWN_CA) == (
        "error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca"
    )
    assert "1409445C" in openssl_error_line("x", alert=Alert.CERTIFICATE_REQUIRED)
    assert ALERT_OUTCOME[Alert.UNKNOWN_CA] is Outcome.CLIENT_REJECTED
