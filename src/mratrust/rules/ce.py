"""Expressway-C and Expressway-E: the traversal zone, the edge and the clientAuth sunset (CE-*).

The traversal legs (Expressway-C → Expressway-E on 7001 and 7400) and the edge leg (MRA clients
→ Expressway-E on 8443) are rows of the one leg table (:mod:`mratrust.topology`). Expressway-C is
always the TLS client there: it checks Expressway-E's chain against its trusted CA list and the
Peer N address against Expressway-E's SAN; Expressway-E asks for Expressway-C's (client)
certificate and checks its chain against its own trusted CA list and its TLS verify subject name
against Expressway-C's SAN (knowledge base L2, R-CE-02, R-CE-03). Which EKU each certificate
needs is a version gate of the behaviour table (X15.4, X15.5, EnableServerEkuUpload).

The CE-* rules apply only when the inventory has an Expressway-E; EKU-SUNSET also judges
Expressway-C's client role and CUCM's CallManager certificate in mixed mode.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from mratrust.model import (
    ClusterTlsMode,
    Expressway,
    Finding,
    Identity,
    Peer,
    Severity,
    Status,
    Subject,
)
from mratrust.pki.facts import CertFacts, facts
from mratrust.pki.verify import TRUST_REASONS, PathResult, TrustStore
from mratrust.rules.base import (
    EXPC,
    AuditContext,
    chain_fps,
    evidence_fps,
    expressway_trust_fixes,
    make,
    reissue_client,
    rule,
)
from mratrust.rules.c2u import missing_intermediates
from mratrust.sunset import known_ca_note
from mratrust.topology import (
    EndpointKind,
    Leg,
    edge_leg,
    expe_id,
    peer_id,
    peer_label,
    rows_to,
    traversal_leg,
)
from mratrust.versions import X8_8, X15_4, Behaviour

if TYPE_CHECKING:  # the fixes load with the first finding that has one
    from mratrust.fixes import Fix

EXPE = "expressway-e"
SWITCH = "xConfiguration XCP TLS Certificate CVS EnableServerEkuUpload: On"
"""The X15.4 setting on Expressway-E that allows a serverAuth-only certificate (TN 225482)."""


def _tls_traversal_ports() -> tuple[int, ...]:
    """The traversal rows that carry X.509 certificates (7001, 7400; 2222 is SSH)."""
    return tuple(
        r.port
        for r in rows_to(EndpointKind.EXPRESSWAY_E, client=EndpointKind.EXPRESSWAY_C)
        if r.tls
    )


TRAVERSAL_PORTS = _tls_traversal_ports()


def _pairs(ctx: AuditContext) -> Iterator[tuple[Peer, Peer]]:
    exp_e = ctx.deployment.expressway_e
    if exp_e is None:
        return
    for c in ctx.deployment.expressway.peers:
        for e in exp_e.peers:
            yield c, e


def _pair_ports(ctx: AuditContext) -> Iterator[tuple[Peer, Peer, int]]:
    """Every (C peer, E peer, TLS traversal port): the same checks happen on 7001 and 7400."""
    for c, e in _pairs(ctx):
        for port in TRAVERSAL_PORTS:
            yield c, e, port


def client_identity(ctx: AuditContext, peer: Peer) -> Identity:
    """What an Expressway-C peer presents as a TLS client on the judged release."""
    return peer.client_identity(separate=ctx.behaviour.separate_client_certificate)


def _client_word(ctx: AuditContext, peer: Peer) -> str:
    if ctx.behaviour.separate_client_certificate and peer.client_certificate is not None:
        return "client certificate"
    return "certificate"


def _leg_subject(leg: Leg, certificate: str, *, side: str, node: str) -> Subject:
    return Subject(cluster=side, node=node, leg=leg.label, certificate=certificate, leg_id=leg.id)


def _dn_list(certs: tuple[x509.Certificate, ...]) -> str:
    return " and ".join(facts(c).subject for c in certs)


def _reissue_e(peer: str) -> tuple[Fix, ...]:
    """Reissue Expressway-E peer ``peer``'s certificate (the plan puts every name MRA needs)."""
    from mratrust.fixes import ExpresswayEIdentity, Reissue

    return (Reissue(what=ExpresswayEIdentity(peer=peer)),)


