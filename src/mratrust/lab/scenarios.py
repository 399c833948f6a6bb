"""The scenario catalogue: the healthy baseline B0 and every scenario as a change to it.

A scenario is data: an id, a title, the versions it is audited on, the outcome the audit must
predict (as text, for people) and a tuple of :class:`Change` objects applied to the B0
:class:`DeploymentSpec` (:mod:`mratrust.lab.spec`). :func:`build_scenario` turns a scenario into
real certificates and keys in memory and :func:`write_scenario` also writes them with an
inventory; both go through :mod:`mratrust.lab.build`, whose names are re-exported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from mratrust.errors import LabError
from mratrust.lab.build import (
    ClusterMaterial,
    NodeMaterial,
    PeerMaterial,
    ProbeAddress,
    ScenarioMaterial,
    TrustItem,
    build_spec,
    inventory_document,
    write_material,
)
from mratrust.lab.pkigen import Eku, KeyPool, KeyType
from mratrust.lab.spec import (
    LEAF_KEY_SLOTS,
    CaRef,
    CaSpec,
    CipherSpec,
    ClusterSpec,
    DeploymentSpec,
    ExpresswayESpec,
    ExpresswaySpec,
    HttpsCiphersName,
    IdentityRef,
    IdentitySpec,
    NodeRoleName,
    NodeSpec,
    PeerRef,
    PeerSpec,
    ProductName,
    ScenarioInfo,
    SecurityModeName,
    StoreSpec,
    TlsCiphersName,
    TrustEntry,
    issued,
    multi_server,
    reuse,
    self_signed,
)
from mratrust.values import frozen

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


@frozen
class SetExpressway:
    """Change Expressway-C settings (field names of :class:`ExpresswaySpec`)."""

    values: Mapping[str, Any]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        return dataclasses.replace(
            spec, expressway=dataclasses.replace(spec.expressway, **self.values)
        )


@frozen
class SetCluster:
    """Change a cluster's settings (field names of :class:`ClusterSpec`)."""

    cluster: str
    values: Mapping[str, Any]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        return _replace_cluster(spec, self.cluster, **self.values)


@frozen
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


@frozen
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


@frozen
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


@frozen
class AddExpresswayE:
    """Add B0E's Expressway-E, on the version Expressway-C runs."""

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        exp = spec.expressway
        return dataclasses.replace(spec, expressway_e=baseline_e(exp.version, exp.upgraded_from))


@frozen
class SetExpresswayE:
    """Change Expressway-E settings (field names of :class:`ExpresswayESpec`)."""

    values: Mapping[str, Any]

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        if spec.expressway_e is None:
            raise LabError("the scenario has no Expressway-E (add it first)")
        return dataclasses.replace(
            spec, expressway_e=dataclasses.replace(spec.expressway_e, **self.values)
        )


@frozen
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


@frozen
class SetSeparateClient:
    """Give every Expressway-C peer an X15.5 client certificate."""

    client: IdentitySpec

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        peers = tuple(dataclasses.replace(p, client=self.client) for p in spec.expressway.peers)
        return dataclasses.replace(
            spec, expressway=dataclasses.replace(spec.expressway, peers=peers)
        )


@frozen
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


@frozen
class AddCa:
    """Add a CA to the scenario."""

    ca: CaSpec

    def apply(self, spec: DeploymentSpec) -> DeploymentSpec:
        return dataclasses.replace(spec, cas=(*spec.cas, self.ca))


@frozen
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


@frozen
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
    Scenario(
        id="E09",
        title="Cluster TLS enforce mode with a peer whose SAN lacks its own name",
        summary=(
            "Expressway-C's clustering TLS verification mode is enforce, and expc1's certificate "
            "names only the cluster (SAN expc.example.com)"
        ),
        versions=("X15.3",),
        expected=("CE-CLUSTER fail for expc1.example.com",),
        changes=(
            *_on("X15.3"),
            SetExpressway(values={"cluster_tls_mode": "enforce"}),
            SetPeer(
                identity=issued(
                    "ENT-INT",
                    **{**_C_IDENTITY, "san": ("expc.example.com",)},
                )
            ),
        ),
    ),
    Scenario(
        id="E09-NAMED",
        title="As E09 with the peer's own name in its SAN",
        summary="enforce mode; expc1's certificate names the cluster and expc1.example.com",
        versions=("X15.3",),
        expected=("CE-CLUSTER pass",),
        changes=(*_on("X15.3"), SetExpressway(values={"cluster_tls_mode": "enforce"})),
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


def write_scenario(
    scenario_id: str,
    out_dir: Path,
    *,
    now: datetime | None = None,
    probe: Mapping[str, ProbeAddress] | None = None,
) -> Path:
    """Generate scenario ``scenario_id`` and write it under ``out_dir``; return the inventory path.

    See :func:`build_scenario` for ``now`` and :func:`write_material` for ``probe`` and the files.
    Raises :class:`LabError` for an unknown scenario id.
    """
    return write_material(build_scenario(scenario_id, now=now), Path(out_dir), probe=probe)


__all__ = [
    "CUCM_PUB",
    "CUCM_SUB1",
    "EDGE_SCENARIOS",
    "ENT2_CHAIN",
    "ENT_CHAIN",
    "EXPC1",
    "EXPE1",
    "EXPE_SAN",
    "LEAF_KEY_SLOTS",
    "PLUS_ECDSA_CIPHERS",
    "SCENARIOS",
    "AddCa",
    "AddExpresswayE",
    "CaRef",
    "CaSpec",
    "Change",
    "CipherSpec",
    "ClusterMaterial",
    "ClusterSpec",
    "DeploymentSpec",
    "ExpresswayESpec",
    "ExpresswaySpec",
    "HttpsCiphersName",
    "IdentityRef",
    "IdentitySpec",
    "NodeMaterial",
    "NodeRoleName",
    "NodeSpec",
    "PeerMaterial",
    "PeerRef",
    "PeerSpec",
    "ProbeAddress",
    "ProductName",
    "RenameNodes",
    "Scenario",
    "ScenarioInfo",
    "ScenarioMaterial",
    "SecurityModeName",
    "SetCa",
    "SetCluster",
    "SetExpressway",
    "SetExpresswayE",
    "SetIdentity",
    "SetPeer",
    "SetPeerE",
    "SetSeparateClient",
    "SetStore",
    "StoreSpec",
    "TlsCiphersName",
    "TrustEntry",
    "TrustItem",
    "baseline",
    "baseline_e",
    "build_scenario",
    "build_spec",
    "get_scenario",
    "inventory_document",
    "issued",
    "list_scenarios",
    "multi_server",
    "reuse",
    "self_signed",
    "write_material",
    "write_scenario",
]
