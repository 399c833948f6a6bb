"""Draft: findings and their typed fixes (:mod:`mratrust.fixes`) → deduplicated kit entries.

Each fail/risk finding adds its uploads, removals, reissues and settings to a :class:`_Draft`,
keyed so that two findings asking for the same thing give one step. CAs the kit needs but
does not hold are recorded for ``obtain-ca`` steps; ``plan --ca`` sources are read here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from mratrust.audit import Report, context
from mratrust.ciphers import suggest_rsa_first
from mratrust.errors import InputError
from mratrust.fixes import (
    Configure,
    ExpresswayClientIdentity,
    ExpresswayEIdentity,
    ExpresswayETrust,
    ExpresswayIdentity,
    ExpresswayTrust,
    Reissue,
    RemoveTrust,
    Rename,
    Renewal,
    Setting,
    UcIdentity,
    UploadTrust,
)
from mratrust.model import Deployment, Finding, HttpsCiphers, Node, Product, UcCluster
from mratrust.pki.facts import NameMatch, facts, is_fqdn, match_name
from mratrust.pki.load import load_path
from mratrust.pki.verify import TrustStore, issued_by, order_chain, plausibly_issued_by
from mratrust.plan.types import TARGET_BAD, MissingCa
from mratrust.topology import legs
from mratrust.versions import CUCM_TOMCAT_REUSE


@dataclass(slots=True)
class _Draft:
    """Steps keyed for deduplication while the findings are walked."""

    uploads: dict[tuple[str, ...], dict[str, x509.Certificate]] = field(default_factory=dict)
    upload_fixes: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    upload_why: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    removals: dict[tuple[str, ...], dict[str, x509.Certificate]] = field(default_factory=dict)
    removal_fixes: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    removal_why: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    configure: dict[str, tuple[dict[str, Any], tuple[str, ...], set[str], str]] = field(
        default_factory=dict
    )
    reissue: dict[str, tuple[dict[str, Any], set[str], list[str]]] = field(default_factory=dict)
    missing: dict[tuple[str, ...], list[MissingCa]] = field(default_factory=dict)
    """Per upload target, the CAs it needs that neither the inventory nor --ca holds."""
    waiting: dict[MissingCa, list[Finding]] = field(default_factory=dict)
    """Per missing CA, the findings that stay until it is obtained."""

    def upload(
        self,
        key: tuple[str, ...],
        certs: Iterable[x509.Certificate],
        rule: str,
        why: str,
        missing: MissingCa | None = None,
    ) -> None:
        bucket = self.uploads.setdefault(key, {})
        for c in certs:
            bucket.setdefault(facts(c).fingerprint, c)
        if missing is not None:
            needed = self.missing.setdefault(key, [])
            if missing not in needed:
                needed.append(missing)
        self.upload_fixes.setdefault(key, set()).add(rule)
        whys = self.upload_why.setdefault(key, [])
        if why not in whys:
            whys.append(why)

    def remove(
        self,
        key: tuple[str, ...],
        certs: Iterable[x509.Certificate],
        rule: str,
        why: str = "Expressway stops at the first entry with a matching subject; this older "
        "entry (another key) hides the right one",
    ) -> None:
        bucket = self.removals.setdefault(key, {})
        for c in certs:
            bucket.setdefault(facts(c).fingerprint, c)
        self.removal_fixes.setdefault(key, set()).add(rule)
        whys = self.removal_why.setdefault(key, [])
        if why not in whys:
            whys.append(why)

    def add_reissue(self, key: str, target: dict[str, Any], rule: str, why: str) -> None:
        found = self.reissue.get(key)
        if found is None:
            self.reissue[key] = (target, {rule}, [why])
        else:
            found[1].add(rule)
            if why not in found[2]:
                found[2].append(why)


def _known(deployment: Deployment) -> dict[str, x509.Certificate]:
    out: dict[str, x509.Certificate] = {}
    for c in deployment.all_certificates():
        out.setdefault(facts(c).fingerprint, c)
    return out


def _expc_key(peer: str) -> tuple[str, ...]:
    return ("expressway-c", peer, "trusted_cas")


def _cluster(deployment: Deployment, name: str | None) -> UcCluster | None:
    return next((c for c in deployment.uc_clusters if c.name == name), None)


def _relied_on(deployment: Deployment, report: Report) -> set[str]:
    """Fingerprints of trusted entries that a certificate which must verify relies on today."""
    ctx = context(
        deployment,
        version=report.target_version or report.expressway_version,
        now=report.evaluated_at,
        strict_from=report.strict_from,
    )
    used: set[str] = set()
    for leg in ctx.legs():
        for name in (leg.rsa_identity, leg.ecdsa_identity):
            ident = leg.node.identity(name) if name else None
            if ident is None:
                continue
            for peer in deployment.expressway.peers:
                result = ctx.validate(ident.chain, peer.trusted_cas.trust)
                if result.trusted:
                    used.update(facts(c).fingerprint for c in result.chain)
    for peer in deployment.expressway.peers:
        result = ctx.validate(peer.certificate.chain, peer.trusted_cas.trust)
        if result.trusted:
            used.update(facts(c).fingerprint for c in result.chain)
    return used


def _key_id(cert: x509.Certificate) -> str:
    aki = facts(cert).aki
    if aki is None:
        return "not named (the certificate has no authority key identifier; match by subject)"
    return aki.hex(":").upper()


def _complete(
    chain: Sequence[x509.Certificate],
    store: TrustStore,
    chosen: Sequence[x509.Certificate],
    extra: Sequence[x509.Certificate],
) -> tuple[list[x509.Certificate], MissingCa | None]:
    """Walk up from the leaf of ``chain`` to an anchor of ``store`` (plus ``chosen``).

    Returns what else to upload and the first CA that nothing holds. When the inventory's own
    certificates (``chosen``: what the rule found) complete the path, nothing is added; when a
    certificate of ``extra`` (``--ca``) is needed or a CA is missing, every CA of the path that
    the store lacks is uploaded (Cisco asks for the root and every intermediate, S2).
    """
    ordered = order_chain(chain)
    have = {facts(c).fingerprint for c in chosen}
    extra_fps = {facts(c).fingerprint for c in extra}
    candidates = [*ordered[1:], *chosen, *store.certs, *extra]
    new: list[x509.Certificate] = []
    used_extra = False
    current = ordered[0]
    if store.contains(current):
        return [], None  # the certificate itself is trusted (self-signed, or a mixed-mode leaf)
    # a path is anchored by a self-signed root (an intermediate alone does not anchor it)
    for _ in range(8):
        cf = facts(current)
        if cf.self_signed:
            return (new if used_extra else []), None
        issuer = next(
            (
                c
                for c in candidates
                if facts(c).subject == cf.issuer
                and plausibly_issued_by(current, c)
                and issued_by(current, c)
            ),
            None,
        )
        if issuer is None:
            return new, (cf.issuer, _key_id(current))
        ifp = facts(issuer).fingerprint
        if ifp not in have and not store.contains(issuer) and facts(issuer).is_ca is not False:
            new.append(issuer)
            used_extra = used_extra or ifp in extra_fps
        current = issuer
    return [], None


def _draft(
    deployment: Deployment, report: Report, extra: Sequence[x509.Certificate] = ()
) -> _Draft:
    """Walk the typed fixes of every ``fail`` and ``risk`` (:mod:`mratrust.fixes`) into the
    draft, deduplicated by what they change; the rule IDs only say what each step fixes."""
    known = _known(deployment)
    draft = _Draft()
    relied_on = _relied_on(deployment, report)
    for f in report.findings:
        if f.status not in TARGET_BAD:
            continue
        for fix in f.fixes:
            if isinstance(fix, RemoveTrust):
                _draft_removal(deployment, draft, f, fix, known, relied_on)
            elif isinstance(fix, UploadTrust):
                _draft_upload(deployment, draft, f, fix, known, extra)
            elif isinstance(fix, Configure):
                _draft_configure(deployment, draft, f, fix)
            elif isinstance(fix, Reissue):
                what = fix.what
                if isinstance(what, UcIdentity):
                    _uc_reissue(deployment, draft, f, what, known, relied_on)
                elif isinstance(what, ExpresswayIdentity):
                    _expc_reissue(deployment, draft, f, what.peer)
                elif isinstance(what, ExpresswayClientIdentity):
                    _client_certificate(deployment, draft, f, what.peer)
                elif isinstance(what, ExpresswayEIdentity):
                    _expe_reissue(deployment, draft, f, what.peer)
                else:
                    _renew(deployment, draft, f, what)
    return draft


def _expc_peers(deployment: Deployment, store: ExpresswayTrust) -> tuple[str, ...]:
    return store.peers or tuple(p.name for p in deployment.expressway.peers)


def _draft_removal(
    deployment: Deployment,
    draft: _Draft,
    f: Finding,
    fix: RemoveTrust,
    known: dict[str, x509.Certificate],
    relied_on: set[str],
) -> None:
    # an entry that another certificate needs is not removed: that takes a reissue
    remove = [known[fp] for fp in fix.certificates if fp in known and fp not in relied_on]
    if not remove:
        return
    for peer in _expc_peers(deployment, fix.store):
        draft.remove(_expc_key(peer), remove, f.rule)


def _draft_upload(
    deployment: Deployment,
    draft: _Draft,
    f: Finding,
    fix: UploadTrust,
    known: dict[str, x509.Certificate],
    extra: Sequence[x509.Certificate],
) -> None:
    upload = [known[fp] for fp in fix.certificates if fp in known]
    chain = [known[fp] for fp in fix.chain if fp in known]
    targets: list[tuple[tuple[str, ...], TrustStore | None, list[x509.Certificate]]] = []
    if isinstance(fix.store, ExpresswayETrust):
        exp_e = deployment.expressway_e
        e_name = fix.store.peer
        e_peer = next((p for p in exp_e.peers if p.name == e_name), None) if exp_e else None
        if e_peer is None or not chain:
            return
        targets.append((_expe_key(e_name), e_peer.trusted_cas.trust, []))
    elif isinstance(fix.store, ExpresswayTrust):
        for peer in _expc_peers(deployment, fix.store):
            found = next((p for p in deployment.expressway.peers if p.name == peer), None)
            targets.append((_expc_key(peer), found.trusted_cas.trust if found else None, []))
    else:
        cluster = _cluster(deployment, fix.store.cluster)
        if cluster is None:
            return
        leaf: list[x509.Certificate] = []
        presenter = next((p for p in deployment.expressway.peers if p.name == fix.leaf_of), None)
        if cluster.mixed and presenter is not None:
            leaf.append(presenter.certificate.leaf)  # mixed mode: the MRA guide asks for the leaf
        store = cluster.store(fix.store.store)
        uc_key = (cluster.product.value, cluster.name, fix.store.store)
        targets.append((uc_key, store.trust if store is not None else None, leaf))
    for key, trust, leaf in targets:
        more: list[x509.Certificate] = []
        lacking: MissingCa | None = None
        if trust is not None and chain:
            more, lacking = _complete(chain, trust, upload, extra)
        certs = [*upload, *leaf, *more]
        if certs or lacking:
            draft.upload(key, certs, f.rule, f.message, lacking)
        if lacking is not None:
            draft.waiting.setdefault(lacking, []).append(f)


def _draft_configure(deployment: Deployment, draft: _Draft, f: Finding, fix: Configure) -> None:
    if fix.setting is Setting.RSA_FIRST:
        _ecdsa_configure(deployment, draft, f, fix)
        return
    if fix.setting is Setting.SERVER_EKU_UPLOAD:
        draft.configure.setdefault(
            "expe-server-eku-upload",
            (
                {"system": "expressway-e", "setting": "enable_server_eku_upload", "value": "On"},
                (SERVER_EKU_UPLOAD,),
                set(),
                "X15.4 lets Expressway-E hold a serverAuth-only certificate once this is On "
                "(tech note 225482); Expressway-C must run X15.4 too",
            ),
        )[2].add(f.rule)
        return
    draft.configure.setdefault(
        "sigalg",
        (
            {"system": "expressway-c", "setting": "SIP Advanced TlsSignatureAlgoPrefRsa"},
            ("xConfiguration SIP Advanced TlsSignatureAlgoPrefRsa: On",),
            set(),
            "With SIP TLS 1.3 the signature algorithms choose the certificate type; "
            "prefer RSA so CUCM presents its trusted RSA CallManager certificate",
        ),
    )[2].add(f.rule)


# --------------------------------------------------------------------------- Expressway-E

SERVER_EKU_UPLOAD = "xConfiguration XCP TLS Certificate CVS EnableServerEkuUpload: On"


def _expe_key(peer: str) -> tuple[str, ...]:
    return ("expressway-e", peer, "trusted_cas")


def _expe_reissue(deployment: Deployment, draft: _Draft, f: Finding, peer: str) -> None:
    """Expressway-E's certificate with every name MRA needs and the EKU its release needs."""
    exp_e = deployment.expressway_e
    if exp_e is None:
        return
    names: list[str] = []
    if exp_e.cluster_name:
        names.append(exp_e.cluster_name)
    names.extend(p.name for p in exp_e.peers)
    if exp_e.traversal is not None:
        names.extend(exp_e.traversal.peer_addresses)
    for domain in exp_e.edge_domains:
        names.extend((f"collab-edge.{domain}", domain))
    # clientAuth is kept where the release checks it (CE-EKU says which)
    eku = ["serverAuth", "clientAuth"]
    target = {
        "system": "expressway-e",
        "peer": peer,
        "certificate": "server",
        "san": list(dict.fromkeys(names)),
        "key": "RSA 2048",
        "eku": eku,
        "cn": exp_e.cluster_name or peer,
    }
    draft.add_reissue(f"expe:{peer}", target, f.rule, f.message)