# --------------------------------------------------------------------------- CE-TRUST


def _trust_finding(
    ctx: AuditContext,
    leg: Leg,
    subject: Subject,
    chain: tuple[x509.Certificate, ...],
    store: TrustStore,
    *,
    who: str,
    whose: str,
    holder: str,
    restart: str,
    where: dict[str, str | tuple[str, ...]],
) -> Finding:
    result = ctx.validate(chain, store)
    bad = [p for p in result.fatal_problems() if p.reason in TRUST_REASONS]
    leaf = facts(chain[0])
    evidence: dict[str, str | tuple[str, ...]] = {
        "chain": chain_fps(chain),
        "fingerprint": leaf.fingerprint,
        **where,
    }
    if bad:
        # Cisco wants the root and every intermediate in the list: the chain's own CAs too
        sent = tuple(c for c in chain[1:] if facts(c).is_ca and not store.contains(c))
        missing = tuple(dict.fromkeys((*result.missing_certs, *sent)))
        subjects = [facts(c).subject for c in missing]
        if result.missing_issuer and result.missing_issuer not in subjects:
            subjects.append(result.missing_issuer)  # a CA no file of the inventory holds
        names = " and ".join(subjects) or leaf.issuer
        if result.missing_issuer:
            evidence["missing_issuer"] = result.missing_issuer
        if missing:
            evidence["upload"] = chain_fps(missing)
        return make(
            "CE-TRUST",
            Status.FAIL,
            subject,
            f"{who} cannot build a path from {whose} (issuer {leaf.issuer}) to its trusted CA "
            f"list on {peer_label(leg)}: " + "; ".join(p.message for p in bad),
            remediation=[
                f"Upload {names} to the trusted CA list of {holder} (Maintenance > Security > "
                f"Trusted CA certificate), then restart {restart}"
            ],
            evidence=evidence,
        )
    gaps = missing_intermediates(result, store)
    if gaps:
        evidence["missing_intermediates"] = chain_fps(gaps)
        return make(
            "CE-TRUST",
            Status.RISK,
            subject,
            f"{who} reaches a trusted root for {whose} only through {_dn_list(gaps)} from the "
            f"certificate file: its trusted CA list lacks it. Cisco requires the root and every "
            f"intermediate there; whether the intermediate is sent on {peer_label(leg)} is not "
            "in any export, hence risk",
            remediation=[
                f"Upload {_dn_list(gaps)} to the trusted CA list of {holder}, then restart "
                f"{restart}"
            ],
            evidence=evidence,
        )
    anchor = facts(result.anchor).subject if result.anchor is not None else "?"
    return make(
        "CE-TRUST",
        Status.PASS,
        subject,
        f"{who} builds {whose} to {anchor} on {peer_label(leg)}",
        evidence=evidence,
    )


def _ce_trust_fixes(f: Finding) -> tuple[Fix, ...]:
    """Expressway-E's certificate: Expressway-C's list, as any other upload there; Expressway-C's
    (client) certificate: the list of the Expressway-E peer that checks it."""
    from mratrust.fixes import ExpresswayETrust, UploadTrust

    if f.subject.certificate == "server":
        return expressway_trust_fixes(f)
    peer = f.evidence_dict().get("expe_peer")
    if not isinstance(peer, str):
        return ()
    return (
        UploadTrust(
            store=ExpresswayETrust(peer=peer),
            certificates=evidence_fps(f, "upload"),
            chain=evidence_fps(f, "chain"),
        ),
    )


