"""The trust graph: who connects to whom, on which port, presenting what (knowledge base §2–§3).

One table, :data:`LEG_TABLE`, says for every TLS connection MRA makes which kind of endpoint is the
client, which kind is the server, the port, which identities the server may present (RSA and
ECDSA), what the client presents, which store each side validates the other with, which setting
orders the offer and under which conditions the connection exists. A deployment expands into
typed :class:`Endpoint` values and :class:`Leg` values from it; the rules, the probe, the lab's
listeners, plan and the report's graph all read that expansion, so no other module holds a port
number of the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import field, fields
from enum import Enum
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from mratrust.values import frozen

if TYPE_CHECKING:  # the table itself needs no model: --help stays free of cryptography
    from mratrust.model import Deployment, Finding, Node, Product, Status, UcCluster


class Transport(Enum):
    """Which Expressway component makes the connection; it decides how verification is gated."""

    ATS = "ats"
    """Traffic Server (HTTPS proxy): verified on every request from X14.2."""
    SIP = "sip"
    """SIP TLS zones (CEtls, CEOAuth): verified when the cluster was discovered with TLS verify."""
    XMPP = "xmpp"
    """XCP to IM and Presence (and XCP to Expressway-E on the traversal zone)."""
    TUNNEL = "ssh"
    """The SSH tunnel Expressway-C opens to Expressway-E (2222) for tunnelled HTTPS."""
    EDGE = "edge"
    """An MRA client's own TLS stack (Jabber, Webex app, phones) towards Expressway-E."""

    @property
    def component(self) -> str:
        """The Expressway component, in words."""
        return {
            "ats": "Traffic Server",
            "sip": "SIP",
            "xmpp": "XCP",
            "ssh": "SSH tunnel",
            "edge": "MRA client",
        }[self.value]


class EcdsaOffer(Enum):
    """Whether the server side of a leg may answer with its ECDSA identity."""

    NEVER = "never"
    ALLOWED = "allowed"


class EndpointKind(Enum):
    """What an endpoint of the graph is (SPEC §4 ``graph.endpoints[].kind``)."""

    EXPRESSWAY_C = "expressway-c"
    EXPRESSWAY_E = "expressway-e"
    CUCM = "cucm"
    IMP = "imp"
    CUC = "cuc"
    MRA_CLIENT = "mra-client"
    """The MRA clients on the internet (Jabber, Webex app, phones): one endpoint for all."""

    @classmethod
    def of(cls, product: Product) -> EndpointKind:
        return _KIND_BY_VALUE[product.value]

    @property
    def unclustered(self) -> bool:
        """Referenced by name alone (``expressway-c/NAME``), not by cluster and name."""
        return self.expressway or self is EndpointKind.MRA_CLIENT

    @property
    def expressway(self) -> bool:
        return self in (EndpointKind.EXPRESSWAY_C, EndpointKind.EXPRESSWAY_E)


_KIND_BY_VALUE = {k.value: k for k in EndpointKind}
_UNCLUSTERED = frozenset(
    {EndpointKind.EXPRESSWAY_C, EndpointKind.EXPRESSWAY_E, EndpointKind.MRA_CLIENT}
)


def endpoint_id(kind: EndpointKind, cluster: str, name: str) -> str:
    """The graph reference of an endpoint: ``expressway-c/NAME`` or ``cucm/CLUSTER/NAME``."""
    if kind in _UNCLUSTERED:
        return f"{kind.value}/{name}"
    return f"{kind.value}/{cluster}/{name}"


def _short(kind: EndpointKind) -> str:
    return {EndpointKind.EXPRESSWAY_C: "expc", EndpointKind.EXPRESSWAY_E: "expe"}.get(
        kind, kind.value
    )


class Purpose(Enum):
    """What a leg carries (SPEC §4 ``graph.legs[].purpose``)."""

    HTTPS = "https"
    """Traffic Server to Tomcat: discovery, AXL, UDS, visual voicemail, the IM&P proxy."""
    TFTP = "tftp"
    """Configuration file download over HTTPS (CUCM TFTP, 6972)."""
    SIP = "sip"
    """SIP TLS (CEtls zones, mixed mode), either direction."""
    SIP_OAUTH = "sip-oauth"
    """SIP OAuth (CEOAuth zones), served by CallManager with the tomcat certificate."""
    XMPP = "xmpp"
    """XCP to IM and Presence, and XCP over the traversal zone."""
    TRAVERSAL = "traversal"
    """SIP over the Unified Communications traversal zone (Expressway-C to Expressway-E)."""
    TUNNEL = "ssh-tunnel"
    """HTTPS tunnelled over SSH from Expressway-C to Expressway-E (2222)."""


