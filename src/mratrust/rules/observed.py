"""What the wire showed (``audit --probe``): PROBE-* rules over recorded handshakes.

The handshakes themselves are made at the edge (:mod:`mratrust.probe_audit`); these rules only
read the :class:`~mratrust.observation.Observed` values in the context, so offline they yield
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from cryptography import x509

from mratrust.model import EvidenceValue, Finding, Severity, Status, Subject
from mratrust.pki.facts import KeyType, facts
from mratrust.rules.base import (
    GATE_STATUS,
    AuditContext,
    Gate,
    chain_fps,
    make,
    peers,
    rule,
    short,
)
from mratrust.rules.c2u import RESTART_EXPC, missing_intermediates
from mratrust.topology import EcdsaOffer, Transport, UcLeg

if TYPE_CHECKING:
    from mratrust.observation import Observed

OUR_VERDICTS = frozenset({"untrusted", "certificate-invalid", "name-mismatch"})
"""Outcomes where Expressway-C rejects the server's certificate (gated by version)."""


@rule(
    "PROBE-HANDSHAKE",
    title="The handshake Expressway-C makes on each leg completes and verifies (live)",
    since=None,
    severity=Severity.CRITICAL,
    cite=("S1", "S18", "S36"),
)
def probe_handshake(ctx: AuditContext) -> Iterator[Finding]:
    legs = {leg.id: leg for leg in ctx.legs()}
    for seen in ctx.observed:
        subject = Subject(
            cluster=seen.cluster, node=seen.node, leg=seen.leg, leg_id=seen.leg_id or None
        )
        leg = legs.get(seen.leg_id)
        gate = ctx.gate(leg) if leg is not None else Gate.VERIFIED
        evidence: dict[str, EvidenceValue] = {
            "address": seen.address,
            "outcome": seen.outcome,
            "client_cert_requested": seen.client_cert_requested,
        }
        if seen.presented:
            evidence["chain"] = chain_fps(seen.presented)
        if seen.tls_version:
            evidence["negotiated"] = f"{seen.tls_version} {seen.cipher or ''}".strip()
        if seen.alert:
            evidence["alert"] = seen.alert
        if seen.ca_names:
            evidence["ca_names"] = seen.ca_names
        if seen.log_lines:
            evidence["traffic_server_log"] = seen.log_lines
        if not seen.reachable:
            yield make(
                "PROBE-HANDSHAKE",
                Status.ERROR,
                subject,
                f"{seen.leg} to {short(seen.node)} ({seen.address}) could not be probed: "
                f"{seen.message}",
                remediation=["check that the node answers on this port from where mratrust runs"],
                evidence=evidence,
            )
        elif seen.ok:
            yield make(
                "PROBE-HANDSHAKE",
                Status.PASS,
                subject,
                f"live: {seen.leg} to {short(seen.node)} completes ({seen.tls_version}, "
                f"{seen.cipher}) and the presented chain verifies",
                evidence=evidence,
            )
        elif seen.outcome in OUR_VERDICTS and gate is not Gate.VERIFIED:
            # we would reject their certificate, but this version does not check it on this leg
            yield make(
                "PROBE-HANDSHAKE",
                GATE_STATUS[gate],
                subject,
                f"live: {short(seen.node)}'s certificate on {seen.leg} would not verify "
                f"({seen.message}); {ctx.version} does not verify it on this leg "
                f"({gate.value}), so the handshake succeeds today",
                remediation=["fix it before the version that verifies it (see C2U-LATENT)"],
                evidence={**evidence, "gate": gate.value},
            )
        else:
            yield make(
                "PROBE-HANDSHAKE",
                Status.FAIL,
                subject,
                f"live: {seen.leg} to {short(seen.node)} ({seen.address}) fails: {seen.message}",
                remediation=[
                    "see the offline findings for this leg (C2U-*, U2C-*) for the fix; "
                    "mratrust plan writes it"
                ],
                evidence=evidence,
            )