@rule(
    "CE-TRUST",
    title="Traversal zone: each Expressway trusts the other's full chain",
    since=X8_8,
    severity=Severity.CRITICAL,
    kb=("R-CE-02",),
    cite=("S3", "S17"),
    fix=_ce_trust_fixes,
)
def ce_trust(ctx: AuditContext) -> Iterator[Finding]:
    for c, e in _pairs(ctx):
        client = client_identity(ctx, c)
        for port in TRAVERSAL_PORTS:
            leg = traversal_leg(ctx.deployment, c.name, e.name, port)
            # Expressway-E sends its certificate first; Expressway-C checks it
            yield _trust_finding(
                ctx,
                leg,
                _leg_subject(leg, "server", side=EXPE, node=e.name),
                e.certificate.chain,
                c.trusted_cas.trust,
                who=f"Expressway-C {c.name}",
                whose=f"Expressway-E {e.name}'s certificate",
                holder=f"Expressway-C {c.name}",
                restart="that Expressway-C peer",
                where={"peers": (c.name,)},
            )
            # then Expressway-E checks Expressway-C's (client) certificate
            yield _trust_finding(
                ctx,
                leg,
                _leg_subject(leg, "client", side=EXPC, node=c.name),
                client.chain,
                e.trusted_cas.trust,
                who=f"Expressway-E {e.name}",
                whose=f"Expressway-C {c.name}'s {_client_word(ctx, c)}",
                holder=f"Expressway-E {e.name}",
                restart="that Expressway-E peer",
                where={"expe_peer": e.name},
            )


# --------------------------------------------------------------------------- CE-NAME


def _in_san(f: CertFacts, name: str) -> bool:
    """SAN only (no CN fallback, no wildcard): dNSName, or an IP address as iPAddress."""
    low = name.strip().lower()
    return low in {n.lower() for n in f.san_dns} or low in set(f.san_ip)


def peer_address(exp_e: Expressway, e: Peer) -> str | None:
    """The Peer N address of the traversal zone that names Expressway-E peer ``e``.

    An address equal to the peer's name is its own; the addresses that name no peer (an IP, an
    internal alias) go to the unnamed peers in order (Peer N is the N-th peer).
    """
    if exp_e.traversal is None:
        return None
    listed = [a.strip() for a in exp_e.traversal.peer_addresses]
    lowered = {a.lower() for a in listed}
    for a in listed:
        if a.lower() == e.name.lower():
            return a
    peer_names = {p.name.lower() for p in exp_e.peers}
    others = [a for a in listed if a.lower() not in peer_names]
    unnamed = [p.name for p in exp_e.peers if p.name.lower() not in lowered]
    i = unnamed.index(e.name)
    return others[i] if i < len(others) else None