def _client_certificate(deployment: Deployment, draft: _Draft, f: Finding, peer: str) -> None:
    """X15.5: a separate client certificate with clientAuth (Maintenance > Security > Client
    certificate); the server certificate may then stay serverAuth-only."""
    exp = deployment.expressway
    names = [n for n in (exp.cluster_name,) if n] + [p.name for p in exp.peers]
    exp_e = deployment.expressway_e
    if exp_e is not None and exp_e.traversal and exp_e.traversal.tls_verify_subject_name:
        names.append(exp_e.traversal.tls_verify_subject_name)
    target = {
        "system": "expressway-c",
        "peer": peer,
        "certificate": "client",
        "san": list(dict.fromkeys(names)),
        "key": "RSA 2048",
        "eku": ["clientAuth"],
        "cn": exp.cluster_name or peer,
    }
    draft.add_reissue(f"expc-client:{peer}", target, f.rule, f.message)


def _key_text(cert: x509.Certificate) -> str:
    key = facts(cert).key
    if key.curve:
        return f"ECDSA {key.curve}"
    return f"RSA {key.bits}"


def _renew(deployment: Deployment, draft: _Draft, f: Finding, what: Renewal) -> None:
    """Renew the very certificate, where it lives, with what it holds today."""
    fp = what.fingerprint
    for cluster, node in deployment.nodes():
        for ident in node.certificates:
            leaf = facts(ident.leaf)
            if leaf.fingerprint != fp:
                continue
            users = [
                n.name
                for n in cluster.nodes
                if any(facts(i.leaf).fingerprint == fp for i in n.certificates)
            ]
            shared = len(users) > 1
            target: dict[str, Any] = {
                "system": cluster.product.value,
                "cluster": cluster.name,
                "nodes": users,
                "certificate": ident.name,
                "san": list(leaf.names) or [node.name],
                "key": _key_text(ident.leaf),
                "eku": list(leaf.eku) or ["serverAuth", "clientAuth"],
                "multi_server": shared or leaf.multi_server,
            }
            if not leaf.self_signed:
                target["issuer"] = leaf.issuer
            key = f"uc:{cluster.name}:{ident.name}:{'+'.join(users)}"
            draft.add_reissue(key, target, f.rule, f.message)
            return
    for peer in deployment.expressway.peers:
        if facts(peer.certificate.leaf).fingerprint == fp:
            _expc_reissue(deployment, draft, f, peer.name)
            return
    draft.add_reissue(
        f"renew:{fp}",
        {"system": "ca", "certificate": what.subject},
        f.rule,
        f.message,
    )


