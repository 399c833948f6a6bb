"""Findings → an ordered, deduplicated remediation kit (SPEC §5a), proved before it is handed out.

The kit's ``upload-trust``, ``remove-trust`` and ``configure`` steps (cipher strings, CUCM HTTPS
Ciphers, server names) are applied to the deployment in memory and the audit runs again: the plan
says which failures the kit fixes, which remain (those need a certificate reissued), and which
wait for a CA that neither the inventory nor ``--ca`` holds (``obtain-ca`` steps). Restarts and
per-certificate-type steps come from :mod:`mratrust.products`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509

from mratrust.audit import Report, audit, context, upgrade_check
from mratrust.ciphers import suggest_rsa_first
from mratrust.errors import InputError
from mratrust.fixes import (
    Configure,
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
from mratrust.model import (
    ChangeKind,
    CipherConfig,
    Deployment,
    Finding,
    HttpsCiphers,
    Node,
    Peer,
    Product,
    Status,
    Store,
    UcCluster,
)
from mratrust.pki.facts import NameMatch, facts, is_fqdn, match_name
from mratrust.pki.load import LoadedCert, load_path
from mratrust.pki.verify import TrustStore, issued_by, order_chain, plausibly_issued_by
from mratrust.pki.write import certs_pem, safe_name
from mratrust.products import (
    EXPRESSWAY_RESTART,
    identity_recipe,
    source_urls,
    trust_restarts,
    trust_sources,
)
from mratrust.products import info as product_info
from mratrust.report.html import render_steps as steps_html
from mratrust.rules.base import evidence_fps, expressway_trust_fixes
from mratrust.sunset import SunsetPolicy
from mratrust.topology import legs
from mratrust.versions import CUCM_TOMCAT_REUSE, Version, behaviour

ACTIONS = (
    "obtain-ca",
    "upload-trust",
    "remove-trust",
    "reissue",
    "configure",
    "restart",
    "refresh",
)
TARGET_BAD = frozenset({Status.FAIL, Status.RISK})

MissingCa = tuple[str, str]
"""A CA the kit needs but does not hold: (subject DN, key identifier the chain's AKI names)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One step of the kit."""

    order: int
    action: str
    target: tuple[tuple[str, str | tuple[str, ...]], ...]
    files: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()
    why: str = ""
    certificates: tuple[x509.Certificate, ...] = field(default=(), compare=False, repr=False)
    subject: str = ""
    """obtain-ca: the DN of the CA certificate to obtain."""
    key_id: str = ""
    """obtain-ca: its subject key identifier (the authority key identifier the chain names)."""
    missing: tuple[tuple[str, str, int], ...] = ()
    """upload-trust: CAs it needs that the kit lacks (subject, key id, obtain-ca step)."""
    sources: tuple[str, ...] = ()
    """Where the restarts and steps of this step come from (URLs)."""

    def target_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.target}

    @property
    def needs(self) -> tuple[int, ...]:
        """The obtain-ca steps this step waits for."""
        return tuple(dict.fromkeys(m[2] for m in self.missing))

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "order": self.order,
            "action": self.action,
            "target": self.target_dict(),
            "files": list(self.files),
            "commands": list(self.commands),
            "fixes": list(self.fixes),
            "why": self.why,
        }
        if self.action == "obtain-ca":
            out["subject"] = self.subject
            out["key_id"] = self.key_id
        if self.sources:
            out["sources"] = list(self.sources)
        if self.missing:
            out["missing"] = [
                {"subject": subj, "key_id": kid, "obtain_step": step}
                for subj, kid, step in self.missing
            ]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The kit, the audit it answers and the audit after applying it in memory."""

    steps: tuple[Step, ...]
    before: Report
    after: Report
    fixed: tuple[Finding, ...]
    remaining: tuple[Finding, ...]

    regressions: tuple[Finding, ...] = ()
    """Failures the kit would cause (it must cause none)."""

    pending: tuple[tuple[Finding, tuple[int, ...]], ...] = ()
    """Remaining findings a step claims to fix once the CAs of these obtain-ca steps are in."""

    @property
    def dependent_steps(self) -> dict[int, tuple[int, ...]]:
        """Step order -> the obtain-ca steps it depends on."""
        return {s.order: s.needs for s in self.steps if s.needs}

    @property
    def remaining_failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.remaining if f.status is Status.FAIL)


# --------------------------------------------------------------------------- building


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
        fixes = f.fixes
        if f.rule == "CE-TRUST" and f.subject.certificate == "server":
            fixes = expressway_trust_fixes(f)  # Expressway-C's list, as any other upload there
        elif f.rule in EDGE_RULES:
            # the traversal and edge rules carry no typed fixes yet: answered by rule ID
            upload = [known[fp] for fp in evidence_fps(f, "upload") if fp in known]
            _edge(deployment, report, draft, f, known, upload, extra)
        for fix in fixes:
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
    if isinstance(fix.store, ExpresswayTrust):
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

EDGE_RULES = frozenset({"CE-TRUST", "CE-NAME", "CE-EKU", "CE-SAN", "EXP-EKU"})
"""Findings about the traversal zone and the edge the kit answers (CE-TRUST towards
Expressway-C goes with the other Expressway-C uploads above)."""
SERVER_EKU_UPLOAD = "xConfiguration XCP TLS Certificate CVS EnableServerEkuUpload: On"


def _expe_key(peer: str) -> tuple[str, ...]:
    return ("expressway-e", peer, "trusted_cas")


def _edge(
    deployment: Deployment,
    report: Report,
    draft: _Draft,
    f: Finding,
    known: dict[str, x509.Certificate],
    upload: list[x509.Certificate],
    extra: Sequence[x509.Certificate],
) -> None:
    """Uploads to Expressway-E's trusted CA list, the X15.4 switch, the X15.5 client
    certificate and the reissues the traversal zone and the edge need."""
    exp_e = deployment.expressway_e
    judged = report.target_version or report.expressway_version
    split = behaviour(judged).separate_client_certificate
    ev = f.evidence_dict()
    if f.rule == "CE-TRUST" and f.subject.certificate == "client" and exp_e is not None:
        e_name = str(ev.get("expe_peer", ""))
        peer = next((p for p in exp_e.peers if p.name == e_name), None)
        chain = [known[fp] for fp in evidence_fps(f, "chain") if fp in known]
        if peer is None or not chain:
            return
        more, lacking = _complete(chain, peer.trusted_cas.trust, upload, extra)
        if upload or more or lacking:
            draft.upload(_expe_key(e_name), [*upload, *more], f.rule, f.message, lacking)
        if lacking is not None:
            draft.waiting.setdefault(lacking, []).append(f)
        return
    if f.subject.cluster == "expressway-c" and f.rule in ("CE-EKU", "EXP-EKU"):
        if split:
            _client_certificate(deployment, draft, f)
        elif f.rule == "CE-EKU" or f.subject.certificate == "server":
            _expc_reissue(deployment, draft, f, f.subject.node or "")
        return
    if exp_e is None:
        return
    if f.rule == "CE-EKU" and f.subject.cluster == "expressway-e":
        version = ev.get("version")
        e_version = Version.parse(version) if isinstance(version, str) else judged
        if behaviour(e_version).server_eku_upload_switch and not exp_e.enable_server_eku_upload:
            draft.configure.setdefault(
                "expe-server-eku-upload",
                (
                    {
                        "system": "expressway-e",
                        "setting": "enable_server_eku_upload",
                        "value": "On",
                    },
                    (SERVER_EKU_UPLOAD,),
                    set(),
                    "X15.4 lets Expressway-E hold a serverAuth-only certificate once this is On "
                    "(tech note 225482); Expressway-C must run X15.4 too",
                ),
            )[2].add(f.rule)
            return
    if f.rule in ("CE-EKU", "CE-NAME", "CE-SAN") and f.subject.cluster == "expressway-e":
        _expe_reissue(deployment, draft, f)
    elif f.rule == "CE-NAME" and split:
        _client_certificate(deployment, draft, f)
    elif f.rule == "CE-NAME":
        _expc_reissue(deployment, draft, f, f.subject.node or "")


def _expe_reissue(deployment: Deployment, draft: _Draft, f: Finding) -> None:
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
        "peer": f.subject.node or "",
        "certificate": "server",
        "san": list(dict.fromkeys(names)),
        "key": "RSA 2048",
        "eku": eku,
        "cn": exp_e.cluster_name or (f.subject.node or ""),
    }
    draft.add_reissue(f"expe:{f.subject.node}", target, f.rule, f.message)


def _client_certificate(deployment: Deployment, draft: _Draft, f: Finding) -> None:
    """X15.5: a separate client certificate with clientAuth (Maintenance > Security > Client
    certificate); the server certificate may then stay serverAuth-only."""
    exp = deployment.expressway
    names = [n for n in (exp.cluster_name,) if n] + [p.name for p in exp.peers]
    exp_e = deployment.expressway_e
    if exp_e is not None and exp_e.traversal and exp_e.traversal.tls_verify_subject_name:
        names.append(exp_e.traversal.tls_verify_subject_name)
    target = {
        "system": "expressway-c",
        "peer": f.subject.node or "",
        "certificate": "client",
        "san": list(dict.fromkeys(names)),
        "key": "RSA 2048",
        "eku": ["clientAuth"],
        "cn": exp.cluster_name or (f.subject.node or ""),
    }
    draft.add_reissue(f"expc-client:{f.subject.node}", target, f.rule, f.message)


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


def _safe(name: str) -> str:
    return safe_name(name, empty="cert")


def _file_name(cert: x509.Certificate, used: set[str]) -> str:
    f = facts(cert)
    base = _safe(f.common_name or f.subject)
    name = f"{base}.pem"
    i = 2
    while name in used:
        name = f"{base}-{i}.pem"
        i += 1
    used.add(name)
    return name


def _issuers_first(certs: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """Roots, then what they sign, and so on (the order uploads must follow)."""
    pending = list(certs)
    ordered: list[x509.Certificate] = []
    while pending:
        subjects = {c.subject for c in pending}
        ready = [c for c in pending if c.issuer == c.subject or c.issuer not in subjects]
        ready = ready or pending[:1]  # a loop of names: keep the given order
        ordered.extend(ready)
        pending = [c for c in pending if c not in ready]
    return tuple(ordered)


ROLLING = (
    "in a maintenance window, node by node: the publisher first, then each subscriber once the "
    "one before is back (utils service list shows the services STARTED)"
)


def _steps(deployment: Deployment, draft: _Draft) -> list[Step]:
    steps: list[Step] = []

    def add(**kw: Any) -> None:
        steps.append(Step(order=len(steps) + 1, **kw))

    # CAs nobody holds: named first, so they can be fetched while the rest is prepared
    obtain_order: dict[MissingCa, int] = {}
    for missing in sorted(draft.waiting):
        subject, key_id = missing
        findings = draft.waiting[missing]
        where = sorted(
            {
                f"{f.subject.node or f.subject.cluster} presents"
                + (f" on {f.subject.leg}" if f.subject.leg else "")
                for f in findings
            }
        )
        add(
            action="obtain-ca",
            target=(("system", "ca"),),
            subject=subject,
            key_id=key_id,
            commands=(
                f"get the CA certificate {subject} from the CA's administrators or the "
                "company's CA bundle (the certificate only, PEM or DER)",
                f"check it: openssl x509 -in FILE -noout -subject -ext subjectKeyIdentifier "
                f"shows {subject} and key identifier {key_id}",
                "then upload it where the steps that list it under missing say, or run "
                "mratrust plan again with --ca FILE: the kit then holds it",
            ),
            fixes=tuple(sorted({f.rule for f in findings})),
            why=f"No file of the inventory (nor --ca) holds {subject}, the CA named as issuer "
            f"by the chain that {'; '.join(where)}; the uploads below need it to build a path "
            "to a root",
        )
        obtain_order[missing] = len(steps)

    def lacking(key: tuple[str, ...]) -> tuple[tuple[str, str, int], ...]:
        return tuple((m[0], m[1], obtain_order[m]) for m in draft.missing.get(key, []))

    def configure(on_expressway: bool) -> set[str]:
        """The configure steps of one side; returns the rules they fix."""
        fixed: set[str] = set()
        for _, (target, commands, fixes, why) in sorted(draft.configure.items()):
            if (target.get("system") == "expressway-c") is not on_expressway:
                continue
            add(
                action="configure",
                target=tuple((k, str(v)) for k, v in target.items()),
                commands=commands,
                fixes=tuple(sorted(fixes)),
                why=why,
            )
            fixed |= fixes
        return fixed

    touched_expc: dict[str, set[str]] = {}
    expc_settings = configure(on_expressway=True)  # before the restart that applies them
    if expc_settings:
        for p in deployment.expressway.peers:
            touched_expc.setdefault(p.name, set()).update(expc_settings)
    # Expressway-C trusted CA lists: removals first (the lookup stops at the first match)
    for peer in deployment.expressway.peers:
        pkey = _expc_key(peer.name)
        present = {facts(c.cert).fingerprint for c in peer.trusted_cas.certs}
        rm = {fp: c for fp, c in draft.removals.get(pkey, {}).items() if fp in present}
        if rm:
            fixes = draft.removal_fixes.get(pkey, set())
            add(
                action="remove-trust",
                target=(("system", "expressway-c"), ("peer", peer.name), ("store", "trusted_cas")),
                commands=tuple(
                    f"Maintenance > Security > Trusted CA certificate: delete {facts(c).subject} "
                    f"(SHA-256 {facts(c).fingerprint.removeprefix('sha256:')[:32]}…)"
                    for c in rm.values()
                ),
                fixes=tuple(sorted(fixes)),
                why="; ".join(draft.removal_why.get(pkey, [])),
                certificates=tuple(rm.values()),
            )
            touched_expc.setdefault(peer.name, set()).update(fixes)
        up = {fp: c for fp, c in draft.uploads.get(pkey, {}).items() if fp not in present}
        if up or lacking(pkey):
            fixes = draft.upload_fixes.get(pkey, set())
            why = "; ".join(draft.upload_why.get(pkey, [])[:1])
            commands: tuple[str, ...] = (
                "Maintenance > Security > Trusted CA certificate > Upload (one file at a "
                "time, CA certificates before the certificates they sign)",
            )
            owners = _self_signed_owners(deployment, up.values())
            if owners:
                # Cisco's recommendation first; the upload keeps MRA working until then
                why = (
                    "Cisco recommends CA-signed certificates for MRA (tech note 225476). The "
                    "lasting fix: have "
                    + ", ".join(owners)
                    + " certificates CA-signed (a multi-server CSR where the product offers "
                    "it) and upload that CA's root and intermediates here instead. Until then, "
                    "this step trusts the self-signed certificates themselves; each must be "
                    "uploaded again whenever it is regenerated. " + why
                )
                commands = (
                    "recommended instead: CA-sign "
                    + ", ".join(owners)
                    + " and upload the CA chain (then these files are not needed)",
                    "otherwise: " + commands[0],
                )
            add(
                action="upload-trust",
                target=(("system", "expressway-c"), ("peer", peer.name), ("store", "trusted_cas")),
                commands=commands,
                fixes=tuple(sorted(fixes)),
                why=why,
                certificates=_issuers_first(up.values()),
                missing=lacking(pkey),
            )
            touched_expc.setdefault(peer.name, set()).update(fixes)
    for peer_name, fixes in touched_expc.items():
        add(
            action="restart",
            target=(("system", "expressway-c"), ("peer", peer_name)),
            commands=(EXPRESSWAY_RESTART,),
            fixes=tuple(sorted(fixes)),
            why="Expressway applies trusted CA and cipher changes only after a restart",
        )
    for peer in deployment.expressway_e.peers if deployment.expressway_e else ():
        ekey = _expe_key(peer.name)
        present = {facts(c.cert).fingerprint for c in peer.trusted_cas.certs}
        up = {fp: c for fp, c in draft.uploads.get(ekey, {}).items() if fp not in present}
        if not up and not lacking(ekey):
            continue
        fixes = draft.upload_fixes.get(ekey, set())
        add(
            action="upload-trust",
            target=(("system", "expressway-e"), ("peer", peer.name), ("store", "trusted_cas")),
            commands=(
                "on Expressway-E: Maintenance > Security > Trusted CA certificate > Upload (one "
                "file at a time, CA certificates before the certificates they sign)",
            ),
            fixes=tuple(sorted(fixes)),
            why="; ".join(draft.upload_why.get(ekey, [])[:1]),
            certificates=_issuers_first(up.values()),
            missing=lacking(ekey),
        )
        add(
            action="restart",
            target=(("system", "expressway-e"), ("peer", peer.name)),
            commands=(EXPRESSWAY_RESTART,),
            fixes=tuple(sorted(fixes)),
            why="Expressway applies trusted CA changes only after a restart",
        )
    # UC clusters: every upload to a cluster, then its restarts once
    for cluster in deployment.uc_clusters:
        stores_done: list[str] = []
        cluster_fixes: set[str] = set()
        for store in cluster.trust:
            skey = (cluster.product.value, cluster.name, store.name)
            present = {facts(c.cert).fingerprint for c in store.certs}
            up = {fp: c for fp, c in draft.uploads.get(skey, {}).items() if fp not in present}
            if not up and not lacking(skey):
                continue
            fixes = draft.upload_fixes.get(skey, set())
            cluster_fixes |= fixes
            stores_done.append(store.name)
            add(
                action="upload-trust",
                target=(
                    ("system", cluster.product.value),
                    ("cluster", cluster.name),
                    ("store", store.name),
                ),
                commands=(
                    f"on the publisher ({cluster.publisher}) only: "
                    f"{product_info(cluster.product).os_admin} > Security > Certificate "
                    "Management > Upload Certificate/Certificate chain, "
                    f"purpose {store.name}, one file at a time, CA certificates first (the store "
                    "replicates from the publisher to every node)",
                ),
                fixes=tuple(sorted(fixes)),
                why="; ".join(draft.upload_why.get(skey, [])[:1]),
                certificates=_issuers_first(up.values()),
                missing=lacking(skey),
            )
        if stores_done:
            commands = tuple(
                dict.fromkeys(
                    cmd
                    for store_name in stores_done
                    for cmd in trust_restarts(
                        cluster.product, store_name, sip_oauth=cluster.sip_oauth
                    )
                )
            )
            oauth = (
                "; Cisco CallManager too: it serves SIP OAuth on 5090/5091 with tomcat-trust"
                if cluster.sip_oauth and "tomcat-trust" in stores_done
                else ""
            )
            add(
                action="restart",
                target=(
                    ("system", cluster.product.value),
                    ("cluster", cluster.name),
                    ("nodes", tuple(n.name for n in cluster.nodes)),
                ),
                commands=commands,
                fixes=tuple(sorted(cluster_fixes)),
                why=f"{', '.join(stores_done)} changes take effect after these restarts on each "
                f"node (Cisco Tomcat can only be restarted from the CLI){oauth}. Run them "
                f"{ROLLING}",
                sources=tuple(
                    dict.fromkeys(
                        url
                        for store_name in stores_done
                        for url in trust_sources(
                            cluster.product, store_name, sip_oauth=cluster.sip_oauth
                        )
                    )
                ),
            )
    configure(on_expressway=False)
    for _, (target, fixes, whys) in sorted(draft.reissue.items()):
        add(
            action="reissue",
            target=tuple(
                (k, tuple(str(x) for x in v) if isinstance(v, list) else str(v))
                for k, v in target.items()
            ),
            commands=_reissue_commands(deployment, draft, target),
            fixes=tuple(sorted(fixes)),
            why="; ".join(whys[:3]),
            sources=_reissue_sources(deployment, target),
        )
    if steps and any(
        (
            s.action in ("upload-trust", "remove-trust", "reissue")
            and s.target_dict().get("system") != "expressway-e"  # not discovered by C
        )
        or s.target_dict().get("setting") in ("server_names", "https_ciphers")
        for s in steps
    ):
        fixes = {fx for s in steps for fx in s.fixes}
        products = [c.product for c in deployment.uc_clusters]
        add(
            action="refresh",
            target=(("system", "expressway-c"),),
            commands=tuple(
                product_info(p).refresh_page for p in Product if p in products or not products
            ),
            fixes=tuple(sorted(fixes)),
            why="Expressway-C keeps what it discovered (names, certificates); refresh after "
            "certificate or server-name changes",
        )
    return steps


def _reissue_sources(deployment: Deployment, target: dict[str, Any]) -> tuple[str, ...]:
    cluster = _cluster(deployment, str(target.get("cluster")))
    if cluster is None:
        return ()
    recipe = identity_recipe(
        cluster.product,
        str(target.get("certificate", "")),
        mixed=cluster.mixed,
        sip_oauth=cluster.sip_oauth,
    )
    return source_urls(recipe.sources)


def _reissue_commands(
    deployment: Deployment, draft: _Draft, target: dict[str, Any]
) -> tuple[str, ...]:
    system = target.get("system")
    cert = str(target.get("certificate", ""))
    san = ", ".join(target.get("san", []))
    if system == "expressway-c" and cert == "client":
        return (
            f"Expressway-C {target.get('peer')} (X15.5): Maintenance > Security > Client "
            f"certificate: a certificate with EKU clientAuth from an enterprise CA (SAN: {san}; "
            f"key {target.get('key')}); public CAs no longer issue clientAuth",
            "its CA chain must be in the trusted CA lists of Expressway-E and of the UC nodes "
            "that ask for it (as for the server certificate); restart Expressway-C",
        )
    if system == "expressway-e":
        return (
            f"Expressway-E {target.get('peer')}: Maintenance > Security > Server certificate > "
            f"Generate CSR (SAN: {san}, Unified CM registration domains in CollabEdgeDNS or DNS "
            f"format; key {target.get('key')}; EKU {' + '.join(target.get('eku', []))})",
            "upload the CA certificates of the new chain to Expressway-E's trusted CA list first, "
            "and make sure every Expressway-C peer trusts that chain; then the signed "
            "certificate; restart Expressway-E",
        )
    if system == "expressway-c":
        return (
            f"Maintenance > Security > Server certificate > Generate CSR (SAN: {san}; key "
            f"{target.get('key')}; EKU serverAuth + clientAuth)",
            "upload the CA certificates of the new chain to the trusted CA list first, then the "
            "signed certificate; restart Expressway-C",
        )
    cluster = _cluster(deployment, str(target.get("cluster")))
    if cluster is None or system not in ("cucm", "imp", "cuc"):
        return (f"renew {cert} at its CA and replace it wherever it is trusted",)
    product = product_info(cluster.product)
    kind = "Multi-server (SAN)" if target.get("multi_server") else "Single-server"
    nodes = target.get("nodes") or [n.name for n in cluster.nodes]
    where = (
        f"on {nodes[0]}"
        if len(nodes) == 1 and not target.get("multi_server")
        else f"on the publisher ({cluster.publisher})"
    )
    out = [
        f"{where}: {product.os_admin} > Security > Certificate Management > Generate CSR: "
        f"purpose {cert}, distribution {kind}, SAN {san}, key {target.get('key')}, EKU "
        f"{' + '.join(target.get('eku', ['serverAuth', 'clientAuth']))}",
    ]
    issuer = target.get("issuer")
    if issuer:
        out.append(f"have it signed by {issuer}")
    store_name = cert.removesuffix("-ECDSA") + "-trust"
    trust = cluster.store(store_name)
    chain = _chain_above(str(issuer), _known(deployment)) if issuer else []
    if chain and trust is not None:
        lacking = [c for c in chain if not trust.trust.contains(c)]
        upload_key = (cluster.product.value, cluster.name, store_name)
        planned = {facts(c).fingerprint for c in draft.uploads.get(upload_key, {}).values()}
        names = ", ".join(facts(c).subject for c in chain)
        if not lacking:
            state = f"it holds them ({names})"
        elif all(facts(c).fingerprint in planned for c in lacking):
            state = "the upload-trust step above adds them"
        else:
            state = "upload " + ", ".join(facts(c).subject for c in lacking) + " there first"
        out.append(
            f"before uploading it: {store_name} must hold the CA chain that signs it: {state}"
        )
    elif trust is not None:
        out.append(
            f"before uploading it: upload the root and intermediates of the signing CA to "
            f"{store_name} on the publisher"
        )
    if chain:
        # Expressway-C must trust the new certificate too (not replicated between peers)
        todo: dict[str, list[x509.Certificate]] = {}
        planned_any = False
        for p in deployment.expressway.peers:
            planned = set(draft.uploads.get(_expc_key(p.name), {}))
            absent = [c for c in chain if not p.trusted_cas.trust.contains(c)]
            planned_any = planned_any or any(facts(c).fingerprint in planned for c in absent)
            rest = [c for c in absent if facts(c).fingerprint not in planned]
            if rest:
                todo[p.name] = rest
        if todo:
            for name, certs in todo.items():
                out.append(
                    "upload "
                    + ", ".join(facts(c).subject for c in certs)
                    + f" to the trusted CA list of Expressway-C {name} (then restart it) before "
                    "the new certificate is installed"
                    + (
                        "; the rest of the chain comes with the upload-trust above"
                        if planned_any
                        else ""
                    )
                )
        elif planned_any:
            out.append("Expressway-C's trusted CA list gets that chain in the upload-trust above")
        else:
            out.append("Expressway-C's trusted CA list holds that chain on every peer")
    out.append(
        f"{where}: Upload Certificate/Certificate chain, purpose {cert} (the signed certificate "
        "with its chain)"
    )
    recipe = identity_recipe(
        cluster.product, cert, mixed=cluster.mixed, sip_oauth=cluster.sip_oauth
    )
    out.extend(recipe.before)
    if recipe.restarts:
        out.append(f"{ROLLING}:")
        out.extend(recipe.restarts)
    out.extend(recipe.after)
    return tuple(out)


# --------------------------------------------------------------------------- proof


def _apply(deployment: Deployment, steps: Sequence[Step]) -> Deployment:
    """The deployment after the kit's uploads, removals and cipher settings."""

    def changed(store: Store, system_key: tuple[str, ...]) -> Store:
        certs = list(store.certs)
        for s in steps:
            t = s.target_dict()
            key = (t.get("system"), t.get("cluster") or t.get("peer"), t.get("store"))
            if key != system_key:
                continue
            if s.action == "remove-trust":
                drop = {facts(c).fingerprint for c in s.certificates}
                certs = [c for c in certs if facts(c.cert).fingerprint not in drop]
            elif s.action == "upload-trust":
                have = {facts(c.cert).fingerprint for c in certs}
                certs.extend(
                    LoadedCert(cert=c, source=f"kit:{s.order}", index=i)
                    for i, c in enumerate(s.certificates)
                    if facts(c).fingerprint not in have
                )
        return store.with_certs(tuple(certs))

    exp = deployment.expressway
    peers: list[Peer] = [
        replace(p, trusted_cas=changed(p.trusted_cas, ("expressway-c", p.name, "trusted_cas")))
        for p in exp.peers
    ]
    ciphers = exp.ciphers
    for s in steps:
        t = s.target_dict()
        if s.action == "configure" and str(t.get("setting", "")).startswith("ciphers."):
            ciphers = replace(ciphers, **{t["setting"].split(".", 1)[1]: t["value"]})
    clusters = tuple(
        _configured(
            replace(
                c,
                trust=tuple(changed(st, (c.product.value, c.name, st.name)) for st in c.trust),
            ),
            steps,
        )
        for c in deployment.uc_clusters
    )
    exp_e = deployment.expressway_e
    if exp_e is not None:
        switch = exp_e.enable_server_eku_upload or any(
            s.action == "configure" and s.target_dict().get("setting") == "enable_server_eku_upload"
            for s in steps
        )
        exp_e = replace(
            exp_e,
            enable_server_eku_upload=switch,
            peers=tuple(
                replace(p, trusted_cas=changed(p.trusted_cas, _expe_key(p.name)))
                for p in exp_e.peers
            ),
        )
    return replace(
        deployment,
        expressway=replace(exp, peers=tuple(peers), ciphers=CipherConfig(**_cipher_kw(ciphers))),
        expressway_e=exp_e,
        uc_clusters=clusters,
    )


