"""Building a scenario: a :class:`~mratrust.lab.spec.DeploymentSpec` → certificates and files.

:func:`build_spec` generates every CA, identity and key in memory (:class:`ScenarioMaterial`,
used by the lab servers); :func:`write_material` writes them and an inventory (SPEC §3,
schema 1) to a folder.

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mratrust.errors import LabError
from mratrust.inventory_schema import (
    CiphersIn,
    ClusterIn,
    ExpresswayEIn,
    ExpresswayIn,
    InventoryIn,
    NodeIn,
    PeerIn,
    ProbeIn,
    TlsVersion,
    TraversalIn,
)
from mratrust.lab.pkigen import (
    DEFAULT_POOL,
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
from mratrust.lab.spec import (
    LEAF_KEY_SLOTS,
    CaRef,
    ClusterSpec,
    DeploymentSpec,
    ExpresswayESpec,
    ExpresswaySpec,
    IdentitySpec,
    NodeRoleName,
    PeerRef,
    PeerSpec,
    ScenarioInfo,
    TrustEntry,
)
from mratrust.pki.write import safe_name
from mratrust.values import frozen

# --------------------------------------------------------------------------- material


@frozen
class TrustItem:
    """One certificate in a trust store, with a label for its file name."""

    label: str
    cert: x509.Certificate


@frozen
class NodeMaterial:
    """A node's identities (by the product's names, spec order)."""

    name: str
    fqdn: str
    role: NodeRoleName
    identities: Mapping[str, Issued]


@frozen
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


@frozen
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


@frozen
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


# --------------------------------------------------------------------------- writing


@frozen
class ProbeAddress:
    """Where the prober connects for a node: ``host`` and ``{port role: actual port}``.

    Written as the node's ``probe:`` entry; not :class:`mratrust.probe.target.ProbeTarget`,
    which is one endpoint the probe connects to.
    """

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


def _probe_entry(target: ProbeAddress | None) -> ProbeIn | None:
    if target is None:
        return None
    return ProbeIn(host=target.host, ports={int(k): int(v) for k, v in target.ports.items()})


def _peer_entries(
    w: _Writer,
    out_dir: Path,
    made: Sequence[PeerMaterial],
    folder: str,
    probe: Mapping[str, ProbeAddress],
) -> list[PeerIn]:
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
        entries.append(PeerIn(**entry))
    return entries


def inventory_document(
    material: ScenarioMaterial, out_dir: Path, *, probe: Mapping[str, ProbeAddress] | None = None
) -> dict[str, Any]:
    """Write every file of ``material`` under ``out_dir`` and return the inventory mapping.

    The mapping is built through the inventory's schema (:mod:`mratrust.inventory_schema`) and
    holds the fields given, in schema order: a default the scenario keeps is left out.
    """
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
    expressway_e: ExpresswayEIn | None = None
    exp_e = material.spec.expressway_e
    if exp_e is not None:
        expressway_e = ExpresswayEIn(
            version=exp_e.version,
            upgraded_from=exp_e.upgraded_from,
            cluster_name=exp_e.cluster_name,
            peers=_peer_entries(w, out_dir, material.expe_peers, "expressway-e", probe),
            cluster_tls_mode=exp_e.cluster_tls_mode,
            edge_domains=list(exp_e.edge_domains),
            enable_server_eku_upload=exp_e.enable_server_eku_upload,
            traversal=TraversalIn(
                peer_addresses=list(exp_e.peer_addresses),
                tls_verify_subject_name=exp_e.tls_verify_subject_name,
                port=exp_e.traversal_port,
            ),
        )
    clusters = []
    for cm in material.clusters:
        c = cm.spec
        cdir = f"certs/{safe_name(c.name)}"
        users: dict[bytes, int] = {}
        for node in cm.nodes:
            for issued_ in {id(i): i for i in node.identities.values()}.values():
                fp = issued_.cert.fingerprint(_SHA256)
                users[fp] = users.get(fp, 0) + 1
        trust: dict[str, str | None] = {
            s.name: w.store(f"{cdir}/{safe_name(s.name)}", cm.stores[s.name], directory=s.directory)
            for s in c.trust
        }
        nodes: list[NodeIn] = []
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
                NodeIn(
                    name=node.name,
                    role=node.role,
                    certificates=certs,
                    probe=_probe_entry(probe.get(node.name)),
                )
            )
        # written only when set, so inventories of the default stay as they were
        tls_ciphers = {} if c.tls_ciphers == "rsa-preferred" else {"tls_ciphers": c.tls_ciphers}
        clusters.append(
            ClusterIn(
                name=c.name,
                product=c.product,
                version=c.version,
                publisher=c.publisher,
                tls_verify=c.tls_verify,
                security_mode=c.security_mode,
                sip_oauth=c.sip_oauth,
                https_ciphers=c.https_ciphers,
                **tls_ciphers,
                secure_profiles=list(c.secure_profiles),
                voicemail_host=c.voicemail_host,
                trust=trust,
                nodes=nodes,
            )
        )
    expressway = ExpresswayIn(
        version=exp.version,
        upgraded_from=exp.upgraded_from,
        cluster_name=exp.cluster_name,
        verify_origin_server=exp.verify_origin_server,
        ciphers=CiphersIn(
            uc_server_discovery=exp.ciphers.uc_server_discovery,
            sip=exp.ciphers.sip,
            https=exp.ciphers.https,
        ),
        # the schema validates the names (the lab's spec holds plain strings)
        sip_tls_versions=cast("list[TlsVersion]", list(exp.sip_tls_versions)),
        sip_signature_pref_rsa=exp.sip_signature_pref_rsa,
        peers=peers,
        cluster_tls_mode=exp.cluster_tls_mode,
    )
    return InventoryIn.model_validate(
        {
            "schema": 1,
            "name": material.spec.name,
            "expressway": expressway,
            "expressway_e": expressway_e,
            "uc_clusters": clusters,
        }
    ).dump()


def write_material(
    material: ScenarioMaterial, out_dir: Path, *, probe: Mapping[str, ProbeAddress] | None = None
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