@rule(
    "PROBE-DRIFT",
    title="The node presents the certificate the inventory holds (live)",
    since=None,
    severity=Severity.HIGH,
    cite=("S7", "S18"),
)
def probe_drift(ctx: AuditContext) -> Iterator[Finding]:
    by_node = {(c.name, n.name): (c, n) for c, n in ctx.deployment.nodes()}
    legs = {leg.id: leg for leg in ctx.legs()}
    for seen in ctx.observed:
        if not seen.reachable or not seen.identities:
            continue
        found = by_node.get((seen.cluster, seen.node))
        leg = legs.get(seen.leg_id)
        if found is None or leg is None:
            continue
        _, node = found
        expected = {}
        for name in (leg.rsa_identity, leg.ecdsa_identity):
            ident = node.identity(name) if name else None
            if ident is not None:
                expected[facts(ident.leaf).fingerprint] = name
        subject = Subject(
            cluster=seen.cluster, node=seen.node, leg=seen.leg, leg_id=seen.leg_id or None
        )
        strangers = [
            (kind, cert)
            for kind, cert in seen.identities
            if facts(cert).fingerprint not in expected
        ]
        if not expected:
            continue
        if not strangers:
            yield make(
                "PROBE-DRIFT",
                Status.PASS,
                subject,
                f"live: {short(seen.node)} presents on {seen.port} the certificate(s) the "
                "inventory holds",
            )
            continue
        kind, cert = strangers[0]
        f = facts(cert)
        from mratrust.products import identity_recipe  # the restart tables: for a drift only

        yield make(
            "PROBE-DRIFT",
            Status.WARN,
            subject,
            f"live: {short(seen.node)} presents on {seen.port} a {kind.upper()} certificate "
            f"({f.subject}, serial {f.serial:x}, {f.fingerprint[:19]}…) that the inventory does "
            f"not hold for {leg.rsa_identity}: the export is stale, or the service still serves an "
            "old certificate (CUCM's TFTP caches tomcat until it is restarted)",
            remediation=[
                f"export the current {leg.rsa_identity} again (show cert own {leg.rsa_identity}) "
                "and audit again",
                "if the export is current, restart the services that serve it: "
                + "; ".join(identity_recipe(found[0].product, leg.rsa_identity).restarts),
            ],
            evidence={"presented": f.fingerprint, "inventory": tuple(expected)},
        )


# --------------------------------------------------------------------------- live decisions

LIVE_DECIDED = frozenset({"C2U-ECDSA", "C2U-TRUST", "CE-TRUST"})
"""Offline findings whose verdict the live handshake decides (SPEC §5): the negotiated TLS
version and the identity presented (C2U-ECDSA), the chain the node really sends (C2U-TRUST), and
the chain Expressway-E really sends on the traversal zone (CE-TRUST, Expressway-E's certificate
as Expressway-C checks it; Expressway-C's own side is what the probe sends, so not decided)."""


def decide_live(ctx: AuditContext, finding: Finding, seen: Observed) -> Finding:
    """``finding`` as the live handshake ``seen`` on its leg decides it.

    Offline, whether TLS 1.3 is negotiated and whether a node sends its intermediates are not in
    any export, so those cases are ``risk``; the wire answers both. A finding the wire cannot
    decide (unreachable node, no certificate received, a rule not in :data:`LIVE_DECIDED`) comes
    back unchanged. A decided finding keeps its offline evidence and adds ``decided_by: live``,
    ``offline_status`` and what was seen.
    """
    if finding.rule not in LIVE_DECIDED or not seen.reachable:
        return finding
    if finding.rule == "CE-TRUST":
        return _decide_ce_trust(ctx, finding, seen)
    s = finding.subject
    leg = next((leg for leg in ctx.legs() if leg.id == s.leg_id), None)
    if not isinstance(leg, UcLeg):
        return finding  # no such leg (or not a UC leg): nothing to decide
    if finding.rule == "C2U-ECDSA":
        return _decide_ecdsa(ctx, finding, seen, leg)
    return _decide_trust(ctx, finding, seen, leg)


def _identity_name(leg: UcLeg, cert: x509.Certificate) -> str:
    """The node's identity name for a presented leaf, or a description when the inventory lacks
    it."""
    fp = facts(cert).fingerprint
    for name in (leg.rsa_identity, leg.ecdsa_identity):
        ident = leg.node.identity(name) if name else None
        if name and ident is not None and facts(ident.leaf).fingerprint == fp:
            return name
    kind = facts(cert).key.type
    return (
        f"an {kind.value.upper()} certificate the inventory does not hold ({facts(cert).subject})"
    )