def _configured(cluster: UcCluster, steps: Sequence[Step]) -> UcCluster:
    """A cluster after the kit's settings on it: HTTPS Ciphers, node names (System > Server)."""
    for s in steps:
        t = s.target_dict()
        if s.action != "configure" or t.get("cluster") != cluster.name:
            continue
        if t.get("setting") == "https_ciphers":
            cluster = replace(cluster, https_ciphers=HttpsCiphers(t["value"]))
        elif t.get("setting") == "server_names" and t.get("value"):
            names = dict(pair.split("=", 1) for pair in str(t["value"]).split(","))
            cluster = replace(
                cluster,
                publisher=names.get(cluster.publisher, cluster.publisher),
                nodes=tuple(replace(n, name=names.get(n.name, n.name)) for n in cluster.nodes),
            )
    return cluster


def _cipher_kw(c: CipherConfig) -> dict[str, str | None]:
    return {"uc_server_discovery": c.uc_server_discovery, "sip": c.sip, "https": c.https}


def make_plan(
    deployment: Deployment,
    *,
    to: Version | None = None,
    now: dt.datetime | None = None,
    strict_from: Version | None = None,
    extra_cas: Sequence[x509.Certificate] = (),
    sunset: SunsetPolicy | None = None,
) -> Plan:
    """The kit for the failures of the running version, or those the upgrade to ``to`` causes.

    ``extra_cas`` (``plan --ca``) are CA certificates the kit may upload where the inventory
    lacks them; a CA that neither holds gets an ``obtain-ca`` step.
    """
    if to is not None:
        _, report = upgrade_check(deployment, to, now=now, strict_from=strict_from, sunset=sunset)
        report = replace(
            report,
            findings=tuple(
                f for f in report.findings if f.change in (ChangeKind.NEW, ChangeKind.SAME)
            ),
        )
    else:
        report = audit(deployment, now=now, strict_from=strict_from, sunset=sunset)
    extra = [c for c in extra_cas if facts(c).is_ca or facts(c).self_signed]
    draft = _draft(deployment, report, extra)
    steps = _steps(deployment, draft)
    fixed_deployment = _apply(deployment, steps)
    ctx_version = report.target_version or report.expressway_version
    after = audit(
        fixed_deployment,
        version=ctx_version,
        now=report.evaluated_at,
        strict_from=strict_from,
        sunset=sunset,
    )
    if to is not None:
        # judge the fixed deployment on the same upgrade path
        _, after = upgrade_check(
            fixed_deployment, to, now=report.evaluated_at, strict_from=strict_from, sunset=sunset
        )
    # a node renamed by the kit is the same node: compare findings under its old name
    old_name = {
        new: old
        for s in steps
        if s.action == "configure" and s.target_dict().get("setting") == "server_names"
        for old, new in (p.split("=", 1) for p in str(s.target_dict()["value"]).split(",") if p)
    }

    def key(f: Finding) -> tuple[Any, ...]:
        node = old_name.get(f.subject.node or "", f.subject.node)
        return (
            f.key()
            if node == f.subject.node
            else replace(f, subject=replace(f.subject, node=node)).key()
        )

    after_bad = {key(f): f for f in after.findings if f.status in TARGET_BAD}
    before_bad = [f for f in report.findings if f.status in TARGET_BAD]
    fixed = tuple(f for f in before_bad if key(f) not in after_bad)
    remaining = tuple(after_bad.values())
    before_keys = {key(f) for f in before_bad}
    regressions = tuple(f for f in remaining if key(f) not in before_keys)
    obtain_of = {
        m: s.order for s in steps if s.action == "obtain-ca" for m in [(s.subject, s.key_id)]
    }
    waits: dict[tuple[Any, ...], list[int]] = {}
    for m, findings in draft.waiting.items():
        for f in findings:
            waits.setdefault(key(f), []).append(obtain_of[m])
    pending = tuple((f, tuple(sorted(set(waits[key(f)])))) for f in remaining if key(f) in waits)
    return Plan(
        steps=tuple(steps),
        before=report,
        after=after,
        fixed=fixed,
        remaining=remaining,
        regressions=regressions,
        pending=pending,
    )


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