def _ecdsa_configure(deployment: Deployment, draft: _Draft, f: Finding, fix: Configure) -> None:
    """RSA first on a leg: the fixes that hold under TLS 1.3 first; the cipher string is TLS 1.2
    only."""
    leg = next((leg for leg in legs(deployment) if leg.id == fix.leg_id), None)
    setting = leg.cipher_setting if leg is not None else "uc_server_discovery"
    current = fix.cipher_string
    chosen = None
    if isinstance(current, str):
        suggestions = suggest_rsa_first(current)
        prefix = next((s for s in suggestions if s.how.startswith("prefix")), None)
        chosen = prefix or (suggestions[0] if suggestions else None)
    label = {"uc_server_discovery": "UC server discovery", "sip": "SIP"}[setting]
    tls12 = (
        f'Changing Expressway-C\'s {label} cipher string to "{chosen.string}" ({chosen.how}) '
        "puts RSA first under TLS 1.2 only: under TLS 1.3 the certificate type follows the "
        "signature algorithms, not the cipher string"
        if chosen is not None
        else ""
    )
    cluster = _cluster(deployment, fix.cluster)
    if (
        setting == "uc_server_discovery"
        and cluster is not None
        and cluster.product is Product.CUCM
        and cluster.https_ciphers is HttpsCiphers.EC_AND_RSA
    ):
        draft.configure.setdefault(
            f"https-ciphers:{cluster.name}",
            (
                {
                    "system": cluster.product.value,
                    "cluster": cluster.name,
                    "setting": "https_ciphers",
                    "value": HttpsCiphers.RSA_ONLY.value,
                },
                (
                    "Cisco Unified CM Administration > System > Enterprise Parameters > Security "
                    'Parameters > HTTPS Ciphers: "RSA Ciphers only" (the default)',
                    "restart the services the Enterprise Parameters page names for this change, "
                    "node by node",
                ),
                set(),
                "With HTTPS Ciphers set to RSA only, CUCM's web interfaces present only the RSA "
                "tomcat certificate, which Expressway-C trusts: this holds under TLS 1.2 and "
                "TLS 1.3. Equally lasting: have tomcat-ECDSA CA-signed and trust its CA on "
                "Expressway-C. " + (tls12 + "." if tls12 else ""),
            ),
        )[2].add(f.rule)
        return
    if chosen is None:
        return
    entry = draft.configure.setdefault(
        f"ciphers:{setting}",
        (
            {"system": "expressway-c", "setting": f"ciphers.{setting}", "value": chosen.string},
            (
                f'Maintenance > Security > Ciphers > {label}: "{chosen.string}" (TLS 1.2 only)',
                f"verify: openssl ciphers -V '{chosen.string}' lists "
                f"{chosen.expansion.suites[chosen.expansion.first_rsa or 0].name} before any "
                "ECDSA suite",
            ),
            set(),
            "Lasting under TLS 1.2 and TLS 1.3: trust the ECDSA identity (have it CA-signed and "
            f"trust its CA on Expressway-C). {tls12}. This kit sets the cipher string; it does "
            "not help a connection that negotiates TLS 1.3.",
        ),
    )
    entry[2].add(f.rule)


