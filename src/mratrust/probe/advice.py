"""What to do when a UC node refuses Expressway-C's client certificate: per alert, per port.

The alert says *why* the server refused (knowledge base §2 and §7.2): ``unknown_ca`` means the CA
chain is missing from the node's trust store; ``bad_certificate`` / ``unsupported_certificate``
mean the certificate itself does not qualify (key usage, the clientAuth EKU); expiry and
revocation mean a new certificate; ``certificate_required`` means none was sent. The port says
*which* product and trust store (L4-L9 of the trust model): CUCM's TFTP over HTTPS 6971/6972 checks
tomcat-trust and CallManager-trust (CSCvz45074 / CSCvz20720), SIP TLS 5061 CallManager-trust, SIP
OAuth 5090/5091 tomcat-trust (the CallManager service serves it), IM&P XMPP 7400 cup-xmpp-trust,
Unity Connection 443 its tomcat-trust. The restart commands are the plan kit's
(:mod:`mratrust.plan`), so the probe and the plan say the same.
"""

from __future__ import annotations

from cryptography import x509

from mratrust.pki.facts import facts
from mratrust.probe.outcome import Alert
from mratrust.topology import EndpointKind, LegRow, Purpose, row_for
from mratrust.values import frozen

_EXPC = EndpointKind.EXPRESSWAY_C
_TFTP = row_for(_EXPC, EndpointKind.CUCM, Purpose.TFTP)
_SIP = row_for(_EXPC, EndpointKind.CUCM, Purpose.SIP)
_OAUTH = row_for(_EXPC, EndpointKind.CUCM, Purpose.SIP_OAUTH)
_XMPP = row_for(_EXPC, EndpointKind.IMP, Purpose.XMPP)
_CUC_HTTPS = row_for(_EXPC, EndpointKind.CUC, Purpose.HTTPS)


def _stores(row: LegRow) -> tuple[tuple[str, str], ...]:
    """The (product, trust store) pairs the leg table says the server checks the client with."""
    return tuple((row.server.value, store) for store in row.server_stores)


TRUST_ALERTS = frozenset({Alert.UNKNOWN_CA, Alert.CERTIFICATE_UNKNOWN})
"""The server does not trust the issuer (JSSE says certificate_unknown for an untrusted chain)."""
USAGE_ALERTS = frozenset({Alert.BAD_CERTIFICATE, Alert.UNSUPPORTED_CERTIFICATE})
"""The server refuses the certificate itself: its key usage or extended key usage."""


@frozen
class Node:
    """The product behind a port, and the trust stores it checks a client certificate against."""

    product: str
    stores: tuple[tuple[str, str], ...]
    """(plan restart table, trust store) pairs."""
    source: str
    also_restart: tuple[str, ...] = ()
    """Services beyond the trust store's own (the CallManager service serves SIP OAuth)."""
    replicates: bool = False
    """CUCM replicates tomcat-trust and CallManager-trust from the publisher (KB §4.2)."""
    where: str = ""
    """Where to upload, when neither the port nor the leg names the product."""

    @property
    def store_names(self) -> str:
        """``tomcat-trust and CallManager-trust``."""
        return " and ".join(store for _, store in self.stores)


_SOURCE_U2C = "https://www.cisco.com/c/en/us/support/docs/unified-communications/telepresence-video-communication-server-expressway/225476-understand-mobile-and-remote-access.html"
_SOURCE_OAUTH = "https://www.cisco.com/c/en/us/support/docs/unified-communications/jabber/215572-cisco-jabber-and-sip-oauth-mode.html"
_SOURCE_MRA = "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X15-0/mra/exwy_b_mra-deployment-guide-x150/exwy_m_requirements-for-mra.html"

_CUCM_TFTP = Node(
    product="CUCM (TFTP over HTTPS)",
    stores=_stores(_TFTP),
    source=_SOURCE_U2C,
    replicates=True,
)
_CUCM_OAUTH = Node(
    product="CUCM (SIP OAuth)",
    stores=_stores(_OAUTH),
    source=_SOURCE_OAUTH,
    also_restart=("Cisco CallManager",),
    replicates=True,
)
_BY_PORT: dict[int, Node] = {
    6971: _CUCM_TFTP,  # the non-secure TFTP port (not a leg of the table; same stores)
    _TFTP.port: _CUCM_TFTP,
    _SIP.port: Node(
        product="CUCM (SIP TLS)",
        stores=_stores(_SIP),
        source=_SOURCE_MRA,
        replicates=True,
    ),
    5090: _CUCM_OAUTH,  # SIP OAuth's other port (not a leg of the table; same service)
    _OAUTH.port: _CUCM_OAUTH,
    _XMPP.port: Node(product="IM and Presence (XMPP)", stores=_stores(_XMPP), source=_SOURCE_MRA),
}
_BY_PRODUCT: dict[str, Node] = {
    "cucm": Node(
        product="CUCM", stores=(("cucm", "tomcat-trust"),), source=_SOURCE_U2C, replicates=True
    ),
    "imp": Node(product="IM and Presence", stores=(("imp", "tomcat-trust"),), source=_SOURCE_MRA),
    "cuc": Node(product="Unity Connection", stores=(("cuc", "tomcat-trust"),), source=_SOURCE_MRA),
}
_ANY = Node(
    product="UC node",
    stores=(("cuc", "tomcat-trust"),),  # Cisco Tomcat: the restart every product shares
    source=_SOURCE_U2C,
    where="of that node (CUCM: on the publisher, it replicates; IM and Presence, Unity "
    "Connection: on every node)",
)