# --------------------------------------------------------------------------- writing


def _folder(step: Step) -> str:
    t = step.target_dict()
    owner = t.get("cluster") or t.get("peer") or t.get("system")
    return f"{step.order:02d}-{_safe(str(owner))}-{_safe(str(t.get('store', step.action)))}"


def kit_files(plan: Plan) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """steps.json content and the PEM files, by path relative to the kit folder."""
    files: dict[str, bytes] = {}
    out: list[dict[str, Any]] = []
    for step in plan.steps:
        data = step.as_json()
        if step.action == "upload-trust":
            folder = _folder(step)
            used: set[str] = set()
            names = []
            for cert in step.certificates:
                rel = f"{folder}/{_file_name(cert, used)}"
                files[rel] = certs_pem((cert,))
                names.append(rel)
            data["files"] = names
        out.append(data)
    return out, files


_SETTINGS = {
    "ciphers.uc_server_discovery": "the UC server discovery cipher string on Expressway-C",
    "ciphers.sip": "the SIP cipher string on Expressway-C",
    "SIP Advanced TlsSignatureAlgoPrefRsa": "the SIP TLS 1.3 signature preference on Expressway-C",
    "https_ciphers": "the HTTPS Ciphers enterprise parameter",
    "server_names": "the server names (System > Server)",
    "enable_server_eku_upload": "XCP TLS Certificate CVS EnableServerEkuUpload (X15.4)",
}