ClientAuth = Literal["none", "optional", "required"]
"""Whether the server asks the client for a certificate on a leg."""

EXPRESSWAY_IDENTITY = "server"
"""The name of an Expressway's own certificate (its server certificate) in the graph."""
EXPRESSWAY_STORE = "trusted_cas"
"""The name of an Expressway's trusted CA list in the graph."""


@frozen
class Endpoint:
    """One machine of the graph: an Expressway peer or a UC node."""

    kind: EndpointKind
    cluster: str
    name: str
    id: str = field(init=False, compare=False, repr=False)
    """Stable reference: ``expressway-c/NAME`` or ``cucm/CLUSTER/NAME`` (SPEC §4); computed once
    from the fields above."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", endpoint_id(self.kind, self.cluster, self.name))


@frozen
class LegRow:
    """One row of :data:`LEG_TABLE`: a kind of connection and what happens on it."""

    client: EndpointKind
    server: EndpointKind
    port: int
    purpose: Purpose
    transport: Transport
    rsa_identity: str
    """The identity the server presents (RSA)."""
    ecdsa_identity: str | None
    """Its ECDSA identity, when the server may present one."""
    client_identity: str
    """The identity the client presents when asked (``client_auth`` not ``none``)."""
    client_store: str
    """The store the client validates the server's certificate with."""
    client_auth: ClientAuth = "none"
    server_stores: tuple[str, ...] = ()
    """The stores the server validates the client with in the handshake (all of them)."""
    also_required: tuple[str, ...] = ()
    """Stores Cisco documents must also hold the client's chain, beyond the handshake's."""
    ecdsa_always: bool = False
    """The server always allows ECDSA (SIP TLS on CUCM); otherwise HTTPS Ciphers decides."""
    cipher_setting: str = "uc_server_discovery"
    """The Expressway cipher setting that orders Expressway's offer (uc_server_discovery, sip)."""
    discovery: bool = False
    """The leg Expressway-C discovers the cluster on (verified with TLS verify before X14.2)."""
    needs_mixed: bool = False
    """The leg exists only when the UC cluster is in mixed mode."""
    needs_sip_oauth: bool = False
    """The leg exists only when the UC cluster uses SIP OAuth over MRA."""
    needs_behaviour: str | None = None
    """The :class:`~mratrust.versions.Behaviour` flag the judged version must have for the leg."""
    tls: bool = True
    """The connection is TLS (False: SSH, where no X.509 certificate is exchanged)."""
    label: str = field(init=False, compare=False, repr=False)
    """The short form the report's ``subject.leg`` has always used (``expc->cucm:8443``)."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "label", f"{_short(self.client)}->{_short(self.server)}:{self.port}"
        )

    def exists(self, *, mixed: bool, sip_oauth: bool) -> bool:
        """Does the leg exist for a UC cluster with these settings?"""
        return (mixed or not self.needs_mixed) and (sip_oauth or not self.needs_sip_oauth)

    def applies(self, cluster: UcCluster) -> bool:
        return self.exists(mixed=cluster.mixed, sip_oauth=cluster.sip_oauth)

    @property
    def key(self) -> tuple[EndpointKind, EndpointKind, int]:
        return (self.client, self.server, self.port)

    @property
    def mutual(self) -> bool:
        return self.client_auth != "none"

    def leg_id(self, client_id: str, server_id: str) -> str:
        """The graph reference of this row between two endpoints (SPEC §4)."""
        return f"{client_id}>{server_id}:{self.port}"


_C, _E, _CUCM, _IMP, _CUC, _CLIENTS = (
    EndpointKind.EXPRESSWAY_C,
    EndpointKind.EXPRESSWAY_E,
    EndpointKind.CUCM,
    EndpointKind.IMP,
    EndpointKind.CUC,
    EndpointKind.MRA_CLIENT,
)

EXPRESSWAY_CLIENT_IDENTITY = "client"
"""What an Expressway presents as a TLS client: its X15.5 client certificate where it has one,
else its server certificate (which then needs clientAuth)."""
MRA_CLIENT_STORE = "client-trust"
"""The MRA clients' trust (OS store, a phone's built-in list): not in the inventory."""

_ROWS: tuple[LegRow, ...] = (
    LegRow(
        client=_C, server=_CUCM, port=8443, purpose=Purpose.HTTPS, transport=Transport.ATS,
        rsa_identity="tomcat", ecdsa_identity="tomcat-ECDSA",
        client_identity=EXPRESSWAY_IDENTITY, client_store=EXPRESSWAY_STORE, discovery=True,
    ),
    LegRow(
        client=_C, server=_CUCM, port=6972, purpose=Purpose.TFTP, transport=Transport.ATS,
        rsa_identity="tomcat", ecdsa_identity="tomcat-ECDSA",
        client_identity=EXPRESSWAY_IDENTITY, client_store=EXPRESSWAY_STORE,
        client_auth="optional", server_stores=("tomcat-trust", "CallManager-trust"),
    ),
    LegRow(
        client=_C, server=_CUCM, port=5061, purpose=Purpose.SIP, transport=Transport.SIP,
        rsa_identity="CallManager", ecdsa_identity="CallManager-ECDSA", ecdsa_always=True,
        cipher_setting="sip", client_identity=EXPRESSWAY_IDENTITY,
        client_store=EXPRESSWAY_STORE, client_auth="required",
        server_stores=("CallManager-trust",), needs_mixed=True,
    ),
    LegRow(
        client=_C, server=_CUCM, port=5091, purpose=Purpose.SIP_OAUTH, transport=Transport.SIP,
        rsa_identity="tomcat", ecdsa_identity="tomcat-ECDSA", cipher_setting="sip",
        client_identity=EXPRESSWAY_IDENTITY, client_store=EXPRESSWAY_STORE,
        client_auth="required", server_stores=("tomcat-trust",), needs_sip_oauth=True,
        needs_behaviour="sip_oauth",
    ),
    LegRow(
        client=_CUCM, server=_C, port=5061, purpose=Purpose.SIP, transport=Transport.SIP,
        rsa_identity=EXPRESSWAY_IDENTITY, ecdsa_identity=None, cipher_setting="sip",
        client_identity="CallManager", client_store="CallManager-trust",
        client_auth="required", server_stores=(EXPRESSWAY_STORE,), needs_mixed=True,
    ),
    LegRow(
        client=_C, server=_IMP, port=8443, purpose=Purpose.HTTPS, transport=Transport.ATS,
        rsa_identity="tomcat", ecdsa_identity="tomcat-ECDSA",
        client_identity=EXPRESSWAY_IDENTITY, client_store=EXPRESSWAY_STORE, discovery=True,
    ),
    LegRow(
        client=_C, server=_IMP, port=7400, purpose=Purpose.XMPP, transport=Transport.XMPP,
        rsa_identity="cup-xmpp", ecdsa_identity="cup-xmpp-ECDSA",
        client_identity=EXPRESSWAY_IDENTITY, client_store=EXPRESSWAY_STORE,
        client_auth="required", server_stores=("cup-xmpp-trust",),
        also_required=("tomcat-trust",),
    ),
    LegRow(
        client=_C, server=_CUC, port=443, purpose=Purpose.HTTPS, transport=Transport.ATS,
        rsa_identity="tomcat", ecdsa_identity="tomcat-ECDSA",
        client_identity=EXPRESSWAY_IDENTITY, client_store=EXPRESSWAY_STORE, discovery=True,
    ),
    # the Unified Communications traversal zone (knowledge base L2): C always connects, E asks
    # for C's certificate and checks it against its trusted CA list and TLS verify subject name
    LegRow(
        client=_C, server=_E, port=7001, purpose=Purpose.TRAVERSAL, transport=Transport.SIP,
        rsa_identity=EXPRESSWAY_IDENTITY, ecdsa_identity=None, cipher_setting="sip",
        client_identity=EXPRESSWAY_CLIENT_IDENTITY, client_store=EXPRESSWAY_STORE,
        client_auth="required", server_stores=(EXPRESSWAY_STORE,),
    ),
    LegRow(
        client=_C, server=_E, port=7400, purpose=Purpose.XMPP, transport=Transport.XMPP,
        rsa_identity=EXPRESSWAY_IDENTITY, ecdsa_identity=None,
        client_identity=EXPRESSWAY_CLIENT_IDENTITY, client_store=EXPRESSWAY_STORE,
        client_auth="required", server_stores=(EXPRESSWAY_STORE,),
    ),
    LegRow(
        client=_C, server=_E, port=2222, purpose=Purpose.TUNNEL, transport=Transport.TUNNEL,
        rsa_identity=EXPRESSWAY_IDENTITY, ecdsa_identity=None,
        client_identity=EXPRESSWAY_CLIENT_IDENTITY, client_store=EXPRESSWAY_STORE, tls=False,
    ),
    # the edge (knowledge base L1): MRA clients check Expressway-E's certificate and SAN
    LegRow(
        client=_CLIENTS, server=_E, port=8443, purpose=Purpose.HTTPS, transport=Transport.EDGE,
        rsa_identity=EXPRESSWAY_IDENTITY, ecdsa_identity=None,
        client_identity="none", client_store=MRA_CLIENT_STORE,
    ),
)  # fmt: skip

LEG_TABLE: Mapping[tuple[EndpointKind, EndpointKind, int], LegRow] = {r.key: r for r in _ROWS}
"""Who connects where (knowledge base §2 L1–L9, L5b), keyed by (client kind, server kind, port).

