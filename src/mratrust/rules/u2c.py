"""The UC nodes must trust Expressway-C (Expressway-C presents its certificate): rules U2C-*."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mratrust.model import (
    EvidenceValue,
    Finding,
    Peer,
    Product,
    Severity,
    Status,
    Store,
    Subject,
    UcCluster,
)
from mratrust.pki.facts import NameMatch, facts, is_fqdn, match_name
from mratrust.pki.verify import TRUST_REASONS, PathResult
from mratrust.rules.base import (
    ATS_DEBUG,
    AuditContext,
    chain_fps,
    expressway_trust_fixes,
    make,
    peers,
    reissue_expressway,
    reissue_uc,
    rejection_signature,
    rule,
    short,
    uc_trust_fixes,
)
from mratrust.topology import (
    EndpointKind,
    LegRow,
    Purpose,
    Transport,
    expressway_c,
    node_id,
    peer_id,
    row_for,
)
from mratrust.versions import X8_8, X12_5, X12_6, X14_0_2

if TYPE_CHECKING:  # the fixes load with the first finding that has one
    from mratrust.fixes import Fix


def _oauth_fixes(f: Finding) -> tuple[Fix, ...]:
    """tomcat on SIP OAuth: Expressway-C trusts it; else the UC store trusts Expressway-C."""
    if f.subject.certificate == "tomcat":
        return expressway_trust_fixes(f)
    return uc_trust_fixes(f)


_EXPC, _CUCM, _IMP = EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, EndpointKind.IMP
_TFTP = row_for(_EXPC, _CUCM, Purpose.TFTP)
_SIP = row_for(_EXPC, _CUCM, Purpose.SIP)
_OAUTH = row_for(_EXPC, _CUCM, Purpose.SIP_OAUTH)
_CALLBACK = row_for(_CUCM, _EXPC, Purpose.SIP)
_XMPP = row_for(_EXPC, _IMP, Purpose.XMPP)


def _first_peer(ctx: AuditContext) -> str:
    """The Expressway-C endpoint a finding judged for every peer names (peers share settings)."""
    return expressway_c(ctx.deployment)[0].id


def _leg_id(row: LegRow, expc: str, uc: str) -> str:
    """The graph reference of ``row`` between an Expressway-C peer and a UC node."""
    return row.leg_id(expc, uc) if row.client is _EXPC else row.leg_id(uc, expc)


def _check_store(
    ctx: AuditContext, cluster: UcCluster, store: Store, peer: Peer, *, accept_leaf: bool
) -> tuple[bool, PathResult, str]:
    """Does ``store`` trust ``peer``'s certificate? Returns (ok, result, how)."""
    chain = peer.certificate.chain
    result = ctx.validate(chain, store.trust, purpose=None)
    trust_bad = [p for p in result.fatal_problems() if p.reason in TRUST_REASONS]
    if not trust_bad:
        return True, result, f"chains to {facts(result.anchor).subject}" if result.anchor else "ok"
    if accept_leaf and store.trust.contains(chain[0]):
        return True, result, "holds the Expressway-C certificate itself (mixed mode)"
    return False, result, "; ".join(p.message for p in trust_bad)


