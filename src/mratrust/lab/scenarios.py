"""The scenario catalogue: the healthy baseline B0 and every scenario as a change to it.

A scenario is data: an id, a title, the versions it is audited on, the outcome the audit must
predict (as text, for people) and a tuple of :class:`Change` objects applied to the B0
:class:`DeploymentSpec`. :func:`build_scenario` turns a spec into real certificates and keys in
memory (:class:`ScenarioMaterial`, used by the lab servers); :func:`write_material` writes them
and an inventory (SPEC §3, schema 1) to a folder; :func:`write_scenario` does both.

Layout written under the output folder (paths in the YAML are relative to it)::

    inventory.yaml
    certs/ca/<CA>.pem                              every CA of the scenario, one per file
    certs/expressway/<peer>.pem                    Expressway-C certificate + intermediates
    certs/expressway/<peer>.key                    its private key (mode 0600)
    certs/expressway/<peer>-trusted-cas.pem        the trusted CA list, in order
    certs/<cluster>/<node>/<identity>.pem          identity + intermediates
    certs/<cluster>/<identity>-multi-server.pem    a certificate shared by several nodes
    certs/<cluster>/<store>.pem | <store>/NN-*.pem trust stores (bundle or folder, order kept)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mratrust.errors import LabError
from mratrust.lab.pkigen import (
    BOTH_EKU,
    DEFAULT_POOL,
    Eku,
    Issued,
    KeyPool,
    KeyType,
    Validity,
    make_ca,
    make_cucm_self_signed,
    make_leaf,
    make_multi_server,
    utc_seconds,
    write_certs,
    write_key,
)
from mratrust.pki.write import safe_name

ProductName = Literal["cucm", "imp", "cuc"]
NodeRoleName = Literal["publisher", "subscriber"]
SecurityModeName = Literal["non-secure", "mixed"]
HttpsCiphersName = Literal["rsa-only", "ec-and-rsa"]
TlsCiphersName = Literal["rsa-preferred", "ec-preferred"]

LEAF_KEY_SLOTS = 3
"""CA-issued UC node leaves share this many RSA (and EC) keys; CAs and self-signed never share."""

# --------------------------------------------------------------------------- the spec


@dataclass(frozen=True, slots=True, kw_only=True)
class CaSpec:
    """A certificate authority: ``ref`` names it in the spec, ``common_name`` in the certificate.

    Two CAs may share a common name (an old and a renewed root) but never a ``ref``; each ref has
    its own key unless ``key_slot`` says otherwise.
    """

    ref: str
    common_name: str
    parent: str | None = None
    key_type: KeyType = KeyType.RSA
    days_before: int = 3650
    days_after: int = 7300
    critical_basic_constraints: bool = True
    key_slot: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySpec:
    """How one identity certificate is made.

    ``issuer`` is a CA ref (``None``: self-signed, CUCM style). ``multi_server`` makes one
    certificate for the whole cluster (CN ``<publisher>-ms``, SAN every node). ``reuse`` names
    another identity of the same node whose certificate is used as is (CUCM 14+ reuse).
    ``common_name``/``san`` default to the node's certificate name; ``san=()`` means no SAN.
    Validity runs from ``days_before`` days before ``now`` to ``days_after`` days after it
    (negative: in the past).
    """

    issuer: str | None = None
    multi_server: bool = False
    reuse: str | None = None
    key_type: KeyType = KeyType.RSA
    common_name: str | None = None
    san: tuple[str, ...] | None = None
    eku: tuple[Eku, ...] = BOTH_EKU
    days_before: int = 30
    days_after: int = 730
    key_slot: str | None = None


def issued(ca: str, **kw: Any) -> IdentitySpec:
    """An identity issued by the CA ``ca``."""
    return IdentitySpec(issuer=ca, **kw)


def self_signed(key_type: KeyType = KeyType.RSA, **kw: Any) -> IdentitySpec:
    """A CUCM-style self-signed identity."""
    return IdentitySpec(issuer=None, key_type=key_type, **kw)


def multi_server(ca: str | None, **kw: Any) -> IdentitySpec:
    """A multi-server (SAN) identity shared by every node of the cluster."""
    return IdentitySpec(issuer=ca, multi_server=True, **kw)


def reuse(identity: str) -> IdentitySpec:
    """The very certificate of another identity of the same node (CUCM 14+ reuse)."""
    return IdentitySpec(reuse=identity)


@dataclass(frozen=True, slots=True)
class CaRef:
    """A trust-store entry: a CA of the scenario."""

    ca: str


@dataclass(frozen=True, slots=True)
class IdentityRef:
    """A trust-store entry: a UC node's identity certificate itself (self-signed trust)."""

    cluster: str
    node: str
    identity: str


@dataclass(frozen=True, slots=True)
class PeerRef:
    """A trust-store entry: an Expressway-C peer's own certificate (mixed-mode CUCM stores)."""

    peer: str