def _live_evidence(
    finding: Finding, seen: Observed, **extra: EvidenceValue
) -> dict[str, EvidenceValue]:
    out: dict[str, EvidenceValue] = dict(finding.evidence)
    out.update(
        decided_by="live",
        offline_status=finding.status.value,
        negotiated=f"{seen.tls_version or '?'} {seen.cipher or ''}".strip(),
        address=seen.address,
    )
    out.update(extra)
    return out


def _consequence(ctx: AuditContext, leg: UcLeg, gate: Gate) -> str:
    """What a certificate that does not verify does to the leg on this version."""
    if gate is Gate.VERIFIED:
        return f"the {leg.label} connection fails"
    return (
        f"{ctx.version} does not verify it on this leg ({gate.value}), so the connection works "
        "until a version or setting that verifies it"
    )


def _decide_ecdsa(ctx: AuditContext, finding: Finding, seen: Observed, leg: UcLeg) -> Finding:
    if not seen.presented or not seen.tls_version:
        return finding  # a handshake that failed before it said its version decides nothing
    if leg.transport is Transport.XMPP:
        return finding  # XCP's TLS versions are not documented: the probe's offer decides nothing
    leaf = seen.presented[0]
    kind = facts(leaf).key.type
    name = _identity_name(leg, leaf)
    node = short(leg.node.name)
    version = seen.tls_version
    tls13 = seen.tls_version == "TLSv1.3"
    evidence = _live_evidence(
        finding,
        seen,
        presented=name if leg.node.identity(name) else facts(leaf).fingerprint,
        presented_key=kind.value,
        presented_chain=chain_fps(seen.presented),
    )
    if kind is not KeyType.ECDSA:
        if leg.ecdsa is EcdsaOffer.NEVER:
            why = f"{leg.cluster.name} allows RSA only on {leg.port}"
        elif tls13:
            why = "under TLS 1.3 the signature algorithms chose it"
        else:
            why = "under TLS 1.2 the cipher order chose it"
        message = (
            f"live: Expressway-C's own offer on {leg.label} negotiated {version} and "
            f"{node} presented {name} (RSA; {why})"
        )
        if not tls13 and leg.ecdsa is EcdsaOffer.ALLOWED:
            message += (
                f"; this holds while {node} negotiates TLS 1.2 only: under TLS 1.3 the signature "
                f"algorithms, not the cipher string, choose, and {leg.ecdsa_identity} may come "
                "back"
            )
        return replace(
            make("C2U-ECDSA", Status.PASS, finding.subject, message, evidence=evidence),
            since=finding.since,
        )
    chooser = (
        "under TLS 1.3 the signature algorithms choose the certificate type, whatever the cipher "
        "string"
        if tls13
        else "under TLS 1.2 the cipher order chose it"
    )
    bad = {
        p.name: r
        for p in peers(ctx)
        if (
            r := ctx.validate(seen.presented, p.trusted_cas.trust, name=leg.node.name)
        ).fatal_problems()
    }
    if not bad:
        return replace(
            make(
                "C2U-ECDSA",
                Status.PASS,
                finding.subject,
                f"live: Expressway-C's own offer on {leg.label} negotiated {version} and {node} "
                f"presented {name} (ECDSA), which verifies on every Expressway-C peer",
                evidence=evidence,
            ),
            since=finding.since,
        )
    why = "; ".join(p.message for p in next(iter(bad.values())).fatal_problems())
    gate = ctx.gate(leg)
    status = Status.FAIL if gate is Gate.VERIFIED else GATE_STATUS[gate]
    self_signed = "self-signed " if facts(leaf).self_signed else ""
    # the offline finding's advice (fixes that hold under TLS 1.2 and 1.3 first) fits the live
    # failure; an offline pass (the inventory's ECDSA identity verifies) has none: say the basics
    remediation = list(finding.remediation) or [
        f"Trust the {kind.value.upper()} certificate {node} presents on {leg.port} "
        f"({facts(leaf).subject}): have it CA-signed and upload the root and every intermediate "
        "to the trusted CA list of every Expressway-C peer (Maintenance > Security > Trusted CA "
        "certificate), then restart Expressway-C; this holds under TLS 1.2 and 1.3",
        *(
            (
                f"or set the HTTPS Ciphers enterprise parameter of {leg.cluster.name} to RSA "
                "Ciphers only (System > Enterprise Parameters > Security Parameters)",
            )
            if not (leg.transport is Transport.SIP and leg.rsa_identity == "CallManager")
            else ()
        ),
    ]
    return replace(
        make(
            "C2U-ECDSA",
            status,
            finding.subject,
            f"live: Expressway-C's own offer on {leg.label} negotiated {version} and {node} "
            f"presented its {self_signed}{name} (ECDSA), which does not verify: {why} "
            f"({chooser}); {_consequence(ctx, leg, gate)}",
            remediation=remediation,
            evidence={**evidence, "gate": gate.value},
        ),
        since=finding.since,
    )