def _store_finding(
    ctx: AuditContext,
    rule_id: str,
    cluster: UcCluster,
    store_name: str,
    peer: Peer,
    *,
    leg: LegRow,
    required: bool,
    why_required: str,
    accept_leaf: bool = False,
    since: str | None = None,
) -> Finding:
    # a cluster-wide store, uploaded on the publisher: the finding names that peer's leg to it
    subject = Subject(
        cluster=cluster.name,
        node=peer.name,
        leg=leg.label,
        certificate=store_name,
        leg_id=_leg_id(leg, peer_id(peer.name), node_id(cluster, cluster.publisher)),
        endpoint_id=node_id(cluster, cluster.publisher),
    )
    store = cluster.store(store_name)
    if store is None:
        return make(
            rule_id,
            Status.ERROR if required else Status.INFO,
            subject,
            f"{cluster.name}'s {store_name} is not in the inventory, so it could not be checked",
            remediation=[
                f"export {store_name} (show cert list trust) and add it under trust.{store_name}"
            ],
        )
    ok, result, how = _check_store(ctx, cluster, store, peer, accept_leaf=accept_leaf)
    evidence: dict[str, EvidenceValue] = {
        "store": store_name,
        "chain": chain_fps(peer.certificate.chain),
    }
    if ok:
        return make(
            rule_id,
            Status.PASS,
            subject,
            f"{cluster.name}'s {store_name} trusts {peer.name}'s certificate ({how})",
            evidence=evidence,
        )
    if result.missing_issuer:
        evidence["missing_issuer"] = result.missing_issuer
    # Cisco asks for the root and every intermediate in the store, not only what completes the
    # path (Expressway-C may not send its intermediates on every interface)
    needed = tuple(
        c
        for c in dict.fromkeys((*peer.certificate.chain[1:], *result.missing_certs))
        if facts(c).is_ca and not store.trust.contains(c)
    )
    if needed:
        evidence["upload"] = chain_fps(needed)
    if not required:
        return make(
            rule_id,
            Status.PASS,
            subject,
            f"{cluster.name}'s {store_name} does not trust {peer.name}'s certificate ({how}); not "
            f"needed on {ctx.version}: {why_required}",
            evidence={**evidence, "latent": True},
        )
    missing = (
        " and ".join(facts(c).subject for c in needed) if needed else f"the CA chain of {peer.name}"
    )
    port, transport = leg.port, leg.transport
    signature = rejection_signature(leg, cluster.publisher)
    from mratrust.products import trust_restart_text  # the restart tables: for a failure only

    remediation = [
        f"Upload {missing} to {store_name} on {cluster.publisher} (Cisco Unified OS "
        "Administration > Security > Certificate Management > Upload Certificate/Certificate "
        f"chain, purpose {store_name}); it replicates to every node",
        f"then {trust_restart_text(cluster.product, store_name)} on every node",
    ]
    if transport is Transport.ATS:
        remediation.append(ATS_DEBUG)
    return make(
        rule_id,
        Status.FAIL,
        subject,
        f"{cluster.name}'s {store_name} does not trust {peer.name}'s certificate: {how}. "
        f"{cluster.product.label} rejects Expressway-C's certificate on {port} with alert "
        f"unknown_ca ({signature}); {why_required}",
        remediation=remediation,
        evidence=evidence,
        since=since,
    )


SINCE_ALWAYS = "X8.8"
"""The earliest release the timeline models: what "all versions" means in ``since``."""


@rule(
    "U2C-TRUST",
    fix=uc_trust_fixes,
    title="Expressway-C's chain is in CUCM tomcat-trust and CallManager-trust",
    since=X14_0_2,
    severity=Severity.CRITICAL,
    kb=("R-U2C-01",),
    cite=("S1", "S2", "S3", "S13", "S18", "S27"),
)
def u2c_trust(ctx: AuditContext) -> Iterator[Finding]:
    presents = ctx.behaviour.presents_client_certificate
    for cluster in ctx.deployment.uc_clusters:
        if cluster.product is not Product.CUCM:
            continue
        for peer in peers(ctx):
            for store_name in _TFTP.server_stores:
                why = (
                    "from X14.0.2 Traffic Server presents Expressway-C's certificate whenever "
                    f"CUCM asks (6971, {_TFTP.port}), even in non-secure mode with TLS verify off"
                    if presents
                    else "Traffic Server presents Expressway-C's certificate to CUCM only from "
                    "X14.0.2"
                )
                yield _store_finding(
                    ctx,
                    "U2C-TRUST",
                    cluster,
                    store_name,
                    peer,
                    leg=_TFTP,
                    required=presents,
                    why_required=why,
                    accept_leaf=cluster.mixed,
                    since=str(X14_0_2),
                )
            if not _SIP.applies(cluster):
                continue
            # SIP TLS is mutual in mixed mode on every release: not a Traffic Server change
            for store_name in _SIP.server_stores:
                yield _store_finding(
                    ctx,
                    "U2C-TRUST",
                    cluster,
                    store_name,
                    peer,
                    leg=_SIP,
                    required=True,
                    why_required="in mixed mode CUCM validates Expressway-C's certificate with "
                    f"{store_name} on SIP TLS {_SIP.port}, when Expressway-C connects "
                    "(mutual TLS, CEtls zone) and when CUCM connects back for secure "
                    f"registrations ({_CALLBACK.label}); this has always been so",
                    accept_leaf=True,
                    since=SINCE_ALWAYS,
                )


