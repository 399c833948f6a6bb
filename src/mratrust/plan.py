"""Findings → an ordered, deduplicated remediation kit (SPEC §5a), proved before it is handed out.

The kit's ``upload-trust``, ``remove-trust`` and cipher ``configure`` steps are applied to the
deployment in memory and the audit runs again: the plan says which failures the kit fixes and
which remain (those need a certificate reissued or a setting changed on the product).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mratrust.audit import Report, audit, context, upgrade_check
from mratrust.ciphers import suggest_rsa_first
from mratrust.errors import InputError
from mratrust.model import (
    ChangeKind,
    CipherConfig,
    Deployment,
    Finding,
    Peer,
    Product,
    Status,
    Store,
    UcCluster,
)
from mratrust.pki.facts import facts
from mratrust.pki.load import LoadedCert
from mratrust.versions import Version

ACTIONS = ("upload-trust", "remove-trust", "reissue", "configure", "restart", "refresh")
TARGET_BAD = frozenset({Status.FAIL, Status.RISK})

CUCM_RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat-trust": ("utils service restart Cisco Tomcat", "utils service restart Cisco HAProxy"),
    "CallManager-trust": (
        "utils service restart Cisco CallManager",
        "utils service restart Cisco TFTP",
        "utils service restart Cisco HAProxy",
    ),
}
IMP_RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat-trust": ("utils service restart Cisco Tomcat",),
    "cup-xmpp-trust": ("utils service restart Cisco XCP Router",),
}
CUC_RESTARTS: dict[str, tuple[str, ...]] = {"tomcat-trust": ("utils service restart Cisco Tomcat",)}


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

    def target_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.target}

    def as_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "action": self.action,
            "target": self.target_dict(),
            "files": list(self.files),
            "commands": list(self.commands),
            "fixes": list(self.fixes),
            "why": self.why,
        }


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
    configure: dict[str, tuple[dict[str, Any], tuple[str, ...], set[str], str]] = field(
        default_factory=dict
    )
    reissue: dict[str, tuple[dict[str, Any], set[str], list[str]]] = field(default_factory=dict)

    def upload(
        self, key: tuple[str, ...], certs: Iterable[x509.Certificate], rule: str, why: str
    ) -> None:
        bucket = self.uploads.setdefault(key, {})
        for c in certs:
            bucket.setdefault(facts(c).fingerprint, c)
        self.upload_fixes.setdefault(key, set()).add(rule)
        whys = self.upload_why.setdefault(key, [])
        if why not in whys:
            whys.append(why)

    def remove(self, key: tuple[str, ...], certs: Iterable[x509.Certificate], rule: str) -> None:
        bucket = self.removals.setdefault(key, {})
        for c in certs:
            bucket.setdefault(facts(c).fingerprint, c)
        self.removal_fixes.setdefault(key, set()).add(rule)

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


def _fps(f: Finding, key: str) -> tuple[str, ...]:
    value = f.evidence_dict().get(key)
    if isinstance(value, tuple):
        return value
    if isinstance(value, str):
        return (value,)
    return ()


def _expc_key(peer: str) -> tuple[str, ...]:
    return ("expressway-c", peer, "trusted_cas")


def _cluster(deployment: Deployment, name: str | None) -> UcCluster | None:
    return next((c for c in deployment.uc_clusters if c.name == name), None)


def _peer_names(deployment: Deployment, f: Finding) -> tuple[str, ...]:
    named = _fps(f, "peers")
    return named or tuple(p.name for p in deployment.expressway.peers)


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


def _draft(deployment: Deployment, report: Report) -> _Draft:
    known = _known(deployment)
    draft = _Draft()
    relied_on = _relied_on(deployment, report)
    for f in report.findings:
        if f.status not in TARGET_BAD:
            continue
        ev = f.evidence_dict()
        upload = [known[fp] for fp in _fps(f, "upload") if fp in known]
        # an entry that another certificate needs is not removed: that takes a reissue
        remove = [known[fp] for fp in _fps(f, "remove") if fp in known and fp not in relied_on]
        if f.rule in ("C2U-TRUST", "C2U-LATENT", "EXP-CHAIN") or (
            f.rule == "U2C-OAUTH" and f.subject.certificate == "tomcat"
        ):
            peers = (f.subject.node,) if f.rule == "EXP-CHAIN" else _peer_names(deployment, f)
            for peer in peers:
                if peer is None:
                    continue
                if remove:
                    draft.remove(_expc_key(peer), remove, f.rule)
                if upload:
                    draft.upload(_expc_key(peer), upload, f.rule, f.message)
            if f.rule == "C2U-LATENT" and _fps(f, "missing_names"):
                _uc_reissue(deployment, draft, f)
        elif f.rule == "C2U-DUP-SUBJECT" and f.status is Status.FAIL:
            first = ev.get("first")
            if (
                isinstance(first, str)
                and first in known
                and first not in relied_on
                and f.subject.node
            ):
                draft.remove(_expc_key(f.subject.node), [known[first]], f.rule)
        elif f.rule in ("U2C-TRUST", "U2C-OAUTH", "U2C-IMP-TRUST") and f.subject.certificate:
            cluster = _cluster(deployment, f.subject.cluster)
            if cluster is None:
                continue
            store = f.subject.certificate
            certs = list(upload)
            presenter = next(
                (p for p in deployment.expressway.peers if p.name == f.subject.node), None
            )
            if cluster.mixed and store == "CallManager-trust" and presenter is not None:
                certs.append(
                    presenter.certificate.leaf
                )  # mixed mode: the MRA guide asks for the leaf
            if certs:
                draft.upload((cluster.product.value, cluster.name, store), certs, f.rule, f.message)
        elif f.rule == "C2U-ECDSA":
            _ecdsa_configure(deployment, draft, f)
        elif f.rule in ("C2U-NAME", "C2U-FQDN", "UCM-MULTI-SAN", "C2U-SAME-CN"):
            _uc_reissue(deployment, draft, f)
        elif f.rule in ("EXP-EKU", "EXP-CN", "EXP-KEY", "U2C-PROFILE-SAN", "EXP-WILDCARD"):
            _expc_reissue(deployment, draft, f)
        elif f.rule == "CERT-VALIDITY":
            draft.add_reissue(
                f"renew:{ev.get('fingerprint')}",
                {"system": _system_of(deployment, f), "certificate": f.subject.certificate or ""},
                f.rule,
                f.message,
            )
        elif f.rule == "C2U-TLS13-SIGALG":
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
        elif f.rule == "U2C-CM-EKU":
            _uc_reissue(deployment, draft, f)
    return draft


def _system_of(deployment: Deployment, f: Finding) -> str:
    cluster = _cluster(deployment, f.subject.cluster)
    if cluster is not None:
        return cluster.product.value
    if f.subject.cluster == "expressway-c":
        return "expressway-c"
    return "ca"


def _ecdsa_configure(deployment: Deployment, draft: _Draft, f: Finding) -> None:
    setting = "uc_server_discovery" if "cucm:5061" not in (f.subject.leg or "") else "sip"
    if f.subject.leg and f.subject.leg.endswith(":5091"):
        setting = "sip"
    current = f.evidence_dict().get("cipher_string")
    if not isinstance(current, str):
        return
    suggestions = suggest_rsa_first(current)
    prefix = next((s for s in suggestions if s.how.startswith("prefix")), None)
    chosen = prefix or (suggestions[0] if suggestions else None)
    if chosen is None:
        return
    label = {"uc_server_discovery": "UC server discovery", "sip": "SIP"}[setting]
    entry = draft.configure.setdefault(
        f"ciphers:{setting}",
        (
            {"system": "expressway-c", "setting": f"ciphers.{setting}", "value": chosen.string},
            (
                f'Maintenance > Security > Ciphers > {label}: "{chosen.string}"',
                f"verify: openssl ciphers -V '{chosen.string}' lists "
                f"{chosen.expansion.suites[chosen.expansion.first_rsa or 0].name} before any "
                "ECDSA suite",
            ),
            set(),
            f"Expressway-C offers ECDSA first ({label} cipher string), so a UC node that allows "
            f"ECDSA may present its untrusted ECDSA certificate; {chosen.how} makes RSA first "
            "(checked by expanding the string again). Alternatively trust the ECDSA certificates.",
        ),
    )
    entry[2].add(f.rule)


def _uc_reissue(deployment: Deployment, draft: _Draft, f: Finding) -> None:
    cluster = _cluster(deployment, f.subject.cluster)
    if cluster is None:
        return
    cert = (f.subject.certificate or "tomcat").split("+")[0]
    if f.rule == "C2U-FQDN":
        draft.configure.setdefault(
            f"fqdn:{cluster.name}",
            (
                {"system": cluster.product.value, "cluster": cluster.name},
                (
                    "Cisco Unified CM Administration > System > Server: change each host name "
                    "to its FQDN",
                ),
                set(),
                "Expressway-C uses the names of System > Server and expects each in the node's "
                "certificate",
            ),
        )[2].add(f.rule)
    if f.rule == "C2U-SAME-CN" and cluster.product is Product.CUCM:
        cert = "CallManager"
    names = tuple(n.name for n in cluster.nodes)
    if cluster.product is Product.CUC and cluster.voicemail_host:
        names = tuple(dict.fromkeys((*names, cluster.voicemail_host)))
    key = "RSA 2048" if not cert.endswith("ECDSA") else "ECDSA P-256"
    target = {
        "system": cluster.product.value,
        "cluster": cluster.name,
        "certificate": cert,
        "san": list(names),
        "key": key,
        "eku": ["serverAuth", "clientAuth"],
        "multi_server": cluster.product is not Product.CUC or len(cluster.nodes) > 1,
    }
    why = f.message
    if f.rule == "C2U-SAME-CN":
        why += " — CA-sign it (or, CUCM 14+, reuse the multi-server tomcat for CallManager)"
    draft.add_reissue(f"uc:{cluster.name}:{cert}", target, f.rule, why)


def _expc_reissue(deployment: Deployment, draft: _Draft, f: Finding) -> None:
    exp = deployment.expressway
    names: list[str] = []
    if exp.cluster_name:
        names.append(exp.cluster_name)
    names.extend(p.name for p in exp.peers)
    for cluster in deployment.uc_clusters:
        names.extend(cluster.secure_profiles)
    target = {
        "system": "expressway-c",
        "peer": f.subject.node or "",
        "certificate": "server",
        "san": list(dict.fromkeys(names)),
        "key": "RSA 2048",
        "eku": ["serverAuth", "clientAuth"],
        "cn": exp.cluster_name or (f.subject.node or ""),
    }
    draft.add_reissue(f"expc:{f.subject.node}", target, f.rule, f.message)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "cert"


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


def _restart_commands(product: Product, stores: Iterable[str]) -> tuple[str, ...]:
    tables: dict[Product, dict[str, tuple[str, ...]]] = {
        Product.CUCM: CUCM_RESTARTS,
        Product.IMP: IMP_RESTARTS,
        Product.CUC: CUC_RESTARTS,
    }
    table = tables[product]
    out: list[str] = []
    for s in stores:
        for cmd in table.get(s, ()):
            if cmd not in out:
                out.append(cmd)
    return tuple(out)


def _steps(deployment: Deployment, draft: _Draft) -> list[Step]:
    steps: list[Step] = []

    def add(**kw: Any) -> None:
        steps.append(Step(order=len(steps) + 1, **kw))

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
                why="Expressway stops at the first entry with a matching subject; this older "
                "entry (another key) hides the right one",
                certificates=tuple(rm.values()),
            )
            touched_expc.setdefault(peer.name, set()).update(fixes)
        up = {fp: c for fp, c in draft.uploads.get(pkey, {}).items() if fp not in present}
        if up:
            fixes = draft.upload_fixes.get(pkey, set())
            add(
                action="upload-trust",
                target=(("system", "expressway-c"), ("peer", peer.name), ("store", "trusted_cas")),
                commands=(
                    "Maintenance > Security > Trusted CA certificate > Upload (one file at a "
                    "time, CA certificates before the certificates they sign)",
                ),
                fixes=tuple(sorted(fixes)),
                why="; ".join(draft.upload_why.get(pkey, [])[:1]),
                certificates=_issuers_first(up.values()),
            )
            touched_expc.setdefault(peer.name, set()).update(fixes)
    for peer_name, fixes in touched_expc.items():
        add(
            action="restart",
            target=(("system", "expressway-c"), ("peer", peer_name)),
            commands=("Maintenance > Restart options > Restart (or xCommand Restart)",),
            fixes=tuple(sorted(fixes)),
            why="Expressway applies trusted CA and cipher changes only after a restart",
        )
    # UC clusters: every upload to a cluster, then its restarts once
    for cluster in deployment.uc_clusters:
        stores_done: list[str] = []
        cluster_fixes: set[str] = set()
        for store in cluster.trust:
            skey = (cluster.product.value, cluster.name, store.name)
            present = {facts(c.cert).fingerprint for c in store.certs}
            up = {fp: c for fp, c in draft.uploads.get(skey, {}).items() if fp not in present}
            if not up:
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
                    f"on {cluster.publisher}: Cisco Unified OS Administration > Security > "
                    f"Certificate Management > Upload Certificate/Certificate chain, purpose "
                    f"{store.name} (replicates to every node)",
                ),
                fixes=tuple(sorted(fixes)),
                why="; ".join(draft.upload_why.get(skey, [])[:1]),
                certificates=_issuers_first(up.values()),
            )
        if stores_done:
            add(
                action="restart",
                target=(
                    ("system", cluster.product.value),
                    ("cluster", cluster.name),
                    ("nodes", tuple(n.name for n in cluster.nodes)),
                ),
                commands=_restart_commands(cluster.product, stores_done),
                fixes=tuple(sorted(cluster_fixes)),
                why=f"{', '.join(stores_done)} changes take effect after these restarts, on every "
                "node (Cisco Tomcat can only be restarted from the CLI)",
            )
    configure(on_expressway=False)
    for _, (target, fixes, whys) in sorted(draft.reissue.items()):
        add(
            action="reissue",
            target=tuple(
                (k, tuple(str(x) for x in v) if isinstance(v, list) else str(v))
                for k, v in target.items()
            ),
            commands=_reissue_commands(target),
            fixes=tuple(sorted(fixes)),
            why="; ".join(whys[:3]),
        )
    if steps and any(s.action in ("upload-trust", "remove-trust", "reissue") for s in steps):
        fixes = {fx for s in steps for fx in s.fixes}
        add(
            action="refresh",
            target=(("system", "expressway-c"),),
            commands=(
                "Configuration > Unified Communications > Unified CM servers > Refresh servers",
                "Configuration > Unified Communications > IM and Presence Service nodes > "
                "Refresh servers",
                "Configuration > Unified Communications > Unity Connection servers > "
                "Refresh servers",
            ),
            fixes=tuple(sorted(fixes)),
            why="Expressway-C keeps what it discovered; refresh after certificate changes",
        )
    return steps


def _reissue_commands(target: dict[str, Any]) -> tuple[str, ...]:
    system = target.get("system")
    cert = target.get("certificate", "")
    san = ", ".join(target.get("san", []))
    if system == "expressway-c":
        return (
            f"Maintenance > Security > Server certificate > Generate CSR (SAN: {san}; key "
            f"{target.get('key')}; EKU serverAuth + clientAuth)",
            "upload the signed certificate, then restart Expressway-C",
        )
    if system in ("cucm", "imp", "cuc"):
        kind = "Multi-server (SAN)" if target.get("multi_server") else "Single-server"
        return (
            f"Cisco Unified OS Administration > Security > Certificate Management > Generate CSR: "
            f"purpose {cert}, distribution {kind}, SAN {san}, key {target.get('key')}",
            f"upload the signed {cert} certificate on the publisher, then the restarts its type "
            "needs (tomcat: utils service restart Cisco Tomcat on every node and Cisco TFTP; "
            "CallManager: Cisco CallManager, Cisco TFTP, Cisco HAProxy)",
        )
    return (f"renew {cert} at its CA and replace it wherever it is trusted",)


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
        replace(
            c,
            trust=tuple(changed(st, (c.product.value, c.name, st.name)) for st in c.trust),
        )
        for c in deployment.uc_clusters
    )
    return replace(
        deployment,
        expressway=replace(exp, peers=tuple(peers), ciphers=CipherConfig(**_cipher_kw(ciphers))),
        uc_clusters=clusters,
    )


def _cipher_kw(c: CipherConfig) -> dict[str, str | None]:
    return {"uc_server_discovery": c.uc_server_discovery, "sip": c.sip, "https": c.https}


def make_plan(
    deployment: Deployment,
    *,
    to: Version | None = None,
    now: dt.datetime | None = None,
    strict_from: Version | None = None,
) -> Plan:
    """The kit for the failures of the running version, or those the upgrade to ``to`` causes."""
    if to is not None:
        _, report = upgrade_check(deployment, to, now=now, strict_from=strict_from)
        report = replace(
            report,
            findings=tuple(
                f for f in report.findings if f.change in (ChangeKind.NEW, ChangeKind.SAME)
            ),
        )
    else:
        report = audit(deployment, now=now, strict_from=strict_from)
    steps = _steps(deployment, _draft(deployment, report))
    fixed_deployment = _apply(deployment, steps)
    ctx_version = report.target_version or report.expressway_version
    after = audit(
        fixed_deployment,
        version=ctx_version,
        now=report.evaluated_at,
        strict_from=strict_from,
    )
    if to is not None:
        # judge the fixed deployment on the same upgrade path
        _, after = upgrade_check(
            fixed_deployment, to, now=report.evaluated_at, strict_from=strict_from
        )
    after_bad = {f.key(): f for f in after.findings if f.status in TARGET_BAD}
    before_bad = [f for f in report.findings if f.status in TARGET_BAD]
    fixed = tuple(f for f in before_bad if f.key() not in after_bad)
    remaining = tuple(after_bad.values())
    before_keys = {f.key() for f in before_bad}
    regressions = tuple(f for f in remaining if f.key() not in before_keys)
    return Plan(
        steps=tuple(steps),
        before=report,
        after=after,
        fixed=fixed,
        remaining=remaining,
        regressions=regressions,
    )


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
                files[rel] = cert.public_bytes(Encoding.PEM)
                names.append(rel)
            data["files"] = names
        out.append(data)
    return out, files


_PRODUCT = {"cucm": "Unified CM", "imp": "IM and Presence", "cuc": "Unity Connection"}
_SETTINGS = {
    "ciphers.uc_server_discovery": "the UC server discovery cipher string",
    "ciphers.sip": "the SIP cipher string",
    "SIP Advanced TlsSignatureAlgoPrefRsa": "the SIP TLS 1.3 signature preference",
}


def _title(step: Step) -> str:
    """A heading a UC engineer reads as an instruction."""
    t = step.target_dict()
    system = str(t.get("system", ""))
    product = _PRODUCT.get(system, system)
    owner = (
        f"{product} cluster {t['cluster']}" if "cluster" in t else f"Expressway-C {t.get('peer')}"
    )
    if step.action == "upload-trust":
        store = "trusted CA list" if t.get("store") == "trusted_cas" else t.get("store")
        return f"Upload to the {store} of {owner}"
    if step.action == "remove-trust":
        return f"Remove from the trusted CA list of {owner}"
    if step.action == "restart":
        if system == "expressway-c":
            return f"Restart {owner}"
        return f"Restart services on every node of {owner} ({', '.join(t.get('nodes', []))})"
    if step.action == "configure":
        setting = t.get("setting")
        label = _SETTINGS.get(str(setting), str(setting))
        return f"Change {label} on Expressway-C" if setting else f"Change the setup of {owner}"
    if step.action == "reissue":
        what = t.get("certificate", "certificate")
        where = owner if system != "expressway-c" else f"Expressway-C {t.get('peer')}"
        details = "; ".join(
            part
            for part in (
                f"SAN {', '.join(t['san'])}" if t.get("san") else "",
                str(t.get("key", "")),
                f"EKU {' + '.join(t['eku'])}" if t.get("eku") else "",
                "multi-server (SAN) CSR" if t.get("multi_server") == "True" else "",
            )
            if part
        )
        return f"Reissue the {what} certificate of {where}" + (f" ({details})" if details else "")
    return "Refresh the UC servers on Expressway-C"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


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
        + (" (they need the reissues or settings below)" if plan.remaining else "")
        + ".\n\n"
    )
    lines = [head, "## Steps\n"]
    for s, data in zip(plan.steps, steps_json, strict=True):
        lines.append(f"### {s.order}. {_title(s)}\n")
        if s.why:
            lines.append(f"Why: {s.why}\n")
        for f in data["files"]:
            lines.append(f"- [ ] upload `{f}`")
        for cmd in s.commands:
            lines.append(f"- [ ] {cmd}")
        if s.action == "remove-trust":
            for cert in s.certificates:
                lines.append(f"  - {facts(cert).subject} ({facts(cert).fingerprint})")
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
    except OSError as exc:
        raise InputError(f"cannot write the kit ({exc.strerror})", file=out) from exc
    if fmt == "json":
        return (
            json.dumps(
                {
                    "out": str(out),
                    "steps": steps_json,
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
        owner = t.get("cluster") or t.get("peer") or t.get("system")
        store = f" {t['store']}" if "store" in t else ""
        lines.append(f"  {s.order:2}. {s.action:<13} {owner}{store}  ({', '.join(s.fixes)})")
    lines.append(
        f"Proof: applied in memory, the kit fixes {len(plan.fixed)} failing checks; "
        f"{len(plan.remaining)} remain"
        + (" (need a reissue or a product setting; see steps.md)" if plan.remaining else "")
    )
    return "\n".join(lines) + "\n"
