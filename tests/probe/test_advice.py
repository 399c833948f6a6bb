"""Remediation per alert and per port: the cause the server named, and the store of that product."""

from __future__ import annotations

from pathlib import Path

import pytest

from mratrust.pki.verify import TrustStore
from mratrust.probe.advice import node_for, remedy, restarts
from mratrust.probe.client import Variant, client_profile, load_client_identity
from mratrust.probe.engine import EndpointReport, ProbeTarget, Service, probe_endpoints
from mratrust.probe.handshake import Timeouts
from mratrust.probe.outcome import Alert, Outcome
from mratrust.versions import Version

from .conftest import LOOPBACK, NODE, Pki, SServer

TIMEOUTS = Timeouts(connect=3, handshake=5, read=2, overall=30)


def _probe(
    server: SServer, pki: Pki, cert: Path, *, key: Path | None = None, real_port: int | None = None
) -> EndpointReport:
    service = Service.at_port(real_port) if real_port is not None else None
    target = ProbeTarget(host=NODE, port=server.port, address=LOOPBACK, service=service)
    (report,) = probe_endpoints(
        [target],
        client_profile(
            Version.parse("X15.3"), identity=load_client_identity(cert, key or pki.expc_key)
        ),
        trust=TrustStore([pki.root]),
        timeouts=TIMEOUTS,
        variants=(Variant.DEFAULT,),
    )
    return report


@pytest.mark.openssl
def test_missing_client_auth_eku_is_not_answered_with_a_trust_upload(
    servers: dict[str, SServer], pki: Pki
) -> None:
    report = _probe(servers["mtls"], pki, pki.expc_no_client_auth_pem, real_port=6972)
    d = report.default
    assert d.outcome is Outcome.CLIENT_REJECTED
    assert d.handshake.alert is Alert.UNSUPPORTED_CERTIFICATE
    assert "has no clientAuth extended key usage" in d.message
    assert "Reissue it from a CSR" in d.message
    assert "tomcat-trust" not in d.message and "upload" not in d.message


@pytest.mark.openssl
def test_twin_unknown_ca_asks_for_the_chain_in_that_products_stores(
    servers: dict[str, SServer], pki: Pki
) -> None:
    # the lab maps 6972 elsewhere: the target's service names the real port and product
    report = _probe(servers["mtls"], pki, pki.rogue_pem, key=pki.rogue_key, real_port=6972)
    d = report.default
    assert d.handshake.alert is Alert.UNKNOWN_CA
    assert "CA chain of Expressway-C's certificate is missing" in d.message
    assert "tomcat-trust and CallManager-trust on the CUCM (TFTP over HTTPS) publisher" in d.message
    assert "Cisco Tomcat" in d.message and "Cisco CallManager" in d.message
    assert "clientAuth" not in d.message


@pytest.mark.openssl
def test_expired_client_certificate_is_answered_with_renew(
    servers: dict[str, SServer], pki: Pki
) -> None:
    report = _probe(servers["mtls"], pki, pki.expc_expired_pem)
    d = report.default
    assert d.handshake.alert is Alert.CERTIFICATE_EXPIRED
    assert "has expired" in d.message and "renew it" in d.message


def test_unity_connection_gets_its_own_tomcat_not_cucm_services() -> None:
    text = remedy(Alert.UNKNOWN_CA, port=443, client=None, sent=True)
    assert "tomcat-trust on every Unity Connection node" in text
    assert restarts(node_for(443)) == ("Cisco Tomcat",)
    assert "CallManager" not in text and "TFTP" not in text
    # by the leg's product when the port says nothing
    assert node_for(8443, "cuc").product == "Unity Connection"
    assert node_for(8443, "imp").store_names == "tomcat-trust"


def test_each_port_names_its_trust_store_and_restarts() -> None:
    assert node_for(6971).store_names == "tomcat-trust and CallManager-trust"
    assert node_for(5061).store_names == "CallManager-trust"
    assert "Cisco CallManager" in restarts(node_for(5061))
    oauth = node_for(5091)
    assert oauth.store_names == "tomcat-trust"
    assert "Cisco Tomcat" in restarts(oauth) and "Cisco CallManager" in restarts(oauth)
    xmpp = node_for(7400)
    assert xmpp.store_names == "cup-xmpp-trust"
    assert restarts(xmpp) == ("Cisco XCP Router",)


@pytest.mark.parametrize(
    ("alert", "expected", "absent"),
    [
        (Alert.UNKNOWN_CA, "CA chain of Expressway-C's certificate is missing", "EKU"),
        (Alert.CERTIFICATE_UNKNOWN, "CA chain of Expressway-C's certificate is missing", "renew"),
        (Alert.BAD_CERTIFICATE, "refuses the certificate itself", "upload"),
        (Alert.UNSUPPORTED_CERTIFICATE, "refuses the certificate itself", "upload"),
        (Alert.CERTIFICATE_EXPIRED, "renew it", "refuses the certificate itself"),
        (Alert.CERTIFICATE_REVOKED, "revoked", "upload"),
        (Alert.ACCESS_DENIED, "refresh the Unified CM servers", "renew"),
        (Alert.CERTIFICATE_REQUIRED, "no client certificate reached the server", "upload"),
        (None, "closed the connection without saying why", "renew"),
        (Alert.HANDSHAKE_FAILURE, "no signature algorithm in common", "renew"),
        (Alert.DECRYPT_ERROR, "could not verify Expressway-C's signature", "upload"),
    ],
)
def test_every_alert_has_its_own_cause(alert: Alert | None, expected: str, absent: str) -> None:
    text = remedy(alert, port=6972, client=None, sent=True)
    assert expected in text
    assert absent not in text