@rule(
    "U2C-OAUTH",
    fix=_oauth_fixes,
    title="SIP OAuth (5091): Expressway-C's chain in tomcat-trust, CUCM's tomcat trusted by "
    "Expressway-C",
    since=X12_5,
    severity=Severity.CRITICAL,
    kb=("R-U2C-02",),
    cite=("S22",),
)
def u2c_oauth(ctx: AuditContext) -> Iterator[Finding]:
    if not ctx.behaviour.sip_oauth:
        return  # SIP OAuth over MRA arrived in X12.5
    for cluster in ctx.deployment.uc_clusters:
        if cluster.product is not Product.CUCM or not cluster.sip_oauth:
            continue
        for peer in peers(ctx):
            for store_name in _OAUTH.server_stores:
                yield _store_finding(
                    ctx,
                    "U2C-OAUTH",
                    cluster,
                    store_name,
                    peer,
                    leg=_OAUTH,
                    required=True,
                    why_required=f"SIP OAuth over MRA is mutual TLS on {_OAUTH.port}, validated "
                    f"with {store_name} (not CallManager-trust)",
                )
        for node in cluster.nodes:
            ident = node.identity("tomcat")
            subject = Subject(
                cluster=cluster.name,
                node=node.name,
                leg=_OAUTH.label,
                certificate="tomcat",
                leg_id=_leg_id(_OAUTH, _first_peer(ctx), node_id(cluster, node.name)),
            )
            if ident is None:
                yield make(
                    "U2C-OAUTH",
                    Status.ERROR,
                    subject,
                    f"{node.name} has no tomcat certificate in the inventory",
                )
                continue
            bad = {
                p.name: r
                for p in peers(ctx)
                if (r := ctx.validate(ident.chain, p.trusted_cas.trust)).fatal_problems()
                and any(x.reason in TRUST_REASONS for x in r.fatal_problems())
            }
            if not bad:
                yield make(
                    "U2C-OAUTH",
                    Status.PASS,
                    subject,
                    f"Expressway-C trusts {short(node.name)}'s tomcat certificate, which CUCM "
                    f"presents on {_OAUTH.port}",
                )
                continue
            first = next(iter(bad.values()))
            evidence: dict[str, EvidenceValue] = {"chain": chain_fps(ident.chain)}
            if first.missing_certs:
                evidence["upload"] = chain_fps(first.missing_certs)
            yield make(
                "U2C-OAUTH",
                Status.FAIL,
                subject,
                f"CUCM presents the tomcat certificate on the SIP OAuth port {_OAUTH.port} and "
                f"{', '.join(sorted(bad))} cannot verify {short(node.name)}'s: "
                + "; ".join(p.message for p in first.fatal_problems()),
                remediation=[
                    "Upload the tomcat CA chain (or the self-signed tomcat) to the trusted CA "
                    "list of every Expressway-C peer, then restart Expressway-C"
                ],
                evidence=evidence,
            )


