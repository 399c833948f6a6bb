"""The frozen domain model: a deployment, its certificates and stores, and the findings about it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import field
from enum import Enum
from typing import TYPE_CHECKING

from cryptography import x509

from mratrust.pki.load import LoadedCert
from mratrust.pki.verify import TrustStore, order_chain
from mratrust.values import frozen
from mratrust.versions import Version

if TYPE_CHECKING:  # built by the rules only for a finding that has fixes
    from mratrust.fixes import Fix


class Product(Enum):
    CUCM = "cucm"
    IMP = "imp"
    CUC = "cuc"

    @property
    def label(self) -> str:
        return {"cucm": "Unified CM", "imp": "IM and Presence", "cuc": "Unity Connection"}[
            self.value
        ]


class NodeRole(Enum):
    PUBLISHER = "publisher"
    SUBSCRIBER = "subscriber"


class SecurityMode(Enum):
    NON_SECURE = "non-secure"
    MIXED = "mixed"


class HttpsCiphers(Enum):
    RSA_ONLY = "rsa-only"
    EC_AND_RSA = "ec-and-rsa"


class TlsCiphers(Enum):
    """CUCM's "TLS Ciphers" enterprise parameter (SIP TLS), by the type it prefers: "All Ciphers
    RSA Preferred" (the default) and the other "RSA Preferred" choices, or the "EC Preferred"
    ones."""

    RSA_PREFERRED = "rsa-preferred"
    EC_PREFERRED = "ec-preferred"


IDENTITY_NAMES: Mapping[Product, tuple[str, ...]] = {
    Product.CUCM: ("tomcat", "tomcat-ECDSA", "CallManager", "CallManager-ECDSA"),
    Product.IMP: ("tomcat", "tomcat-ECDSA", "cup-xmpp", "cup-xmpp-ECDSA"),
    Product.CUC: ("tomcat", "tomcat-ECDSA"),
}
TRUST_NAMES: Mapping[Product, tuple[str, ...]] = {
    Product.CUCM: ("tomcat-trust", "CallManager-trust"),
    Product.IMP: ("tomcat-trust", "cup-xmpp-trust"),
    Product.CUC: ("tomcat-trust",),
}
EXPRESSWAY_RESTART_PAGE = "Maintenance > Restart options"
"""Where Expressway's web interface restarts it (trusted CA list and cipher changes apply then).
Here rather than in :mod:`mratrust.products`: a rule's message names it without loading the
restart tables, which only a finding that asks for a restart reads."""


@frozen
class Identity:
    """A certificate file as the inventory names it: the certificate and the chain around it."""

    name: str
    path: str
    certs: tuple[LoadedCert, ...]
    chain: tuple[x509.Certificate, ...] = field(default=(), compare=False, repr=False)
    """Leaf first, as :func:`order_chain` orders the file (computed once)."""

    def __post_init__(self) -> None:
        if not self.chain:
            certs = self.certs
            chain = (certs[0].cert,) if len(certs) == 1 else order_chain([c.cert for c in certs])
            object.__setattr__(self, "chain", chain)

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]


@frozen
class Store:
    """A trust store (file or folder), its entries in order."""

    name: str
    path: str
    certs: tuple[LoadedCert, ...]
    trust: TrustStore = field(compare=False, repr=False)

    @classmethod
    def of(
        cls,
        name: str,
        path: str,
        certs: tuple[LoadedCert, ...],
        *,
        trust: TrustStore | None = None,
    ) -> Store:
        """The store of ``certs``; ``trust``: their index made already (labelled ``name``)."""
        if trust is None:
            trust = TrustStore(certs, label=name)
        return cls(name=name, path=path, certs=certs, trust=trust)

    def with_certs(self, certs: tuple[LoadedCert, ...]) -> Store:
        """The same store holding ``certs`` (used to test a remediation in memory)."""
        return Store.of(self.name, self.path, certs)


@frozen
class ProbeAddress:
    """Where `audit --probe` connects to an endpoint: its host, and ports other than the leg's."""

    host: str
    ports: tuple[tuple[int, int], ...] = ()

    def port_for(self, port: int) -> int:
        return dict(self.ports).get(port, port)


@frozen
class Node:
    """A UC node (publisher or subscriber) and its identity certificates."""

    name: str
    role: NodeRole
    certificates: tuple[Identity, ...] = ()
    probe: ProbeAddress | None = None

    def identity(self, name: str) -> Identity | None:
        for c in self.certificates:
            if c.name == name:
                return c
        return None


@frozen
class UcCluster:
    """A CUCM, IM and Presence or Unity Connection cluster: settings, trust stores and nodes."""

    name: str
    product: Product
    version: str | None
    publisher: str
    tls_verify: bool
    security_mode: SecurityMode
    sip_oauth: bool
    https_ciphers: HttpsCiphers
    secure_profiles: tuple[str, ...]
    tls_ciphers: TlsCiphers = TlsCiphers.RSA_PREFERRED
    voicemail_host: str | None
    trust: tuple[Store, ...]
    nodes: tuple[Node, ...]

    def store(self, name: str) -> Store | None:
        return next((s for s in self.trust if s.name == name), None)

    @property
    def major_version(self) -> int | None:
        if not self.version:
            return None
        head = self.version.split(".")[0].strip()
        return int(head) if head.isdigit() else None

    @property
    def mixed(self) -> bool:
        return self.security_mode is SecurityMode.MIXED


