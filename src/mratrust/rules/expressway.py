"""Expressway-C's own certificate and trusted CA list: rules EXP-*."""

from __future__ import annotations

from collections.abc import Iterator

from cryptography import x509

from mratrust.model import Finding, Product, Severity, Status, Subject
from mratrust.pki.facts import CertFacts, KeyType, facts
from mratrust.pki.verify import TRUST_REASONS
from mratrust.rules.base import (
    EXPC,
    AuditContext,
    chain_fps,
    make,
    peers,
    reissue_client,
    reissue_expressway,
    rule,
)
from mratrust.topology import peer_id
from mratrust.versions import X8_8, X8_10


def _subject(peer: str, certificate: str = "server") -> Subject:
    return Subject(cluster=EXPC, node=peer, certificate=certificate, endpoint_id=peer_id(peer))


@rule(
    "EXP-EKU",
    title="Expressway-C certificate carries serverAuth and clientAuth",
    since=X8_8,
    severity=Severity.CRITICAL,
    kb=("R-CE-01",),
    cite=("S3", "S17", "S28"),
)
def exp_eku(ctx: AuditContext) -> Iterator[Finding]:
    """Before X15.5 the server certificate is the client certificate too: it needs both EKUs.

    From X15.5 the roles are split: the server certificate needs serverAuth, and the client
    certificate (the server certificate when none is set: the upgrade copies it there) needs
    clientAuth.
    """
    split = ctx.behaviour.separate_client_certificate
    for peer in peers(ctx):
        separate = split and peer.client_certificate is not None
        checks = [("server", peer.certificate, ("serverAuth",) if separate else BOTH)]
        if separate and peer.client_certificate is not None:
            checks.append(("client", peer.client_certificate, ("clientAuth",)))
        for role, ident, needs in checks:
            yield _eku_finding(ctx, peer.name, role, ident.leaf, needs, split=split)


BOTH = ("serverAuth", "clientAuth")


def _eku_finding(
    ctx: AuditContext,
    name: str,
    role: str,
    cert: x509.Certificate,
    needs: tuple[str, ...],
    *,
    split: bool,
) -> Finding:
    leaf = facts(cert)
    has = {"serverAuth": leaf.server_auth, "clientAuth": leaf.client_auth}
    lacking = [e for e in needs if not has[e]]
    what = "client certificate" if role == "client" else "certificate"
    if not lacking:
        return make(
            "EXP-EKU",
            Status.PASS,
            _subject(name, role),
            f"{name}'s {what} carries {' and '.join(needs)}"
            + ("" if leaf.has_eku else " (no EKU extension: any use allowed)")
            + (
                f" (X15.5: the {'client' if role == 'client' else 'server'} role only)"
                if split and len(needs) == 1
                else ""
            ),
        )
    if role == "client":
        advice = "Reissue the client certificate with EKU clientAuth from an enterprise CA"
        why = "it is what Expressway-C presents as a TLS client from X15.5"
    elif split:
        advice = (
            "Load a separate client certificate with EKU clientAuth (an enterprise CA) on "
            "Maintenance > Security > Client certificate: the server certificate may then be "
            "serverAuth-only"
        )
        why = (
            "on X15.5 without a separate client certificate the server certificate is also the "
            "client certificate"
        )
    else:
        advice = (
            "Reissue the Expressway-C certificate with EKU serverAuth and clientAuth (public "
            "CAs are dropping clientAuth: use an enterprise CA, or X15.5's client certificate)"
        )
        why = (
            "Expressway-C is the TLS client towards CUCM, IM and Presence and Expressway-E and "
            "must present a clientAuth certificate"
        )
    return make(
        "EXP-EKU",
        Status.FAIL,
        _subject(name, role),
        f"{name}'s {what} has EKU {', '.join(leaf.eku) or 'none'} without "
        f"{' and '.join(lacking)}: {why}",
        remediation=[advice],
        evidence={"eku": leaf.eku},
        # a client certificate is only checked from X15.5, where it is reissued as such
        fixes=reissue_client(ctx, name),
    )


@rule(
    "EXP-CN",
    fix=reissue_expressway,
    title="Expressway certificate has a CN",
    since=X8_10,
    severity=Severity.HIGH,
    kb=("R-EXP-02",),
    cite=("S30",),
)
def exp_cn(ctx: AuditContext) -> Iterator[Finding]:
    for peer in peers(ctx):
        leaf = facts(peer.certificate.leaf)
        if leaf.common_name:
            yield make("EXP-CN", Status.PASS, _subject(peer.name), f"CN is {leaf.common_name}")
        else:
            yield make(
                "EXP-CN",
                Status.FAIL,
                _subject(peer.name),
                f"{peer.name}'s certificate has no CN (subject {leaf.subject or 'empty'}); MRA "
                "does not work without one",
                remediation=["Reissue the certificate with the peer or cluster FQDN as CN"],
            )


@rule(
    "EXP-KEY",
    fix=reissue_expressway,
    title="Key size and type acceptable (RSA 2048–4096, ECDSA from X14.3)",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-EXP-03",),
    cite=("S20", "S14"),
)
def exp_key(ctx: AuditContext) -> Iterator[Finding]:
    for peer in peers(ctx):
        key = facts(peer.certificate.leaf).key
        problem = None
        if key.type is KeyType.RSA and key.bits < 2048:
            problem = f"a {key.bits}-bit RSA key is too weak (2048 at least)"
        elif key.type is KeyType.RSA and key.bits > 4096:
            problem = (
                f"a {key.bits}-bit RSA key can keep SIP TLS zones from activating (4096 at most)"
            )
        elif key.type is KeyType.ECDSA and not ctx.behaviour.ecdsa_server_certificate:
            problem = f"an ECDSA server certificate needs X14.3 or later (this is {ctx.version})"
        elif key.type is KeyType.OTHER:
            problem = f"{key.describe()} is not supported"
        if problem is None:
            yield make(
                "EXP-KEY", Status.PASS, _subject(peer.name), f"{peer.name}: {key.describe()}"
            )
        else:
            yield make(
                "EXP-KEY",
                Status.FAIL,
                _subject(peer.name),
                f"{peer.name}'s certificate: {problem}",
                remediation=["Reissue it with an RSA 2048, 3072 or 4096-bit key"],
            )