@rule(
    "CE-NAME",
    title="Traversal zone names: Peer N address in E's SAN, TLS verify subject name in C's SAN",
    since=X8_8,
    severity=Severity.CRITICAL,
    kb=("R-CE-03",),
    cite=("S4", "S20"),
)
def ce_name(ctx: AuditContext) -> Iterator[Finding]:
    exp_e = ctx.deployment.expressway_e
    if exp_e is None:
        return
    traversal = exp_e.traversal
    if traversal is None:
        yield make(
            "CE-NAME",
            Status.ERROR,
            Subject(cluster=EXPE, certificate="traversal"),
            "the inventory's expressway_e has no traversal: the Peer N addresses and the TLS "
            "verify subject name of the Unified Communications traversal zone are unknown",
            remediation=[
                "Add expressway_e.traversal with peer_addresses (Expressway-C: Configuration > "
                "Zones > the UC traversal zone) and tls_verify_subject_name (the same zone on "
                "Expressway-E)"
            ],
        )
        return
    for c, e, port in _pair_ports(ctx):
        leg = traversal_leg(ctx.deployment, c.name, e.name, port)
        address = peer_address(exp_e, e)
        ef = facts(e.certificate.leaf)
        subject = _leg_subject(leg, "server", side=EXPE, node=e.name)
        if address is None:
            yield make(
                "CE-NAME",
                Status.FAIL,
                subject,
                f"no Peer address of the traversal zone names Expressway-E {e.name}: Expressway-C "
                "does not connect to it",
                remediation=[
                    f"Add {e.name} as a Peer address of the traversal client zone on Expressway-C"
                ],
                fixes=_reissue_e(e.name),
            )
        elif _in_san(ef, address):
            yield make(
                "CE-NAME",
                Status.PASS,
                subject,
                f"Peer address {address} is in Expressway-E {e.name}'s SAN",
            )
        else:
            in_cn = (ef.common_name or "").lower() == address.lower()
            yield make(
                "CE-NAME",
                Status.FAIL,
                subject,
                f"Expressway-C {c.name} connects to Peer address {address}, which is not in "
                f"Expressway-E {e.name}'s SAN ({', '.join(ef.names) or 'none'})"
                + ("; it is the CN, but Expressway checks the SAN only" if in_cn else "")
                + ": the traversal zone fails TLS verification",
                remediation=[
                    f"Reissue Expressway-E {e.name}'s certificate with {address} in the SAN (keep "
                    "serverAuth, and clientAuth where CE-EKU needs it), or set the Peer address "
                    "to a name its SAN holds"
                ],
                evidence={"address": address, "san": ef.names},
                fixes=_reissue_e(e.name),
            )
        name = traversal.tls_verify_subject_name
        client = client_identity(ctx, c)
        cf = facts(client.leaf)
        csubject = _leg_subject(leg, "client", side=EXPC, node=c.name)
        if name is None:
            yield make(
                "CE-NAME",
                Status.ERROR,
                csubject,
                "expressway_e.traversal.tls_verify_subject_name is not given: what Expressway-E "
                f"checks in Expressway-C {c.name}'s SAN is unknown",
                remediation=[
                    "Copy TLS verify subject name from the traversal server zone on "
                    "Expressway-E into the inventory"
                ],
            )
        elif _in_san(cf, name):
            yield make(
                "CE-NAME",
                Status.PASS,
                csubject,
                f"TLS verify subject name {name} is in Expressway-C {c.name}'s "
                f"{_client_word(ctx, c)} SAN",
            )
        else:
            yield make(
                "CE-NAME",
                Status.FAIL,
                csubject,
                f"Expressway-E {e.name} checks TLS verify subject name {name}, which is not in "
                f"Expressway-C {c.name}'s {_client_word(ctx, c)} SAN "
                f"({', '.join(cf.names) or 'none'}): Expressway-E refuses the traversal client",
                remediation=[
                    f"Set TLS verify subject name on Expressway-E to the Expressway-C cluster name "
                    f"its SAN holds, or reissue {c.name}'s {_client_word(ctx, c)} with {name} in "
                    "the SAN"
                ],
                evidence={"tls_verify_subject_name": name, "san": cf.names},
                fixes=reissue_client(ctx, c.name),
            )


# --------------------------------------------------------------------------- CE-EKU


def _e_needs_client_auth(ctx: AuditContext, b: Behaviour) -> bool:
    exp_e = ctx.deployment.expressway_e
    switch = exp_e.enable_server_eku_upload if exp_e is not None else False
    return b.expressway_e_needs_client_auth(server_eku_upload=switch)


def _e_eku_advice(b: Behaviour, switch: bool) -> list[str]:
    if b.server_eku_upload_switch and not switch:
        return [
            f"On Expressway-E (X15.4): {SWITCH}, then the serverAuth-only certificate is accepted "
            "(Expressway-C must run X15.4 too)",
            "Or reissue the Expressway-E certificate with EKU serverAuth and clientAuth from a CA "
            "that still issues clientAuth (an enterprise CA)",
        ]
    return [
        "Reissue the Expressway-E certificate with EKU serverAuth and clientAuth from a CA that "
        "still issues clientAuth (an enterprise CA)",
        f"Or upgrade Expressway-C and Expressway-E to X15.4 and set {SWITCH} on Expressway-E, or "
        "to X15.5 (the server certificate then needs serverAuth only)",
    ]


