"""Expressway-C must trust the UC nodes (Expressway-C is the TLS client): rules C2U-*."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from cryptography import x509

from mratrust.model import (
    EXPRESSWAY_RESTART_PAGE,
    EvidenceValue,
    Finding,
    Identity,
    Node,
    Product,
    Severity,
    Status,
    Subject,
    TlsCiphers,
    UcCluster,
)
from mratrust.pki.facts import NameMatch, facts, is_fqdn, is_ip, match_name
from mratrust.pki.verify import TRUST_REASONS, PathResult, TrustStore, issued_by
from mratrust.rules.base import (
    ATS_DEBUG,
    CIPHER_LABELS,
    EXPC,
    GATE_STATUS,
    AuditContext,
    Gate,
    chain_fps,
    cipher_where,
    evidence_fps,
    expressway_trust_fixes,
    is_discovered_node,
    make,
    peers,
    reissue_uc,
    rename_or_reissue,
    rule,
    short,
    uc_identity,
)
from mratrust.topology import EcdsaOffer, Transport, UcLeg, node_id, peer_id
from mratrust.versions import CUCM_TOMCAT_REUSE, X8_8, X14_2, X15_2

if TYPE_CHECKING:  # the fixes load with the first finding that has one
    from mratrust.fixes import Fix

RESTART_EXPC = f"restart Expressway-C ({EXPRESSWAY_RESTART_PAGE}) for trusted CA changes"
REFRESH = (
    "refresh the UC servers on Expressway-C (Configuration > Unified Communications > "
    "Unified CM servers / IM and Presence Service nodes / Unity Connection servers > "
    "Refresh servers)"
)


def _latent_fixes(f: Finding) -> tuple[Fix, ...]:
    """Trust the chain; a certificate that also lacks names is reissued."""
    more = reissue_uc(f) if evidence_fps(f, "missing_names") else ()
    return (*expressway_trust_fixes(f), *more)


def _dup_subject_fixes(f: Finding) -> tuple[Fix, ...]:
    """Remove the first entry with the subject, which hides the right one (a ``fail`` only)."""
    from mratrust.fixes import ExpresswayTrust, RemoveTrust

    first = f.evidence_dict().get("first")
    if f.status is not Status.FAIL or not isinstance(first, str) or not f.subject.node:
        return ()
    return (RemoveTrust(store=ExpresswayTrust(peers=(f.subject.node,)), certificates=(first,)),)


def _ecdsa_fixes(f: Finding) -> tuple[Fix, ...]:
    """Have Expressway-C get the trusted RSA identity on the leg."""
    from mratrust.fixes import Configure, Setting

    current = f.evidence_dict().get("cipher_string")
    return (
        Configure(
            setting=Setting.RSA_FIRST,
            cluster=f.subject.cluster,
            leg_id=f.subject.leg_id,
            cipher_string=current if isinstance(current, str) else None,
        ),
    )


def _rename_then_reissue(f: Finding) -> tuple[Fix, ...]:
    """The nodes are renamed to their FQDN; a new certificate only if one lacks the FQDN."""
    from mratrust.fixes import Reissue, Rename

    return (Reissue(what=uc_identity(f, rename=Rename.ALWAYS)),)


def _same_cn_fixes(f: Finding) -> tuple[Fix, ...]:
    """CallManager CA-signed; the self-signed entries that shared tomcat's subject go."""
    from mratrust.fixes import Reissue

    ev = f.evidence_dict().get("certificates")
    stale = ev[1] if isinstance(ev, tuple) and len(ev) == 2 else None
    return (Reissue(what=uc_identity(f, same_cn=True, stale=stale)),)


def _sigalg_fixes(_f: Finding) -> tuple[Fix, ...]:
    from mratrust.fixes import Configure, Setting

    return (Configure(setting=Setting.SIP_SIGNATURE_PREF_RSA),)


def _subject(ctx: AuditContext, leg: UcLeg, certificate: str | None = None) -> Subject:
    """The subject of a finding about ``leg`` (one value per leg and certificate: the rules
    about a leg share it)."""
    return ctx.leg_subject(leg, certificate or leg.rsa_identity)


def _trust_problems(result: PathResult) -> list[str]:
    return [p.message for p in result.problems if p.fatal and p.reason in TRUST_REASONS]


def _dn_list(certs: tuple[x509.Certificate, ...]) -> str:
    return " and ".join(facts(c).subject for c in certs)


def trust_remediation(
    results: dict[str, PathResult], ident: Identity, needed: frozenset[str] = frozenset()
) -> list[str]:
    """What to upload to / remove from the trusted CA list so these paths build.

    ``needed`` are fingerprints of node certificates Expressway-C must trust: a shadowing entry
    among them cannot simply be removed.
    """
    steps: list[str] = []
    upload: dict[str, x509.Certificate] = {}
    remove: dict[str, x509.Certificate] = {}
    for r in results.values():
        for c in r.missing_certs:
            upload.setdefault(facts(c).fingerprint, c)
        for c in r.shadowing:
            remove.setdefault(facts(c).fingerprint, c)
    failing = ", ".join(sorted(results))
    clash = [c for fp, c in remove.items() if fp in needed]
    if clash:
        names = _dn_list(tuple(clash))
        steps.append(
            f"{names} is also a node certificate Expressway-C needs, with the same name: have "
            "the certificates CA-signed (one CA entry serves both) or regenerate one with another "
            "name (or, on CUCM 14+ with a multi-server tomcat, reuse it for CallManager)"
        )
        steps.append(RESTART_EXPC)
        return steps
    if remove:
        steps.append(
            f"Remove the older entry {_dn_list(tuple(remove.values()))} (another key, same "
            f"subject) from the trusted CA list of {failing}"
        )
    if upload:
        certs = tuple(upload.values())
        kind = (
            "the self-signed certificate"
            if len(certs) == 1 and facts(certs[0]).subject == facts(ident.leaf).subject
            else "the CA certificates"
        )
        steps.append(
            f"Upload {kind} {_dn_list(certs)} to the trusted CA list of {failing} "
            "(Maintenance > Security > Trusted CA certificate)"
        )
    elif not remove:
        issuer = facts(ident.leaf).issuer
        steps.append(
            f"Upload the root and every intermediate above {issuer} to the trusted CA list of "
            f"{failing} (export them from the CA or from CUCM's tomcat-trust)"
        )
    steps.append(RESTART_EXPC)
    return steps