def _decide_ce_trust(ctx: AuditContext, finding: Finding, seen: Observed) -> Finding:
    """CE-TRUST's risk "an intermediate Expressway-C's list lacks comes from the certificate
    file" decided by the chain Expressway-E sent: sent, the path builds today (pass, with the
    advice to upload it); not sent, Expressway-C cannot build the path (fail)."""
    ev = finding.evidence_dict()
    if (
        finding.status is not Status.RISK
        or finding.subject.certificate != "server"
        or "missing_intermediates" not in ev
        or not seen.presented
        or facts(seen.presented[0]).fingerprint != ev.get("fingerprint")
    ):
        return finding  # not the offline risk, or the wire shows another certificate (drift)
    names = ev.get("peers")
    wanted = names if isinstance(names, tuple) else ()
    c = next((p for p in peers(ctx) if p.name in wanted), None)
    if c is None:
        return finding
    sent = seen.presented
    e_name = finding.subject.node or "?"
    store = c.trusted_cas.trust
    result = ctx.validate(sent, store)
    sent_ev: dict[str, EvidenceValue] = {"sent_chain": chain_fps(sent)}
    restart = f"Restart Expressway-C {c.name} after the upload"
    if result.fatal_problems():
        if not result.missing_issuer:
            return finding  # another reason than a missing issuer: the offline finding says it
        lacking = result.missing or (result.missing_issuer,)
        listed = " and ".join(lacking)
        sends = "only its certificate" if len(sent) == 1 else f"{len(sent)} certificates"
        extra: dict[str, EvidenceValue] = {**sent_ev, "missing_issuer": result.missing_issuer}
        if result.missing_certs:
            extra["upload"] = chain_fps(result.missing_certs)
        return replace(
            make(
                "CE-TRUST",
                Status.FAIL,
                finding.subject,
                f"live: Expressway-E {e_name} sends {sends} on {seen.leg}, without {listed}, and "
                f"the trusted CA list of Expressway-C {c.name} lacks {listed}: Expressway-C "
                "cannot build the path to its issuer and the traversal zone does not come up",
                remediation=[
                    f"Upload {listed} (and its root, if absent) to the trusted CA list of "
                    f"Expressway-C {c.name} (Maintenance > Security > Trusted CA certificate)",
                    restart,
                ],
                evidence=_live_evidence(finding, seen, **extra),
            ),
            since=finding.since,
        )
    gaps = missing_intermediates(result, store)
    if not gaps:
        return replace(
            make(
                "CE-TRUST",
                Status.PASS,
                finding.subject,
                f"live: the chain Expressway-E {e_name} sends on {seen.leg} builds with the "
                f"trusted CA list of Expressway-C {c.name} alone",
                evidence=_live_evidence(finding, seen, **sent_ev),
            ),
            since=finding.since,
        )
    return _sent_intermediate_pass(
        finding,
        seen,
        sent_ev,
        tuple(gaps),
        sender=f"Expressway-E {e_name}",
        presented=f"its certificate on {seen.leg}",
        lists=f"Expressway-C {c.name}",
        breaks="a certificate renewal that changes what is sent breaks the traversal zone",
        restart=restart,
    )


def _sent_intermediate_pass(
    finding: Finding,
    seen: Observed,
    sent_ev: dict[str, EvidenceValue],
    certs: tuple[x509.Certificate, ...],
    *,
    sender: str,
    presented: str,
    lists: str,
    breaks: str,
    restart: str,
) -> Finding:
    """A path that builds live only because the peer sends an intermediate the trusted CA list
    lacks: pass today, with the advice to upload it (C2U-TRUST and CE-TRUST alike)."""
    names = " and ".join(facts(x).subject for x in certs)
    fps = chain_fps(certs)
    done = make(
        finding.rule,
        Status.PASS,
        finding.subject,
        f"live: {sender} sends {names} with {presented}, so the path builds today although the "
        f"trusted CA list of {lists} lacks it; Cisco asks for the root and every intermediate "
        f"in that list, and {breaks}",
        evidence=_live_evidence(
            finding, seen, **sent_ev, missing_intermediates=fps, upload=fps, upload_advised=True
        ),
    )
    advice = (
        f"Upload {names} to the trusted CA list of {lists} (Maintenance > Security > Trusted CA "
        "certificate)"
    )
    return replace(done, remediation=(advice, restart), since=finding.since)