def _fqdn_of(node: Node) -> str | None:
    """The FQDN a node defined by a short host name carries in its own certificates."""
    if is_fqdn(node.name):
        return node.name
    prefix = node.name.lower() + "."
    for ident in node.certificates:
        for name in facts(ident.leaf).san_dns:
            if name.lower().startswith(prefix):
                return name
    return None


def _covers(cluster: UcCluster, cert: str, names: dict[str, str]) -> bool:
    """Every node's ``cert`` already holds the name the node will have (and the voicemail host)."""
    for node in cluster.nodes:
        ident = node.identity(cert)
        if ident is None:
            return False
        wanted = [names.get(node.name, node.name)]
        if cluster.product is Product.CUC and cluster.voicemail_host:
            wanted.append(cluster.voicemail_host)
        if any(match_name(facts(ident.leaf), n) is not NameMatch.SAN for n in wanted):
            return False
    return True


def _expc_ca_chain(
    deployment: Deployment, known: dict[str, x509.Certificate]
) -> list[x509.Certificate]:
    """The CA certificates of Expressway-C's own certificate (issuer up to the root)."""
    if not deployment.expressway.peers:
        return []
    chain = list(deployment.expressway.peers[0].certificate.chain)
    out = [c for c in chain[1:] if facts(c).is_ca]
    current = chain[-1]
    for _ in range(8):
        if facts(current).self_signed:
            break
        issuer = next(
            (
                c
                for c in known.values()
                if facts(c).subject == facts(current).issuer and issued_by(current, c)
            ),
            None,
        )
        if issuer is None:
            break
        if issuer not in out:
            out.append(issuer)
        current = issuer
    return out