def _since(ctx: AuditContext, leg: UcLeg) -> str:
    """The first release on which this leg's check fails for this node.

    Traffic Server legs are checked on every node from X14.2 (or ``--strict-from``), but the
    address typed for the cluster is verified at discovery with TLS verify on since X8.8 tightened
    that validation; SIP and XMPP legs whenever TLS verify is on (X8.8 too).
    """
    if leg.transport is not Transport.ATS:
        return "X8.8"
    if leg.discovery and leg.cluster.tls_verify and is_discovered_node(leg.cluster, leg.node):
        return "X8.8"
    strict = ctx.strict_from
    return str(strict) if strict is not None and strict < X14_2 else "X14.2"


def _identity_fps(ctx: AuditContext) -> frozenset[str]:
    """Fingerprints of every node certificate the deployment holds."""
    return ctx.memo(
        "identity-fps",
        lambda: frozenset(
            facts(ident.leaf).fingerprint
            for _, node in ctx.deployment.nodes()
            for ident in node.certificates
        ),
    )


def _not_verified_reason(ctx: AuditContext, leg: UcLeg, gate: Gate) -> str:
    v = ctx.version
    if gate is Gate.DISABLED:
        return (
            "xConfiguration EdgeConfigServer VerifyOriginServer is Off, so Expressway-C does not "
            "verify it; this works but is not recommended"
        )
    if gate is Gate.DISPUTED:
        return (
            f"on {v} it depends on a source conflict: the tech note 225476 says Traffic Server "
            "verifies every request from X14.0.8, the X14.2 release note and CVE-2022-20814 say "
            "from X14.2 (use --strict-from X14.0.8 to treat it as verified)"
        )
    if leg.transport is not Transport.ATS:
        return (
            f"TLS verify is off for {leg.cluster.publisher} on Expressway-C, so it is not verified"
        )
    return (
        f"{v} verifies only the address typed for the cluster ({leg.cluster.publisher}) at "
        "discovery"
        + ("" if leg.cluster.tls_verify else ", and only with TLS verify on")
        + "; from X14.2 every node is verified on every request"
    )


@rule(
    "C2U-TRUST",
    fix=expressway_trust_fixes,
    title="UC node identity chains to Expressway-C's trusted CA list",
    since=X14_2,
    severity=Severity.CRITICAL,
    kb=("R-C2U-01", "R-C2U-07"),
    cite=("S2", "S3", "S27", "S1", "S36", "S24"),
)
def c2u_trust(ctx: AuditContext) -> Iterator[Finding]:
    for leg in ctx.legs():
        subject = _subject(ctx, leg)
        ident = leg.node.identity(leg.rsa_identity)
        if ident is None:
            yield make(
                "C2U-TRUST",
                Status.ERROR,
                subject,
                f"{leg.node.name} has no {leg.rsa_identity} certificate in the inventory, so "
                f"the {leg.label} leg could not be checked",
                remediation=[
                    f"export it (show cert own {leg.rsa_identity}) and add it under "
                    f"certificates.{leg.rsa_identity}"
                ],
            )
            continue
        yield _trust_finding(ctx, leg, ident, "C2U-TRUST", subject)


def _trust_finding(
    ctx: AuditContext, leg: UcLeg, ident: Identity, rule_id: str, subject: Subject
) -> Finding:
    failing, chain, gaps, anchors = _trust_of(ctx, ident)
    gate = ctx.gate(leg)
    evidence: dict[str, str | tuple[str, ...]] = {"chain": chain}
    if not failing:
        if gaps:
            return _intermediate_finding(ctx, leg, ident, rule_id, subject, gaps, evidence)
        message = (
            f"{short(leg.node.name)}'s {leg.rsa_identity} certificate chains to "
            f"{anchors} on every Expressway-C peer"
        )
        if gate is not Gate.VERIFIED:
            message += f" ({_not_verified_reason(ctx, leg, gate)})"
        evidence["gate"] = gate.value
        return make(rule_id, Status.PASS, subject, message, evidence=evidence)
    leaf = facts(ident.leaf)
    first = next(iter(failing.values()))
    problems = "; ".join(_trust_problems(first))
    status = GATE_STATUS[gate]
    message = (
        f"Expressway-C cannot build a path from {short(leg.node.name)}'s {leg.rsa_identity} "
        f"certificate (issuer {leaf.issuer}) to the trusted CA list of "
        f"{', '.join(sorted(failing))}: {problems}"
    )
    if gate is Gate.VERIFIED:
        message += f"; the {leg.label} connection fails"
    else:
        message += f". {_not_verified_reason(ctx, leg, gate)}"
    if first.missing_issuer:
        evidence["missing_issuer"] = first.missing_issuer
    if first.missing_certs:
        evidence["upload"] = chain_fps(first.missing_certs)
    if first.shadowing:
        evidence["remove"] = chain_fps(first.shadowing)
    evidence["peers"] = tuple(sorted(failing))
    evidence["gate"] = gate.value
    return make(
        rule_id,
        status,
        subject,
        message,
        remediation=[
            *trust_remediation(failing, ident, _identity_fps(ctx)),
            *((ATS_DEBUG,) if leg.transport is Transport.ATS and gate is Gate.VERIFIED else ()),
        ],
        evidence=evidence,
        since=_since(ctx, leg),
    )


_TrustOf = tuple[
    dict[str, PathResult], tuple[str, ...], dict[str, tuple[x509.Certificate, ...]], str
]


