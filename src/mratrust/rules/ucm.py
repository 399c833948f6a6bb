"""CUCM certificate management: multi-server SAN coverage and tomcat reuse (UCM-*)."""

from __future__ import annotations

from collections.abc import Iterator

from mratrust.model import Finding, Product, Severity, Status, Subject
from mratrust.pki.facts import NameMatch, facts, match_name
from mratrust.rules.base import AuditContext, make, rename_or_reissue, rule, short
from mratrust.versions import CUCM_TOMCAT_REUSE, X8_8

REUSE_PAIRS = (("tomcat", "CallManager"), ("tomcat-ECDSA", "CallManager-ECDSA"))


@rule(
    "UCM-REUSE",
    title="CUCM 14+: a multi-server tomcat can be (or is) reused for CallManager",
    since=CUCM_TOMCAT_REUSE.since,
    severity=Severity.LOW,
    kb=("R-UCM-03", "R-UCM-04"),
    cite=("S5", "S6", "S1"),
)
def ucm_reuse(ctx: AuditContext) -> Iterator[Finding]:
    for cluster, node in ctx.deployment.nodes():
        if cluster.product is not Product.CUCM:
            continue
        if CUCM_TOMCAT_REUSE.reached(cluster.major_version) is not True:
            continue
        for source, target in REUSE_PAIRS:
            src = node.identity(source)
            dst = node.identity(target)
            if src is None:
                continue
            subject = ctx.node_subject(cluster, node, target)
            fs = facts(src.leaf)
            if (
                dst is not None
                and facts(dst.leaf).serial == fs.serial
                and (facts(dst.leaf).fingerprint == fs.fingerprint)
            ):
                yield make(
                    "UCM-REUSE",
                    Status.PASS,
                    subject,
                    f"{short(node.name)} reuses {source} as {target} (same serial {fs.serial:x}): "
                    "one certificate to trust, no same-CN conflict (on CUCM, show cert own "
                    f"{source} and show cert own {target} show the same serial; 14SU4+ hides the "
                    "reused certificate in the GUI)",
                    evidence={"serial": f"{fs.serial:x}"},
                )
                continue
            if ctx.multi_server(fs):
                yield make(
                    "UCM-REUSE",
                    Status.INFO,
                    subject,
                    f"{short(node.name)}'s {source} is a multi-server certificate: CUCM "
                    f"{cluster.version} can reuse it for {target} (Reuse Certificate), which "
                    "removes a trust upload on Expressway-C and the same-CN conflict; confirm "
                    f"afterwards with show cert own {source} and show cert own {target} (same "
                    "serial)",
                    evidence={"source": fs.fingerprint},
                )
            else:
                yield make(
                    "UCM-REUSE",
                    Status.PASS,
                    subject,
                    f"{short(node.name)}'s {source} is not multi-server, so it cannot be reused "
                    f"for {target}",
                )


@rule(
    "UCM-MULTI-SAN",
    fix=rename_or_reissue,
    title="A multi-server certificate's SAN covers every node of its cluster",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-C2U-02",),
    cite=("S2", "S7"),
)
def ucm_multi_san(ctx: AuditContext) -> Iterator[Finding]:
    for cluster in ctx.deployment.uc_clusters:
        by_fp: dict[str, tuple[str, list[str]]] = {}
        leaves = {}
        for node in cluster.nodes:
            for ident in node.certificates:
                f = facts(ident.leaf)
                if not ctx.multi_server(f):
                    continue
                by_fp.setdefault(f.fingerprint, (ident.name, []))[1].append(node.name)
                leaves[f.fingerprint] = f
        for fp, (name, users) in by_fp.items():
            f = leaves[fp]
            subject = Subject(
                cluster=cluster.name, certificate=f"{name} {f.common_name or ''}".strip()
            )
            not_using = [n.name for n in cluster.nodes if n.name not in users]
            users_missing = [
                n for n in users if match_name(f, n, cn_fallback=False) is not NameMatch.SAN
            ]
            others_missing = [
                n for n in not_using if match_name(f, n, cn_fallback=False) is not NameMatch.SAN
            ]
            if users_missing:
                yield make(
                    "UCM-MULTI-SAN",
                    Status.FAIL,
                    subject,
                    f"the multi-server {name} certificate {f.common_name} is used by "
                    f"{', '.join(users_missing)} but its SAN ({', '.join(f.names)}) does not list "
                    f"{'it' if len(users_missing) == 1 else 'them'}",
                    remediation=[
                        f"Generate a new multi-server CSR for {name} listing every node of "
                        f"{cluster.name}, have it signed and upload it on the publisher"
                    ],
                    evidence={"san": f.names, "missing": tuple(users_missing)},
                )
            elif others_missing:
                yield make(
                    "UCM-MULTI-SAN",
                    Status.WARN,
                    subject,
                    f"the multi-server {name} certificate {f.common_name} does not list "
                    f"{', '.join(others_missing)} of {cluster.name}",
                    remediation=[
                        f"Include every node of {cluster.name} in the next multi-server CSR"
                    ],
                    evidence={"san": f.names, "missing": tuple(others_missing)},
                )
            else:
                yield make(
                    "UCM-MULTI-SAN",
                    Status.PASS,
                    subject,
                    f"the multi-server {name} certificate {f.common_name} lists every node of "
                    f"{cluster.name}",
                )