def _chain_above(subject: str, known: dict[str, x509.Certificate]) -> list[x509.Certificate]:
    """The CA certificate named ``subject`` and those above it, as far as the inventory knows."""
    current = next(
        (c for c in known.values() if facts(c).subject == subject and facts(c).is_ca), None
    )
    out: list[x509.Certificate] = []
    while current is not None and current not in out and len(out) < 8:
        out.append(current)
        if facts(current).self_signed:
            break
        child = current
        current = next(
            (
                c
                for c in known.values()
                if facts(c).subject == facts(child).issuer and issued_by(child, c)
            ),
            None,
        )
    return out


def _self_signed_owners(deployment: Deployment, certs: Iterable[x509.Certificate]) -> list[str]:
    """ "cucm-main's tomcat" for each UC node certificate among ``certs`` that is self-signed."""
    fps = {facts(c).fingerprint for c in certs if facts(c).self_signed}
    owners: list[str] = []
    for cluster, node in deployment.nodes():
        for ident in node.certificates:
            if facts(ident.leaf).fingerprint in fps:
                label = f"{cluster.name}'s {ident.name}"
                if label not in owners:
                    owners.append(label)
    return owners


def _tomcat_multi_server(cluster: UcCluster) -> bool:
    leaves = [n.identity("tomcat") for n in cluster.nodes]
    return all(i is not None and facts(i.leaf).multi_server for i in leaves)