def _trust_of(ctx: AuditContext, ident: Identity) -> _TrustOf:
    """What the legs presenting ``ident`` share: the peers whose trusted CA list rejects it, its
    chain's fingerprints and, when none rejects it, the intermediates only its file supplies
    (per peer) and the anchors reached (once per chain: by identity, which the deployment keeps
    alive, then by the chain's fingerprints, which identities of one multi-server certificate
    share)."""
    made: dict[int, _TrustOf] = ctx.memo("trust-of-identity", dict)
    found = made.get(id(ident))
    if found is not None:
        return found
    fps = chain_fps(ident.chain)
    by_chain: dict[tuple[str, ...], _TrustOf] = ctx.memo("trust-of-chain", dict)
    found = by_chain.get(fps)
    if found is not None:
        made[id(ident)] = found
        return found
    results = {p.name: ctx.validate(ident.chain, p.trusted_cas.trust) for p in peers(ctx)}
    failing = {name: r for name, r in results.items() if _trust_problems(r)} or _NONE
    gaps: dict[str, tuple[x509.Certificate, ...]] = _NONE_MISSING
    anchors = ""
    if not failing:
        gaps = {
            p.name: gap
            for p in peers(ctx)
            if (gap := missing_intermediates(results[p.name], p.trusted_cas.trust))
        } or _NONE_MISSING
        anchors = ", ".join(sorted({facts(r.anchor).subject for r in results.values() if r.anchor}))
        texts: dict[str, str] = ctx.memo("trust-of-anchors", dict)  # a few anchors: shared
        anchors = texts.setdefault(anchors, anchors)
    found = made[id(ident)] = by_chain[fps] = (failing, fps, gaps, anchors)
    return found


_NONE: dict[str, PathResult] = {}
_NONE_MISSING: dict[str, tuple[x509.Certificate, ...]] = {}
"""Shared empty values of :func:`_trust_of` (never changed: its callers only read them)."""


def missing_intermediates(result: PathResult, store: TrustStore) -> tuple[x509.Certificate, ...]:
    """CA certificates of a built path that only the presented chain supplies, not the store."""
    if not result.trusted:
        return ()
    return tuple(
        c
        for c in result.chain[1:]
        if facts(c).is_ca and not store.contains(c) and c is not result.anchor
    )


def _intermediate_finding(
    ctx: AuditContext,
    leg: UcLeg,
    ident: Identity,
    rule_id: str,
    subject: Subject,
    gaps: dict[str, tuple[x509.Certificate, ...]],
    evidence: dict[str, str | tuple[str, ...]],
) -> Finding:
    """The path builds only with an intermediate from the node's own file: risk offline."""
    gate = ctx.gate(leg)
    certs = tuple(dict.fromkeys(c for gap in gaps.values() for c in gap))
    names = _dn_list(certs)
    failing = ", ".join(sorted(gaps))
    status = Status.RISK if gate in (Gate.VERIFIED, Gate.DISPUTED) else Status.INFO
    message = (
        f"{short(leg.node.name)}'s {leg.rsa_identity} certificate chains to Expressway-C's "
        f"trusted CA list only through {names} from its own certificate file: the trusted CA "
        f"list of {failing} lacks it. Cisco requires the root and every intermediate in that "
        "list, and CUCM often sends only its leaf; whether the node sends the intermediate is "
        f"not in any export (audit --probe shows the chain it sends), hence risk on {leg.label}"
    )
    if gate not in (Gate.VERIFIED, Gate.DISPUTED):
        message += f" ({_not_verified_reason(ctx, leg, gate)})"
    fps = chain_fps(certs)
    return make(
        rule_id,
        status,
        subject,
        message,
        remediation=[
            f"Upload {names} to the trusted CA list of {failing} (Maintenance > Security > "
            "Trusted CA certificate)",
            RESTART_EXPC,
        ],
        evidence={
            **evidence,
            "missing_intermediates": fps,
            "upload": fps,
            "peers": tuple(sorted(gaps)),
            "gate": gate.value,
        },
        since=_since(ctx, leg),
    )


_IN_SAN = NameMatch.SAN


@rule(
    "C2U-NAME",
    fix=rename_or_reissue,
    title="The name Expressway-C uses for the node is in the certificate's SAN",
    since=X14_2,
    severity=Severity.CRITICAL,
    kb=("R-C2U-02",),
    cite=("S2", "S1", "S17", "S4", "S36"),
)
def c2u_name(ctx: AuditContext) -> Iterator[Finding]:
    for leg in ctx.legs():
        ident = leg.node.identity(leg.rsa_identity)
        if ident is None:
            continue  # reported by C2U-TRUST
        subject = _subject(ctx, leg)
        leaf = facts(ident.leaf)
        expected = ctx.names_checked(leg)
        matches = [match_name(leaf, name) for name in expected]
        gate = ctx.gate(leg)
        evidence: dict[str, str | tuple[str, ...]] = {
            "expected": expected,
            "san": leaf.names,
            "gate": gate.value,
        }
        if leaf.common_name:
            evidence["cn"] = leaf.common_name
        if all(m is _IN_SAN for m in matches):  # most legs: every name in the SAN
            yield make(
                "C2U-NAME",
                Status.PASS,
                subject,
                f"{', '.join(expected)} in the SAN of {short(leg.node.name)}'s "
                f"{leg.rsa_identity} certificate",
                evidence=evidence,
            )
            continue
        results = list(zip(expected, matches, strict=True))
        san = ", ".join(leaf.names) or "none"
        missing = [n for n, m in results if m is NameMatch.NONE]
        by_cn = [n for n, m in results if m is NameMatch.CN_FALLBACK]
        if missing:
            status = GATE_STATUS[gate]
            message = (
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the SAN of "
                f"{short(leg.node.name)}'s {leg.rsa_identity} certificate (SAN: {san})"
            )
            message += (
                f"; the {leg.label} connection fails"
                if gate is Gate.VERIFIED
                else f". {_not_verified_reason(ctx, leg, gate)}"
            )
            remediation = [
                f"Reissue {leg.cluster.name}'s {leg.rsa_identity} certificate with "
                f"{', '.join(missing)} in the SAN"
                + (
                    " (a multi-server SAN certificate listing every node)"
                    if leg.cluster.product is not Product.CUC
                    else ""
                ),
            ]
            if leg.cluster.product is Product.CUC and leg.cluster.voicemail_host in missing:
                remediation.append(
                    f"or set the voicemail host of the UC service on CUCM to a name in the SAN "
                    f"({san})"
                )
            remediation.append(REFRESH)
            if leg.transport is Transport.ATS and gate is Gate.VERIFIED:
                remediation.append(ATS_DEBUG)
            yield make(
                "C2U-NAME",
                status,
                subject,
                message,
                remediation=remediation,
                evidence=evidence,
                since=_since(ctx, leg),
            )
        else:  # none missing, some only in the CN
            yield make(
                "C2U-NAME",
                Status.WARN,
                subject,
                f"{', '.join(by_cn)} matches only the CN of {short(leg.node.name)}'s "
                f"{leg.rsa_identity} certificate, not its SAN (SAN: {san}); Expressway accepts the "
                "CN as a fallback for UC nodes, but the SAN is what it should find",
                remediation=[
                    f"Reissue the {leg.rsa_identity} certificate with {', '.join(by_cn)} in the SAN"
                ],
                evidence=evidence,
            )