The rows whose server is a UC node (or whose client is, 5061 in mixed mode) expand into
:class:`Leg`; the traversal rows (Expressway-C → Expressway-E) and the edge row (MRA clients →
Expressway-E) have no UC side and expand into plain :class:`Leg` values (:func:`edge_legs`).
"""


def row(client: EndpointKind, server: EndpointKind, port: int) -> LegRow:
    """The row for a connection (``KeyError`` if the table has none)."""
    return LEG_TABLE[(client, server, port)]


def rows_to(server: EndpointKind, *, client: EndpointKind | None = None) -> Iterator[LegRow]:
    """The rows whose server is of kind ``server`` (and client of kind ``client``), table order."""
    for r in _ROWS:
        if r.server is server and (client is None or r.client is client):
            yield r


def row_for(client: EndpointKind, server: EndpointKind, purpose: Purpose) -> LegRow:
    """The one row with this client, server and purpose."""
    found = [r for r in _ROWS if (r.client, r.server, r.purpose) == (client, server, purpose)]
    if len(found) != 1:
        raise LookupError(f"no single leg {client.value}->{server.value} for {purpose.value}")
    return found[0]


CUCM_HTTPS_PORT = row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, Purpose.HTTPS).port
"""CUCM's HTTPS (Tomcat) port: the default of the standalone probe and the lab's example."""


EXPRESSWAY_API_PORT = 443
"""Expressway's administration web and REST API (a management interface, not a leg)."""


