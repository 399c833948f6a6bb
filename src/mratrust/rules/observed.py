"""What the wire showed (``audit --probe``): PROBE-* rules over recorded handshakes.

The handshakes themselves are made at the edge (:mod:`mratrust.probe_audit`); these rules only
read the :class:`~mratrust.model.Observed` values in the context, so offline they yield nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from mratrust.model import EvidenceValue, Finding, Severity, Status, Subject
from mratrust.pki.facts import facts
from mratrust.rules.base import GATE_STATUS, AuditContext, Gate, chain_fps, make, rule, short

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
    legs = {(leg.cluster.name, leg.node.name, leg.id): leg for leg in ctx.legs()}
    for seen in ctx.observed:
        subject = Subject(cluster=seen.cluster, node=seen.node, leg=seen.leg)
        leg = legs.get((seen.cluster, seen.node, seen.leg))
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
    legs = {(leg.cluster.name, leg.node.name, leg.id): leg for leg in ctx.legs()}
    for seen in ctx.observed:
        if not seen.reachable or not seen.identities:
            continue
        found = by_node.get((seen.cluster, seen.node))
        leg = legs.get((seen.cluster, seen.node, seen.leg))
        if found is None or leg is None:
            continue
        _, node = found
        expected = {}
        for name in (leg.rsa_identity, leg.ecdsa_identity):
            ident = node.identity(name) if name else None
            if ident is not None:
                expected[facts(ident.leaf).fingerprint] = name
        subject = Subject(cluster=seen.cluster, node=seen.node, leg=seen.leg)
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
                "if the export is current, restart the service that serves the old one "
                "(utils service restart Cisco TFTP / Cisco Tomcat)",
            ],
            evidence={"presented": f.fingerprint, "inventory": tuple(expected)},
        )