@rule(
    "U2C-PROFILE-SAN",
    fix=reissue_expressway,
    title="Secure phone security profile names are FQDNs in Expressway-C's SAN",
    since=X12_6,
    severity=Severity.HIGH,
    kb=("R-U2C-03",),
    cite=("S3", "S15", "S17"),
)
def u2c_profile_san(ctx: AuditContext) -> Iterator[Finding]:
    for cluster in ctx.deployment.uc_clusters:
        for profile in cluster.secure_profiles:
            for peer in peers(ctx):
                subject = Subject(
                    cluster=cluster.name,
                    node=peer.name,
                    certificate=profile,
                    endpoint_id=peer_id(peer.name),
                )
                leaf = facts(peer.certificate.leaf)
                problems: list[str] = []
                if not is_fqdn(profile) and ctx.behaviour.profile_fqdn_required:
                    problems.append(
                        f"{profile!r} is not in FQDN format (required from {X12_6} for the CSR)"
                    )
                if match_name(leaf, profile, cn_fallback=False) is not NameMatch.SAN:
                    problems.append(
                        f"{profile} is not in {peer.name}'s SAN ({', '.join(leaf.names) or 'none'})"
                    )
                if not problems:
                    yield make(
                        "U2C-PROFILE-SAN",
                        Status.PASS,
                        subject,
                        f"phone security profile {profile} is in {peer.name}'s SAN",
                    )
                    continue
                yield make(
                    "U2C-PROFILE-SAN",
                    Status.FAIL,
                    subject,
                    "; ".join(problems) + ": CUCM answers secure REGISTER over MRA with 403",
                    remediation=[
                        f"Rename the profile to an FQDN (e.g. {profile}.{_domain(peer.name)}) "
                        "if needed, and reissue the Expressway-C certificate with it in the SAN",
                    ],
                )


def _domain(name: str) -> str:
    return name.split(".", 1)[1] if "." in name else "example.com"


@rule(
    "U2C-CM-EKU",
    fix=reissue_uc,
    title="CUCM CallManager certificate carries serverAuth and clientAuth (mixed mode)",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-U2C-04",),
    cite=("S17",),
)
def u2c_cm_eku(ctx: AuditContext) -> Iterator[Finding]:
    first = _first_peer(ctx)
    for cluster, node in ctx.deployment.nodes():
        if cluster.product is not Product.CUCM or not cluster.mixed:
            continue
        for name in ("CallManager", "CallManager-ECDSA"):
            ident = node.identity(name)
            if ident is None:
                continue
            leaf = facts(ident.leaf)
            endpoint = node_id(cluster, node.name)
            subject = Subject(
                cluster=cluster.name,
                node=node.name,
                leg=_CALLBACK.label,
                certificate=name,
                leg_id=_leg_id(_CALLBACK, first, endpoint),
                endpoint_id=endpoint,
            )
            if leaf.server_auth and leaf.client_auth:
                yield make(
                    "U2C-CM-EKU",
                    Status.PASS,
                    subject,
                    f"{short(node.name)}'s {name} carries serverAuth and clientAuth",
                )
                continue
            lacking = [
                e
                for e, ok in (("serverAuth", leaf.server_auth), ("clientAuth", leaf.client_auth))
                if not ok
            ]
            from mratrust.products import identity_recipe  # the restart tables: for a failure

            yield make(
                "U2C-CM-EKU",
                Status.FAIL,
                subject,
                f"{short(node.name)}'s {name} lacks {' and '.join(lacking)} (EKU: "
                f"{', '.join(leaf.eku)}): CUCM is the TLS client in the second SIP handshake to "
                "Expressway-C, so secure registrations over MRA fail",
                remediation=[
                    f"Reissue {name} with EKU serverAuth and clientAuth (the CA template must "
                    "keep both)",
                    "then, in this order: "
                    + "; ".join(identity_recipe(Product.CUCM, name, mixed=True).commands()),
                ],
            )


@rule(
    "U2C-IMP-TRUST",
    fix=uc_trust_fixes,
    title="IM and Presence tomcat-trust and cup-xmpp-trust hold Expressway-C's chain",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-U2C-05",),
    cite=("S3",),
)
def u2c_imp_trust(ctx: AuditContext) -> Iterator[Finding]:
    for cluster in ctx.deployment.uc_clusters:
        if cluster.product is not Product.IMP:
            continue
        for peer in peers(ctx):
            # Cisco lists tomcat-trust beside cup-xmpp-trust for XCP (knowledge base L8); the
            # IM and Presence 8443 leg is not mutual TLS
            for store_name in (*_XMPP.also_required, *_XMPP.server_stores):
                yield _store_finding(
                    ctx,
                    "U2C-IMP-TRUST",
                    cluster,
                    store_name,
                    peer,
                    leg=_XMPP,
                    required=True,
                    why_required="IM and Presence validates Expressway-C on XMPP "
                    f"({_XMPP.port}) with cup-xmpp-trust, and Cisco asks for the chain in "
                    "tomcat-trust too",
                )