def _sent_chain(seen: Observed, leg: UcLeg) -> tuple[x509.Certificate, ...]:
    """The chain the node sends with its RSA identity (the one C2U-TRUST judges)."""
    ident = leg.node.identity(leg.rsa_identity)
    want = facts(ident.leaf).fingerprint if ident is not None else None
    chains = list(seen.chains)
    if seen.presented:
        chains.append((facts(seen.presented[0]).key.type.value, seen.presented))
    for _, chain in chains:
        if want is not None and facts(chain[0]).fingerprint == want:
            return chain
    for kind, chain in chains:
        if kind == KeyType.RSA.value:
            return chain
    return ()


def _decide_trust(ctx: AuditContext, finding: Finding, seen: Observed, leg: UcLeg) -> Finding:
    if finding.status in (Status.FAIL, Status.ERROR):
        return finding  # offline already fails (or could not check): the wire cannot do better
    sent = _sent_chain(seen, leg)
    if not sent:
        return finding
    node = short(leg.node.name)
    results = {p.name: (p, ctx.validate(sent, p.trusted_cas.trust)) for p in peers(ctx)}
    sent_ev: dict[str, EvidenceValue] = {"sent_chain": chain_fps(sent)}
    failing = {n: r for n, (_, r) in results.items() if r.fatal_problems()}
    if failing:
        first = next(iter(failing.values()))
        if not first.missing_issuer:
            return finding  # another reason than a missing issuer: the offline finding says it
        lacking = first.missing or (first.missing_issuer,)
        gate = ctx.gate(leg)
        status = Status.FAIL if gate is Gate.VERIFIED else GATE_STATUS[gate]
        listed = " and ".join(lacking)
        sends = "only its certificate" if len(sent) == 1 else f"{len(sent)} certificates"
        extra: dict[str, EvidenceValue] = {**sent_ev, "missing_issuer": first.missing_issuer}
        if first.missing_certs:
            extra["upload"] = chain_fps(first.missing_certs)
        return replace(
            make(
                "C2U-TRUST",
                status,
                finding.subject,
                f"live: {node} sends {sends} on {leg.label}, without {listed}, and the trusted CA "
                f"list of {', '.join(sorted(failing))} lacks {listed}: Expressway-C cannot build "
                f"the path to {leg.rsa_identity}'s issuer: {_consequence(ctx, leg, gate)}",
                remediation=[
                    f"Upload {listed} (and its root, if absent) to the trusted CA list of "
                    f"{', '.join(sorted(failing))} (Maintenance > Security > Trusted CA "
                    "certificate)",
                    RESTART_EXPC,
                ],
                evidence=_live_evidence(finding, seen, **extra, gate=gate.value),
            ),
            since=finding.since,
        )
    # the path builds: with which intermediates the node sent that a peer's list lacks?
    gaps = {
        name: gap
        for name, (peer, result) in results.items()
        if (gap := missing_intermediates(result, peer.trusted_cas.trust))
    }
    if not gaps:
        if finding.status is not Status.PASS and "missing_intermediates" in finding.evidence_dict():
            return replace(
                make(
                    "C2U-TRUST",
                    Status.PASS,
                    finding.subject,
                    f"live: the chain {node} sends on {leg.label} builds with the trusted CA list "
                    "alone",
                    evidence=_live_evidence(finding, seen, **sent_ev),
                ),
                since=finding.since,
            )
        return finding
    certs = tuple(dict.fromkeys(c for gap in gaps.values() for c in gap))
    return _sent_intermediate_pass(
        finding,
        seen,
        sent_ev,
        certs,
        sender=node,
        presented=f"its {leg.rsa_identity} certificate on {leg.label}",
        lists=", ".join(sorted(gaps)),
        breaks="a node that stops sending it (a certificate renewal, a CUCM update) breaks the "
        "connection",
        restart=RESTART_EXPC,
    )
