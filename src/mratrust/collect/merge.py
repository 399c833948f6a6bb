"""Facts from every source → one inventory document with provenance.

Nothing is guessed: a value no source gave is listed in ``collected.unknown`` and left out of the
inventory, so the audit says what to export. Where the certificate on the wire differs from the
management copy (a service not restarted, a stale TFTP), the management copy is written, both
fingerprints are kept in ``collected.drift``, and ``audit --probe`` shows it as PROBE-DRIFT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from mratrust.collect.base import (
    EXPRESSWAY_E,
    Collected,
    IdentityFact,
    Interface,
    NodeFact,
    SettingFact,
    SettingValue,
    StoreFact,
)
from mratrust.collect.sources import Sources, UcSource
from mratrust.model import IDENTITY_NAMES, TRUST_NAMES, Product
from mratrust.topology import (
    EXPRESSWAY_CLIENT_IDENTITY,
    EXPRESSWAY_IDENTITY,
    EndpointKind,
    https_port,
)
from mratrust.versions import Version, behaviour

MANAGEMENT = (Interface.CERTMGR, Interface.AXL, Interface.EXPRESSWAY, Interface.FILES)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class CannotWrite(Exception):
    """The inventory cannot be written: a required value is unknown. Says what to add."""


def safe(text: str) -> str:
    """A file-name-safe form of a host or cluster name."""
    return _SAFE.sub("-", text).strip("-.") or "x"


def sha256(cert: x509.Certificate) -> str:
    return "sha256:" + cert.fingerprint(hashes.SHA256()).hex()


@dataclass
class Merged:
    """The inventory mapping, the certificate files it names, and the provenance."""

    doc: dict[str, Any]
    files: dict[str, tuple[x509.Certificate, ...]]
    unknown: list[str]
    drift: list[dict[str, str]]
    provenance: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def complete(
    chain: Sequence[x509.Certificate], pool: Iterable[x509.Certificate], *, limit: int = 8
) -> tuple[x509.Certificate, ...]:
    """``chain`` with the intermediates above its last certificate found in ``pool`` (each one
    checked by signature), up to but not including a self-signed root: the chain the node
    holds for it."""
    out = list(chain)
    candidates = list(pool)
    while len(out) < limit:
        top = out[-1]
        if top.issuer == top.subject:
            break
        above = next((c for c in candidates if c not in out and _issued_by(top, c)), None)
        if above is None or above.issuer == above.subject:
            break
        out.append(above)
    return tuple(out)


def discovered_uc(sources: Sources, facts: Collected) -> list[UcSource]:
    """The uc entries: the sources file's, else the MRA servers Expressway-C lists."""
    if sources.model.uc:
        return list(sources.model.uc)
    out: list[UcSource] = []
    for product in ("cucm", "imp", "cuc"):
        found = _setting(facts, f"mra.{product}")
        if isinstance(found, tuple):
            out.extend(UcSource(product=product, publisher=str(a)) for a in found)
    return out


def _setting(facts: Collected, path: str) -> SettingValue | object:
    fact = setting_fact(facts, path)
    return fact.value if fact is not None else _MISSING


_MISSING = object()


def setting_fact(facts: Collected, path: str) -> SettingFact | None:
    """The fact for setting ``path``: a management interface's before a declared value."""
    order = {i: n for n, i in enumerate(Interface)}
    found = [s for s in facts.settings if s.path.lower() == path.lower()]
    found.sort(key=lambda s: order[s.interface])  # management before declared values
    return found[0] if found else None


def cluster_nodes(entry: UcSource, facts: Collected) -> list[tuple[str, str]]:
    """``(name, role)`` of a cluster's nodes, publisher first (AXL, else UDS, else the publisher
    alone)."""
    by_iface: dict[Interface, list[NodeFact]] = {}
    for n in facts.nodes:
        if n.cluster == entry.cluster:
            by_iface.setdefault(n.interface, []).append(n)
    found = (
        by_iface.get(Interface.AXL)
        or by_iface.get(Interface.UDS)
        or by_iface.get(Interface.SOURCES)
        or []
    )
    names: dict[str, str] = {}
    for n in found:
        names.setdefault(n.name.lower(), n.name)
    pub = next((v for k, v in names.items() if k == entry.publisher.lower()), entry.publisher)
    others = sorted(v for k, v in names.items() if k != entry.publisher.lower())
    return [(pub, "publisher"), *((o, "subscriber") for o in others)]