def _owner(t: dict[str, Any]) -> str:
    system = str(t.get("system", ""))
    if system == "expressway-c":
        return f"Expressway-C {t['peer']}" if t.get("peer") else "Expressway-C"
    if system == "expressway-e":
        return f"Expressway-E {t['peer']}" if t.get("peer") else "Expressway-E"
    if system == "ca":
        return "the issuing CA"
    label = product_info(Product(system)).label if system in ("cucm", "imp", "cuc") else system
    return f"{label} cluster {t['cluster']}" if t.get("cluster") else label


def _title(step: Step) -> str:
    """A heading a UC engineer reads as an instruction."""
    t = step.target_dict()
    system = str(t.get("system", ""))
    owner = _owner(t)
    if step.action == "obtain-ca":
        return f"Obtain the CA certificate {step.subject} (key identifier {step.key_id})"
    if step.action == "upload-trust":
        if system in ("expressway-c", "expressway-e"):
            return f"Upload to the trusted CA list of {owner}"
        return f"Upload to the {t.get('store')} of {owner}, on the publisher"
    if step.action == "remove-trust":
        return f"Remove from the trusted CA list of {owner}"
    if step.action == "restart":
        if system in ("expressway-c", "expressway-e"):
            return f"Restart {owner}"
        return f"Restart services node by node in {owner} ({', '.join(t.get('nodes', []))})"
    if step.action == "configure":
        setting = str(t.get("setting") or "")
        label = _SETTINGS.get(setting, setting)
        where = "" if system == "expressway-c" else f" of {owner}"
        return f"Change {label}{where}" if setting else f"Change the setup of {owner}"
    if step.action == "reissue":
        what = t.get("certificate", "certificate")
        nodes = t.get("nodes") or []
        where = owner + (f" ({', '.join(nodes)})" if nodes else "")
        details = "; ".join(
            part
            for part in (
                f"SAN {', '.join(t['san'])}" if t.get("san") else "",
                str(t.get("key") or ""),
                f"EKU {' + '.join(t['eku'])}" if t.get("eku") else "",
                "multi-server (SAN) CSR" if t.get("multi_server") == "True" else "",
                f"signed by {t['issuer']}" if t.get("issuer") else "",
            )
            if part
        )
        if system == "ca":
            return f"Renew {what} at {owner}"
        return f"Reissue the {what} certificate of {where}" + (f" ({details})" if details else "")
    return "Refresh the UC servers on Expressway-C"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _proof_of_obtain(plan: Plan) -> str:
    """Which steps and failures wait for an obtain-ca step."""
    parts = []
    for order, needs in sorted(plan.dependent_steps.items()):
        parts.append(f"step {order} depends on obtain-ca step {', '.join(map(str, needs))}")
    waiting = len(plan.pending)
    return (
        f"{_plural(waiting, 'remaining finding')} {'waits' if waiting == 1 else 'wait'} for a CA "
        f"the kit does not hold: {'; '.join(parts)}. Once it is obtained (or given with --ca), "
        "those uploads complete the path; the proof cannot apply a certificate it does not have."
    )