def node_for(port: int, product: str | None = None) -> Node:
    """The product and trust stores behind ``port`` of ``product`` (``cucm``, ``imp``, ``cuc``;
    None: told by the port alone, Unity Connection on 443, tomcat-trust when nothing tells)."""
    if port in _BY_PORT:
        return _BY_PORT[port]
    if product is None and port == _CUC_HTTPS.port:
        product = "cuc"
    return _BY_PRODUCT.get(product or "", _ANY)


def restarts(node: Node) -> tuple[str, ...]:
    """The services to restart after a trust-store change on ``node`` (the one product table
    that the plan kit and the rules use too)."""
    from mratrust.model import Product
    from mratrust.products import trust_restarts

    out: dict[str, None] = {}
    for table, store in node.stores:
        for command in trust_restarts(Product(table), store):
            out[command.removeprefix("utils service restart ")] = None
    out.update(dict.fromkeys(node.also_restart))
    return tuple(out)


def remedy(
    alert: Alert | None,
    *,
    port: int,
    client: x509.Certificate | None,
    sent: bool,
    product: str | None = None,
) -> str:
    """The cause of a refusal of Expressway-C's client certificate, and what to do, in words."""
    node = node_for(port, product)
    *first, last = restarts(node)
    service = f"{', '.join(first)} and {last}" if first else last
    where = node.where or (
        f"on the {node.product} publisher (it replicates to every node)"
        if node.replicates
        else f"on every {node.product} node"
    )
    upload = (
        f"upload the Expressway-C CA chain (root and intermediates) to {node.store_names} "
        f"{where}, then restart {service} (source: {node.source})"
    )
    if not sent or alert is Alert.CERTIFICATE_REQUIRED:
        return (
            "no client certificate reached the server: Expressway-C X14.0.2+ presents its own; "
            "give it with --client-cert/--client-key (if one was given, its key type or signature "
            "algorithm is not among those the server asked for)"
        )
    eku = facts(client).client_auth if client is not None else True
    if alert in USAGE_ALERTS:
        if not eku:
            return (
                "the server refuses the certificate itself, not its issuer: Expressway-C's "
                "certificate has no clientAuth extended key usage. Reissue it from a CSR that asks "
                "for both TLS Web Server and TLS Web Client Authentication, then refresh the UC "
                f"servers on Expressway-C (source: {_SOURCE_MRA})"
            )
        return (
            "the server refuses the certificate itself, not its issuer: its key usage or extended "
            "key usage does not allow client authentication there, or it cannot be parsed. Check "
            "Key Usage (digitalSignature) and that clientAuth is present, and reissue it if not "
            f"(source: {_SOURCE_MRA})"
        )
    if alert is Alert.CERTIFICATE_EXPIRED:
        return (
            "the server says Expressway-C's certificate (or a CA of its chain) has expired or is "
            "not yet valid: renew it (and the CA if that expired), upload the new chain where it "
            f"changed, and check Expressway-C's clock; if the CA changed, {upload}"
        )
    if alert is Alert.CERTIFICATE_REVOKED:
        return (
            "the server says Expressway-C's certificate has been revoked: issue a new one from the "
            "CA and install it on Expressway-C"
        )
    if alert is Alert.ACCESS_DENIED:
        return (
            "the server trusts the certificate but refuses this peer; on SIP OAuth (5091) CUCM "
            "matches its name against the Expressway-C entries it learned at discovery: refresh "
            f"the Unified CM servers on Expressway-C (source: {_SOURCE_OAUTH})"
        )
    if alert in (Alert.HANDSHAKE_FAILURE, Alert.INSUFFICIENT_SECURITY):
        return (
            f"the server found no acceptable parameters ({alert.value}): typically no signature "
            "algorithm in common for Expressway-C's CertificateVerify (its key type or size is "
            "not among those the server accepts); some servers also send it for a certificate "
            f"they refuse without a reason, so check the chain as well: {upload}"
        )
    if alert is Alert.DECRYPT_ERROR:
        return (
            "the server could not verify Expressway-C's signature (decrypt_error): the private "
            "key in use does not match the certificate Expressway-C presents, or the signature "
            "scheme is broken on one side; check the certificate and key installed on "
            "Expressway-C"
        )
    if alert in TRUST_ALERTS:
        return (
            f"the CA chain of Expressway-C's certificate is missing from that trust store: {upload}"
        )
    if alert is None:
        return (
            "the server closed the connection without saying why (JSSE, CUCM's Tomcat, does this "
            f"when it does not trust a client certificate): most often {upload}"
            + (
                ""
                if eku
                else "; Expressway-C's certificate also lacks the clientAuth extended key usage"
            )
        )
    return (
        f"the server refused it with {alert.value}, which names no single cause: check that "
        f"{node.store_names} holds the Expressway-C CA chain and that the certificate has the "
        f"clientAuth extended key usage; {upload}"
    )


__all__ = ["TRUST_ALERTS", "USAGE_ALERTS", "Node", "node_for", "remedy", "restarts"]