def _uc_reissue(
    deployment: Deployment,
    draft: _Draft,
    f: Finding,
    what: UcIdentity,
    known: dict[str, x509.Certificate],
    relied_on: set[str],
) -> None:
    cluster = _cluster(deployment, what.cluster)
    if cluster is None:
        return
    cert = what.certificate
    fqdns = {n.name: _fqdn_of(n) or n.name for n in cluster.nodes}
    renames = {old: new for old, new in fqdns.items() if old != new}
    if what.rename is Rename.ALWAYS or (renames and what.rename is Rename.IF_SHORT):
        listed = "; ".join(f"{old} to {new}" for old, new in sorted(renames.items()))
        draft.configure.setdefault(
            f"fqdn:{cluster.name}",
            (
                {
                    "system": cluster.product.value,
                    "cluster": cluster.name,
                    "setting": "server_names",
                    "value": ",".join(f"{o}={n}" for o, n in sorted(renames.items())),
                },
                (
                    "Cisco Unified CM Administration > System > Server: rename "
                    + (listed or "each host name to its FQDN"),
                ),
                set(),
                "Expressway-C uses the names of System > Server and expects each in the node's "
                "certificate; the certificates already carry the FQDNs, so after the rename a "
                "refresh on Expressway-C is enough",
            ),
        )[2].add(f.rule)
    if renames and what.rename is not Rename.NO and _covers(cluster, cert, fqdns):
        return  # the rename and the refresh fix it: no new certificate
    same_cn = what.same_cn and cluster.product is Product.CUCM
    if same_cn:
        cert = "CallManager"
    names = tuple(fqdns[n.name] for n in cluster.nodes)
    if cluster.product is Product.CUC and cluster.voicemail_host:
        names = tuple(dict.fromkeys((*names, cluster.voicemail_host)))
    key = "RSA 2048" if not cert.endswith("ECDSA") else "ECDSA P-256"
    target: dict[str, Any] = {
        "system": cluster.product.value,
        "cluster": cluster.name,
        "certificate": cert,
        "san": list(names),
        "key": key,
        "eku": ["serverAuth", "clientAuth"],
        "multi_server": cluster.product is not Product.CUC or len(cluster.nodes) > 1,
    }
    current = [n.identity(cert) for n in cluster.nodes if n.identity(cert) is not None]
    issuers = {
        facts(i.leaf).issuer for i in current if i is not None and not facts(i.leaf).self_signed
    }
    if len(issuers) == 1:
        target["issuer"] = issuers.pop()  # the CA that signs it today
    why = f.message
    if same_cn:
        ca_chain = _expc_ca_chain(deployment, known)
        if ca_chain:
            target["issuer"] = facts(ca_chain[0]).subject
        reuse = CUCM_TOMCAT_REUSE.reached(cluster.major_version) is True and (
            _tomcat_multi_server(cluster)
        )
        advice = (
            "Cisco recommends CA-signed certificates for MRA (tech note 225476): have "
            "CallManager signed by "
            + (
                f"{facts(ca_chain[0]).subject}, the CA of Expressway-C's certificate"
                if ca_chain
                else "your CA"
            )
            + (
                " (or, CUCM 14+, reuse the multi-server tomcat certificate for CallManager)"
                if reuse
                else "; reusing tomcat for CallManager is not offered: it needs a multi-server "
                "tomcat certificate, and this cluster's tomcat is not"
            )
        )
        draft.add_reissue(f"uc:{cluster.name}:{cert}", target, f.rule, advice)
        if what.stale is not None and what.stale in known:
            stale = known[what.stale]
            if what.stale not in relied_on:
                for peer in deployment.expressway.peers:
                    if peer.trusted_cas.trust.contains(stale):
                        draft.remove(
                            _expc_key(peer.name),
                            [stale],
                            "C2U-DUP-SUBJECT",
                            "the self-signed CallManager entries share their subject with the "
                            "self-signed tomcat entries, so Expressway-C never uses them; once "
                            "CallManager is CA-signed (below) they are stale",
                        )
    draft.add_reissue(f"uc:{cluster.name}:{cert}", target, f.rule, why)


