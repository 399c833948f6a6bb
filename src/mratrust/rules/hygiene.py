"""Validity and signature strength of every certificate the deployment relies on: CERT-*."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING

from cryptography import x509

from mratrust.model import Finding, Severity, Status, Subject
from mratrust.pki.facts import KeyType, facts
from mratrust.pki.verify import WEAK_HASHES
from mratrust.rules.base import EXPC, AuditContext, make, peers, rule, short
from mratrust.topology import peer_id
from mratrust.versions import X8_8

if TYPE_CHECKING:  # the fixes load with the first finding that has one
    from mratrust.fixes import Fix


def _renewal(f: Finding) -> tuple[Fix, ...]:
    """Renew the certificate where it lives."""
    from mratrust.fixes import Reissue, Renewal

    ev = f.evidence_dict()
    fp = ev.get("fingerprint")
    subject = str(ev.get("subject") or f.subject.certificate or "the certificate")
    return (Reissue(what=Renewal(fingerprint=str(fp), subject=subject)),)


WARN_DAYS = 30
INFO_DAYS = 60


def _identities(ctx: AuditContext) -> Iterator[tuple[Subject, x509.Certificate, str]]:
    """Each identity certificate with its subject and a label (both CERT-* rules use them).

    Made as each rule asks, not kept between them: the subjects are the context's shared ones,
    and keeping a label and a tuple per identity cost 4 MB at 10,000 nodes while the rules ran.
    """
    for peer in peers(ctx):
        yield (
            Subject(
                cluster=EXPC, node=peer.name, certificate="server", endpoint_id=peer_id(peer.name)
            ),
            peer.certificate.leaf,
            f"{peer.name}'s certificate",
        )
    for cluster, node in ctx.deployment.nodes():
        for ident in node.certificates:
            yield (
                ctx.node_subject(cluster, node, ident.name),
                ident.leaf,
                f"{short(node.name)}'s {ident.name}",
            )


def _chain_cas(ctx: AuditContext) -> dict[str, x509.Certificate]:
    """Every CA certificate a relied-on chain uses (presented or taken from a store)."""
    out: dict[str, x509.Certificate] = {}
    for peer in peers(ctx):
        for c in peer.certificate.chain[1:]:
            out.setdefault(facts(c).fingerprint, c)
        for cluster in ctx.deployment.uc_clusters:
            for store in cluster.trust:
                r = ctx.validate(peer.certificate.chain, store.trust)
                for c in r.chain[1:]:
                    out.setdefault(facts(c).fingerprint, c)
    done: set[int] = set()  # legs share identities: each adds its CAs once (same order)
    for leg in ctx.legs():
        for name in (leg.rsa_identity, leg.ecdsa_identity):
            ident = leg.node.identity(name) if name else None
            if ident is None or id(ident) in done:
                continue
            done.add(id(ident))  # the deployment keeps its identities alive
            for c in ident.chain[1:]:
                out.setdefault(facts(c).fingerprint, c)
            if facts(ident.leaf).self_signed:
                continue  # no CA above it
            for peer in peers(ctx):
                r = ctx.validate(ident.chain, peer.trusted_cas.trust)
                for c in r.chain[1:]:
                    out.setdefault(facts(c).fingerprint, c)
    return out


def _validity(
    now: dt.datetime, cert: x509.Certificate, label: str, *, used: bool
) -> tuple[Status, str]:
    f = facts(cert)
    if now > f.not_after:
        days = (now - f.not_after).days
        return (
            Status.FAIL if used else Status.WARN,
            f"{label} ({f.subject}) expired on {_formatted(f.not_after, '%Y-%m-%d')}"
            + (f", {days} days ago" if days > 1 else "")
            + ("" if used else "; no chain uses it, remove it from the store"),
        )
    if now < f.not_before:
        return (
            Status.FAIL if used else Status.WARN,
            f"{label} ({f.subject}) is not valid before {f.not_before:%Y-%m-%d %H:%M} UTC",
        )
    left = (f.not_after - now).days
    if used and left <= WARN_DAYS:
        return (
            Status.WARN,
            f"{label} ({f.subject}) expires in {left} days ({_formatted(f.not_after, '%Y-%m-%d')})",
        )
    if used and left <= INFO_DAYS:
        return (
            Status.INFO,
            f"{label} ({f.subject}) expires in {left} days ({_formatted(f.not_after, '%Y-%m-%d')})",
        )
    return Status.PASS, f"{label} is valid until {_formatted(f.not_after, '%Y-%m-%d')}"


def _formatted(when: dt.datetime, fmt: str) -> str:
    """``when`` formatted (certificates of one CA often share their dates: formatted once)."""
    return _format(when, when.tzinfo, fmt)


@lru_cache(maxsize=4096)
def _format(when: dt.datetime, tz: dt.tzinfo | None, fmt: str) -> str:
    # keyed by the zone too: equal instants in two zones print differently
    return when.strftime(fmt)


@rule(
    "CERT-VALIDITY",
    fix=_renewal,
    title="Every certificate relied on is within its validity (30/60-day warnings)",
    since=X8_8,
    severity=Severity.CRITICAL,
    kb=("R-EXP-09",),
    cite=("S13",),
)
def cert_validity(ctx: AuditContext) -> Iterator[Finding]:
    for subject, cert, label in _identities(ctx):
        f = facts(cert)
        status, message = _validity(ctx.now, cert, label, used=True)
        yield make(
            "CERT-VALIDITY",
            status,
            subject,
            message,
            remediation=(
                ()  # a pass or info carries none (make drops it): not formatted for nothing
                if status is Status.PASS or status is Status.INFO
                else (f"Renew {label} and upload it (then the restarts its type needs)",)
            ),
            evidence={"fingerprint": f.fingerprint, "not_after": _formatted(f.not_after, ISO)},
        )
    used = ctx.memo("chain-cas", lambda: _chain_cas(ctx))
    for fp, cert in used.items():
        f = facts(cert)
        status, message = _validity(
            ctx.now, cert, f"the CA {f.common_name or f.subject}", used=True
        )
        yield make(
            "CERT-VALIDITY",
            status,
            Subject(certificate=f.subject),
            message,
            remediation=[
                f"Renew the CA {f.subject}, reissue what it signed, and replace it in every trust "
                "store that holds it"
            ],
            evidence={"fingerprint": fp, "not_after": _iso(cert)},
        )
    seen = set(used)
    for owner, store_name, entries in _stores(ctx):
        for c in entries:
            f = facts(c)
            if f.fingerprint in seen:
                continue
            seen.add(f.fingerprint)
            status, message = _validity(ctx.now, c, f"{owner} {store_name} entry", used=False)
            yield make(
                "CERT-VALIDITY",
                status,
                Subject(cluster=owner, certificate=f.subject),
                message,
                remediation=[f"Delete the expired {f.subject} from {owner} {store_name}"],
                evidence={"fingerprint": f.fingerprint, "not_after": _iso(c)},
                severity=Severity.LOW if status is Status.WARN else None,
            )


def _stores(ctx: AuditContext) -> Iterator[tuple[str, str, tuple[x509.Certificate, ...]]]:
    for peer in peers(ctx):
        yield peer.name, "trusted CA list", peer.trusted_cas.trust.certs
    for cluster in ctx.deployment.uc_clusters:
        for store in cluster.trust:
            yield cluster.name, store.name, store.trust.certs


def _iso(cert: x509.Certificate) -> str:
    return _formatted(facts(cert).not_after, ISO)


ISO = "%Y-%m-%dT%H:%M:%SZ"


@rule(
    "CERT-SIGNATURE",
    title="No SHA-1 (or weaker) signature, no RSA key below 2048 bits",
    since=X8_8,
    severity=Severity.HIGH,
    cite=("S31",),
)
def cert_signature(ctx: AuditContext) -> Iterator[Finding]:
    seen: set[tuple[tuple[str, str, str, str], str]] = set()

    def cas() -> Iterator[tuple[Subject, x509.Certificate, str]]:
        for cert in ctx.memo("chain-cas", lambda: _chain_cas(ctx)).values():
            f = facts(cert)
            yield Subject(certificate=f.subject), cert, f"the CA {f.subject}"

    for subject, cert, label in chain(_identities(ctx), cas()):
        f = facts(cert)
        key = (subject.key(), f.fingerprint)
        if key in seen:
            continue
        seen.add(key)
        problems: list[str] = []
        if not f.self_signed and (f.signature_hash or "").lower() in WEAK_HASHES:
            problems.append(f"signed with {f.signature_hash}")
        if f.key.type is KeyType.RSA and f.key.bits < 2048:
            problems.append(f"a {f.key.bits}-bit RSA key")
        if not problems:
            yield make(
                "CERT-SIGNATURE",
                Status.PASS,
                subject,
                f"{label}: {f.key.describe()}, {f.signature_hash}",
            )
        else:
            yield make(
                "CERT-SIGNATURE",
                Status.FAIL,
                subject,
                f"{label} has {' and '.join(problems)}; current OpenSSL builds reject it",
                remediation=[f"Reissue {label} with SHA-256 and an RSA 2048+ or ECDSA key"],
            )
