"""Prove: apply the kit in memory and audit again (SPEC §5a).

:func:`make_plan` drafts and orders the steps, applies the uploads, removals and settings to
the deployment, re-runs the audit and says what the kit fixes, what remains, and what waits
for an ``obtain-ca`` step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from cryptography import x509

from mratrust.audit import audit, upgrade_check
from mratrust.model import (
    ChangeKind,
    CipherConfig,
    Deployment,
    Finding,
    HttpsCiphers,
    Peer,
    Store,
    UcCluster,
)
from mratrust.pki.facts import facts
from mratrust.pki.load import LoadedCert
from mratrust.plan.draft import _draft, _expe_key
from mratrust.plan.steps import _steps
from mratrust.plan.types import TARGET_BAD, Plan, Step
from mratrust.sunset import SunsetPolicy
from mratrust.versions import Version


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