@frozen
class Peer:
    """An Expressway peer: its certificate, key and trusted CA list."""

    name: str
    certificate: Identity
    key: str | None
    trusted_cas: Store
    client_certificate: Identity | None = None
    """X15.5+: a separate client certificate; ``None``: the server certificate plays both roles."""
    client_key: str | None = None
    probe: ProbeAddress | None = None

    def client_identity(self, *, separate: bool) -> Identity:
        """What the peer presents as a TLS client: the X15.5 client certificate where the
        release has separate certificates and one is set, else its (server) certificate."""
        if separate and self.client_certificate is not None:
            return self.client_certificate
        return self.certificate

    def client_key_path(self, *, separate: bool) -> str | None:
        if separate and self.client_certificate is not None:
            return self.client_key
        return self.key


class ClusterTlsMode(Enum):
    """System > Clustering: TLS verification mode between the peers of a cluster."""

    PERMISSIVE = "permissive"
    ENFORCE = "enforce"


@frozen
class CipherConfig:
    """Expressway's cipher strings per protocol (``None``: the release's default)."""

    uc_server_discovery: str | None = None
    sip: str | None = None
    https: str | None = None


@frozen
class Traversal:
    """The Unified Communications traversal zone pair (SPEC §3 ``expressway_e.traversal``)."""

    peer_addresses: tuple[str, ...] = ()
    """Expressway-C's Peer N addresses: each must be in that Expressway-E peer's SAN."""
    tls_verify_subject_name: str | None = None
    """Expressway-E's TLS verify subject name: must be in every Expressway-C peer's SAN."""
    port: int | None = None
    """The zone's SIP TLS port; None: the leg table's (the first traversal zone's)."""


@frozen
class Expressway:
    """An Expressway-C or Expressway-E cluster: release, settings and peers."""

    version: Version
    upgraded_from: Version | None
    cluster_name: str | None
    verify_origin_server: bool
    ciphers: CipherConfig
    sip_tls_versions: tuple[str, ...]
    sip_signature_pref_rsa: bool | None
    peers: tuple[Peer, ...]
    edge_domains: tuple[str, ...] = ()
    traversal: Traversal | None = None
    cluster_tls_mode: ClusterTlsMode = ClusterTlsMode.PERMISSIVE
    enable_server_eku_upload: bool = False
    """X15.4 (Expressway-E): xConfiguration XCP TLS Certificate CVS EnableServerEkuUpload."""


@frozen
class Deployment:
    """Everything the inventory describes, with every referenced certificate loaded."""

    name: str
    expressway: Expressway
    expressway_e: Expressway | None
    uc_clusters: tuple[UcCluster, ...]
    source: str | None = None

    def nodes(self) -> Iterator[tuple[UcCluster, Node]]:
        for cluster in self.uc_clusters:
            for node in cluster.nodes:
                yield cluster, node

    def all_certificates(self) -> Iterator[x509.Certificate]:
        """Every certificate the inventory holds (identities and stores)."""
        for exp in (self.expressway, self.expressway_e):
            for peer in exp.peers if exp is not None else ():
                yield from (c.cert for c in peer.certificate.certs)
                yield from (c.cert for c in peer.trusted_cas.certs)
                if peer.client_certificate is not None:
                    yield from (c.cert for c in peer.client_certificate.certs)
        for cluster in self.uc_clusters:
            for store in cluster.trust:
                yield from (c.cert for c in store.certs)
            for node in cluster.nodes:
                for ident in node.certificates:
                    yield from (c.cert for c in ident.certs)


class Status(Enum):
    """Outcome of one check. Ordered from worst to best by :attr:`rank`."""

    FAIL = "fail"
    ERROR = "error"
    RISK = "risk"
    WARN = "warn"
    INFO = "info"
    PASS = "pass"

    @property
    def rank(self) -> int:
        """0 for fail (worst) … 5 for pass (keyed by value: hashing a str beats an enum)."""
        return _STATUS_RANK[self._value_]


_STATUS_RANK = {"fail": 0, "error": 1, "risk": 2, "warn": 3, "info": 4, "pass": 5}


class Severity(Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class ChangeKind(Enum):
    NEW = "new"
    FIXED = "fixed"
    SAME = "same"


EvidenceValue = str | int | bool | tuple[str, ...]


@frozen
class Subject:
    """What a finding is about."""

    cluster: str | None = None
    node: str | None = None
    leg: str | None = None
    certificate: str | None = None
    leg_id: str | None = None
    """The connection the finding is about: a leg of the report's graph (SPEC §4)."""
    endpoint_id: str | None = None
    """The endpoint whose certificate or store the finding is about (SPEC §4)."""

    def key(self) -> tuple[str, str, str, str]:
        return (self.cluster or "", self.node or "", self.leg or "", self.certificate or "")


@frozen
class Finding:
    """One (rule, subject) outcome. Passes are findings too: the report shows what was checked."""

    rule: str
    status: Status
    severity: Severity
    subject: Subject
    message: str
    since: str | None = None
    remediation: tuple[str, ...] = ()
    evidence: tuple[tuple[str, EvidenceValue], ...] = ()
    sources: tuple[str, ...] = ()
    change: ChangeKind | None = None
    fixes: tuple[Fix, ...] = field(default=(), compare=False)
    """What the plan changes to fix a ``fail`` or ``risk`` (:mod:`mratrust.fixes`)."""

    def key(self) -> tuple[str, tuple[str, str, str, str], str]:
        """Identity across runs: rule, subject and, for one certificate, its fingerprint."""
        fp = next((v for k, v in self.evidence if k == "fingerprint"), "")
        return (self.rule, self.subject.key(), fp if isinstance(fp, str) else "")

    def evidence_dict(self) -> dict[str, EvidenceValue]:
        return dict(self.evidence)