def https_port(kind: EndpointKind) -> int:
    """The HTTPS (Tomcat) port Expressway-C reaches a UC product on, which is also where that
    product's management APIs (AXL, UDS, certificate management) answer."""
    return row_for(EndpointKind.EXPRESSWAY_C, kind, Purpose.HTTPS).port


def identity_ports(kind: EndpointKind) -> dict[int, tuple[str, bool]]:
    """Port -> (the RSA identity presented there, whether the leg exists only in mixed mode) for
    every leg from Expressway-C to a ``kind`` node that presents a distinct identity."""
    out: dict[int, tuple[str, bool]] = {}
    for r in rows_to(kind, client=EndpointKind.EXPRESSWAY_C):
        if r.needs_sip_oauth or r.purpose is Purpose.TFTP:
            continue  # the same tomcat identity as HTTPS, behind a mode or a service
        out.setdefault(r.port, (r.rsa_identity, r.needs_mixed))
    return out


def rows_at(port: int, *, client: EndpointKind = EndpointKind.EXPRESSWAY_C) -> tuple[LegRow, ...]:
    """The rows on ``port`` whose client is of kind ``client``, in table order (empty: none)."""
    return tuple(r for r in _ROWS if r.port == port and r.client is client)


def ports_by_transport(
    client: EndpointKind = EndpointKind.EXPRESSWAY_C,
) -> dict[Transport, tuple[int, ...]]:
    """The ports of the rows from ``client``, by the component that connects there."""
    out: dict[Transport, dict[int, None]] = {}
    for r in _ROWS:
        if r.client is client:
            out.setdefault(r.transport, {})[r.port] = None
    return {t: tuple(ports) for t, ports in out.items()}


def transport_of(server_kind: str, port: int) -> Transport:
    """The Expressway component that connects to a ``server_kind`` endpoint on ``port``."""
    for r in _ROWS:
        if r.server.value == server_kind and r.port == port:
            return r.transport
    return Transport.ATS


def expressway_c(deployment: Deployment) -> tuple[Endpoint, ...]:
    """The Expressway-C peers as endpoints (one unnamed endpoint when no peer is given)."""
    exp = deployment.expressway
    cluster = exp.cluster_name or (exp.peers[0].name if exp.peers else "expressway-c")
    names = [p.name for p in exp.peers] or ["expressway-c"]
    return tuple(Endpoint(kind=EndpointKind.EXPRESSWAY_C, cluster=cluster, name=n) for n in names)


