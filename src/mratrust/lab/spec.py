"""The vocabulary of a lab scenario: the deployment spec the catalogue writes and the builder reads.

A :class:`DeploymentSpec` names the CAs, the UC clusters with their nodes, identities and trust
stores, Expressway-C and (optionally) Expressway-E. :mod:`mratrust.lab.scenarios` holds the
catalogue of specs; :mod:`mratrust.lab.build` turns one into certificates, keys and files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mratrust.errors import LabError
from mratrust.lab.pkigen import BOTH_EKU, Eku, KeyType
from mratrust.values import frozen

ProductName = Literal["cucm", "imp", "cuc"]
NodeRoleName = Literal["publisher", "subscriber"]
SecurityModeName = Literal["non-secure", "mixed"]
HttpsCiphersName = Literal["rsa-only", "ec-and-rsa"]
TlsCiphersName = Literal["rsa-preferred", "ec-preferred"]

LEAF_KEY_SLOTS = 3
"""CA-issued UC node leaves share this many RSA (and EC) keys; CAs and self-signed never share."""

# --------------------------------------------------------------------------- the spec


@frozen
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


@frozen
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


@frozen
class StoreSpec:
    """A trust store by CUCM's name; written as a bundle or (``directory``) a folder."""

    name: str
    entries: tuple[TrustEntry, ...]
    directory: bool = False


@frozen
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


@frozen
class ClusterSpec:
    """A CUCM, IM&P or Unity Connection cluster as Expressway-C knows it.

    Two settings exist for the lab's servers only (the inventory has no field for them):
    ``tls13`` (the nodes negotiate TLS 1.3; default on, as assumed for CUCM 15, see the README)
    and ``sends_intermediates`` (the nodes send their intermediates with their certificate; off:
    the leaf alone). ``tls_ciphers`` (CUCM's "TLS Ciphers" enterprise parameter, which orders
    the certificate types on SIP TLS 5061: "All Ciphers RSA Preferred" by default, or EC
    preferred) drives the lab's 5061 listener and is written to the inventory when it is not
    the default.
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


@frozen
class CipherSpec:
    """Configured Expressway cipher strings (``None``: the version default)."""

    uc_server_discovery: str | None = None
    sip: str | None = None
    https: str | None = None


@frozen
class PeerSpec:
    """An Expressway peer: its certificate and its trusted CA list, in order.

    ``client`` is an X15.5 separate client certificate (``None``: the server certificate plays
    both roles).
    """

    name: str
    identity: IdentitySpec
    trusted: tuple[TrustEntry, ...]
    client: IdentitySpec | None = None


@frozen
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


@frozen
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


@frozen
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


@frozen
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