@rule(
    "C2U-FQDN",
    fix=_rename_then_reissue,
    title="UC nodes are defined by FQDN, not short host names or IP addresses",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-C2U-03",),
    cite=("S1", "S4", "S17"),
)
def c2u_fqdn(ctx: AuditContext) -> Iterator[Finding]:
    node_legs: dict[tuple[str, str], list[UcLeg]] = {}
    for leg in ctx.legs():
        node_legs.setdefault((leg.cluster.name, leg.node.name), []).append(leg)
    for (cluster_name, node_name), its_legs in node_legs.items():
        cluster = its_legs[0].cluster
        names = [node_name]
        if cluster.publisher.lower() == node_name.lower() or (
            its_legs[0].node.role.value == "publisher" and cluster.publisher != node_name
        ):
            names.append(cluster.publisher)
        bad = sorted({n for n in names if not is_fqdn(n)})
        subject = Subject(
            cluster=cluster_name, node=node_name, endpoint_id=node_id(cluster, node_name)
        )
        if not bad:
            yield make("C2U-FQDN", Status.PASS, subject, f"{node_name} is an FQDN")
            continue
        gates = [ctx.gate(leg) for leg in its_legs]
        worst = min((GATE_STATUS[g] for g in gates), key=lambda s: s.rank)
        status = worst if worst is not Status.INFO else Status.WARN
        # dotted, yet no name DNS can carry: say what is wrong with it
        malformed = [n for n in bad if not is_ip(n) and "." in n.strip(".")]
        why = (
            f" ({', '.join(malformed)}: a label is empty or longer than 63 characters, or the "
            "name is longer than 253)"
            if malformed
            else ""
        )
        yield make(
            "C2U-FQDN",
            status,
            subject,
            f"{', '.join(bad)} is not an FQDN{why}: Expressway-C expects this exact name in the "
            "node's certificate, public and most enterprise CAs will not sign short names or IP "
            "addresses, and it must resolve from Expressway-C"
            + ("" if status is Status.FAIL else f" (not verified yet on {ctx.version})"),
            remediation=[
                "Rename the node to its FQDN in CUCM System > Server (and the address on "
                "Expressway-C), reissue the certificates with the FQDNs in the SAN",
                REFRESH,
            ],
            evidence={"names": tuple(bad)},
        )


def _legs_of(ctx: AuditContext) -> dict[int, list[UcLeg]]:
    """The node's legs by node (identity: the deployment keeps its nodes alive), table order."""

    def index() -> dict[int, list[UcLeg]]:
        out: dict[int, list[UcLeg]] = {}
        for leg in ctx.legs():
            out.setdefault(id(leg.node), []).append(leg)
        return out

    return ctx.memo("legs-by-node", index)


def _needed(ctx: AuditContext, leg: UcLeg) -> bool:
    return ctx.gate(leg) in (Gate.VERIFIED, Gate.DISPUTED)


def reuse_blocker(cluster: UcCluster, node: Node, source: str) -> str | None:
    """Why CUCM's certificate reuse of ``source`` is not possible on this node, or None.

    CUCM 14+ offers "Use Tomcat Certificate For Other Services" only for a multi-server (SAN)
    tomcat or tomcat-ECDSA certificate (KB §4.1, S1/S5/S6)."""
    if cluster.product is not Product.CUCM:
        return "certificate reuse is a Unified CM feature"
    ident = node.identity(source)
    if ident is None or not facts(ident.leaf).multi_server:
        return f"it needs a multi-server {source} certificate, which {short(node.name)}'s is not"
    if CUCM_TOMCAT_REUSE.reached(cluster.major_version) is False:
        return f"it needs {CUCM_TOMCAT_REUSE.needs}"
    return None