def uc_endpoint(cluster: UcCluster, node: Node) -> Endpoint:
    return Endpoint(kind=EndpointKind.of(cluster.product), cluster=cluster.name, name=node.name)


def peer_id(name: str) -> str:
    """The graph reference of the Expressway-C peer ``name``."""
    return endpoint_id(EndpointKind.EXPRESSWAY_C, "", name)


def node_id(cluster: UcCluster, node_name: str) -> str:
    """The graph reference of a UC node of ``cluster``."""
    return _uc_id(cluster.product._value_, cluster.name, node_name)


@lru_cache(maxsize=65536)
def _uc_id(product: str, cluster: str, node: str) -> str:
    """One string per node: every finding about the node shares it."""
    return endpoint_id(_KIND_BY_VALUE[product], cluster, node)


@frozen
class Leg:
    """One TLS connection of the deployment: a row of the table between two endpoints."""

    row: LegRow
    client: Endpoint
    server: Endpoint
    ecdsa: EcdsaOffer
    id: str = field(init=False, compare=False, repr=False)
    """Stable reference ``CLIENT>SERVER:PORT`` (SPEC §4 ``graph.legs[].id``); computed once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", self.row.leg_id(self.client.id, self.server.id))

    @property
    def label(self) -> str:
        """The short form the report's ``subject.leg`` has always used (``expc->cucm:8443``)."""
        return self.row.label

    @property
    def port(self) -> int:
        return self.row.port

    @property
    def purpose(self) -> Purpose:
        return self.row.purpose

    @property
    def transport(self) -> Transport:
        return self.row.transport

    @property
    def rsa_identity(self) -> str:
        return self.row.rsa_identity

    @property
    def ecdsa_identity(self) -> str | None:
        return self.row.ecdsa_identity

    @property
    def cipher_setting(self) -> str:
        return self.row.cipher_setting

    @property
    def client_certificate_stores(self) -> tuple[str, ...]:
        """Stores of the server that must trust the client's certificate (mutual TLS)."""
        return self.row.server_stores

    @property
    def discovery(self) -> bool:
        return self.row.discovery

    @property
    def mutual(self) -> bool:
        return self.row.mutual

    @property
    def from_expressway_c(self) -> bool:
        """Expressway-C is the client and a UC node the server (the C2U direction)."""
        return self.client.kind is EndpointKind.EXPRESSWAY_C and not self.server.kind.expressway

    def expected_names(self) -> tuple[str, ...]:
        """The names the client uses for the server on this leg (each must be in the SAN)."""
        return (self.server.name,)


@frozen
class UcLeg(Leg):
    """A leg between an Expressway-C peer and a UC node (either may be the client).

    ``cluster`` and ``node`` are its UC side. Legs between Expressways (traversal) are plain
    :class:`Leg` values: they have no UC side.
    """

    cluster: UcCluster
    node: Node

    def expected_names(self) -> tuple[str, ...]:
        """The names the client uses for the server on this leg (each must be in the SAN)."""
        names = [self.server.name]
        if (
            self.server.kind is EndpointKind.CUC
            and self.cluster.voicemail_host
            and self.cluster.voicemail_host.lower() != self.server.name.lower()
        ):
            names.append(self.cluster.voicemail_host)
        return tuple(names)


def ecdsa_offer(r: LegRow, cluster: UcCluster) -> EcdsaOffer:
    """Whether the server may answer with ECDSA on a row, for this cluster's settings."""
    if r.ecdsa_identity is None:
        return EcdsaOffer.NEVER
    from mratrust.model import HttpsCiphers

    if r.ecdsa_always or cluster.https_ciphers is HttpsCiphers.EC_AND_RSA:
        return EcdsaOffer.ALLOWED
    return EcdsaOffer.NEVER


MRA_CLIENTS = Endpoint(kind=EndpointKind.MRA_CLIENT, cluster="", name="internet")
"""The MRA clients, as one endpoint of the graph."""


def expressway_e(deployment: Deployment) -> tuple[Endpoint, ...]:
    """The Expressway-E peers as endpoints (none when the inventory has no Expressway-E)."""
    exp = deployment.expressway_e
    if exp is None:
        return ()
    cluster = exp.cluster_name or (exp.peers[0].name if exp.peers else "expressway-e")
    return tuple(
        Endpoint(kind=EndpointKind.EXPRESSWAY_E, cluster=cluster, name=p.name) for p in exp.peers
    )


