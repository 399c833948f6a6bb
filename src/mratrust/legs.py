"""A deployment expanded into the TLS connections MRA makes (knowledge base §2–§3).

Each :class:`Leg` is one connection: who is the client, which node and port, which identities the
server may present (RSA and ECDSA), which Expressway cipher setting orders the offer, whether the
client presents a certificate and which of the server's stores must trust it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from mratrust.model import Deployment, HttpsCiphers, Node, Product, UcCluster


class Transport(Enum):
    """Which Expressway component makes the connection; it decides how verification is gated."""

    ATS = "ats"
    """Traffic Server (HTTPS proxy): verified on every request from X14.2."""
    SIP = "sip"
    """SIP TLS zones (CEtls, CEOAuth): verified when the cluster was discovered with TLS verify."""
    XMPP = "xmpp"
    """XCP to IM and Presence: verified with TLS verify."""


class EcdsaOffer(Enum):
    """Whether the server side of a leg may answer with its ECDSA identity."""

    NEVER = "never"
    ALLOWED = "allowed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One TLS connection from Expressway-C to a UC node."""

    cluster: UcCluster
    node: Node
    port: int
    transport: Transport
    rsa_identity: str
    ecdsa_identity: str | None
    ecdsa: EcdsaOffer
    cipher_setting: str
    """Expressway cipher setting ordering the offer: uc_server_discovery or sip."""
    client_certificate_stores: tuple[str, ...] = ()
    """Stores of the UC cluster that must trust Expressway-C's certificate (mutual TLS)."""
    discovery: bool = False
    """The leg Expressway-C uses to discover the cluster (verified with TLS verify before X14.2)."""

    @property
    def id(self) -> str:
        return f"expc->{self.cluster.product.value}:{self.port}"

    @property
    def mutual(self) -> bool:
        return bool(self.client_certificate_stores)

    def expected_names(self) -> tuple[str, ...]:
        """The names Expressway-C uses for this node on this leg (each must be in the SAN)."""
        names = [self.node.name]
        if (
            self.cluster.product is Product.CUC
            and self.cluster.voicemail_host
            and self.cluster.voicemail_host.lower() != self.node.name.lower()
        ):
            names.append(self.cluster.voicemail_host)
        return tuple(names)


@dataclass(frozen=True, slots=True, kw_only=True)
class LegKind:
    """One row of the leg table: a port of a product and what happens on it."""

    product: Product
    port: int
    transport: Transport
    rsa_identity: str
    ecdsa_identity: str | None
    ecdsa_always: bool = False
    """SIP TLS on CUCM always allows ECDSA; HTTPS-like ports follow the HTTPS Ciphers parameter."""
    cipher_setting: str = "uc_server_discovery"
    client_certificate_stores: tuple[str, ...] = ()
    discovery: bool = False
    when: Callable[[UcCluster], bool] = lambda _cluster: True


LEG_TABLE: tuple[LegKind, ...] = (
    LegKind(
        product=Product.CUCM, port=8443, transport=Transport.ATS, rsa_identity="tomcat",
        ecdsa_identity="tomcat-ECDSA", discovery=True,
    ),
    LegKind(
        product=Product.CUCM, port=6972, transport=Transport.ATS, rsa_identity="tomcat",
        ecdsa_identity="tomcat-ECDSA",
        client_certificate_stores=("tomcat-trust", "CallManager-trust"),
    ),
    LegKind(
        product=Product.CUCM, port=5061, transport=Transport.SIP, rsa_identity="CallManager",
        ecdsa_identity="CallManager-ECDSA", ecdsa_always=True, cipher_setting="sip",
        client_certificate_stores=("CallManager-trust",), when=lambda c: c.mixed,
    ),
    LegKind(
        product=Product.CUCM, port=5091, transport=Transport.SIP, rsa_identity="tomcat",
        ecdsa_identity="tomcat-ECDSA", cipher_setting="sip",
        client_certificate_stores=("tomcat-trust",), when=lambda c: c.sip_oauth,
    ),
    LegKind(
        product=Product.IMP, port=8443, transport=Transport.ATS, rsa_identity="tomcat",
        ecdsa_identity="tomcat-ECDSA", discovery=True,
    ),
    LegKind(
        product=Product.IMP, port=7400, transport=Transport.XMPP, rsa_identity="cup-xmpp",
        ecdsa_identity="cup-xmpp-ECDSA", client_certificate_stores=("cup-xmpp-trust",),
    ),
    LegKind(
        product=Product.CUC, port=443, transport=Transport.ATS, rsa_identity="tomcat",
        ecdsa_identity="tomcat-ECDSA", discovery=True,
    ),
)  # fmt: skip
"""Who connects where (knowledge base §2–§3): every leg Expressway-C makes, as data."""


def node_legs(cluster: UcCluster, node: Node) -> Iterator[Leg]:
    """The legs to one node, in table order."""
    https = (
        EcdsaOffer.ALLOWED if cluster.https_ciphers is HttpsCiphers.EC_AND_RSA else EcdsaOffer.NEVER
    )
    for kind in LEG_TABLE:
        if kind.product is not cluster.product or not kind.when(cluster):
            continue
        yield Leg(
            cluster=cluster,
            node=node,
            port=kind.port,
            transport=kind.transport,
            rsa_identity=kind.rsa_identity,
            ecdsa_identity=kind.ecdsa_identity,
            ecdsa=EcdsaOffer.ALLOWED if kind.ecdsa_always else https,
            cipher_setting=kind.cipher_setting,
            client_certificate_stores=kind.client_certificate_stores,
            discovery=kind.discovery,
        )


def legs(deployment: Deployment) -> tuple[Leg, ...]:
    """Every leg of the deployment, cluster by cluster, node by node."""
    return tuple(leg for cluster, node in deployment.nodes() for leg in node_legs(cluster, node))