@rule(
    "C2U-SAME-CN",
    fix=_same_cn_fixes,
    title="Two self-signed certificates with the same CN that Expressway-C must both trust",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-C2U-04",),
    cite=("S1", "S3", "S16", "S17"),
)
def c2u_same_cn(ctx: AuditContext) -> Iterator[Finding]:
    pairs = {Product.CUCM: ("tomcat", "CallManager"), Product.IMP: ("tomcat", "cup-xmpp")}
    # each pair with its label, one string shared by the subjects that name it
    labelled = {product: (pair, f"{pair[0]}+{pair[1]}") for product, pair in pairs.items()}
    for cluster, node in ctx.deployment.nodes():
        found = labelled.get(cluster.product)
        if found is None:
            continue
        pair, label = found
        a, b = (node.identity(n) for n in pair)
        if a is None or b is None:
            continue
        subject = Subject(
            cluster=cluster.name,
            node=node.name,
            certificate=label,
            endpoint_id=node_id(cluster, node.name),
        )
        fa, fb = facts(a.leaf), facts(b.leaf)
        if fa.fingerprint == fb.fingerprint:
            yield make(
                "C2U-SAME-CN",
                Status.PASS,
                subject,
                f"{pair[1]} reuses the {pair[0]} certificate (serial {fa.serial:x}): one "
                "certificate to trust, no same-CN conflict",
            )
            continue
        if not (fa.self_signed and fb.self_signed and fa.common_name == fb.common_name):
            yield make(
                "C2U-SAME-CN",
                Status.PASS,
                subject,
                f"{pair[0]} and {pair[1]} of {short(node.name)} are not two self-signed "
                "certificates with one CN",
            )
            continue
        node_legs = _legs_of(ctx).get(id(node), [])
        leg_of = {
            name: next((leg for leg in node_legs if leg.rsa_identity == name), None)
            for name in pair
        }
        needed = {n: leg is not None and _needed(ctx, leg) for n, leg in leg_of.items()}
        store_hits = {
            p.name: [
                n
                for n, cert in zip(pair, (a, b), strict=True)
                if p.trusted_cas.trust.contains(cert.leaf)
            ]
            for p in peers(ctx)
        }
        both_in = [peer for peer, hits in store_hits.items() if len(hits) == 2]
        evidence: dict[str, EvidenceValue] = {
            "cn": fa.common_name or "",
            "certificates": (fa.fingerprint, fb.fingerprint),
        }
        blocker = reuse_blocker(cluster, node, pair[0])
        no_reuse = (
            f" (reusing {pair[0]} for {pair[1]} is not an option: {blocker})"
            if blocker and cluster.product is Product.CUCM
            else ""
        )
        remediation = [
            f"Have {pair[0]} and {pair[1]} CA-signed and trust the CA on Expressway-C{no_reuse}",
            (
                f"or reuse the multi-server tomcat certificate for {pair[1]} (CUCM 14+), then "
                f"confirm with show cert own tomcat and show cert own {pair[1]} (same serial)"
                if blocker is None
                else "or regenerate one of them so that the CNs differ"
            ),
            RESTART_EXPC,
        ]
        bug = "CSCwa12894" if cluster.product is Product.CUCM else "CSCve56019"
        if both_in or all(needed.values()):
            # Expressway's lookup stops at the first subject match: the later one never works
            loser = pair[1]
            if both_in:
                peer = next(iter(p for p in peers(ctx) if p.name in both_in))
                order = [c for c in peer.trusted_cas.trust.certs if c in (a.leaf, b.leaf)]
                loser = (
                    pair[0] if order and facts(order[0]).fingerprint == fb.fingerprint else pair[1]
                )
            broken = leg_of.get(loser)
            where = broken.label if broken is not None else f"the {loser} leg"
            yield make(
                "C2U-SAME-CN",
                Status.FAIL,
                subject,
                f"{short(node.name)}'s self-signed {pair[0]} and {pair[1]} certificates share the "
                f"CN {fa.common_name}; Expressway-C can trust only one of them (its lookup stops "
                f"at the first subject match), so {where} breaks ({loser} is never found; "
                f"{bug})",
                remediation=remediation,
                evidence={**evidence, "breaks": where},
            )
        else:
            yield make(
                "C2U-SAME-CN",
                Status.INFO,
                subject,
                f"{short(node.name)}'s self-signed {pair[0]} and {pair[1]} share the CN "
                f"{fa.common_name}; harmless while Expressway-C does not need to trust both, a "
                "failure once it does (mixed mode, X14.2)",
                evidence=evidence,
            )


def _must_verify(ctx: AuditContext) -> list[tuple[UcLeg, Identity]]:
    out: list[tuple[UcLeg, Identity]] = []
    for leg in ctx.legs():
        for name in (leg.rsa_identity, leg.ecdsa_identity):
            ident = leg.node.identity(name) if name else None
            if ident is not None:
                out.append((leg, ident))
    return out


@rule(
    "C2U-DUP-SUBJECT",
    fix=_dup_subject_fixes,
    title="Two trusted CA entries with the same subject on an Expressway-C peer",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-C2U-05",),
    cite=("S3", "S17", "S30"),
)
def c2u_dup_subject(ctx: AuditContext) -> Iterator[Finding]:
    targets = _must_verify(ctx)
    for peer in peers(ctx):
        store = peer.trusted_cas.trust
        groups = store.duplicate_subjects()
        if not groups:
            yield make(
                "C2U-DUP-SUBJECT",
                Status.PASS,
                Subject(
                    cluster=EXPC,
                    node=peer.name,
                    certificate="trusted_cas",
                    endpoint_id=peer_id(peer.name),
                ),
                f"every entry of {peer.name}'s trusted CA list has its own subject",
            )
            continue
        for group in groups:
            dn = facts(group[0]).subject
            first = group[0]
            hurt: list[str] = []
            for leg, ident in targets:
                chain = ident.chain
                for cert in chain:
                    issuer_here = cert.issuer == first.subject
                    if not issuer_here:
                        continue
                    if not issued_by(cert, first) and any(issued_by(cert, g) for g in group[1:]):
                        hurt.append(f"{short(leg.node.name)} {ident.name}")
                        break
            # chains through intermediates that the store provides
            for g in group[1:]:
                for other in store.certs:
                    if (
                        other.issuer == g.subject
                        and other is not g
                        and other is not first
                        and issued_by(other, g)
                        and not issued_by(other, first)
                    ):
                        hurt.append(facts(other).subject)
            subject = Subject(
                cluster=EXPC, node=peer.name, certificate=dn, endpoint_id=peer_id(peer.name)
            )
            evidence: dict[str, EvidenceValue] = {
                "entries": chain_fps(group),
                "first": facts(first).fingerprint,
            }
            if hurt:
                first_is_identity = facts(first).fingerprint in {
                    facts(ident.leaf).fingerprint for _, ident in targets
                }
                remedy = (
                    [
                        f"Both {dn} entries are node certificates Expressway-C needs: have them "
                        "CA-signed (one CA entry then serves both) or regenerate one so that the "
                        "names differ (or, on CUCM 14+ with a multi-server tomcat, reuse it for "
                        "CallManager)",
                    ]
                    if first_is_identity
                    else [
                        f"Remove the older {dn} entry ({facts(first).fingerprint[:19]}…) from the "
                        f"trusted CA list of {peer.name}",
                    ]
                )
                yield make(
                    "C2U-DUP-SUBJECT",
                    Status.FAIL,
                    subject,
                    f"{peer.name}'s trusted CA list holds {dn} {len(group)} times; Expressway "
                    f"stops at the first entry ({facts(first).fingerprint[:19]}…), which is not "
                    f"the one that signs {', '.join(sorted(set(hurt)))}",
                    remediation=[*remedy, RESTART_EXPC],
                    evidence={**evidence, "affects": tuple(sorted(set(hurt)))},
                )
            else:
                yield make(
                    "C2U-DUP-SUBJECT",
                    Status.WARN,
                    subject,
                    f"{peer.name}'s trusted CA list holds {dn} {len(group)} times; the first entry "
                    "is the right one today, but Cisco asks for unique entries",
                    remediation=[f"Remove the unused {dn} entries from {peer.name}"],
                    evidence=evidence,
                )