def expe_id(name: str) -> str:
    """The graph reference of the Expressway-E peer ``name``."""
    return endpoint_id(EndpointKind.EXPRESSWAY_E, "", name)


def edge_legs(deployment: Deployment) -> tuple[Leg, ...]:
    """The legs with no UC side: the traversal legs (every Expressway-C peer to every
    Expressway-E peer, table order), then the edge legs (MRA clients to each Expressway-E peer).
    """
    out: list[Leg] = []
    e_peers = expressway_e(deployment)
    for expc in expressway_c(deployment):
        for expe in e_peers:
            for r in rows_to(EndpointKind.EXPRESSWAY_E, client=EndpointKind.EXPRESSWAY_C):
                out.append(Leg(row=r, client=expc, server=expe, ecdsa=EcdsaOffer.NEVER))
    for expe in e_peers:
        for r in rows_to(EndpointKind.EXPRESSWAY_E, client=EndpointKind.MRA_CLIENT):
            out.append(Leg(row=r, client=MRA_CLIENTS, server=expe, ecdsa=EcdsaOffer.NEVER))
    return tuple(out)


def traversal_leg(deployment: Deployment, c_peer: str, e_peer: str, port: int) -> Leg:
    """The traversal leg from Expressway-C peer ``c_peer`` to Expressway-E peer ``e_peer``."""
    return Leg(
        row=row(EndpointKind.EXPRESSWAY_C, EndpointKind.EXPRESSWAY_E, port),
        client=Endpoint(kind=EndpointKind.EXPRESSWAY_C, cluster="", name=c_peer),
        server=Endpoint(kind=EndpointKind.EXPRESSWAY_E, cluster="", name=e_peer),
        ecdsa=EcdsaOffer.NEVER,
    )


def edge_leg(e_peer: str) -> Leg:
    """The edge leg from the MRA clients to Expressway-E peer ``e_peer`` (8443)."""
    return Leg(
        row=row(EndpointKind.MRA_CLIENT, EndpointKind.EXPRESSWAY_E, 8443),
        client=MRA_CLIENTS,
        server=Endpoint(kind=EndpointKind.EXPRESSWAY_E, cluster="", name=e_peer),
        ecdsa=EcdsaOffer.NEVER,
    )


def peer_label(leg: Leg) -> str:
    """``expc1.example.com->expe1.example.com:7001``: a leg between Expressway peers (or the
    MRA clients) named by its endpoints, since clusters may have several peers."""
    return f"{leg.client.name}->{leg.server.name}:{leg.port}"


_Plan = tuple[tuple[LegRow, bool, EcdsaOffer], ...]


def _cluster_rows(cluster: UcCluster, *, c2u_only: bool) -> _Plan:
    """The rows between Expressway-C and a node of ``cluster``, in table order: (row, whether
    Expressway-C is the client, the ECDSA offer). The same for every node of the cluster."""
    kind = EndpointKind.of(cluster.product)
    out: list[tuple[LegRow, bool, EcdsaOffer]] = []
    for r in _ROWS:
        if not r.applies(cluster):
            continue
        if r.client is EndpointKind.EXPRESSWAY_C and r.server is kind:
            out.append((r, True, ecdsa_offer(r, cluster)))
        elif r.server is EndpointKind.EXPRESSWAY_C and r.client is kind and not c2u_only:
            out.append((r, False, ecdsa_offer(r, cluster)))
    return tuple(out)


def _node_legs(cluster: UcCluster, node: Node, expc: Endpoint, plan: _Plan) -> Iterator[UcLeg]:
    uc = uc_endpoint(cluster, node)
    for r, outbound, ecdsa in plan:
        client, server = (expc, uc) if outbound else (uc, expc)
        yield _new_uc_leg(r, client, server, ecdsa, cluster, node)


def slot_twin(cls: type, names: tuple[str, ...]) -> type | None:
    """A plain class with the slots of the frozen dataclass ``cls``, which an object made from it
    can become (``obj.__class__ = cls``) once its slots are set by ordinary assignments: far
    cheaper than the frozen class's ``object.__setattr__`` per field, or even than calling each
    slot's descriptor. None when ``cls`` is not exactly a class of those slots and no work of
    its own at creation (then its ``__init__`` makes each object)."""
    if (
        tuple(getattr(cls, "__slots__", ())) != names
        or tuple(f.name for f in fields(cls)) != names
        or cls.__bases__ != (object,)
        or hasattr(cls, "__post_init__")
    ):
        return None
    twin = type(f"_{cls.__name__}Slots", (), {"__slots__": names})
    probe: Any = object.__new__(twin)
    try:
        probe.__class__ = cls  # the layouts match, or Python refuses
    except TypeError:  # pragma: no cover - a layout Python does not let one become the other
        return None
    return twin