@rule(
    "EXP-WILDCARD",
    fix=reissue_expressway,
    title="No wildcard certificate on Expressway or the UC nodes",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-EXP-08", "R-UCM-01"),
    cite=("S17", "S31"),
)
def exp_wildcard(ctx: AuditContext) -> Iterator[Finding]:
    said: dict[str, str] = {}  # a pass says the same of every node holding one certificate
    for peer in peers(ctx):
        yield _wild(facts(peer.certificate.leaf), _subject(peer.name), None, said)
    seen: set[tuple[str, str]] = set()
    for cluster, node in ctx.deployment.nodes():
        for ident in node.certificates:
            f = facts(ident.leaf)
            if (node.name, f.fingerprint) in seen:
                continue
            seen.add((node.name, f.fingerprint))
            yield _wild(f, ctx.node_subject(cluster, node, ident.name), cluster.product, said)


def _wild(f: CertFacts, subject: Subject, product: Product | None, said: dict[str, str]) -> Finding:
    """The finding on a certificate with facts ``f``, held by a UC node of ``product`` (None:
    by Expressway); the SAN and the product are spelled out only in a failure. ``said``: the
    pass messages made so far, by certificate subject (one string for the nodes that share
    a certificate)."""
    if not f.wildcard:
        text = said.get(f.subject)
        if text is None:
            text = said[f.subject] = f"{f.subject} is not a wildcard"
        return make("EXP-WILDCARD", Status.PASS, subject, text)
    return make(
        "EXP-WILDCARD",
        Status.FAIL,
        subject,
        f"{f.subject} is a wildcard certificate (SAN: {', '.join(f.names)}); "
        f"{'Expressway' if product is None else product.label} does not support wildcards",
        remediation=["Reissue it with every host name in the SAN (no '*')"],
    )


@rule(
    "EXP-CHAIN",
    title="Expressway holds its own full chain in its trusted CA list",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-EXP-10",),
    cite=("S3",),
)
def exp_chain(ctx: AuditContext) -> Iterator[Finding]:
    for peer in peers(ctx):
        result = ctx.validate(peer.certificate.chain, peer.trusted_cas.trust)
        bad = [p for p in result.fatal_problems() if p.reason in TRUST_REASONS]
        subject = _subject(peer.name, "trusted_cas")
        if not bad:
            yield make(
                "EXP-CHAIN",
                Status.PASS,
                subject,
                f"{peer.name}'s trusted CA list holds its own chain up to "
                f"{facts(result.anchor).subject if result.anchor else '?'}",
            )
            continue
        missing = " and ".join(facts(c).subject for c in result.missing_certs) or (
            result.missing_issuer or "its CA chain"
        )
        from mratrust.fixes import ExpresswayTrust, UploadTrust  # a failure: the fixes load now

        yield make(
            "EXP-CHAIN",
            Status.FAIL,
            subject,
            f"{peer.name}'s trusted CA list does not hold its own chain: "
            + "; ".join(p.message for p in bad),
            remediation=[
                f"Upload {missing} to {peer.name}'s trusted CA list, then restart Expressway-C"
            ],
            evidence={"upload": chain_fps(result.missing_certs)} if result.missing_certs else {},
            fixes=(
                UploadTrust(
                    store=ExpresswayTrust(peers=(peer.name,)),
                    certificates=chain_fps(result.missing_certs),
                    chain=chain_fps(peer.certificate.chain),
                ),
            ),
        )


@rule(
    "EXP-PEER-TRUST",
    title="Every Expressway-C peer has the same trusted CA list",
    since=X8_8,
    severity=Severity.MEDIUM,
    kb=("R-CE-09",),
    cite=("S17",),
)
def exp_peer_trust(ctx: AuditContext) -> Iterator[Finding]:
    all_peers = peers(ctx)
    if len(all_peers) < 2:
        return
    sets = {p.name: {facts(c.cert).fingerprint for c in p.trusted_cas.certs} for p in all_peers}
    union = set().union(*sets.values())
    subject = Subject(cluster=EXPC, certificate="trusted_cas")
    lacking = {name: union - fps for name, fps in sets.items() if union - fps}
    if not lacking:
        yield make(
            "EXP-PEER-TRUST",
            Status.PASS,
            subject,
            f"all {len(all_peers)} peers hold the same {len(union)} trusted CA certificates",
        )
        return
    by_fp = {
        facts(c.cert).fingerprint: facts(c.cert).subject
        for p in all_peers
        for c in p.trusted_cas.certs
    }
    parts = [
        f"{name} lacks {', '.join(sorted(by_fp[fp] for fp in fps))}"
        for name, fps in sorted(lacking.items())
    ]
    yield make(
        "EXP-PEER-TRUST",
        Status.WARN,
        subject,
        "the trusted CA list is not replicated between Expressway-C peers and differs: "
        + "; ".join(parts),
        remediation=["Upload the missing CA certificates on each peer, then restart each peer"],
    )