def _tls13(ctx: AuditContext, leg: UcLeg) -> tuple[bool, bool, str]:
    """May ``leg`` negotiate TLS 1.3, would that pick the ECDSA identity, and why (offline).

    Returns (possible, ecdsa_first, why).
    """
    exp = ctx.deployment.expressway
    if leg.transport is Transport.SIP:
        if not (ctx.behaviour.sip_tls13 and "TLSv1.3" in exp.sip_tls_versions):
            return (
                False,
                False,
                "SIP TLS is TLSv1.2 only (xConfiguration SIP Advanced SipTlsVersions)",
            )
        pref_rsa = exp.sip_signature_pref_rsa
        if pref_rsa is None:
            pref_rsa = ctx.behaviour.tls13_rsa_signature_default
        if pref_rsa:
            return (
                True,
                False,
                "SIP TLS 1.3 is on, with RSA signature algorithms first (TlsSignatureAlgoPrefRsa)",
            )
        return True, True, "SIP TLS 1.3 is on, with ECDSA signature algorithms first"
    if leg.transport is Transport.ATS:
        return (
            True,
            True,
            "Traffic Server offers TLS 1.3 (the tech note's capture shows it towards CUCM)",
        )
    return (
        True,
        True,
        "the TLS versions XCP offers are not documented, so TLS 1.3 is taken as possible",
    )


def _ecdsa_remediation(
    ctx: AuditContext, leg: UcLeg, ecdsa_name: str, lean: bool | None
) -> list[str]:
    """Fixes that hold under TLS 1.2 and 1.3 first, then the TLS 1.2-only cipher change."""
    reuse = (
        " (or reuse the multi-server tomcat-ECDSA as CallManager-ECDSA, CUCM 14+)"
        if ecdsa_name == "CallManager-ECDSA"
        and reuse_blocker(leg.cluster, leg.node, "tomcat-ECDSA") is None
        else ""
    )
    steps = [
        f"Trust {ecdsa_name} (holds under TLS 1.2 and 1.3): have it CA-signed, as Cisco "
        "recommends, and upload the root and every intermediate to the trusted CA list of every "
        "Expressway-C peer (Maintenance > Security > Trusted CA certificate), or upload the "
        f"self-signed {ecdsa_name} itself{reuse}; then {RESTART_EXPC}",
    ]
    if not _ecdsa_always(leg):
        steps.append(
            f"or set the HTTPS Ciphers enterprise parameter of {leg.cluster.name} to RSA Ciphers "
            "only (System > Enterprise Parameters > Security Parameters), so that the node has "
            "no ECDSA identity to present on this port (holds under TLS 1.2 and 1.3)"
        )
    if _ecdsa_always(leg) and leg.cluster.tls_ciphers is TlsCiphers.EC_PREFERRED:
        steps.append(
            f"or set the TLS Ciphers enterprise parameter of {leg.cluster.name} to an RSA "
            "Preferred choice (System > Enterprise Parameters > Security Parameters; TLS 1.2 "
            "only, the default is All Ciphers RSA Preferred)"
        )
    if leg.transport is Transport.SIP and ctx.behaviour.tls13_rsa_signature_default:
        steps.append(
            "or, for SIP TLS 1.3: xConfiguration SIP Advanced TlsSignatureAlgoPrefRsa: On "
            "(applies to SIP only)"
        )
    where = cipher_where(leg.cipher_setting)
    if lean is False:
        steps.append(
            f"{where[0].upper()}{where[1:]} already puts RSA first: that decides TLS 1.2 only, "
            "never the certificate of a TLS 1.3 handshake"
        )
    else:
        steps.append(
            f"TLS 1.2 only: put RSA first in {where}: prefix it with "
            "ECDHE-RSA-AES256-GCM-SHA384: or append :+ECDSA (tech note 225476); under TLS 1.3 "
            "this changes nothing"
        )
    if leg.transport is Transport.ATS:
        steps.append(ATS_DEBUG)
    return steps


def _ecdsa_always(leg: UcLeg) -> bool:
    """CUCM's SIP TLS always allows ECDSA (not governed by HTTPS Ciphers)."""
    return leg.transport is Transport.SIP and leg.rsa_identity == "CallManager"


FRESH_ASSUMED = (
    "assuming a fresh install (upgraded_from not set); most Expressways were upgraded: set "
    "upgraded_from in the inventory"
)


_Offer = tuple[bool | None, bool, str, bool, bool, str, dict[str, EvidenceValue]]


def _ecdsa_offer(ctx: AuditContext, leg: UcLeg) -> _Offer:
    """What Expressway-C offers on legs with ``leg``'s cipher setting and transport: whether
    TLS 1.2 leans to ECDSA, whether the default order is assumed for a fresh install, where that
    order comes from, whether TLS 1.3 is possible and selects ECDSA and why, and the evidence
    saying so."""
    ciphers = ctx.ciphers(leg.cipher_setting)
    lean = ciphers.prefers_ecdsa
    path = ctx.upgrade_path
    assumed = not ciphers.configured and path.assumes_fresh_install
    label = CIPHER_LABELS.get(leg.cipher_setting, leg.cipher_setting)
    where = f"the {label} cipher string " + (
        "(configured)" if ciphers.configured else f"(default for {path.words()})"
    )
    tls13, tls13_ecdsa, tls13_why = _tls13(ctx, leg)
    evidence: dict[str, EvidenceValue] = {
        "cipher_string": ciphers.string,
        "cipher_path": ciphers.path.value,
        "openssl": ciphers.expansion.openssl,
        "tls12_order": {True: "ecdsa-first", False: "rsa-first", None: "unknown"}[lean],
        "tls13_possible": tls13,
        "tls13_selects_ecdsa": tls13_ecdsa,
    }
    return lean, assumed, where, tls13, tls13_ecdsa, tls13_why, evidence