TrustEntry = CaRef | IdentityRef | PeerRef


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSpec:
    """A trust store by CUCM's name; written as a bundle or (``directory``) a folder."""

    name: str
    entries: tuple[TrustEntry, ...]
    directory: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSpec:
    """A UC node as defined in System > Server (``name``) and its identities, in order.

    ``certificate_name`` is the FQDN the product puts in its own certificates (default: ``name``);
    it differs when the node is defined by a short host name.
    """

    name: str
    role: NodeRoleName
    identities: tuple[tuple[str, IdentitySpec], ...]
    certificate_name: str | None = None

    @property
    def fqdn(self) -> str:
        """The name used in the node's certificates."""
        return self.certificate_name or self.name

    def identity(self, name: str) -> IdentitySpec | None:
        """The spec of identity ``name``, if the node has it."""
        return dict(self.identities).get(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSpec:
    """A CUCM, IM&P or Unity Connection cluster as Expressway-C knows it.

    Three settings exist for the lab's servers only (the inventory has no field for them):
    ``tls13`` (the nodes negotiate TLS 1.3; default on, as assumed for CUCM 15, see the README),
    ``tls_ciphers`` (CUCM's "TLS Ciphers" enterprise parameter, which orders the certificate
    types on SIP TLS 5061: "All Ciphers RSA Preferred" by default, or EC preferred) and
    ``sends_intermediates`` (the nodes send their intermediates with their certificate; off: the
    leaf alone).
    """

    name: str
    product: ProductName
    version: str | None
    publisher: str
    tls_verify: bool = True
    security_mode: SecurityModeName = "non-secure"
    sip_oauth: bool = False
    https_ciphers: HttpsCiphersName = "rsa-only"
    secure_profiles: tuple[str, ...] = ()
    voicemail_host: str | None = None
    trust: tuple[StoreSpec, ...] = ()
    nodes: tuple[NodeSpec, ...] = ()
    tls13: bool = True
    tls_ciphers: TlsCiphersName = "rsa-preferred"
    sends_intermediates: bool = True

    def store(self, name: str) -> StoreSpec | None:
        """The trust store ``name``, if defined."""
        return next((s for s in self.trust if s.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class CipherSpec:
    """Configured Expressway cipher strings (``None``: the version default)."""

    uc_server_discovery: str | None = None
    sip: str | None = None
    https: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerSpec:
    """An Expressway peer: its certificate and its trusted CA list, in order.

    ``client`` is an X15.5 separate client certificate (``None``: the server certificate plays
    both roles).
    """

    name: str
    identity: IdentitySpec
    trusted: tuple[TrustEntry, ...]
    client: IdentitySpec | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpresswaySpec:
    """The Expressway-C cluster (SPEC §3 ``expressway``)."""

    version: str
    upgraded_from: str | None
    cluster_name: str | None
    verify_origin_server: bool = True
    ciphers: CipherSpec = field(default_factory=CipherSpec)
    sip_tls_versions: tuple[str, ...] = ("TLSv1.2",)
    sip_signature_pref_rsa: bool | None = None
    peers: tuple[PeerSpec, ...] = ()
    cluster_tls_mode: Literal["permissive", "enforce"] = "permissive"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpresswayESpec:
    """The Expressway-E cluster (SPEC §3 ``expressway_e``) and its side of the traversal zone.

    ``sends_intermediates`` is a lab setting (the inventory has no field for it): the peers send
    their intermediates with their certificate (default), or the leaf alone.
    """

    version: str
    upgraded_from: str | None
    cluster_name: str | None
    peers: tuple[PeerSpec, ...]
    edge_domains: tuple[str, ...] = ()
    enable_server_eku_upload: bool = False
    peer_addresses: tuple[str, ...] = ()
    tls_verify_subject_name: str | None = None
    traversal_port: int | None = None
    cluster_tls_mode: Literal["permissive", "enforce"] = "permissive"
    sends_intermediates: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentSpec:
    """A whole deployment before any certificate exists.

    ``server_cipher_preference`` is a lab setting: the simulated nodes choose the cipher by their
    own order (True) or honour the client's (False, the default).
    """

    name: str
    cas: tuple[CaSpec, ...]
    expressway: ExpresswaySpec
    clusters: tuple[ClusterSpec, ...]
    server_cipher_preference: bool = False
    expressway_e: ExpresswayESpec | None = None

    def cluster(self, name: str) -> ClusterSpec:
        """The cluster ``name`` (LabError if absent)."""
        for c in self.clusters:
            if c.name == name:
                return c
        raise LabError(f"the scenario has no cluster {name!r}")


# --------------------------------------------------------------------------- the baseline

ENT_CHAIN: tuple[TrustEntry, ...] = (CaRef("ENT-ROOT"), CaRef("ENT-INT"))
ENT2_CHAIN: tuple[TrustEntry, ...] = (CaRef("ENT2-ROOT"), CaRef("ENT2-INT"))

CUCM_PUB = "cucm-pub.example.com"
CUCM_SUB1 = "cucm-sub1.example.com"
EXPC1 = "expc1.example.com"


def _root(name: str) -> CaSpec:
    return CaSpec(ref=name, common_name=name)


def _intermediate(name: str, parent: str) -> CaSpec:
    return CaSpec(ref=name, common_name=name, parent=parent, days_before=1825, days_after=3650)


def _cucm_node(name: str, role: NodeRoleName) -> NodeSpec:
    return NodeSpec(
        name=name,
        role=role,
        identities=(
            ("tomcat", multi_server("ENT-INT")),
            ("tomcat-ECDSA", self_signed(KeyType.EC)),
            ("CallManager", issued("ENT-INT")),
            ("CallManager-ECDSA", self_signed(KeyType.EC)),
        ),
    )


def baseline() -> DeploymentSpec:
    """B0, the healthy baseline of SCENARIOS.md."""
    return DeploymentSpec(
        name="Example Corp",
        cas=(
            _root("ENT-ROOT"),
            _intermediate("ENT-INT", "ENT-ROOT"),
            _root("ENT2-ROOT"),
            _intermediate("ENT2-INT", "ENT2-ROOT"),
            _root("PUB-ROOT"),
            _intermediate("PUB-INT", "PUB-ROOT"),
        ),
        expressway=ExpresswaySpec(
            version="X14.0.7",
            upgraded_from="X12.7",
            cluster_name="expc.example.com",
            peers=(
                PeerSpec(
                    name=EXPC1,
                    identity=issued(
                        "ENT-INT",
                        common_name="expc.example.com",
                        san=("expc.example.com", EXPC1),
                        key_slot=f"peer:{EXPC1}",
                    ),
                    trusted=ENT_CHAIN,
                ),
            ),
        ),
        clusters=(
            ClusterSpec(
                name="cucm-main",
                product="cucm",
                version="15.0.1.12900-234",
                publisher=CUCM_PUB,
                trust=(
                    StoreSpec(name="tomcat-trust", entries=ENT_CHAIN, directory=True),
                    StoreSpec(name="CallManager-trust", entries=ENT_CHAIN),
                ),
                nodes=(_cucm_node(CUCM_PUB, "publisher"), _cucm_node(CUCM_SUB1, "subscriber")),
            ),
            ClusterSpec(
                name="imp-main",
                product="imp",
                version="15.0.1.12900-20",
                publisher="imp1.example.com",
                trust=(
                    StoreSpec(name="tomcat-trust", entries=ENT_CHAIN),
                    StoreSpec(name="cup-xmpp-trust", entries=ENT_CHAIN),
                ),
                nodes=(
                    NodeSpec(
                        name="imp1.example.com",
                        role="publisher",
                        identities=(("tomcat", issued("ENT-INT")), ("cup-xmpp", issued("ENT-INT"))),
                    ),
                ),
            ),
            ClusterSpec(
                name="cuc-main",
                product="cuc",
                version="15.0.1.12900-30",
                publisher="cuc1.example.com",
                voicemail_host="cuc1.example.com",
                trust=(StoreSpec(name="tomcat-trust", entries=ENT_CHAIN),),
                nodes=(
                    NodeSpec(
                        name="cuc1.example.com",
                        role="publisher",
                        identities=(("tomcat", issued("ENT-INT")),),
                    ),
                ),
            ),
        ),
    )


EXPE1 = "expe1.example.com"
EXPE_SAN = ("expe.example.com", EXPE1, "collab-edge.example.com", "example.com")


def baseline_e(version: str = "X14.0.7", upgraded_from: str | None = "X12.7") -> ExpresswayESpec:
    """B0E's Expressway-E (SCENARIOS.md): ENT-INT certificate and trust, edge domain example.com."""
    return ExpresswayESpec(
        version=version,
        upgraded_from=upgraded_from,
        cluster_name="expe.example.com",
        peers=(
            PeerSpec(
                name=EXPE1,
                identity=issued(
                    "ENT-INT",
                    common_name="expe.example.com",
                    san=EXPE_SAN,
                    key_slot=f"peer:{EXPE1}",
                ),
                trusted=ENT_CHAIN,
            ),
        ),
        edge_domains=("example.com",),
        peer_addresses=(EXPE1,),
        tls_verify_subject_name="expc.example.com",
    )


# --------------------------------------------------------------------------- changes to B0


class Change(Protocol):
    """One change to a deployment spec."""

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        """The spec with this change made."""
        ...


def _replace_cluster(
    spec: DeploymentSpec, name: str, cluster: ClusterSpec | None = None, **values: Any
) -> DeploymentSpec:
    current = spec.cluster(name)
    new = cluster if cluster is not None else dataclasses.replace(current, **values)
    return dataclasses.replace(
        spec, clusters=tuple(new if c.name == name else c for c in spec.clusters)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SetExpressway:
    """Change Expressway-C settings (field names of :class:`ExpresswaySpec`)."""

    values: Mapping[str, Any]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        return dataclasses.replace(
            spec, expressway=dataclasses.replace(spec.expressway, **self.values)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SetCluster:
    """Change a cluster's settings (field names of :class:`ClusterSpec`)."""

    cluster: str
    values: Mapping[str, Any]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        return _replace_cluster(spec, self.cluster, **self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class SetIdentity:
    """Replace one identity on one node (``node=None``: on every node of the cluster)."""

    cluster: str
    node: str | None
    identity: str
    spec: IdentitySpec

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        cluster = spec.cluster(self.cluster)
        names = {n.name for n in cluster.nodes}
        if self.node is not None and self.node not in names:
            raise LabError(f"cluster {self.cluster} has no node {self.node!r}")
        nodes = []
        for node in cluster.nodes:
            if self.node is None or node.name == self.node:
                idents = dict(node.identities)
                idents[self.identity] = self.spec
                node = dataclasses.replace(node, identities=tuple(idents.items()))
            nodes.append(node)
        return _replace_cluster(spec, self.cluster, nodes=tuple(nodes))


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStore:
    """Replace the entries of a cluster trust store."""

    cluster: str
    store: str
    entries: tuple[TrustEntry, ...]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        cluster = spec.cluster(self.cluster)
        old = cluster.store(self.store)
        if old is None:
            new = StoreSpec(name=self.store, entries=self.entries)
            stores = (*cluster.trust, new)
        else:
            new = dataclasses.replace(old, entries=self.entries)
            stores = tuple(new if s.name == self.store else s for s in cluster.trust)
        return _replace_cluster(spec, self.cluster, trust=stores)


@dataclass(frozen=True, slots=True, kw_only=True)
class SetPeer:
    """Change every Expressway-C peer's certificate and/or trusted CA list."""

    identity: IdentitySpec | None = None
    trusted: tuple[TrustEntry, ...] | None = None

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        peers = []
        for peer in spec.expressway.peers:
            if self.identity is not None:
                peer = dataclasses.replace(peer, identity=self.identity)
            if self.trusted is not None:
                peer = dataclasses.replace(peer, trusted=self.trusted)
            peers.append(peer)
        return dataclasses.replace(
            spec, expressway=dataclasses.replace(spec.expressway, peers=tuple(peers))
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AddExpresswayE:
    """Add B0E's Expressway-E, on the version Expressway-C runs."""

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        exp = spec.expressway
        return dataclasses.replace(spec, expressway_e=baseline_e(exp.version, exp.upgraded_from))


@dataclass(frozen=True, slots=True, kw_only=True)
class SetExpresswayE:
    """Change Expressway-E settings (field names of :class:`ExpresswayESpec`)."""

    values: Mapping[str, Any]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        if spec.expressway_e is None:
            raise LabError("the scenario has no Expressway-E (add it first)")
        return dataclasses.replace(
            spec, expressway_e=dataclasses.replace(spec.expressway_e, **self.values)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SetPeerE:
    """Change every Expressway-E peer's certificate and/or trusted CA list."""

    identity: IdentitySpec | None = None
    trusted: tuple[TrustEntry, ...] | None = None

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        exp_e = spec.expressway_e
        if exp_e is None:
            raise LabError("the scenario has no Expressway-E (add it first)")
        peers = []
        for peer in exp_e.peers:
            if self.identity is not None:
                peer = dataclasses.replace(peer, identity=self.identity)
            if self.trusted is not None:
                peer = dataclasses.replace(peer, trusted=self.trusted)
            peers.append(peer)
        return dataclasses.replace(
            spec, expressway_e=dataclasses.replace(exp_e, peers=tuple(peers))
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SetSeparateClient:
    """Give every Expressway-C peer an X15.5 client certificate."""

    client: IdentitySpec

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        peers = tuple(dataclasses.replace(p, client=self.client) for p in spec.expressway.peers)
        return dataclasses.replace(
            spec, expressway=dataclasses.replace(spec.expressway, peers=peers)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SetCa:
    """Change a CA of the scenario (field names of :class:`CaSpec`)."""

    ref: str
    values: Mapping[str, Any]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        if all(c.ref != self.ref for c in spec.cas):
            raise LabError(f"the scenario has no CA {self.ref!r}")
        cas = tuple(
            dataclasses.replace(c, **self.values) if c.ref == self.ref else c for c in spec.cas
        )
        return dataclasses.replace(spec, cas=cas)


@dataclass(frozen=True, slots=True, kw_only=True)
class AddCa:
    """Add a CA to the scenario."""

    ca: CaSpec

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        return dataclasses.replace(spec, cas=(*spec.cas, self.ca))


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameNodes:
    """Define nodes by other names (e.g. short host names); their certificates keep the FQDN."""

    cluster: str
    names: Mapping[str, str]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        cluster = spec.cluster(self.cluster)
        nodes = tuple(
            dataclasses.replace(n, name=self.names.get(n.name, n.name), certificate_name=n.fqdn)
            for n in cluster.nodes
        )
        publisher = self.names.get(cluster.publisher, cluster.publisher)
        return _replace_cluster(spec, self.cluster, nodes=nodes, publisher=publisher)


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioInfo:
    """What a scenario is about: for ``lab list`` and for tests."""

    id: str
    title: str
    summary: str
    version: str
    upgraded_from: str | None
    versions: tuple[str, ...]
    upgrade_to: str | None
    expected: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A scenario: B0 plus ``changes``, with the versions and the expected outcome."""

    id: str
    title: str
    summary: str
    versions: tuple[str, ...]
    upgrade_to: str | None = None
    expected: tuple[str, ...]
    changes: tuple[Change, ...] = ()

    def spec(self) -> DeploymentSpec:
        """B0 with this scenario's changes made."""
        spec = baseline()
        for change in self.changes:
            spec = change.apply(spec)
        return dataclasses.replace(spec, name=f"Example Corp ({self.id})")

    def info(self) -> ScenarioInfo:
        """The summary of this scenario."""
        exp = self.spec().expressway
        return ScenarioInfo(
            id=self.id,
            title=self.title,
            summary=self.summary,
            version=exp.version,
            upgraded_from=exp.upgraded_from,
            versions=self.versions,
            upgrade_to=self.upgrade_to,
            expected=self.expected,
        )


def _x14_2_1(upgraded_from: str | None = "X14.0.7") -> SetExpressway:
    return SetExpressway(values={"version": "X14.2.1", "upgraded_from": upgraded_from})


_EC_AND_RSA = SetCluster(cluster="cucm-main", values={"https_ciphers": "ec-and-rsa"})
_MIXED = SetCluster(cluster="cucm-main", values={"security_mode": "mixed"})
# in mixed mode the MRA guide has Expressway-C's own certificate in CallManager-trust too
_CM_TRUST_MIXED = SetStore(
    cluster="cucm-main", store="CallManager-trust", entries=(*ENT_CHAIN, PeerRef(EXPC1))
)
PLUS_ECDSA_CIPHERS = (
    "EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:!PSK:!eNULL:!aNULL:!aDH:+ECDSA"
)

# CUCM tomcat from the other enterprise CA; Expressway-C trusts its root but not its intermediate
_ENT2_TOMCAT: tuple[Change, ...] = (
    _x14_2_1(),
    SetIdentity(cluster="cucm-main", node=None, identity="tomcat", spec=multi_server("ENT2-INT")),
    SetPeer(trusted=(*ENT_CHAIN, CaRef("ENT2-ROOT"))),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        id="B0",
        title="Healthy baseline",
        summary=(
            "ENT/ENT2/PUB PKIs; Expressway-C X14.0.7 (from X12.7) trusting ENT-ROOT and ENT-INT; "
            "CUCM 15 with a multi-server tomcat and per-node CallManager from ENT-INT, "
            "self-signed ECDSA identities; IM&P and Unity Connection from ENT-INT"
        ),
        versions=("X14.0.7", "X14.2.1", "X15.3"),
        upgrade_to="X15.3",
        expected=("no fail or risk on X14.0.7, on X14.2.1 and on X15.3 (upgrade from X14.0.7)",),
    ),
    Scenario(
        id="F01",
        title="CUCM trust stores lack Expressway-C's CA (X12.7)",
        summary=(
            "CUCM tomcat-trust and CallManager-trust hold ENT2 CAs but neither ENT-ROOT nor "
            "ENT-INT; Expressway-C at X12.7"
        ),
        versions=("X12.7", "X14.0.2"),
        upgrade_to="X14.0.2",
        expected=(
            "U2C-TRUST pass on X12.7, fail on X14.0.2 (change new)",
            "live: CUCM sends alert unknown_ca when Expressway-C presents its certificate on 6972",
        ),
        changes=(
            SetExpressway(values={"version": "X12.7", "upgraded_from": None}),
            SetStore(cluster="cucm-main", store="tomcat-trust", entries=ENT2_CHAIN),
            SetStore(cluster="cucm-main", store="CallManager-trust", entries=ENT2_CHAIN),
        ),
    ),
    Scenario(
        id="F03",
        title="Expressway-C chain missing from CallManager-trust",
        summary="Expressway-C's chain is in CUCM tomcat-trust but not in CallManager-trust",
        versions=("X14.0.7",),
        expected=("U2C-TRUST fail naming CallManager-trust only",),
        changes=(SetStore(cluster="cucm-main", store="CallManager-trust", entries=ENT2_CHAIN),),
    ),
    Scenario(
        id="F04",
        title="Self-signed CUCM tomcat not trusted, TLS verify off",
        summary=(
            "CUCM tomcat is self-signed per node and not in Expressway-C's trusted CA list; "
            "TLS verify off"
        ),
        versions=("X14.0.7", "X14.2.1"),
        upgrade_to="X14.2.1",
        expected=(
            "C2U-TRUST not fail on X14.0.7",
            "C2U-TRUST fail on X14.2.1 for both nodes",
            "with verify_origin_server false: warn, not fail",
        ),
        changes=(
            SetIdentity(cluster="cucm-main", node=None, identity="tomcat", spec=self_signed()),
            SetCluster(cluster="cucm-main", values={"tls_verify": False}),
        ),
    ),
    Scenario(
        id="F05",
        title="Subscriber tomcat without its own name",
        summary=(
            "cucm-sub1 presents its own tomcat certificate issued by ENT-INT whose SAN (and CN) "
            "hold only cucm-pub.example.com"
        ),
        versions=("X14.0.7", "X14.2.1"),
        upgrade_to="X14.2.1",
        expected=(
            "X14.0.7: C2U-NAME not fail; C2U-LATENT risk or fail for cucm-sub1",
            "X14.2.1: C2U-NAME fail for cucm-sub1 only",
        ),
        changes=(
            SetIdentity(
                cluster="cucm-main",
                node=CUCM_SUB1,
                identity="tomcat",
                spec=issued("ENT-INT", common_name=CUCM_PUB, san=(CUCM_PUB,)),
            ),
        ),
    ),
    Scenario(
        id="F06",
        title="CUCM nodes defined by short host names",
        summary=(
            "CUCM System > Server defines cucm-pub and cucm-sub1 (no domain); their certificates "
            "carry the FQDNs as CUCM issues them"
        ),
        versions=("X14.2.1",),
        expected=("C2U-FQDN fail", "C2U-NAME fail"),
        changes=(
            _x14_2_1(),
            RenameNodes(
                cluster="cucm-main",
                names={CUCM_PUB: "cucm-pub", CUCM_SUB1: "cucm-sub1"},
            ),
        ),
    ),
    Scenario(
        id="F08",
        title="Self-signed tomcat and CallManager with the same CN (mixed mode)",
        summary=(
            "mixed mode; CUCM tomcat and CallManager both self-signed per node with CN = the node, "
            "all in Expressway-C's trusted CA list, tomcat first"
        ),
        versions=("X14.0.7",),
        expected=(
            "C2U-SAME-CN fail, naming both certificates and the 5061 leg as the one that breaks",
        ),
        changes=(
            _MIXED,
            _CM_TRUST_MIXED,
            SetIdentity(cluster="cucm-main", node=None, identity="tomcat", spec=self_signed()),
            SetIdentity(cluster="cucm-main", node=None, identity="CallManager", spec=self_signed()),
            SetPeer(
                trusted=(
                    *ENT_CHAIN,
                    IdentityRef("cucm-main", CUCM_PUB, "tomcat"),
                    IdentityRef("cucm-main", CUCM_SUB1, "tomcat"),
                    IdentityRef("cucm-main", CUCM_PUB, "CallManager"),
                    IdentityRef("cucm-main", CUCM_SUB1, "CallManager"),
                )
            ),
        ),
    ),
    Scenario(
        id="F09",
        title="CUCM 15 reuses the multi-server tomcat as CallManager",
        summary=(
            "F08 remediated: mixed mode, CallManager is the multi-server tomcat certificate itself "
            "(same serial); Expressway-C trusts ENT-ROOT and ENT-INT only"
        ),
        versions=("X14.2.1",),
        expected=("no C2U-SAME-CN finding above info", "UCM-REUSE recognises the reuse"),
        changes=(
            _x14_2_1(),
            _MIXED,
            _CM_TRUST_MIXED,
            SetIdentity(
                cluster="cucm-main", node=None, identity="CallManager", spec=reuse("tomcat")
            ),
        ),
    ),
    Scenario(
        id="F11",
        title="ECDSA offered by CUCM, fresh X14.2.1",
        summary="CUCM HTTPS Ciphers ec-and-rsa; Expressway-C X14.2.1 fresh install",
        versions=("X14.2.1",),
        expected=(
            "C2U-ECDSA fail or risk for every CUCM node, naming the self-signed tomcat-ECDSA",
        ),
        changes=(_x14_2_1(None), _EC_AND_RSA),
    ),
    Scenario(
        id="F12",
        title="ECDSA offered by CUCM, X14.2.1 upgraded from X12.7",
        summary="as F11 but Expressway-C was upgraded from X12.7",
        versions=("X14.2.1",),
        expected=(
            "C2U-ECDSA fail or risk for every CUCM node, naming the self-signed tomcat-ECDSA",
        ),
        changes=(_x14_2_1("X12.7"), _EC_AND_RSA),
    ),
    Scenario(
        id="F13",
        title="ECDSA offered by CUCM, X14.2.1 upgraded from X14.0.7",
        summary=(
            "as F11 but upgraded from X14.0.7 (the upgrade prepends ECDHE-RSA-AES256-GCM-SHA384:)"
        ),
        versions=("X14.2.1",),
        expected=(
            "offline: no C2U-ECDSA fail; risk, because TLS 1.3 may still select ECDSA",
            "live (the lab's CUCM negotiates TLS 1.3): tomcat-ECDSA presented, C2U-ECDSA fail",
        ),
        changes=(_x14_2_1("X14.0.7"), _EC_AND_RSA),
    ),
    Scenario(
        id="F13-TLS12",
        title="As F13, CUCM negotiating TLS 1.2 only",
        summary=(
            "as F13 (HTTPS Ciphers ec-and-rsa, X14.2.1 upgraded from X14.0.7), the lab's CUCM "
            "nodes capped at TLS 1.2 (lab setting tls13 off; not in the inventory)"
        ),
        versions=("X14.2.1",),
        expected=(
            "offline: as F13 (the negotiated version is not in any export)",
            "live: TLS 1.2, the RSA-first cipher string brings out tomcat, C2U-ECDSA pass",
        ),
        changes=(
            _x14_2_1("X14.0.7"),
            _EC_AND_RSA,
            SetCluster(cluster="cucm-main", values={"tls13": False}),
        ),
    ),
    Scenario(
        id="F14",
        title="ECDSA offered by CUCM, cipher string ends in +ECDSA",
        summary="as F11 with the UC server discovery cipher string ending in :+ECDSA",
        versions=("X14.2.1",),
        expected=(
            "offline: no C2U-ECDSA fail; risk, because TLS 1.3 may still select ECDSA",
            "live (TLS 1.3): tomcat-ECDSA presented whatever :+ECDSA says, C2U-ECDSA fail",
        ),
        changes=(
            _x14_2_1(None),
            _EC_AND_RSA,
            SetExpressway(values={"ciphers": CipherSpec(uc_server_discovery=PLUS_ECDSA_CIPHERS)}),
        ),
    ),
    Scenario(
        id="F17",
        title="SIP OAuth without Expressway-C's chain in tomcat-trust",
        summary=(
            "SIP OAuth on; Expressway-C's chain is in CallManager-trust but not in tomcat-trust"
        ),
        versions=("X14.2.1",),
        expected=("U2C-OAUTH fail", "U2C-TRUST fail (tomcat-trust)"),
        changes=(
            _x14_2_1(),
            SetCluster(cluster="cucm-main", values={"sip_oauth": True}),
            SetStore(cluster="cucm-main", store="tomcat-trust", entries=ENT2_CHAIN),
        ),
    ),
    Scenario(
        id="F23",
        title="Expressway-C certificate without clientAuth",
        summary="the Expressway-C certificate has EKU serverAuth only",
        versions=("X14.0.7",),
        expected=("EXP-EKU fail",),
        changes=(
            SetPeer(
                identity=issued(
                    "ENT-INT",
                    common_name="expc.example.com",
                    san=("expc.example.com", EXPC1),
                    eku=(Eku.SERVER_AUTH,),
                    key_slot=f"peer:{EXPC1}",
                )
            ),
        ),
    ),
    Scenario(
        id="F31",
        title="Voicemail host not in Unity Connection's tomcat SAN",
        summary="Unity Connection's tomcat SAN holds only cuc1.example.com; voicemail host is "
        "vm.example.com",
        versions=("X14.2.1",),
        expected=("C2U-NAME fail for the Unity Connection leg",),
        changes=(
            _x14_2_1(),
            SetCluster(cluster="cuc-main", values={"voicemail_host": "vm.example.com"}),
        ),
    ),
    Scenario(
        id="F34",
        title="Old ENT-ROOT before the current one in the trusted CA list",
        summary=(
            "Expressway-C's trusted CA list holds an old CN=ENT-ROOT (different key) before the "
            "current ENT-ROOT; CUCM certificates chain to the current one"
        ),
        versions=("X14.2.1",),
        expected=("C2U-DUP-SUBJECT fail",),
        changes=(
            _x14_2_1(),
            AddCa(
                ca=CaSpec(
                    ref="ENT-ROOT@old",
                    common_name="ENT-ROOT",
                    days_before=5475,
                    days_after=365,
                )
            ),
            SetPeer(trusted=(CaRef("ENT-ROOT@old"), *ENT_CHAIN)),
        ),
    ),
    Scenario(
        id="F40",
        title="Expired CallManager, intermediate about to expire",
        summary=(
            "cucm-sub1's CallManager certificate expired yesterday; the intermediate ENT-INT "
            "(re-issued, same key) expires in 20 days"
        ),
        versions=("X14.2.1",),
        expected=("CERT-VALIDITY fail (CallManager of cucm-sub1)", "CERT-VALIDITY warn (ENT-INT)"),
        changes=(
            _x14_2_1(),
            SetCa(ref="ENT-INT", values={"days_after": 20}),
            SetIdentity(
                cluster="cucm-main",
                node=CUCM_SUB1,
                identity="CallManager",
                spec=issued("ENT-INT", days_before=366, days_after=-1),
            ),
        ),
    ),
    Scenario(
        id="F35",
        title="CUCM sends the intermediate Expressway-C's list lacks",
        summary=(
            "CUCM's multi-server tomcat is issued by ENT2-INT and the nodes send it with ENT2-INT; "
            "Expressway-C's trusted CA list holds ENT2-ROOT but not ENT2-INT"
        ),
        versions=("X14.2.1",),
        expected=(
            "offline: C2U-TRUST risk naming CN=ENT2-INT (missing_intermediates)",
            "live: the path builds with the intermediate the node sends: C2U-TRUST pass with "
            "advice to upload CN=ENT2-INT",
        ),
        changes=_ENT2_TOMCAT,
    ),
    Scenario(
        id="F35-LEAF",
        title="As F35, CUCM sending its certificate alone",
        summary=(
            "as F35, but the nodes send their tomcat certificate without ENT2-INT (lab setting "
            "sends_intermediates off; not in the inventory)"
        ),
        versions=("X14.2.1",),
        expected=(
            "offline: as F35 (risk)",
            "live: no path to a trusted root without CN=ENT2-INT: C2U-TRUST fail, "
            "PROBE-HANDSHAKE fail on 8443 and 6972",
        ),
        changes=(
            *_ENT2_TOMCAT,
            SetCluster(cluster="cucm-main", values={"sends_intermediates": False}),
        ),
    ),
)


def _on(version: str, *, switch: bool = False) -> tuple[Change, ...]:
    """Expressway-C and B0E's Expressway-E both on ``version`` (upgraded from X14.0.7)."""
    return (
        SetExpressway(values={"version": version, "upgraded_from": "X14.0.7"}),
        AddExpresswayE(),
        *((SetExpresswayE(values={"enable_server_eku_upload": True}),) if switch else ()),
    )


_SERVER_ONLY = (Eku.SERVER_AUTH,)
_E_IDENTITY = {"common_name": "expe.example.com", "key_slot": f"peer:{EXPE1}"}
_C_IDENTITY = {
    "common_name": "expc.example.com",
    "san": ("expc.example.com", EXPC1),
    "key_slot": f"peer:{EXPC1}",
}
_C_CLIENT = issued(
    "ENT-INT",
    common_name="expc.example.com",
    san=("expc.example.com", EXPC1),
    eku=(Eku.CLIENT_AUTH,),
    key_slot=f"client:{EXPC1}",
)

EDGE_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        id="B0E",
        title="Healthy baseline with Expressway-E",
        summary=(
            "B0 plus Expressway-E expe1.example.com (cluster expe.example.com) on Expressway-C's "
            "version: ENT-INT certificate with the edge domain and both EKUs, trusted CA list "
            "ENT-ROOT and ENT-INT; traversal zone to expe1.example.com, TLS verify subject name "
            "expc.example.com"
        ),
        versions=("X14.0.7", "X15.3", "X15.5"),
        expected=("no fail or risk on X14.0.7, X15.3 and X15.5",),
        changes=(AddExpresswayE(),),
    ),
    Scenario(
        id="E01",
        title="Expressway-C does not trust Expressway-E's CA",
        summary="E's certificate is issued by ENT2-INT, which Expressway-C's list lacks",
        versions=("X15.3",),
        expected=("CE-TRUST fail (Expressway-C cannot verify Expressway-E)",),
        changes=(*_on("X15.3"), SetPeerE(identity=issued("ENT2-INT", san=EXPE_SAN, **_E_IDENTITY))),
    ),
    Scenario(
        id="E02",
        title="Expressway-E does not trust Expressway-C's CA",
        summary="E's trusted CA list holds ENT2-ROOT and ENT2-INT but neither ENT-ROOT nor ENT-INT",
        versions=("X15.3",),
        expected=(
            "CE-TRUST fail (Expressway-E cannot verify Expressway-C)",
            "live: Expressway-E answers with unknown_ca",
        ),
        changes=(*_on("X15.3"), SetPeerE(trusted=ENT2_CHAIN)),
    ),
    Scenario(
        id="E03",
        title="The traversal peer address is not in Expressway-E's SAN",
        summary="E's SAN lacks expe1.example.com, the Peer 1 address of the traversal zone",
        versions=("X15.3",),
        expected=("CE-NAME fail",),
        changes=(
            *_on("X15.3"),
            SetPeerE(
                identity=issued(
                    "ENT-INT",
                    san=tuple(n for n in EXPE_SAN if n != EXPE1),
                    **_E_IDENTITY,
                )
            ),
        ),
    ),
    Scenario(
        id="E04",
        title="Expressway-E certificate with serverAuth only",
        summary="E's certificate has EKU serverAuth only; EnableServerEkuUpload off",
        versions=("X15.3", "X15.4", "X15.5"),
        expected=(
            "CE-EKU fail on X15.3 and on X15.4 without EnableServerEkuUpload; pass on X15.5",
        ),
        changes=(
            *_on("X15.3"),
            SetPeerE(identity=issued("ENT-INT", san=EXPE_SAN, eku=_SERVER_ONLY, **_E_IDENTITY)),
        ),
    ),
    Scenario(
        id="E04-ON",
        title="As E04 on X15.4 with EnableServerEkuUpload",
        summary="as E04, both Expressways on X15.4, EnableServerEkuUpload On on Expressway-E",
        versions=("X15.4",),
        expected=("CE-EKU pass",),
        changes=(
            *_on("X15.4", switch=True),
            SetPeerE(identity=issued("ENT-INT", san=EXPE_SAN, eku=_SERVER_ONLY, **_E_IDENTITY)),
        ),
    ),
    Scenario(
        id="E05",
        title="Expressway-C certificate with serverAuth only on X15.5, no client certificate",
        summary="C's certificate has EKU serverAuth only; both on X15.5; no client certificate",
        versions=("X15.5",),
        expected=("CE-EKU and EXP-EKU fail",),
        changes=(
            *_on("X15.5"),
            SetPeer(identity=issued("ENT-INT", eku=_SERVER_ONLY, **_C_IDENTITY)),
        ),
    ),
    Scenario(
        id="E05-CLIENT",
        title="As E05 with an X15.5 client certificate",
        summary="as E05, plus a client certificate from ENT-INT with EKU clientAuth",
        versions=("X15.5",),
        expected=("CE-EKU and EXP-EKU pass",),
        changes=(
            *_on("X15.5"),
            SetPeer(identity=issued("ENT-INT", eku=_SERVER_ONLY, **_C_IDENTITY)),
            SetSeparateClient(client=_C_CLIENT),
        ),
    ),
    Scenario(
        id="E06",
        title="Public-CA Expressway-E certificate renewing after the clientAuth sunset",
        summary=(
            "E's certificate is issued by PUB-INT (publicly trusted when PUB-ROOT is given with "
            "--public-roots) with both EKUs, expiring after the cut-off; C trusts PUB-ROOT and "
            "PUB-INT"
        ),
        versions=("X15.3",),
        expected=("EKU-SUNSET risk on X15.3 (with --public-roots PUB-ROOT)",),
        changes=(
            *_on("X15.3"),
            SetPeer(trusted=(*ENT_CHAIN, CaRef("PUB-ROOT"), CaRef("PUB-INT"))),
            SetPeerE(identity=issued("PUB-INT", san=EXPE_SAN, **_E_IDENTITY)),
        ),
    ),
    Scenario(
        id="E06-ON",
        title="As E06 on X15.4 with EnableServerEkuUpload",
        summary="as E06, both Expressways on X15.4 with EnableServerEkuUpload On",
        versions=("X15.4",),
        expected=("no EKU-SUNSET risk",),
        changes=(
            *_on("X15.4", switch=True),
            SetPeer(trusted=(*ENT_CHAIN, CaRef("PUB-ROOT"), CaRef("PUB-INT"))),
            SetPeerE(identity=issued("PUB-INT", san=EXPE_SAN, **_E_IDENTITY)),
        ),
    ),
    Scenario(
        id="E07",
        title="Expressway-E's SAN lacks the edge domain",
        summary="E's SAN lacks collab-edge.example.com and example.com",
        versions=("X15.3",),
        expected=("CE-SAN fail",),
        changes=(
            *_on("X15.3"),
            SetPeerE(identity=issued("ENT-INT", san=("expe.example.com", EXPE1), **_E_IDENTITY)),
        ),
    ),
    Scenario(
        id="E08",
        title="Expressway-C and Expressway-E on different releases",
        summary="Expressway-C on X15.4, Expressway-E on X15.3",
        versions=("X15.4",),
        expected=("CE-VERSION fail",),
        changes=(*_on("X15.4"), SetExpresswayE(values={"version": "X15.3"})),
    ),
)
SCENARIOS = SCENARIOS + EDGE_SCENARIOS

_BY_ID = {s.id: s for s in SCENARIOS}


def get_scenario(scenario_id: str) -> Scenario:
    """The scenario ``scenario_id`` (case-insensitive); LabError listing valid ids if unknown."""
    found = _BY_ID.get(scenario_id.strip().upper())
    if found is None:
        raise LabError(
            f"unknown scenario {scenario_id!r}; valid scenarios: {', '.join(_BY_ID)} "
            "(see `mratrust lab list`)"
        )
    return found


def list_scenarios() -> tuple[ScenarioInfo, ...]:
    """Every scenario of the catalogue, B0 first."""
    return tuple(s.info() for s in SCENARIOS)


# --------------------------------------------------------------------------- material


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustItem:
    """One certificate in a trust store, with a label for its file name."""

    label: str
    cert: x509.Certificate


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeMaterial:
    """A node's identities (by the product's names, spec order)."""

    name: str
    fqdn: str
    role: NodeRoleName
    identities: Mapping[str, Issued]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterMaterial:
    """A cluster: its spec, its nodes' identities and its trust stores (order kept)."""

    spec: ClusterSpec
    nodes: tuple[NodeMaterial, ...]
    stores: Mapping[str, tuple[TrustItem, ...]]

    @property
    def name(self) -> str:
        """The cluster name."""
        return self.spec.name

    def store_certs(self, name: str) -> tuple[x509.Certificate, ...]:
        """The certificates of trust store ``name`` in order (empty if the store is absent)."""
        return tuple(item.cert for item in self.stores.get(name, ()))


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerMaterial:
    """An Expressway peer: its identity (with key) and its trusted CA list in order.

    ``client`` is its X15.5 client certificate, when the spec gives one.
    """

    name: str
    identity: Issued
    trusted: tuple[TrustItem, ...]
    client: Issued | None = None

    def client_identity(self, *, separate: bool) -> Issued:
        """What the peer presents as a TLS client (the client certificate from X15.5)."""
        return self.client if separate and self.client is not None else self.identity


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioMaterial:
    """Everything a scenario generated, in memory (what the lab servers present and check)."""

    info: ScenarioInfo
    spec: DeploymentSpec
    now: datetime
    cas: Mapping[str, Issued]
    peers: tuple[PeerMaterial, ...]
    clusters: tuple[ClusterMaterial, ...]
    expe_peers: tuple[PeerMaterial, ...] = ()
    """The Expressway-E peers (none without an Expressway-E)."""

    def cluster(self, name: str) -> ClusterMaterial:
        """The cluster ``name`` (LabError if absent)."""
        for c in self.clusters:
            if c.name == name:
                return c
        raise LabError(f"scenario {self.info.id} has no cluster {name!r}")

    def node(self, name: str) -> tuple[ClusterMaterial, NodeMaterial]:
        """The node ``name`` and its cluster (LabError if absent)."""
        for c in self.clusters:
            for n in c.nodes:
                if n.name == name:
                    return c, n
        raise LabError(f"scenario {self.info.id} has no node {name!r}")


class _Builder:
    def __init__(self, spec: DeploymentSpec, now: datetime, pool: KeyPool) -> None:
        self.spec = spec
        self.now = now
        self.pool = pool
        self.cas: dict[str, Issued] = {}
        self.leaf_count = 0

    def validity(self, days_before: int, days_after: int) -> Validity:
        return Validity(
            not_before=self.now - timedelta(days=days_before),
            not_after=self.now + timedelta(days=days_after),
        )

    def build_cas(self) -> None:
        for ca in self.spec.cas:
            if ca.ref in self.cas:
                raise LabError(f"CA {ca.ref!r} is defined twice")
            parent = None
            if ca.parent is not None:
                parent = self.cas.get(ca.parent)
                if parent is None:
                    raise LabError(f"CA {ca.ref!r}: issuer {ca.parent!r} must be defined before it")
            self.cas[ca.ref] = make_ca(
                ca.common_name,
                now=self.now,
                issuer=parent,
                key_type=ca.key_type,
                validity=self.validity(ca.days_before, ca.days_after),
                critical_basic_constraints=ca.critical_basic_constraints,
                key_slot=ca.key_slot or f"ca:{ca.ref}",
                pool=self.pool,
            )

    def ca(self, ref: str) -> Issued:
        try:
            return self.cas[ref]
        except KeyError:
            raise LabError(f"unknown CA {ref!r} (known: {', '.join(self.cas)})") from None

    def leaf_slot(self, key_type: KeyType) -> str:
        self.leaf_count += 1
        return f"leaf:{key_type}:{self.leaf_count % LEAF_KEY_SLOTS}"

    def identity(
        self,
        ident: IdentitySpec,
        *,
        fqdn: str,
        cluster_names: Sequence[str],
        slot_hint: str,
        default_cn: str | None = None,
        default_san: Sequence[str] | None = None,
    ) -> Issued:
        validity = self.validity(ident.days_before, ident.days_after)
        issuer = self.ca(ident.issuer) if ident.issuer is not None else None
        if ident.multi_server:
            return make_multi_server(
                tuple(ident.san) if ident.san is not None else tuple(cluster_names),
                now=self.now,
                issuer=issuer,
                key_type=ident.key_type,
                common_name=ident.common_name,
                validity=validity,
                eku=ident.eku,
                key_slot=ident.key_slot
                or (self.leaf_slot(ident.key_type) if issuer else f"self-ms:{slot_hint}"),
                pool=self.pool,
            )
        san = ident.san if ident.san is not None else tuple(default_san or (fqdn,))
        if issuer is None:
            return make_cucm_self_signed(
                fqdn,
                now=self.now,
                key_type=ident.key_type,
                common_name=ident.common_name or default_cn,
                san=san,
                validity=validity,
                eku=ident.eku,
                key_slot=ident.key_slot or f"self:{ident.key_type}:{slot_hint}",
                pool=self.pool,
            )
        return make_leaf(
            ident.common_name or default_cn or fqdn,
            now=self.now,
            issuer=issuer,
            san=san,
            eku=ident.eku,
            key_type=ident.key_type,
            validity=validity,
            key_slot=ident.key_slot or self.leaf_slot(ident.key_type),
            pool=self.pool,
        )

    def peers(
        self, exp: ExpresswaySpec | ExpresswayESpec | None = None
    ) -> tuple[PeerMaterial, ...]:
        exp = exp if exp is not None else self.spec.expressway
        out = []
        for peer in exp.peers:
            default_san = (exp.cluster_name, peer.name) if exp.cluster_name else (peer.name,)
            made = [
                self.identity(
                    ident,
                    fqdn=peer.name,
                    cluster_names=(peer.name,),
                    slot_hint=f"peer:{peer.name}:{role}",
                    default_cn=exp.cluster_name or peer.name,
                    default_san=default_san,
                )
                for role, ident in (("server", peer.identity), ("client", peer.client))
                if ident is not None
            ]
            out.append(
                PeerMaterial(
                    name=peer.name,
                    identity=made[0],
                    trusted=(),
                    client=made[1] if len(made) > 1 else None,
                )
            )
        return tuple(out)

    def nodes(self, cluster: ClusterSpec) -> tuple[NodeMaterial, ...]:
        names = tuple(n.fqdn for n in cluster.nodes)
        shared: dict[tuple[str, IdentitySpec], Issued] = {}
        out = []
        for node in cluster.nodes:
            idents: dict[str, Issued] = {}
            for name, ident in node.identities:
                if ident.reuse is not None:
                    continue
                if ident.multi_server:
                    key = (name, ident)
                    if key not in shared:
                        shared[key] = self.identity(
                            ident,
                            fqdn=node.fqdn,
                            cluster_names=names,
                            slot_hint=f"{cluster.name}:{name}",
                        )
                    idents[name] = shared[key]
                else:
                    idents[name] = self.identity(
                        ident,
                        fqdn=node.fqdn,
                        cluster_names=names,
                        slot_hint=f"{node.fqdn}:{name}",
                    )
            for name, ident in node.identities:
                if ident.reuse is not None:
                    if ident.reuse not in idents:
                        raise LabError(
                            f"node {node.name}: {name} reuses {ident.reuse!r}, "
                            "which the node does not have"
                        )
                    idents[name] = idents[ident.reuse]
            ordered = {name: idents[name] for name, _ in node.identities}
            out.append(
                NodeMaterial(name=node.name, fqdn=node.fqdn, role=node.role, identities=ordered)
            )
        return tuple(out)


def _resolve(
    entries: Sequence[TrustEntry],
    *,
    cas: Mapping[str, Issued],
    peers: Sequence[PeerMaterial],
    clusters: Sequence[tuple[ClusterSpec, tuple[NodeMaterial, ...]]],
) -> tuple[TrustItem, ...]:
    items = []
    for entry in entries:
        if isinstance(entry, CaRef):
            ca = cas.get(entry.ca)
            if ca is None:
                raise LabError(f"trust entry names unknown CA {entry.ca!r}")
            items.append(TrustItem(label=entry.ca.replace("@", "-"), cert=ca.cert))
        elif isinstance(entry, PeerRef):
            peer = next((p for p in peers if p.name == entry.peer), None)
            if peer is None:
                raise LabError(f"trust entry names unknown Expressway-C peer {entry.peer!r}")
            items.append(TrustItem(label=f"{peer.name}", cert=peer.identity.cert))
        else:
            found = None
            for spec, nodes in clusters:
                if spec.name != entry.cluster:
                    continue
                for node in nodes:
                    if node.name == entry.node and entry.identity in node.identities:
                        found = node.identities[entry.identity]
            if found is None:
                raise LabError(
                    f"trust entry names unknown identity {entry.identity} of node {entry.node} "
                    f"in cluster {entry.cluster}"
                )
            items.append(TrustItem(label=f"{entry.node}-{entry.identity}", cert=found.cert))
    return tuple(items)


def build_spec(
    spec: DeploymentSpec,
    *,
    info: ScenarioInfo,
    now: datetime | None = None,
    pool: KeyPool | None = None,
) -> ScenarioMaterial:
    """Generate every certificate and key of ``spec`` in memory."""
    moment = utc_seconds(now if now is not None else datetime.now(UTC))
    builder = _Builder(spec, moment, pool if pool is not None else DEFAULT_POOL)
    builder.build_cas()
    peers = builder.peers()
    expe = builder.peers(spec.expressway_e) if spec.expressway_e is not None else ()
    built = [(c, builder.nodes(c)) for c in spec.clusters]
    cas = dict(builder.cas)

    def with_trust(
        made: tuple[PeerMaterial, ...], specs: tuple[PeerSpec, ...]
    ) -> tuple[PeerMaterial, ...]:
        return tuple(
            dataclasses.replace(
                p,
                trusted=_resolve(
                    next(s for s in specs if s.name == p.name).trusted,
                    cas=cas,
                    peers=peers,
                    clusters=built,
                ),
            )
            for p in made
        )

    peers = with_trust(peers, spec.expressway.peers)
    if spec.expressway_e is not None:
        expe = with_trust(expe, spec.expressway_e.peers)
    clusters = tuple(
        ClusterMaterial(
            spec=c,
            nodes=nodes,
            stores={
                s.name: _resolve(s.entries, cas=cas, peers=peers, clusters=built) for s in c.trust
            },
        )
        for c, nodes in built
    )
    return ScenarioMaterial(
        info=info,
        spec=spec,
        now=moment,
        cas=cas,
        peers=peers,
        clusters=clusters,
        expe_peers=expe,
    )


def build_scenario(
    scenario_id: str, *, now: datetime | None = None, pool: KeyPool | None = None
) -> ScenarioMaterial:
    """Generate scenario ``scenario_id`` in memory: CAs, identities with keys, trust stores.

    ``now`` anchors every validity window (default: the current time, UTC). Keys come from
    ``pool`` (default: the process-wide pool), so building many scenarios stays cheap.
    Raises :class:`LabError` for an unknown id.
    """
    scenario = get_scenario(scenario_id)
    return build_spec(scenario.spec(), info=scenario.info(), now=now, pool=pool)


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeTarget:
    """Where the prober connects for a node: ``host`` and ``{port role: actual port}``."""

    host: str
    ports: Mapping[int, int]


_SHA256 = hashes.SHA256()


class _Writer:
    def __init__(self, out_dir: Path) -> None:
        self.out = out_dir
        self.paths: dict[bytes, str] = {}

    def rel(self, path: Path) -> str:
        return path.relative_to(self.out).as_posix()

    def identity(self, issued_: Issued, rel_path: str) -> str:
        fp = issued_.cert.fingerprint(_SHA256)
        known = self.paths.get(fp)
        if known is not None:
            return known
        write_certs(self.out / rel_path, issued_.chain())
        self.paths[fp] = rel_path
        return rel_path

    def store(self, base: str, items: Sequence[TrustItem], *, directory: bool) -> str:
        if not directory:
            path = self.out / f"{base}.pem"
            write_certs(path, (i.cert for i in items))
            return self.rel(path)
        folder = self.out / base
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.pem"):
            stale.unlink()
        for n, item in enumerate(items, start=1):
            write_certs(folder / f"{n:02d}-{safe_name(item.label)}.pem", (item.cert,))
        return self.rel(folder) + "/"


def _probe_entry(target: ProbeTarget | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {"host": target.host, "ports": {int(k): int(v) for k, v in target.ports.items()}}


def _peer_entries(
    w: _Writer,
    out_dir: Path,
    made: Sequence[PeerMaterial],
    folder: str,
    probe: Mapping[str, ProbeTarget],
) -> list[dict[str, Any]]:
    """The inventory entries of Expressway peers; certificates, keys (0600) and lists written."""
    entries = []
    for peer in made:
        base = f"certs/{folder}/{safe_name(peer.name)}"
        entry: dict[str, Any] = {
            "name": peer.name,
            "certificate": w.identity(peer.identity, f"{base}.pem"),
            "key": w.rel(write_key(out_dir / f"{base}.key", peer.identity.key)),
            "trusted_cas": w.store(f"{base}-trusted-cas", peer.trusted, directory=False),
        }
        if peer.client is not None:
            entry["client_certificate"] = w.identity(peer.client, f"{base}-client.pem")
            entry["client_key"] = w.rel(write_key(out_dir / f"{base}-client.key", peer.client.key))
        target = _probe_entry(probe.get(peer.name))
        if target is not None:
            entry["probe"] = target
        entries.append(entry)
    return entries


def inventory_document(
    material: ScenarioMaterial, out_dir: Path, *, probe: Mapping[str, ProbeTarget] | None = None
) -> dict[str, Any]:
    """Write every file of ``material`` under ``out_dir`` and return the inventory mapping."""
    probe = dict(probe or {})
    known_nodes = {n.name for c in material.clusters for n in c.nodes} | {
        p.name for p in material.expe_peers
    }
    unknown = sorted(set(probe) - known_nodes)
    if unknown:
        raise LabError(
            f"probe targets name unknown nodes: {', '.join(unknown)} "
            f"(nodes: {', '.join(sorted(known_nodes))})"
        )
    w = _Writer(out_dir)
    for ref, ca in material.cas.items():
        ca_file = safe_name(ref.replace("@", "-"))
        write_certs(out_dir / "certs" / "ca" / f"{ca_file}.pem", (ca.cert,))
    exp = material.spec.expressway
    peers = _peer_entries(w, out_dir, material.peers, "expressway", probe)
    expressway_e: dict[str, Any] | None = None
    exp_e = material.spec.expressway_e
    if exp_e is not None:
        expressway_e = {
            "version": exp_e.version,
            "upgraded_from": exp_e.upgraded_from,
            "cluster_name": exp_e.cluster_name,
            "peers": _peer_entries(w, out_dir, material.expe_peers, "expressway-e", probe),
            "cluster_tls_mode": exp_e.cluster_tls_mode,
            "edge_domains": list(exp_e.edge_domains),
            "enable_server_eku_upload": exp_e.enable_server_eku_upload,
            "traversal": {
                "peer_addresses": list(exp_e.peer_addresses),
                "tls_verify_subject_name": exp_e.tls_verify_subject_name,
                "port": exp_e.traversal_port,
            },
        }
    clusters = []
    for cm in material.clusters:
        c = cm.spec
        cdir = f"certs/{safe_name(c.name)}"
        users: dict[bytes, int] = {}
        for node in cm.nodes:
            for issued_ in {id(i): i for i in node.identities.values()}.values():
                fp = issued_.cert.fingerprint(_SHA256)
                users[fp] = users.get(fp, 0) + 1
        trust = {
            s.name: w.store(f"{cdir}/{safe_name(s.name)}", cm.stores[s.name], directory=s.directory)
            for s in c.trust
        }
        nodes = []
        for node in cm.nodes:
            certs: dict[str, str | None] = {}
            for name, issued_ in node.identities.items():
                fp = issued_.cert.fingerprint(_SHA256)
                if users[fp] > 1:
                    rel = f"{cdir}/{safe_name(name)}-multi-server.pem"
                else:
                    rel = f"{cdir}/{safe_name(node.name)}/{safe_name(name)}.pem"
                certs[name] = w.identity(issued_, rel)
            nodes.append(
                {
                    "name": node.name,
                    "role": node.role,
                    "certificates": certs,
                    "probe": _probe_entry(probe.get(node.name)),
                }
            )
        clusters.append(
            {
                "name": c.name,
                "product": c.product,
                "version": c.version,
                "publisher": c.publisher,
                "tls_verify": c.tls_verify,
                "security_mode": c.security_mode,
                "sip_oauth": c.sip_oauth,
                "https_ciphers": c.https_ciphers,
                "secure_profiles": list(c.secure_profiles),
                "voicemail_host": c.voicemail_host,
                "trust": trust,
                "nodes": nodes,
            }
        )
    return {
        "schema": 1,
        "name": material.spec.name,
        "expressway": {
            "version": exp.version,
            "upgraded_from": exp.upgraded_from,
            "cluster_name": exp.cluster_name,
            "verify_origin_server": exp.verify_origin_server,
            "ciphers": {
                "uc_server_discovery": exp.ciphers.uc_server_discovery,
                "sip": exp.ciphers.sip,
                "https": exp.ciphers.https,
            },
            "sip_tls_versions": list(exp.sip_tls_versions),
            "sip_signature_pref_rsa": exp.sip_signature_pref_rsa,
            "peers": peers,
            "cluster_tls_mode": exp.cluster_tls_mode,
        },
        "expressway_e": expressway_e,
        "uc_clusters": clusters,
    }


def write_material(
    material: ScenarioMaterial, out_dir: Path, *, probe: Mapping[str, ProbeTarget] | None = None
) -> Path:
    """Write ``material`` (certificates, trust stores, Expressway-C keys) and its inventory.

    Returns the path of ``out_dir/inventory.yaml``. ``probe`` maps node names to where a prober
    should connect; those nodes get ``probe:`` entries. Certificate and trust files never hold a
    private key; Expressway-C's key is written next to its certificate with mode 0600.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = inventory_document(material, out_dir, probe=probe)
    info = material.info
    header = (
        f"# mratrust lab scenario {info.id}: {info.title}\n"
        f"# {info.summary}\n"
        f"# generated at {material.now.isoformat()}; audit on {', '.join(info.versions)}\n"
    )
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)
    path = out_dir / "inventory.yaml"
    path.write_text(header + body, encoding="utf-8")
    return path


def write_scenario(
    scenario_id: str,
    out_dir: Path,
    *,
    now: datetime | None = None,
    probe: Mapping[str, ProbeTarget] | None = None,
) -> Path:
    """Generate scenario ``scenario_id`` and write it under ``out_dir``; return the inventory path.

    See :func:`build_scenario` for ``now`` and :func:`write_material` for ``probe`` and the files.
    Raises :class:`LabError` for an unknown scenario id.
    """
    return write_material(build_scenario(scenario_id, now=now), Path(out_dir), probe=probe)