@rule(
    "CE-EKU",
    title="Traversal EKUs: C presents clientAuth; E serverAuth (and clientAuth before X15.4)",
    since=X8_8,
    severity=Severity.CRITICAL,
    kb=("R-CE-01", "R-CE-08"),
    cite=("S3", "S17", "S28", "S11"),
)
def ce_eku(ctx: AuditContext) -> Iterator[Finding]:
    exp_e = ctx.deployment.expressway_e
    eb = ctx.e_behaviour
    if exp_e is None or eb is None:
        return
    for c, e, port in _pair_ports(ctx):
        leg = traversal_leg(ctx.deployment, c.name, e.name, port)
        client = client_identity(ctx, c)
        cf = facts(client.leaf)
        word = _client_word(ctx, c)
        subject = _leg_subject(leg, "client", side=EXPC, node=c.name)
        if cf.client_auth:
            yield make(
                "CE-EKU",
                Status.PASS,
                subject,
                f"Expressway-C {c.name} presents a {word} with clientAuth on {peer_label(leg)}",
            )
        else:
            x155 = ctx.behaviour.separate_client_certificate
            yield make(
                "CE-EKU",
                Status.FAIL,
                subject,
                f"Expressway-C {c.name}'s {word} has EKU {', '.join(cf.eku) or 'none'} without "
                f"clientAuth: it is the TLS client on {peer_label(leg)} and Expressway-E refuses it"
                + (
                    " (X15.5: no separate client certificate is configured, so the server "
                    "certificate is presented)"
                    if x155 and c.client_certificate is None
                    else ""
                ),
                remediation=[
                    "On X15.5: load a client certificate with EKU clientAuth (an enterprise CA) on "
                    "Maintenance > Security > Client certificate; the server certificate may then "
                    "stay serverAuth-only"
                    if x155
                    else "Reissue the Expressway-C certificate with EKU serverAuth and clientAuth "
                    "(an enterprise CA), or upgrade to X15.5 and load a separate client "
                    "certificate with clientAuth",
                ],
                evidence={"eku": cf.eku, "fingerprint": cf.fingerprint},
                fixes=reissue_client(ctx, c.name),
            )
    for e in exp_e.peers:
        ef = facts(e.certificate.leaf)
        needs = ["serverAuth"]
        if _e_needs_client_auth(ctx, eb):
            needs.append("clientAuth")
        lacking = [
            n for n in needs if not (ef.server_auth if n == "serverAuth" else ef.client_auth)
        ]
        subject = Subject(
            cluster=EXPE, node=e.name, certificate="server", endpoint_id=expe_id(e.name)
        )
        why = _e_gate_words(eb, exp_e.enable_server_eku_upload)
        if not lacking:
            yield make(
                "CE-EKU",
                Status.PASS,
                subject,
                f"Expressway-E {e.name}'s certificate carries {' and '.join(needs)} ({why})",
                evidence={"eku": ef.eku},
            )
            continue
        from mratrust.fixes import Configure, Setting  # a failure: the fixes load now

        yield make(
            "CE-EKU",
            Status.FAIL,
            subject,
            f"Expressway-E {e.name}'s certificate has EKU {', '.join(ef.eku) or 'none'} without "
            f"{' and '.join(lacking)} ({why})"
            + (
                ": Expressway-C rejects it in MRA SIP SERVICE and MRA registrations fail"
                if "clientAuth" in lacking
                else ": clients and Expressway-C refuse it as a server"
            ),
            remediation=_e_eku_advice(eb, exp_e.enable_server_eku_upload)
            if lacking == ["clientAuth"]
            else ["Reissue the Expressway-E certificate with EKU serverAuth"],
            evidence={"eku": ef.eku, "version": str(eb.version)},
            fixes=(Configure(setting=Setting.SERVER_EKU_UPLOAD),)
            if eb.server_eku_upload_switch and not exp_e.enable_server_eku_upload
            else _reissue_e(e.name),
        )


def _e_gate_words(b: Behaviour, switch: bool) -> str:
    if b.separate_client_certificate:
        return f"{b.version}: the server certificate needs serverAuth only"
    if b.server_eku_upload_switch:
        state = "On" if switch else "Off"
        return f"{b.version} with EnableServerEkuUpload {state}: " + (
            "serverAuth is enough" if switch else "clientAuth still needed"
        )
    return f"{b.version}: before X15.4 Expressway-C checks clientAuth in MRA SIP SERVICE"


# --------------------------------------------------------------------------- CE-SAN