def _uc_leg_maker() -> Callable[[LegRow, Endpoint, Endpoint, EcdsaOffer, UcCluster, Node], UcLeg]:
    """A function making the :class:`UcLeg` its arguments describe, ``id`` included.

    The dataclass's ``__init__`` sets each field through the frozen class's
    ``object.__setattr__``, most of the cost of the thousands of legs of a large deployment; this
    sets the slots directly (the same value, in less than half the time). Should the classes
    have other fields, or other work at creation, the dataclass's ``__init__`` is used instead.
    """
    shape = (
        tuple(getattr(Leg, "__slots__", ())) == ("row", "client", "server", "ecdsa", "id")
        and tuple(getattr(UcLeg, "__slots__", ())) == ("cluster", "node")
        and tuple(f.name for f in fields(UcLeg))
        == ("row", "client", "server", "ecdsa", "id", "cluster", "node")
        and getattr(UcLeg, "__post_init__", None) is getattr(Leg, "__post_init__", None)
    )
    if not shape:

        def plain(
            row: LegRow,
            client: Endpoint,
            server: Endpoint,
            ecdsa: EcdsaOffer,
            cluster: UcCluster,
            node: Node,
        ) -> UcLeg:
            return UcLeg(
                row=row, client=client, server=server, cluster=cluster, node=node, ecdsa=ecdsa
            )

        return plain
    new = object.__new__
    set_row, set_client, set_server, set_ecdsa, set_id = (
        Leg.__dict__[name].__set__ for name in ("row", "client", "server", "ecdsa", "id")
    )
    set_cluster, set_node = (UcLeg.__dict__[name].__set__ for name in ("cluster", "node"))

    def direct(
        row: LegRow,
        client: Endpoint,
        server: Endpoint,
        ecdsa: EcdsaOffer,
        cluster: UcCluster,
        node: Node,
    ) -> UcLeg:
        leg: UcLeg = new(UcLeg)
        set_row(leg, row)
        set_client(leg, client)
        set_server(leg, server)
        set_ecdsa(leg, ecdsa)
        set_id(leg, row.leg_id(client.id, server.id))  # as Leg.__post_init__ does
        set_cluster(leg, cluster)
        set_node(leg, node)
        return leg

    return direct


_new_uc_leg = _uc_leg_maker()


def node_legs(
    cluster: UcCluster, node: Node, expc: Endpoint, *, c2u_only: bool = False
) -> Iterator[UcLeg]:
    """The legs between one Expressway-C peer and one UC node, in table order."""
    return _node_legs(cluster, node, expc, _cluster_rows(cluster, c2u_only=c2u_only))


def _uc_legs(deployment: Deployment, expc: Endpoint, *, c2u_only: bool) -> Iterator[UcLeg]:
    """:func:`node_legs` of every node, cluster by cluster, node by node."""
    for cluster in deployment.uc_clusters:
        plan = _cluster_rows(cluster, c2u_only=c2u_only)
        for node in cluster.nodes:
            yield from _node_legs(cluster, node, expc, plan)


def legs(deployment: Deployment) -> tuple[Leg, ...]:
    """Every leg of the deployment: per Expressway-C peer, cluster by cluster, node by node;
    then the legs with no UC side (:func:`edge_legs`: the traversal zone and the edge)."""
    return (
        *(
            leg
            for expc in expressway_c(deployment)
            for leg in _uc_legs(deployment, expc, c2u_only=False)
        ),
        *edge_legs(deployment),
    )


def c2u_legs(deployment: Deployment) -> tuple[UcLeg, ...]:
    """The legs Expressway-C makes to the UC nodes, as its first peer makes them.

    Peers share their configuration; rules that depend on a peer's own certificate or trusted CA
    list loop over the peers themselves.
    """
    return tuple(_uc_legs(deployment, expressway_c(deployment)[0], c2u_only=True))


# --------------------------------------------------------------------------- the report's graph


@frozen
class GraphLeg:
    """A leg of the report's graph with the worst status of the findings about it."""

    leg: Leg
    status: Status | None
    """``None``: no finding is about this leg (nothing was judged on it)."""