def _expc_reissue(deployment: Deployment, draft: _Draft, f: Finding, peer: str) -> None:
    exp = deployment.expressway
    names: list[str] = []
    if exp.cluster_name:
        names.append(exp.cluster_name)
    names.extend(p.name for p in exp.peers)
    for cluster in deployment.uc_clusters:
        names.extend(cluster.secure_profiles)
    target = {
        "system": "expressway-c",
        "peer": peer,
        "certificate": "server",
        "san": list(dict.fromkeys(names)),
        "key": "RSA 2048",
        "eku": ["serverAuth", "clientAuth"],
        "cn": exp.cluster_name or peer,
    }
    draft.add_reissue(f"expc:{peer}", target, f.rule, f.message)


def load_ca_sources(paths: Iterable[str | Path]) -> tuple[x509.Certificate, ...]:
    """The CA certificates of ``plan --ca`` paths (PEM bundle, DER, PKCS#7, or a folder of them).

    Server certificates in a bundle are skipped; a path with no CA certificate at all is an
    input error (it is most likely the wrong file).
    """
    out: list[x509.Certificate] = []
    for raw in paths:
        path = Path(raw)
        try:
            loaded = load_path(path)
        except InputError as exc:
            if exc.message == "file not found":
                raise InputError(
                    "file or folder not found", field="--ca", file=path, hint="check the --ca path"
                ) from exc
            raise
        cas = [c.cert for c in loaded if facts(c.cert).is_ca or facts(c.cert).self_signed]
        if not cas:
            raise InputError(
                "holds no CA certificate (none has basicConstraints CA:TRUE or is self-signed)",
                field="--ca",
                file=path,
                hint="give the CA bundle (roots and intermediates), not a server certificate",
            )
        out.extend(cas)
    return tuple(out)
