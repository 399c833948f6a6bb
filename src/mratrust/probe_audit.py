"""``audit --probe``: make the handshakes Expressway-C makes, then audit with what was seen.

The only I/O is here and in :mod:`mratrust.probe`: every leg of the deployment becomes a probe
target (the node's ``probe:`` address when the inventory gives one, else its name), the results
become :class:`~mratrust.observation.Observed` values, and the rules — offline ones and PROBE-* —
run over the deployment and those observations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from mratrust.audit import Report, context, run_rules
from mratrust.errors import InputError
from mratrust.model import Deployment, EvidenceValue, Finding
from mratrust.observation import Observed
from mratrust.probe.client import (
    ClientIdentity,
    TlsVersion,
    client_profile,
    load_client_identity,
)
from mratrust.probe.handshake import Timeouts
from mratrust.probe.outcome import Outcome
from mratrust.probe.scheduler import probe_endpoints
from mratrust.probe.target import ProbeTarget, Service
from mratrust.probe.verdict import EndpointReport
from mratrust.rules import AuditContext
from mratrust.rules.ce import TRAVERSAL_PORTS, peer_address
from mratrust.rules.observed import decide_live
from mratrust.sunset import SunsetPolicy
from mratrust.topology import Leg, Transport, UcLeg, peer_label, traversal_leg
from mratrust.versions import Version


def _client_identity(ctx: AuditContext) -> ClientIdentity | None:
    """What Expressway-C presents as a TLS client on the judged release: the X15.5 client
    certificate where one is set, else its certificate (the first peer with a key)."""
    deployment = ctx.deployment
    base = Path(deployment.source).parent if deployment.source else Path()
    separate = ctx.behaviour.separate_client_certificate
    for peer in deployment.expressway.peers:
        ident = peer.client_identity(separate=separate)
        key = peer.client_key_path(separate=separate)
        if key:
            return load_client_identity(base / ident.path, key)
    return None


def _traversal_targets(ctx: AuditContext) -> list[tuple[Leg, ProbeTarget | InputError]]:
    """The traversal legs of the first Expressway-C peer to every Expressway-E peer (TLS rows),
    each with where to connect and the Peer address Expressway-C checks there (or why no
    connection can be made: a name DNS cannot carry)."""
    exp_e = ctx.deployment.expressway_e
    if exp_e is None or not ctx.deployment.expressway.peers:
        return []
    c = ctx.deployment.expressway.peers[0]
    out = []
    for e in exp_e.peers:
        name = peer_address(exp_e, e) or e.name
        for port in TRAVERSAL_PORTS:
            leg = traversal_leg(ctx.deployment, c.name, e.name, port)
            service = Service.of_row(leg.row)
            target: ProbeTarget | InputError
            try:
                if e.probe is None:
                    target = ProbeTarget(
                        host=name, port=port, address=e.name, label=peer_label(leg), service=service
                    )
                else:
                    target = ProbeTarget(
                        host=name,
                        port=e.probe.port_for(port),
                        address=e.probe.host,
                        label=peer_label(leg),
                        service=service,
                    )
            except InputError as exc:
                target = exc
            out.append((leg, target))
    return out


def _edge_observed(leg: Leg, report: EndpointReport | InputError) -> Observed:
    return _observed_of(
        cluster=leg.server.kind.value,
        node=leg.server.name,
        port=leg.port,
        label=peer_label(leg),
        leg_id=leg.id,
        report=report,
    )


def _target(leg: UcLeg) -> ProbeTarget:
    """Where to connect for ``leg``, with the name Expressway-C uses there.

    On Unity Connection's 443 that is the voicemail host of the UC service (what clients' voicemail
    requests name), on every other leg the node name.
    """
    names = leg.expected_names()
    name = names[-1]
    probe = leg.node.probe
    service = Service.of_row(leg.row)
    if probe is None:
        return ProbeTarget(
            host=name, port=leg.port, address=leg.node.name, label=leg.label, service=service
        )
    return ProbeTarget(
        host=name,
        port=probe.port_for(leg.port),
        address=probe.host,
        label=leg.label,
        service=service,
    )


def _tls_versions(texts: Sequence[str]) -> tuple[TlsVersion, ...]:
    out = []
    for text in texts:
        try:
            out.append(TlsVersion.parse(text))
        except InputError:
            continue  # TLS 1.0/1.1 are not offered by this probe
    return tuple(out) or (TlsVersion.TLS1_2,)


def _observed(leg: UcLeg, report: EndpointReport | InputError) -> Observed:
    return _observed_of(
        cluster=leg.cluster.name,
        node=leg.node.name,
        port=leg.port,
        label=leg.label,
        leg_id=leg.id,
        report=report,
    )


def _observed_of(
    *,
    cluster: str,
    node: str,
    port: int,
    label: str,
    leg_id: str,
    report: EndpointReport | InputError,
) -> Observed:
    """What the handshakes on a leg showed; or, ``report`` being why no handshake could be made
    (a name DNS cannot carry: an empty or over-long label), that: an ``error`` finding for that
    leg, and the others are probed."""
    at = partial(Observed, cluster=cluster, node=node, port=port, leg=label, leg_id=leg_id)
    if isinstance(report, InputError):
        return at(
            address=f"{node}:{port}",
            reachable=False,
            ok=False,
            outcome=Outcome.UNREACHABLE.value,
            message=f"{report.message}; correct the name in the inventory",
        )
    default = report.default
    hs = default.handshake
    return at(
        address=f"{report.target.connect_host}:{report.target.port}",
        reachable=report.reachable,
        ok=default.outcome is Outcome.OK,
        outcome=default.outcome.value,
        message=default.message,
        log_lines=default.log_lines,
        alert=hs.alert.name.lower() if hs.alert is not None else None,
        tls_version=hs.tls_version,
        cipher=hs.cipher,
        presented=hs.chain,
        identities=tuple((i.key_type.value, i.leaf) for i in report.identities),
        client_cert_requested=hs.client_cert_requested,
        ca_names=tuple(n.rfc4514_string() for n in hs.client_ca_names),
        chains=tuple((i.key_type.value, i.chain) for i in report.identities),
    )


def _offer(ctx: AuditContext, transport: Transport) -> tuple[TlsVersion, ...]:
    """The TLS versions Expressway-C offers on a leg.

    SIP follows ``SipTlsVersions``. Traffic Server offers TLS 1.2 and, from X14.2 (the release
    that brought TLS 1.3, knowledge base §5), TLS 1.3, as the tech note's capture of
    Expressway-C's Client Hello to CUCM shows. XCP to IM and Presence (7400) is modelled at TLS
    1.2. The signature order follows the leg's transport in the probe itself
    (:meth:`~mratrust.probe.client.ClientProfile.rsa_first_on`: ``TlsSignatureAlgoPrefRsa`` on SIP,
    ECDSA first on Traffic Server and XCP).
    """
    exp = ctx.deployment.expressway
    if transport is Transport.SIP:
        return _tls_versions(exp.sip_tls_versions)
    if transport is Transport.ATS and ctx.behaviour.ats_tls13:
        return (TlsVersion.TLS1_2, TlsVersion.TLS1_3)
    return (TlsVersion.TLS1_2,)


def observe(
    ctx: AuditContext,
    *,
    timeout: float = 5.0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Observed, ...]:
    """Probe every leg of the deployment as Expressway-C on ``ctx.version`` would."""
    deployment = ctx.deployment
    exp = deployment.expressway
    identity = _client_identity(ctx)
    trust = exp.peers[0].trusted_cas.trust if exp.peers else None
    groups: dict[Transport, list[UcLeg]] = {}
    for leg in ctx.legs():
        groups.setdefault(leg.transport, []).append(leg)
    results: dict[str, Observed] = {}
    timeouts = Timeouts(
        connect=timeout, handshake=timeout, read=min(1.0, timeout), overall=max(60.0, timeout * 4)
    )
    run = partial(
        probe_endpoints, now=ctx.now, timeouts=timeouts, known=ctx.known(), progress=progress
    )
    for transport, legs in groups.items():
        # Traffic Server presents its certificate from X14.0.2; SIP and XMPP always did
        presents = transport is not Transport.ATS or ctx.behaviour.presents_client_certificate
        profile = client_profile(
            ctx.version,
            upgraded_from=ctx.upgraded_from,
            ciphers=getattr(exp.ciphers, legs[0].cipher_setting),
            tls_versions=_offer(ctx, transport),
            rsa_signature_first=exp.sip_signature_pref_rsa,
            identity=identity if presents else None,
        )
        usable: list[tuple[UcLeg, ProbeTarget]] = []
        for leg in legs:
            try:
                usable.append((leg, _target(leg)))
            except InputError as exc:  # that leg is an error finding; the others are probed
                results[leg.id] = _observed(leg, exc)
        reports = run([target for _, target in usable], profile, trust=trust)
        for (leg, _), report in zip(usable, reports, strict=True):
            results[leg.id] = _observed(leg, report)
    ordered = [results[leg.id] for leg in ctx.legs() if leg.id in results]
    traversal = _traversal_targets(ctx)
    if traversal:
        # the traversal zone: Expressway-C's SIP side, presenting its (client) certificate
        c_trust = exp.peers[0].trusted_cas.trust
        profile = client_profile(
            ctx.version,
            upgraded_from=ctx.upgraded_from,
            ciphers=exp.ciphers.sip,
            tls_versions=_offer(ctx, Transport.SIP),
            rsa_signature_first=exp.sip_signature_pref_rsa,
            identity=identity,
        )
        edge_targets = [t for _, t in traversal if isinstance(t, ProbeTarget)]
        edge_reports = iter(run(edge_targets, profile, trust=c_trust))
        ordered.extend(  # in the leg table's order, the unusable names in place
            _edge_observed(edge, t if isinstance(t, InputError) else next(edge_reports))
            for edge, t in traversal
        )
    return tuple(ordered)


def _with_observation(ctx: AuditContext, f: Finding, seen: dict[str, Observed]) -> Finding:
    """``f`` with what the wire showed on its leg; decided by it where the SPEC says so."""
    leg_id = f.subject.leg_id
    if leg_id is None or f.rule.startswith("PROBE-"):
        return f
    obs = seen.get(leg_id)
    if obs is None:
        return f
    f = decide_live(ctx, f, obs)
    extra: dict[str, EvidenceValue] = {"observed": obs.outcome}
    if obs.alert:
        extra["observed_alert"] = obs.alert
    return replace(f, evidence=(*f.evidence, *extra.items()))


def audit_with_probe(
    deployment: Deployment,
    *,
    version: Version | str | None = None,
    now: dt.datetime | None = None,
    strict_from: Version | str | None = None,
    timeout: float = 5.0,
    progress: Callable[[int, int], None] | None = None,
    sunset: SunsetPolicy | None = None,
) -> Report:
    """The offline audit plus live handshakes to every leg (SPEC §1 ``audit --probe``)."""
    if timeout <= 0:
        raise InputError("--timeout must be a positive number of seconds", field="--timeout")
    ctx = context(deployment, version=version, now=now, strict_from=strict_from, sunset=sunset)
    observed = observe(ctx, timeout=timeout, progress=progress)
    live = replace(ctx, observed=observed)
    seen = {o.leg_id: o for o in observed}
    return Report.of(ctx, tuple(_with_observation(live, f, seen) for f in run_rules(live)))


__all__: Sequence[str] = ("audit_with_probe", "observe")