@rule(
    "CE-SAN",
    title="E's SAN covers the edge domains and its cluster name; C's SAN its cluster name",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-CE-05", "R-CE-07"),
    cite=("S3", "S15", "S17"),
)
def ce_san(ctx: AuditContext) -> Iterator[Finding]:
    exp_e = ctx.deployment.expressway_e
    if exp_e is None:
        return
    for e in exp_e.peers:
        leg = edge_leg(e.name)
        subject = _leg_subject(leg, "server", side=EXPE, node=e.name)
        ef = facts(e.certificate.leaf)
        if not exp_e.edge_domains:
            yield make(
                "CE-SAN",
                Status.ERROR,
                subject,
                "expressway_e.edge_domains is empty: which domains MRA clients look up "
                "(_collab-edge._tls.<domain>) is unknown",
                remediation=["List the Unified CM registration domains in edge_domains"],
            )
            continue
        missing = [
            d for d in exp_e.edge_domains if not (_in_san(ef, d) or _in_san(ef, f"collab-edge.{d}"))
        ]
        if exp_e.cluster_name and not _in_san(ef, exp_e.cluster_name):
            missing.append(exp_e.cluster_name)
        if not missing:
            yield make(
                "CE-SAN",
                Status.PASS,
                subject,
                f"Expressway-E {e.name}'s SAN covers the edge domains "
                f"{', '.join(exp_e.edge_domains)}"
                + (f" and the cluster name {exp_e.cluster_name}" if exp_e.cluster_name else ""),
            )
            continue
        wanted = [f"collab-edge.{d} (or {d})" if d in exp_e.edge_domains else d for d in missing]
        yield make(
            "CE-SAN",
            Status.FAIL,
            subject,
            f"Expressway-E {e.name}'s SAN ({', '.join(ef.names) or 'none'}) lacks "
            f"{', '.join(wanted)}: Jabber asks users to accept the certificate and phones and "
            "CE endpoints fail to connect over MRA",
            remediation=[
                f"Reissue Expressway-E {e.name}'s certificate with {', '.join(wanted)} added to "
                "the SAN (Maintenance > Security > Server certificate > Generate CSR: Unified CM "
                "registration domains, format CollabEdgeDNS or DNS)"
            ],
            evidence={"missing": tuple(missing), "san": ef.names},
            fixes=_reissue_e(e.name),
        )
    exp = ctx.deployment.expressway
    if exp.cluster_name:
        for c in exp.peers:
            cf = facts(c.certificate.leaf)
            subject = Subject(
                cluster=EXPC, node=c.name, certificate="server", endpoint_id=peer_id(c.name)
            )
            if _in_san(cf, exp.cluster_name):
                yield make(
                    "CE-SAN",
                    Status.PASS,
                    subject,
                    f"Expressway-C {c.name}'s SAN holds the cluster name {exp.cluster_name}",
                )
            else:
                yield make(
                    "CE-SAN",
                    Status.FAIL,
                    subject,
                    f"Expressway-C {c.name}'s SAN ({', '.join(cf.names)}) lacks the cluster name "
                    f"{exp.cluster_name}",
                    remediation=[
                        f"Reissue {c.name}'s certificate with {exp.cluster_name} in the SAN"
                    ],
                )


# --------------------------------------------------------------------------- CE-CLUSTER