class _Merger:
    def __init__(self, sources: Sources, facts: Collected) -> None:
        self.sources = sources
        self.facts = facts
        self.files: dict[str, tuple[x509.Certificate, ...]] = {}
        self.unknown: list[str] = []
        self.drift: list[dict[str, str]] = []
        self.prov: dict[tuple[str, str], dict[str, Any]] = {}

    def cite(
        self, fld: str, interface: Interface, system: str, certs: Sequence[x509.Certificate] = ()
    ) -> None:
        entry = self.prov.setdefault(
            (interface.value, system),
            {"interface": interface.value, "system": system, "fields": [], "certificates": []},
        )
        if certs:
            entry["certificates"].append({"field": fld, "sha256": [sha256(c) for c in certs]})
        else:
            entry["fields"].append(fld)

    def setting(self, doc: dict[str, Any], key: str, path: str, fld: str) -> None:
        fact = setting_fact(self.facts, path)
        if fact is None:
            self.unknown.append(fld)
            return
        value = fact.value
        doc[key] = list(value) if isinstance(value, tuple) else value
        self.cite(fld, fact.interface, fact.system)

    def write(self, rel: str, chain: Sequence[x509.Certificate]) -> str:
        self.files[rel] = tuple(chain)
        return rel

    # ------------------------------------------------------------------ Expressway-C

    def expressway(self) -> dict[str, Any]:
        src = self.sources.model.expressway_c
        doc: dict[str, Any] = {}
        fact = setting_fact(self.facts, "expressway.version")
        if fact is None:
            raise CannotWrite(
                f"the version of Expressway-C {src.address} is unknown: give credentials for "
                "expressway_c (an administrator with API access), or declare `version:` under "
                "expressway_c in the sources file"
            )
        doc["version"] = fact.value
        self.cite("expressway.version", fact.interface, fact.system)
        if src.fresh_install:
            doc["upgraded_from"] = None
            self.cite("expressway.upgraded_from", Interface.SOURCES, str(self.sources.path.name))
        else:
            self.setting(
                doc, "upgraded_from", "expressway.upgraded_from", "expressway.upgraded_from"
            )
        self.setting(doc, "cluster_name", "expressway.cluster_name", "expressway.cluster_name")
        self.setting(
            doc,
            "verify_origin_server",
            "expressway.verify_origin_server",
            "expressway.verify_origin_server",
        )
        ciphers: dict[str, Any] = {}
        for name in ("uc_server_discovery", "sip", "https"):
            self.setting(ciphers, name, f"expressway.ciphers.{name}", f"expressway.ciphers.{name}")
        if ciphers:
            doc["ciphers"] = ciphers
        self.setting(
            doc, "sip_tls_versions", "expressway.sip_tls_versions", "expressway.sip_tls_versions"
        )
        self.setting(
            doc,
            "sip_signature_pref_rsa",
            "expressway.sip_signature_pref_rsa",
            "expressway.sip_signature_pref_rsa",
        )
        self.setting(
            doc, "cluster_tls_mode", "expressway.cluster_tls_mode", "expressway.cluster_tls_mode"
        )
        peers = self.peers("expressway", "", self.peer_names(), "expressway", MANAGEMENT)
        if not peers:
            raise CannotWrite(
                f"no Expressway-C peer has both its certificate and its trusted CA list "
                f"({', '.join(self.peer_names())}): give credentials for expressway_c, and "
                "export the trusted CA list (Maintenance > Security > Trusted CA certificate > "
                "Show all (PEM file)) into files.expressway_c_trusted_cas"
            )
        doc["peers"] = peers
        return doc

    def peers(
        self,
        prefix: str,
        cluster: str,
        names: Iterable[str],
        folder: str,
        interfaces: Sequence[Interface],
    ) -> list[dict[str, Any]]:
        """The inventory entries of the peers that have both a certificate and a trusted CA list
        (the others are listed as unknown), with the X15.5 client certificate when one is
        known."""
        out = []
        for peer in names:
            fld = f"{prefix}.peers[{peer}]"
            cert = self.first_identity(cluster, peer, EXPRESSWAY_IDENTITY, interfaces)
            store = self.first_store(cluster, peer, "trusted_cas")
            if cert is None:
                self.unknown.append(f"{fld}.certificate")
            if store is None:
                self.unknown.append(f"{fld}.trusted_cas")
            if cert is None or store is None:
                continue
            base = f"certs/{folder}/{safe(peer)}"
            self.cite(f"{fld}.certificate", cert.interface, cert.system, cert.chain)
            self.cite(f"{fld}.trusted_cas", store.interface, store.system, store.certs)
            wire = self.first_identity(cluster, peer, EXPRESSWAY_IDENTITY, (Interface.TLS,))
            if wire is not None and wire is not cert:
                if wire.chain[0] == cert.chain[0]:
                    self.cite(f"{fld}.certificate", wire.interface, wire.system, wire.chain)
                else:
                    self.drift.append(
                        {
                            "field": f"{fld}.certificate",
                            "management": sha256(cert.chain[0]),
                            "wire": sha256(wire.chain[0]),
                            "system": wire.system,
                        }
                    )
            entry: dict[str, Any] = {
                "name": peer,
                "certificate": self.write(f"{base}.pem", cert.chain),
                "trusted_cas": self.write(f"{base}-trusted-cas.pem", store.certs),
            }
            client = self.first_identity(cluster, peer, EXPRESSWAY_CLIENT_IDENTITY, MANAGEMENT)
            if client is not None:
                self.cite(
                    f"{fld}.client_certificate", client.interface, client.system, client.chain
                )
                entry["client_certificate"] = self.write(f"{base}-client.pem", client.chain)
            out.append(entry)
        return out

    # ------------------------------------------------------------------ Expressway-E

    def expressway_e(self) -> dict[str, Any] | None:
        """The ``expressway_e`` section, or None (listed as unknown) when it cannot be written."""
        src = self.sources.model.expressway_e
        if src is None:
            return None
        pre = EXPRESSWAY_E
        fact = setting_fact(self.facts, f"{pre}.version")
        if fact is None:
            self.unknown.append(
                f"{pre} (its version is unknown: give credentials for expressway_e, an "
                "administrator with API access, or declare `version:` under expressway_e)"
            )
            return None
        doc: dict[str, Any] = {"version": fact.value}
        self.cite(f"{pre}.version", fact.interface, fact.system)
        if src.fresh_install:
            doc["upgraded_from"] = None
            self.cite(f"{pre}.upgraded_from", Interface.SOURCES, str(self.sources.path.name))
        else:
            self.setting(doc, "upgraded_from", f"{pre}.upgraded_from", f"{pre}.upgraded_from")
        self.setting(doc, "cluster_name", f"{pre}.cluster_name", f"{pre}.cluster_name")
        self.setting(doc, "cluster_tls_mode", f"{pre}.cluster_tls_mode", f"{pre}.cluster_tls_mode")
        self.setting(doc, "edge_domains", f"{pre}.edge_domains", f"{pre}.edge_domains")
        switch = behaviour(Version.parse(str(fact.value))).server_eku_upload_switch
        if switch or setting_fact(self.facts, f"{pre}.enable_server_eku_upload") is not None:
            self.setting(
                doc,
                "enable_server_eku_upload",
                f"{pre}.enable_server_eku_upload",
                f"{pre}.enable_server_eku_upload",
            )
        traversal: dict[str, Any] = {}
        self.setting(
            traversal,
            "peer_addresses",
            f"{pre}.traversal.peer_addresses",
            f"{pre}.traversal.peer_addresses",
        )
        self.setting(
            traversal,
            "tls_verify_subject_name",
            f"{pre}.traversal.tls_verify_subject_name",
            f"{pre}.traversal.tls_verify_subject_name",
        )
        port = setting_fact(self.facts, f"{pre}.traversal.port") or setting_fact(
            self.facts, f"{pre}.traversal.client_port"
        )
        if port is not None:
            traversal["port"] = port.value
            self.cite(f"{pre}.traversal.port", port.interface, port.system)
        if traversal:
            doc["traversal"] = traversal
        peers = self.peers(
            pre, EXPRESSWAY_E, self.e_peer_names(), "expressway-e", (*MANAGEMENT, Interface.TLS)
        )
        if not peers:
            self.unknown.append(
                f"{pre} (no peer has both its certificate and its trusted CA list: export the "
                "trusted CA list into files.expressway_e_trusted_cas)"
            )
            return None
        doc["peers"] = peers
        return doc

    def e_peer_names(self) -> list[str]:
        src = self.sources.model.expressway_e
        assert src is not None
        found = _setting(self.facts, f"{EXPRESSWAY_E}.peers")
        if isinstance(found, tuple):
            return [str(p) for p in found]
        return list(src.peers) or [src.address]

    def peer_names(self) -> list[str]:
        src = self.sources.model.expressway_c
        found = _setting(self.facts, "expressway.peers")
        if isinstance(found, tuple):
            return [str(p) for p in found]
        return list(src.peers) or [src.address]

    def first_identity(
        self, cluster: str, node: str, name: str, interfaces: Iterable[Interface]
    ) -> IdentityFact | None:
        wanted = tuple(interfaces)
        found = [
            i
            for i in self.facts.identities
            if i.cluster == cluster
            and i.node.lower() == node.lower()
            and i.name == name
            and i.interface in wanted
        ]
        found.sort(key=lambda i: wanted.index(i.interface))
        return found[0] if found else None

    def cluster_store_certs(self, cluster: str) -> tuple[x509.Certificate, ...]:
        return tuple(c for s in self.facts.stores if s.cluster == cluster for c in s.certs)

    def first_store(self, cluster: str, node: str | None, name: str) -> StoreFact | None:
        found = [
            s
            for s in self.facts.stores
            if s.cluster == cluster
            and s.name == name
            and (node is None or s.node.lower() == node.lower())
        ]
        return found[0] if found else None

    # ------------------------------------------------------------------ UC clusters

    def cluster(self, entry: UcSource) -> dict[str, Any]:
        c = entry.cluster
        product = Product(entry.product)
        cfld = f"uc_clusters[{c}]"
        doc: dict[str, Any] = {"name": c, "product": entry.product}
        if product is Product.CUCM:
            self.setting(doc, "version", f"uc.{c}.version", f"{cfld}.version")
        doc["publisher"] = entry.publisher
        tls_verify = setting_fact(
            self.facts, f"mra.{entry.product}.{entry.publisher.lower()}.tls_verify"
        )
        if tls_verify is None:
            self.unknown.append(f"{cfld}.tls_verify")
        else:
            doc["tls_verify"] = tls_verify.value
            self.cite(f"{cfld}.tls_verify", tls_verify.interface, tls_verify.system)
        if product is Product.CUCM:
            for key in ("security_mode", "sip_oauth"):
                self.setting(doc, key, f"uc.{c}.{key}", f"{cfld}.{key}")
        self.https_ciphers(entry, doc, cfld)
        if product is Product.CUCM:
            self.setting(
                doc, "secure_profiles", f"uc.{c}.secure_profiles", f"{cfld}.secure_profiles"
            )
        if product is Product.CUC:
            self.setting(doc, "voicemail_host", f"uc.{c}.voicemail_host", f"{cfld}.voicemail_host")
        nodes = cluster_nodes(entry, self.facts)
        told = [n for n in self.facts.nodes if n.cluster == c]
        if not told:
            self.unknown.append(
                f"{cfld}.nodes (only the publisher is known: list the others under `nodes:` of "
                "its uc entry)"
            )
        elif told:
            iface = (
                Interface.AXL
                if any(n.interface is Interface.AXL for n in told)
                else (Interface.UDS)
            )
            for system in sorted({n.system for n in told if n.interface is iface}):
                self.cite(f"{cfld}.nodes", iface, system)
        trust: dict[str, str] = {}
        for store_name in TRUST_NAMES[product]:
            store = self.first_store(c, entry.publisher, store_name) or self.first_store(
                c, None, store_name
            )
            fld = f"{cfld}.trust.{store_name}"
            if store is None:
                self.unknown.append(fld)
                continue
            self.cite(fld, store.interface, store.system, store.certs)
            trust[store_name] = self.write(f"certs/{safe(c)}/{safe(store_name)}.pem", store.certs)
        if trust:
            doc["trust"] = trust
        doc["nodes"] = [self.node(entry, name, role) for name, role in nodes]
        return doc

    def https_ciphers(self, entry: UcSource, doc: dict[str, Any], cfld: str) -> None:
        fact = setting_fact(self.facts, f"uc.{entry.cluster}.https_ciphers")
        if fact is not None:
            doc["https_ciphers"] = fact.value
            self.cite(f"{cfld}.https_ciphers", fact.interface, fact.system)
            return
        # the wire tells: an ECDSA identity on the HTTPS port means EC ciphers are enabled
        https = https_port(EndpointKind(entry.product))
        seen = [
            i
            for i in self.facts.identities
            if i.cluster == entry.cluster
            and i.interface is Interface.TLS
            and i.system.endswith(f":{https}")
        ]
        if not seen:
            self.unknown.append(f"{cfld}.https_ciphers")
            return
        ec = any(i.name.endswith("-ECDSA") for i in seen)
        doc["https_ciphers"] = "ec-and-rsa" if ec else "rsa-only"
        for system in sorted({i.system for i in seen}):
            self.cite(f"{cfld}.https_ciphers", Interface.TLS, system)

    def node(self, entry: UcSource, name: str, role: str) -> dict[str, Any]:
        c = entry.cluster
        product = Product(entry.product)
        nfld = f"uc_clusters[{c}].nodes[{name}]"
        facts: list[IdentityFact | StoreFact] = [*self.facts.identities, *self.facts.stores]
        full_snapshot = any(
            f.cluster == c and f.node.lower() == name.lower() and f.interface in MANAGEMENT
            for f in facts
        )
        certs: dict[str, str] = {}
        for ident in IDENTITY_NAMES[product]:
            fld = f"{nfld}.certificates.{ident}"
            mgmt = self.first_identity(c, name, ident, (Interface.CERTMGR, Interface.AXL))
            wire = self.first_identity(c, name, ident, (Interface.TLS,))
            chain: tuple[x509.Certificate, ...]
            pool = self.cluster_store_certs(c)
            if mgmt is not None and wire is not None:
                if wire.chain[0] == mgmt.chain[0]:
                    # the certificate the node holds, with its chain from the node's own stores
                    # (and the intermediates it sends)
                    chain = complete(mgmt.chain, (*pool, *wire.chain[1:]))
                    self.cite(fld, mgmt.interface, mgmt.system, mgmt.chain)
                    self.cite(fld, wire.interface, wire.system, wire.chain)
                else:
                    chain = complete(mgmt.chain, pool)
                    self.cite(fld, mgmt.interface, mgmt.system, mgmt.chain)
                    self.drift.append(
                        {
                            "field": fld,
                            "management": sha256(mgmt.chain[0]),
                            "wire": sha256(wire.chain[0]),
                            "system": wire.system,
                        }
                    )
            elif mgmt is not None:
                chain = complete(mgmt.chain, pool)
                self.cite(fld, mgmt.interface, mgmt.system, mgmt.chain)
            elif wire is not None:
                chain = wire.chain  # as the node sends it
                self.cite(fld, wire.interface, wire.system, wire.chain)
            else:
                if not full_snapshot:  # a full snapshot without it: the node has none
                    self.unknown.append(fld)
                continue
            certs[ident] = self.write(f"certs/{safe(c)}/{safe(name)}/{safe(ident)}.pem", chain)
        out: dict[str, Any] = {"name": name, "role": role, "certificates": certs}
        if self.sources.has_address(name):
            addr = self.sources.address(name)
            out["probe"] = {
                "host": addr.host,
                "ports": {int(k): int(v) for k, v in sorted(addr.ports.items())},
            }
        return out


def merge(sources: Sources, facts: Collected) -> Merged:
    """The inventory document for ``facts`` (CannotWrite when a required value is unknown)."""
    m = _Merger(sources, facts)
    expressway = m.expressway()
    expressway_e = m.expressway_e()
    clusters = [m.cluster(e) for e in discovered_uc(sources, facts)]
    if not clusters:
        raise CannotWrite(
            "no UC cluster is known: list them under `uc:` in the sources file, or give "
            "Expressway-C credentials so that its Unified CM servers can be read"
        )
    doc: dict[str, Any] = {
        "schema": 1,
        "name": sources.model.name,
        "expressway": expressway,
        **({"expressway_e": expressway_e} if expressway_e is not None else {}),
        "uc_clusters": clusters,
    }
    return Merged(
        doc=doc, files=m.files, unknown=sorted(set(m.unknown)), drift=m.drift, provenance=m.prov
    )


__all__ = [
    "CannotWrite",
    "Merged",
    "cluster_nodes",
    "complete",
    "discovered_uc",
    "merge",
    "safe",
    "setting_fact",
    "sha256",
]