@rule(
    "C2U-ECDSA",
    fix=_ecdsa_fixes,
    title="If ECDSA may be negotiated (TLS 1.2 cipher order or TLS 1.3), the node's ECDSA "
    "identity is trusted",
    since=X14_2,
    severity=Severity.HIGH,
    kb=("R-C2U-06",),
    cite=("S1", "S27", "S10", "S32"),
)
def c2u_ecdsa(ctx: AuditContext) -> Iterator[Finding]:
    if not ctx.behaviour.ecdsa_preference_release:
        return
    offers: dict[tuple[str, Transport], _Offer] = {}  # the same for every leg of a kind
    # what an RSA-only cluster's legs say, by what it says it of: one string for its nodes
    rsa_only: dict[tuple[str, int, str], str] = {}
    for leg in ctx.legs():
        if leg.ecdsa_identity is None:
            continue
        subject = _subject(ctx, leg, leg.ecdsa_identity)
        if leg.ecdsa is EcdsaOffer.NEVER:
            said = (leg.cluster.name, leg.port, leg.ecdsa_identity)
            text = rsa_only.get(said)
            if text is None:
                text = rsa_only[said] = (
                    f"{said[0]} offers RSA only on {said[1]} (HTTPS Ciphers: RSA Ciphers "
                    f"only), so {said[2]} is never presented, under TLS 1.2 or 1.3"
                )
            yield make(
                "C2U-ECDSA",
                Status.PASS,
                subject,
                text,
                evidence={"tls13_possible": False, "identity": leg.ecdsa_identity},
            )
            continue
        offer = offers.get((leg.cipher_setting, leg.transport))
        if offer is None:
            offer = offers[(leg.cipher_setting, leg.transport)] = _ecdsa_offer(ctx, leg)
        lean, assumed, where, tls13, tls13_ecdsa, tls13_why, offered = offer
        evidence: dict[str, EvidenceValue] = {
            **offered,
            "identity": leg.ecdsa_identity,
            "key_type": "ecdsa",
        }
        if assumed:
            evidence["assumed_fresh_install"] = True
        # SIP TLS 5061: CUCM's own "TLS Ciphers" preference takes part in the TLS 1.2 choice
        cucm_ec = _ecdsa_always(leg) and leg.cluster.tls_ciphers is TlsCiphers.EC_PREFERRED
        if _ecdsa_always(leg):
            evidence["cucm_tls_ciphers"] = leg.cluster.tls_ciphers.value
        if lean is False and not tls13_ecdsa and not cucm_ec:
            yield make(
                "C2U-ECDSA",
                Status.PASS,
                subject,
                f"Expressway-C offers RSA before ECDSA on {leg.label} under TLS 1.2 ({where}) and "
                f"{tls13_why}, so {short(leg.node.name)} presents {leg.rsa_identity}"
                + (f" ({FRESH_ASSUMED})" if assumed else ""),
                evidence=evidence,
            )
            continue
        ident = leg.node.identity(leg.ecdsa_identity)
        gate = ctx.gate(leg)
        if ident is not None:
            results = {
                p.name: ctx.validate(ident.chain, p.trusted_cas.trust, name=leg.node.name)
                for p in peers(ctx)
            }
            bad = {n: r for n, r in results.items() if r.fatal_problems()}
            if not bad:
                yield make(
                    "C2U-ECDSA",
                    Status.PASS,
                    subject,
                    f"{short(leg.node.name)}'s {leg.ecdsa_identity} is trusted, so an ECDSA "
                    f"handshake on {leg.label} verifies too (TLS 1.2 or 1.3)",
                    evidence=evidence,
                )
                continue
            first = next(iter(bad.values()))
            why = "; ".join(p.message for p in first.fatal_problems())
            what = "self-signed " if facts(ident.leaf).self_signed else ""
            evidence["chain"] = chain_fps(ident.chain)
            evidence["peers"] = tuple(sorted(bad))
            if first.missing_certs:
                evidence["upload"] = chain_fps(first.missing_certs)
        else:
            why = f"{leg.ecdsa_identity} is not in the inventory, so it cannot be checked"
            what = ""
        if lean is True:
            reasons = f"under TLS 1.2 Expressway-C prefers ECDSA on {leg.label} ({where})"
        elif lean is None:
            reasons = (
                f"under TLS 1.2 Expressway-C may prefer ECDSA on {leg.label}: {where} depends on "
                "the release before X14.2, which the inventory does not record"
            )
        else:
            reasons = f"Expressway-C offers RSA first on {leg.label} under TLS 1.2 ({where})"
        if cucm_ec:
            reasons += (
                f"; {leg.cluster.name}'s TLS Ciphers enterprise parameter prefers EC (an \"EC "
                'Preferred" choice), '
                + (
                    "so both sides prefer ECDSA under TLS 1.2"
                    if lean is True
                    else "and which side's TLS 1.2 order wins is not documented"
                )
            )
        if tls13_ecdsa:
            reasons += (
                ("; but " if lean is False else "; and ")
                + "under TLS 1.3 the certificate type follows the signature algorithms, not the "
                f"cipher string, and Expressway-C lists ECDSA first: {tls13_why}"
            )
        # both sides prefer ECDSA under TLS 1.2, and TLS 1.3 is off or picks ECDSA as well
        certain = cucm_ec and lean is True and (not tls13 or tls13_ecdsa)
        verified = gate in (Gate.VERIFIED, Gate.DISPUTED)
        status = (Status.FAIL if certain else Status.RISK) if verified else Status.INFO
        message = (
            f"{reasons}. {leg.cluster.name} allows ECDSA there, so {short(leg.node.name)} "
            + ("presents" if certain else "may present")
            + f" its {what}{leg.ecdsa_identity} certificate, which does not verify: {why}. "
            + (
                "Fail: whichever side's order decides, the handshake selects ECDSA"
                if certain
                else "Risk, not fail: the negotiated TLS version is not in any export (audit "
                "--probe shows it)"
                + (
                    ", and whether CUCM follows Expressway-C's TLS 1.2 order is not documented"
                    if lean is not False
                    else ""
                )
            )
        )
        if assumed:
            message += f"; {FRESH_ASSUMED}"
        if gate not in (Gate.VERIFIED, Gate.DISPUTED):
            message += f" ({_not_verified_reason(ctx, leg, gate)})"
        yield make(
            "C2U-ECDSA",
            status,
            subject,
            message,
            remediation=_ecdsa_remediation(ctx, leg, leg.ecdsa_identity, lean),
            evidence=evidence,
        )