@rule(
    "CE-CLUSTER",
    title="Cluster TLS enforce: own name in SAN; serverAuth-only peers break ClusterDB < X15.4",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-CE-08",),
    cite=("S12", "S28"),
)
def ce_cluster(ctx: AuditContext) -> Iterator[Finding]:
    """Both clusters when the inventory has an Expressway-E; without one, Expressway-C's only
    when it is in enforce mode (permissive says nothing a deployment without a traversal zone
    needs)."""
    exp_e = ctx.deployment.expressway_e
    eb = ctx.e_behaviour
    sides: list[tuple[Expressway, str, Behaviour]] = [
        (ctx.deployment.expressway, EXPC, ctx.behaviour)
    ]
    if exp_e is not None and eb is not None:
        sides.append((exp_e, EXPE, eb))
    elif ctx.deployment.expressway.cluster_tls_mode is not ClusterTlsMode.ENFORCE:
        return
    for exp, side, b in sides:
        label = "Expressway-C" if side == EXPC else "Expressway-E"
        enforce = exp.cluster_tls_mode is ClusterTlsMode.ENFORCE
        for p in exp.peers:
            f = facts(p.certificate.leaf)
            ref = peer_id(p.name) if side == EXPC else expe_id(p.name)
            subject = Subject(cluster=side, node=p.name, certificate="server", endpoint_id=ref)
            if not enforce:
                yield make(
                    "CE-CLUSTER",
                    Status.INFO,
                    subject,
                    f"{label} cluster TLS verification is permissive: peers are not verified"
                    + (
                        " (alarm 40049); Enforce would need each peer's name in its SAN"
                        if len(exp.peers) > 1
                        else " (a single peer: nothing to replicate)"
                    ),
                )
                continue
            problems = []
            if not _in_san(f, p.name):
                problems.append(
                    f"its own peer address {p.name} is not in its SAN ({', '.join(f.names)})"
                )
            if not b.expressway_e_server_only_eku and not f.client_auth and len(exp.peers) > 1:
                problems.append(
                    f"its certificate lacks clientAuth, which ClusterDB checks before X15.4 "
                    f"(this is {b.version})"
                )
            if not problems:
                yield make(
                    "CE-CLUSTER",
                    Status.PASS,
                    subject,
                    f"{label} {p.name}: enforce mode finds its name in its SAN",
                )
                continue
            yield make(
                "CE-CLUSTER",
                Status.FAIL,
                subject,
                f"{label} {p.name} in cluster TLS enforce mode: " + "; ".join(problems),
                remediation=[
                    f"Reissue {p.name}'s certificate with {p.name} in the SAN (and clientAuth "
                    "before X15.4), or set System > Clustering > TLS verification mode to "
                    "Permissive until then"
                ],
            )


# --------------------------------------------------------------------------- CE-VERSION


@rule(
    "CE-VERSION",
    title="Expressway-C and Expressway-E run the same release",
    since=X15_4,
    severity=Severity.HIGH,
    kb=("R-CE-10",),
    cite=("S28", "S11"),
)
def ce_version(ctx: AuditContext) -> Iterator[Finding]:
    ev = ctx.e_version
    if ev is None:
        return
    cv = ctx.version
    subject = Subject(cluster=EXPE, certificate="version")
    evidence = {"expressway_c": str(cv), "expressway_e": str(ev)}
    if cv == ev:
        yield make(
            "CE-VERSION",
            Status.PASS,
            subject,
            f"Expressway-C and Expressway-E both run {cv}",
            evidence=evidence,
        )
        return
    relaxed = max(cv, ev) >= X15_4
    if relaxed:
        yield make(
            "CE-VERSION",
            Status.FAIL,
            subject,
            f"Expressway-C runs {cv} and Expressway-E {ev}: the clientAuth relaxations of X15.4 "
            "and X15.5 need both on the same release (tech note 225482), so the traversal zone "
            "is judged with the stricter of the two",
            remediation=[f"Upgrade the other Expressway to {max(cv, ev)} as well"],
            evidence=evidence,
        )
    else:
        yield make(
            "CE-VERSION",
            Status.WARN,
            subject,
            f"Expressway-C runs {cv} and Expressway-E {ev}: Cisco requires the same release "
            "for the X15.4 and X15.5 clientAuth changes; before them a mixed pair is not "
            "documented as broken, but upgrade them together",
            remediation=[f"Upgrade the other Expressway to {max(cv, ev)}"],
            evidence=evidence,
        )


# --------------------------------------------------------------------------- EKU-SUNSET