def _markdown(plan: Plan, steps_json: list[dict[str, Any]]) -> str:
    before = plan.before
    head = f"# Remediation plan: {before.deployment}\n\n"
    if before.target_version is not None:
        head += (
            f"Prepares Expressway **{before.expressway_version} → {before.target_version}**: "
            "apply before upgrading.\n\n"
        )
    else:
        head += f"For Expressway **{before.expressway_version}**.\n\n"
    bad = [f for f in before.findings if f.status in TARGET_BAD]
    head += (
        f"The audit found {_plural(sum(f.status is Status.FAIL for f in bad), 'failure')} and "
        f"{_plural(sum(f.status is Status.RISK for f in bad), 'risk')}. Applied in memory, this "
        f"kit fixes {len(plan.fixed)} of them; {len(plan.remaining)} remain"
        + (
            " (they need the reissues or settings below)"
            if len(plan.remaining) > len(plan.pending)
            else ""
        )
        + ".\n\n"
    )
    if plan.pending:
        head += _proof_of_obtain(plan) + "\n\n"
    lines = [head, "## Steps\n"]
    for s, data in zip(plan.steps, steps_json, strict=True):
        lines.append(f"### {s.order}. {_title(s)}\n")
        if s.why:
            lines.append(f"Why: {s.why}\n")
        first = [c for c in s.commands if c.startswith("recommended instead")]
        for cmd in first:
            lines.append(f"- [ ] {cmd}")
        for subject, key_id, step in s.missing:
            lines.append(
                f"- [ ] upload {subject} (key identifier {key_id}) once step {step} has obtained it"
            )
        for f in data["files"]:
            lines.append(f"- [ ] upload `{f}`")
        for cmd in s.commands:
            if cmd not in first:
                lines.append(f"- [ ] {cmd}")
        if s.action == "remove-trust":
            for cert in s.certificates:
                lines.append(f"  - {facts(cert).subject} ({facts(cert).fingerprint})")
        if s.sources:
            lines.append(f"\nSources: {', '.join(s.sources)}")
        lines.append(f"\nFixes: {', '.join(s.fixes) or '—'}\n")
    if plan.remaining:
        lines.append("## Still failing after the uploads and settings of this kit\n")
        for f in plan.remaining:
            where = " ".join(x for x in (f.subject.cluster, f.subject.node, f.subject.leg) if x)
            lines.append(f"- {f.status.value.upper()} {f.rule} {where}: {f.message}")
        lines.append("")
    lines.append("## Check afterwards\n")
    lines.append(
        "- [ ] `mratrust audit` (with `--probe` from the Expressway-C network) shows no fail"
    )
    return "\n".join(lines) + "\n"