@rule(
    "C2U-LATENT",
    fix=_latent_fixes,
    title="Before X14.2: a node whose certificate will fail once every node is verified",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-C2U-08",),
    cite=("S1", "S2", "S27"),
)
def c2u_latent(ctx: AuditContext) -> Iterator[Finding]:
    if ctx.every_request:
        return
    for leg in ctx.legs():
        if not leg.discovery:
            continue
        ident = leg.node.identity(leg.rsa_identity)
        if ident is None:
            continue
        subject = _subject(ctx, leg)
        problems: list[str] = []
        upload: tuple[str, ...] = ()
        for peer in peers(ctx):
            r = ctx.validate(ident.chain, peer.trusted_cas.trust)
            problems.extend(_trust_problems(r))
            if r.missing_certs:
                upload = chain_fps(r.missing_certs)
        leaf = facts(ident.leaf)
        missing_names = [n for n in leg.expected_names() if match_name(leaf, n) is NameMatch.NONE]
        if missing_names:
            problems.append(
                f"{', '.join(missing_names)} not in the SAN "
                f"(SAN: {', '.join(leaf.names) or 'none'})"
            )
        if not problems:
            yield make(
                "C2U-LATENT",
                Status.PASS,
                subject,
                f"{short(leg.node.name)}'s {leg.rsa_identity} certificate will verify when X14.2+ "
                "checks every node on every request",
            )
            continue
        gate = ctx.gate(leg)
        already = " (already verified today)" if gate is Gate.VERIFIED else ""
        yield make(
            "C2U-LATENT",
            Status.RISK,
            subject,
            f"upgrade trap: {ctx.version} does not verify {short(leg.node.name)} on every request, "
            f"X14.2 and later do, and its {leg.rsa_identity} certificate will fail then{already}: "
            + "; ".join(dict.fromkeys(problems)),
            remediation=[
                "Fix before upgrading to X14.2 or later: trust the node's CA chain on every "
                "Expressway-C peer and make sure every node name is in its certificate's SAN",
                REFRESH,
            ],
            evidence={
                **({"upload": upload} if upload else {}),
                **({"missing_names": tuple(missing_names)} if missing_names else {}),
            },
            since=str(X14_2),
        )


@rule(
    "C2U-TLS13-SIGALG",
    fix=_sigalg_fixes,
    title="With SIP TLS 1.3, the certificate type the signature-algorithm preference selects is "
    "trusted",
    since=X15_2,
    severity=Severity.HIGH,
    kb=("KB §6",),
    cite=("S14", "S1"),
)
def c2u_tls13(ctx: AuditContext) -> Iterator[Finding]:
    exp = ctx.deployment.expressway
    if not ctx.behaviour.sip_tls13 or "TLSv1.3" not in exp.sip_tls_versions:
        return
    pref_rsa = exp.sip_signature_pref_rsa
    if pref_rsa is None:
        pref_rsa = ctx.behaviour.tls13_rsa_signature_default
    for leg in ctx.legs():
        if leg.transport is not Transport.SIP or leg.ecdsa_identity is None:
            continue
        chosen = leg.rsa_identity if pref_rsa else leg.ecdsa_identity
        subject = _subject(ctx, leg, chosen)
        ident = leg.node.identity(chosen)
        how = (
            "TlsSignatureAlgoPrefRsa On"
            if exp.sip_signature_pref_rsa
            else (
                "the X15.2+ default (RSA first)" if pref_rsa else "ECDSA signature algorithms first"
            )
        )
        if ident is None:
            yield make(
                "C2U-TLS13-SIGALG",
                Status.RISK,
                subject,
                f"with SIP TLS 1.3 and {how}, {short(leg.node.name)} presents {chosen}, which is "
                "not in the inventory",
                remediation=[f"export {chosen} and add it to the inventory"],
            )
            continue
        results = {
            p.name: ctx.validate(ident.chain, p.trusted_cas.trust, name=leg.node.name)
            for p in peers(ctx)
        }
        bad = [name for name, r in results.items() if r.fatal_problems()]
        gate = ctx.gate(leg)
        if not bad:
            yield make(
                "C2U-TLS13-SIGALG",
                Status.PASS,
                subject,
                f"with SIP TLS 1.3 and {how}, {short(leg.node.name)} presents {chosen}, which "
                "verifies",
            )
        else:
            why = "; ".join(p.message for p in results[bad[0]].fatal_problems())
            status = GATE_STATUS[gate]
            if status is Status.FAIL and pref_rsa is False:
                status = Status.RISK  # which type CUCM picks then is not documented
            yield make(
                "C2U-TLS13-SIGALG",
                status,
                subject,
                f"with SIP TLS 1.3 and {how}, {short(leg.node.name)} presents {chosen}, which "
                f"{', '.join(bad)} cannot verify: {why}"
                + ("" if gate is Gate.VERIFIED else f" ({_not_verified_reason(ctx, leg, gate)})"),
                remediation=[
                    "xConfiguration SIP Advanced TlsSignatureAlgoPrefRsa: On",
                    f"or trust {chosen} (or its CA) on every Expressway-C peer",
                ],
            )