def _sunset_subjects(
    ctx: AuditContext,
) -> Iterator[tuple[Subject, Identity, str, bool, str]]:
    """(subject, identity, what, needs clientAuth on the judged release, how to avoid)."""
    b = ctx.behaviour
    for c in ctx.deployment.expressway.peers:
        ident = client_identity(ctx, c)
        name = "client" if ident is not c.certificate else "server"
        yield (
            Subject(cluster=EXPC, node=c.name, certificate=name, endpoint_id=peer_id(c.name)),
            ident,
            f"Expressway-C {c.name}'s {_client_word(ctx, c)} (its TLS client role)",
            True,
            "on X15.5, load a separate client certificate with clientAuth from an enterprise CA "
            "(Maintenance > Security > Client certificate); Expressway-C needs clientAuth on "
            "every release"
            if b.separate_client_certificate
            else "upgrade Expressway-C and -E to X15.5 and load a separate client certificate "
            "with clientAuth from an enterprise CA; Expressway-C needs clientAuth on X15.4 too",
        )
    exp_e = ctx.deployment.expressway_e
    eb = ctx.e_behaviour
    if exp_e is not None and eb is not None:
        needs = _e_needs_client_auth(ctx, eb)
        for e in exp_e.peers:
            yield (
                Subject(
                    cluster=EXPE, node=e.name, certificate="server", endpoint_id=expe_id(e.name)
                ),
                e.certificate,
                f"Expressway-E {e.name}'s certificate",
                needs,
                f"on X15.4 set {SWITCH} on Expressway-E (C and E both on X15.4), or upgrade both "
                "to X15.5: then the server certificate needs serverAuth only",
            )
    for cluster, node in ctx.deployment.nodes():
        if not cluster.mixed:
            continue
        cm = node.identity("CallManager")
        if cm is None:
            continue
        yield (
            ctx.node_subject(cluster, node, "CallManager"),
            cm,
            f"{node.name}'s CallManager certificate (mixed mode: CUCM is a TLS client too)",
            True,
            "issue CallManager from an enterprise CA (or reuse a multi-server tomcat issued "
            "with clientAuth by one); no Expressway release removes this need",
        )


def _public_path(
    ctx: AuditContext, chain: tuple[x509.Certificate, ...], roots: TrustStore
) -> PathResult:
    """The path to the public roots. Their facts are read only when a path reaches them, and
    quietly, as when they were loaded (Mozilla's store still holds a root with a non-positive
    serial number, which cryptography warns of)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return ctx.validate(chain, roots)


@rule(
    "EKU-SUNSET",
    title="A certificate that needs clientAuth comes from a public CA that stops issuing it",
    since=X8_8,
    severity=Severity.HIGH,
    kb=("R-CE-10",),
    cite=("S11", "S28", "S29"),
)
def eku_sunset(ctx: AuditContext) -> Iterator[Finding]:
    policy = ctx.sunset
    if policy is None:
        return
    cutoff = policy.cutoff.isoformat()
    for subject, ident, what, needs, avoid in _sunset_subjects(ctx):
        leaf = facts(ident.leaf)
        # most certificates name no public root at all: no path to judge
        trusted = policy.roots.may_anchor(ident.chain)
        result = _public_path(ctx, ident.chain, policy.roots) if trusted else None
        public = result is not None and result.trusted
        evidence: dict[str, str | tuple[str, ...]] = {
            "fingerprint": leaf.fingerprint,
            "not_after": leaf.not_after.date().isoformat(),
            "cutoff": cutoff,
            "public_roots": policy.roots_source,
        }
        if not public:
            yield make(
                "EKU-SUNSET",
                Status.PASS,
                subject,
                f"{what} does not chain to a publicly trusted root ({policy.roots_source}): "
                "its CA is not bound by the public clientAuth sunset",
                evidence=evidence,
            )
            continue
        found = result.anchor if result is not None else None
        anchor = facts(found).subject if found is not None else leaf.issuer
        evidence["public_root"] = anchor
        if not needs:
            yield make(
                "EKU-SUNSET",
                Status.PASS,
                subject,
                f"{what} chains to the public root {anchor}, but on this release it needs no "
                "clientAuth: a renewal without it does not break",
                evidence=evidence,
            )
            continue
        if leaf.not_after.date() <= policy.cutoff:
            yield make(
                "EKU-SUNSET",
                Status.PASS,
                subject,
                f"{what} chains to the public root {anchor} and expires on "
                f"{leaf.not_after.date()}, before the clientAuth cut-off {cutoff}",
                evidence=evidence,
            )
            continue
        note = known_ca_note(f"{leaf.issuer} {anchor}")
        yield make(
            "EKU-SUNSET",
            Status.RISK,
            subject,
            f"{what} needs clientAuth and chains to the public root {anchor}; it expires on "
            f"{leaf.not_after.date()}, after the public-CA clientAuth cut-off {cutoff}, so its "
            "renewal will come without clientAuth"
            + (f" ({note})" if note else "")
            + f". To avoid the break: {avoid}",
            remediation=[avoid[0].upper() + avoid[1:]],
            evidence=evidence,
        )