def write_kit(plan: Plan, out: Path, *, force: bool = False, fmt: str = "text") -> str:
    """Write steps.json, steps.md and the PEM folders; return what to print."""
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", file=out, hint="choose another --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(
            "folder is not empty", file=out, hint="choose an empty folder or add --force"
        )
    steps_json, files = kit_files(plan)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if force:
            for old in sorted(out.rglob("*"), reverse=True):
                if old.is_file() and (old.suffix == ".pem" or old.name.startswith("steps.")):
                    old.unlink()
                elif old.is_dir() and not any(old.iterdir()):
                    old.rmdir()
        for rel, data in files.items():
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (out / "steps.json").write_text(json.dumps(steps_json, indent=2) + "\n", encoding="utf-8")
        (out / "steps.md").write_text(_markdown(plan, steps_json), encoding="utf-8")
        titled = [(_title(s), data) for s, data in zip(plan.steps, steps_json, strict=True)]
        page = steps_html(plan.before, plan.fixed, titled)
        (out / "steps.html").write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the kit ({exc.strerror})", file=out) from exc
    if fmt == "json":
        return (
            json.dumps(
                {
                    "out": str(out),
                    "steps": steps_json,
                    "depends_on_obtain_ca": {
                        str(k): list(v) for k, v in sorted(plan.dependent_steps.items())
                    },
                    "fixed": [f.rule for f in plan.fixed],
                    "remaining": [
                        {"rule": f.rule, "status": f.status.value, "message": f.message}
                        for f in plan.remaining
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    if fmt == "markdown":
        return _markdown(plan, steps_json)
    lines = [f"Remediation kit written to {out}: {len(plan.steps)} steps, {len(files)} files"]
    for s in plan.steps:
        t = s.target_dict()
        owner = s.subject or t.get("cluster") or t.get("peer") or t.get("system")
        store = f" {t['store']}" if "store" in t else ""
        needs = f" [needs step {', '.join(map(str, s.needs))}]" if s.needs else ""
        lines.append(f"  {s.order:2}. {s.action:<13} {owner}{store}{needs}  ({', '.join(s.fixes)})")
    lines.append(
        f"Proof: applied in memory, the kit fixes {len(plan.fixed)} failing checks; "
        f"{len(plan.remaining)} remain"
        + (
            " (need a reissue or a product setting; see steps.md)"
            if len(plan.remaining) > len(plan.pending)
            else ""
        )
    )
    if plan.pending:
        lines.append("Proof: " + _proof_of_obtain(plan))
    return "\n".join(lines) + "\n"