@frozen
class Graph:
    """The trust graph a report judged (SPEC §4 ``graph``)."""

    endpoints: tuple[Endpoint, ...]
    legs: tuple[GraphLeg, ...]


def _graph_leg_maker() -> Callable[[Leg, Status | None], GraphLeg]:
    """A function making a :class:`GraphLeg`, its slots set as :func:`slot_twin` allows (the
    dataclass's ``__init__`` for any other shape)."""
    twin = slot_twin(GraphLeg, ("leg", "status"))
    if twin is None:
        return lambda leg, status: GraphLeg(leg=leg, status=status)
    new = object.__new__

    def direct(leg: Leg, status: Status | None) -> GraphLeg:
        made: Any = new(twin)
        made.leg = leg
        made.status = status
        made.__class__ = GraphLeg
        return made  # type: ignore[no-any-return]

    return direct


_new_graph_leg = _graph_leg_maker()
_ID_OF = attrgetter("id")


def endpoints(deployment: Deployment) -> tuple[Endpoint, ...]:
    """Every endpoint: the Expressway-C peers, then the UC nodes cluster by cluster."""
    e_peers = expressway_e(deployment)
    return (
        *expressway_c(deployment),
        *e_peers,
        *((MRA_CLIENTS,) if e_peers else ()),
        *(uc_endpoint(cluster, node) for cluster, node in deployment.nodes()),
    )


def _kin(
    every: tuple[Leg, ...], findings: tuple[Finding, ...]
) -> Iterator[tuple[Finding, Sequence[Leg]]]:
    """(finding, the legs it is about) for each finding that names a leg, in the order of
    ``findings``; the legs in the order of ``every``.

    A finding names one leg, but a check judged for every Expressway-C peer (the node's
    certificate against each peer's trusted CA list) is about that node's legs from every peer,
    and a check of a cluster-wide store against one peer's certificate (the subject's node is
    that peer) is about that peer's legs to every node of the cluster. Both are the same kind of
    connection (the same row) in the same cluster, sharing the endpoint the finding's subject
    names; two indexes, by UC node and by either endpoint's name, find them.
    """
    by_id = {leg.id: leg for leg in every}
    by_node: dict[tuple[int, str, str], list[UcLeg]] = {}
    by_end: dict[tuple[int, str, str], list[UcLeg]] = {}
    for leg in every:
        if isinstance(leg, UcLeg):
            row, cluster = id(leg.row), leg.cluster.name
            by_node.setdefault((row, cluster, leg.node.name), []).append(leg)
            for name in dict.fromkeys((leg.client.name, leg.server.name)):
                by_end.setdefault((row, cluster, name), []).append(leg)
    for f in findings:
        subject = f.subject
        named = by_id.get(subject.leg_id or "")
        if named is None:
            continue
        if not isinstance(named, UcLeg):
            yield f, (named,)  # a leg with no UC side counts only its own findings
            continue
        row, cluster, own = id(named.row), named.cluster.name, named.node.name
        node = subject.node
        if node is not None and node != own and node in (named.client.name, named.server.name):
            yield f, by_end[(row, cluster, node)]  # about one peer: its legs to every node
        else:
            yield f, by_node[(row, cluster, own)]


def about_legs(every: tuple[Leg, ...], findings: tuple[Finding, ...]) -> dict[str, list[Finding]]:
    """Leg id -> the findings about that leg (the one a finding names, and its kin by
    :func:`_kin`), in the order of ``findings``. Legs no finding is about are absent."""
    out: dict[str, list[Finding]] = {}
    for f, same in _kin(every, findings):
        for leg in same:
            out.setdefault(leg.id, []).append(f)
    return out


def graph(
    deployment: Deployment,
    findings: tuple[Finding, ...],
    *,
    present: Callable[[LegRow], bool] = lambda _row: True,
    every: tuple[Leg, ...] | None = None,
) -> Graph:
    """The deployment's graph, each leg with the worst status of the findings about it.

    ``every``: the deployment's legs when the caller has them already (:func:`legs`).
    """
    every = tuple(leg for leg in (legs(deployment) if every is None else every) if present(leg.row))
    worst: dict[str, Status] = {}
    for f, same in _kin(every, findings):
        status = f.status
        for leg in same:
            seen = worst.get(leg.id)
            if seen is None or (seen is not status and status.rank < seen.rank):
                worst[leg.id] = status
    return Graph(
        endpoints=endpoints(deployment),
        legs=tuple(map(_new_graph_leg, every, map(worst.get, map(_ID_OF, every)))),
    )
