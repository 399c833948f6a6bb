"""Judging what a server presents, as Expressway-C would, and the words for it.

:func:`judge` validates a chain against the trusted CA list; :func:`observe_handshake` turns one
handshake into an :class:`Observation` (verdict, message, the log lines Expressway-C would
write), and :class:`EndpointReport` gathers the observations and identities of one endpoint.
(:func:`mratrust.probe_audit.observe` is another thing: it probes a whole deployment's legs.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import field, replace

from cryptography import x509

from mratrust.pki.facts import KeyType, facts
from mratrust.pki.verify import TRUST_REASONS, Purpose, Reason, TrustStore, validate
from mratrust.probe.advice import remedy
from mratrust.probe.client import ClientProfile, Variant
from mratrust.probe.handshake import Handshake, Phase
from mratrust.probe.outcome import (
    REASON_VERDICT,
    VERDICT_ORDER,
    Alert,
    Outcome,
    OutcomeKind,
    openssl_error_line,
    traffic_server_name_failed,
    traffic_server_ssl_failed,
    traffic_server_verify_failed,
    x509_error_text,
)
from mratrust.probe.target import ProbeTarget
from mratrust.values import frozen


@frozen
class Verdict:
    """What Expressway-C would think of a presented chain, with every reason."""

    outcomes: tuple[Outcome, ...]
    """Failing outcomes in the order Expressway-C meets them (empty: accepted)."""
    trust_checked: bool
    """False when no trust store was given: only name, validity, key and EKU are judged."""
    problems: tuple[str, ...]
    reasons: tuple[Reason, ...]
    missing_issuer: str | None = None
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    x509_error: str | None = None
    """What OpenSSL's verifier inside Traffic Server would say (first trust/validity reason)."""
    depth: int = 0

    @property
    def ok(self) -> bool:
        """No failing outcome."""
        return not self.outcomes


def judge(
    chain: Sequence[x509.Certificate],
    *,
    trust: TrustStore | None,
    now: dt.datetime,
    name: str | None,
    known: Iterable[x509.Certificate] = (),
) -> Verdict:
    """Validate ``chain`` as Expressway-C does (SAN first, CN fallback), with every reason."""
    store = trust if trust is not None else TrustStore(())
    result = validate(
        chain,
        store,
        now=now,
        name=name,
        purpose=Purpose.SERVER,
        cn_fallback=True,
        known=tuple(known),
    )
    problems = [p for p in result.problems if trust is not None or p.reason not in TRUST_REASONS]
    fatal = [p for p in problems if p.fatal]
    found = {REASON_VERDICT[p.reason] for p in fatal if p.reason in REASON_VERDICT}
    outcomes = tuple(o for o in VERDICT_ORDER if o in found)
    first_chain_problem = next(
        (p for p in fatal if REASON_VERDICT.get(p.reason) is not Outcome.NAME_MISMATCH), None
    )
    x509_error = None
    depth = 0
    if first_chain_problem is not None:
        ordered = result.chain
        leaf_self_signed = facts(chain[0]).self_signed
        root_presented = any(facts(c).self_signed for c in chain[1:])
        x509_error = x509_error_text(
            first_chain_problem.reason,
            self_signed_leaf=leaf_self_signed,
            root_presented=root_presented,
        )
        depth = max(len(ordered) - 1, 0) if first_chain_problem.reason in TRUST_REASONS else 0
    return Verdict(
        outcomes=outcomes,
        trust_checked=trust is not None,
        problems=tuple(p.message for p in fatal),
        reasons=tuple(p.reason for p in fatal),
        missing_issuer=result.missing_issuer if trust is not None else None,
        missing=result.missing if trust is not None else (),
        warnings=tuple(p.message for p in problems if not p.fatal),
        x509_error=x509_error,
        depth=depth,
    )


@frozen
class Observation:
    """One offer made to one endpoint, what came back, and the verdict on it."""

    variant: Variant
    outcome: Outcome
    """The first thing that goes wrong, as Expressway-C meets it (OK when nothing does)."""
    outcomes: tuple[Outcome, ...]
    """Every failing outcome (the first is :attr:`outcome`)."""
    message: str
    """In words: what happened and what to do (all of :attr:`details`, joined)."""
    details: tuple[str, ...]
    """One sentence per outcome, in the order of :attr:`outcomes` (or the one for OK)."""
    log_lines: tuple[str, ...]
    """What Expressway-C's Traffic Server logs for this outcome (knowledge base §10.1)."""
    handshake: Handshake
    verdict: Verdict | None
    """None when no certificate was received."""

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The presented chain, as sent."""
        return self.handshake.chain

    @property
    def leaf(self) -> x509.Certificate | None:
        """The server's certificate, when one was presented."""
        return self.handshake.chain[0] if self.handshake.chain else None

    @property
    def key_type(self) -> KeyType | None:
        """RSA or ECDSA (of the leaf)."""
        leaf = self.leaf
        return facts(leaf).key.type if leaf is not None else None


@frozen
class ServerIdentity:
    """A distinct server certificate found on an endpoint, and the offers that brought it out."""

    chain: tuple[x509.Certificate, ...]
    key_type: KeyType
    variants: tuple[Variant, ...]
    negotiated: tuple[tuple[str, str], ...]
    """(TLS version, cipher suite) pairs it was presented with."""
    default: bool
    """Expressway-C's own offer gets this one."""
    verdict: Verdict

    @property
    def leaf(self) -> x509.Certificate:
        """The certificate itself."""
        return self.chain[0]

    @property
    def fingerprint(self) -> str:
        """``sha256:…`` of the leaf."""
        return facts(self.chain[0]).fingerprint


@frozen
class EndpointReport:
    """Everything found on one endpoint."""

    target: ProbeTarget
    default: Observation
    """What Expressway-C gets with its own offer."""
    observations: tuple[Observation, ...]
    """Every offer made, default first, in :class:`Variant` order."""
    identities: tuple[ServerIdentity, ...] = field(default=())

    @property
    def reachable(self) -> bool:
        """The default offer got a TLS answer (a verdict can be given)."""
        return self.default.outcome.kind is not OutcomeKind.UNREACHABLE

    @property
    def failed(self) -> bool:
        """Expressway-C's own handshake fails, an identity it may be given does not verify, or the
        server refused Expressway-C's client certificate on any offer."""
        if self.default.outcome.kind in (OutcomeKind.VERDICT, OutcomeKind.NEGOTIATION):
            return True
        if self.client_rejected:
            return True
        return any(not i.verdict.ok for i in self.identities)

    @property
    def client_rejected(self) -> tuple[Observation, ...]:
        """The offers on which the server refused the client certificate (or its absence)."""
        return tuple(o for o in self.observations if Outcome.CLIENT_REJECTED in o.outcomes)

    @property
    def incomplete(self) -> bool:
        """Reachable, but an offer got no answer (timeout, reset): an identity may be unseen."""
        return self.reachable and any(o.outcome in _NO_ANSWER for o in self.observations)

    @property
    def ok(self) -> bool:
        """Reachable, every offer answered, and nothing failed."""
        return self.reachable and not self.failed and not self.incomplete


_NO_ANSWER = frozenset({Outcome.TIMEOUT, Outcome.RESET, Outcome.TLS_ERROR})

_REFUSALS = frozenset({Outcome.RESET, Outcome.TLS_ERROR})
"""Failures of a forced offer that mean "not this offer" once the default offer got an answer."""


def answered(hs: Handshake) -> bool:
    """The server gave this handshake a TLS answer: it completed, or it refused with a verdict or
    a negotiation failure (not a timeout, reset or unreadable answer)."""
    if hs.failure is None:
        return hs.completed
    return hs.failure.kind in (OutcomeKind.VERDICT, OutcomeKind.NEGOTIATION)


def refused_offer(hs: Handshake, default: Handshake) -> Handshake:
    """A forced offer that the server ended during the handshake, although it answers
    Expressway-C's own offer, is that offer's outcome (:attr:`Outcome.OFFER_REFUSED`), never a
    reason to call the endpoint incomplete. Everything else is returned unchanged."""
    if (
        hs.variant is Variant.DEFAULT
        or hs.failure not in _REFUSALS
        or hs.phase is not Phase.HANDSHAKE
        or not answered(default)
    ):
        return hs
    return replace(hs, failure=Outcome.OFFER_REFUSED)


def exit_code(reports: Sequence[EndpointReport]) -> int:
    """SPEC §2 for ``mratrust probe``: 1 a verdict fails, else 3 one was not probed, else 0."""
    if any(r.failed for r in reports):
        return 1
    if any(not r.reachable or r.incomplete for r in reports):
        return 3
    return 0


# --------------------------------------------------------------------------- words


def _names(names: Sequence[x509.Name]) -> str:
    return "; ".join(n.rfc4514_string() for n in names) or "none"


def _client_words(hs: Handshake, profile: ClientProfile, target: ProbeTarget) -> str:
    names = _names(hs.client_ca_names)
    when = " after the TLS 1.3 handshake" if hs.phase is Phase.POST_HANDSHAKE else ""
    alert = f"alert {hs.alert.value}" if hs.alert else f"no alert: {hs.detail or 'closed'}"
    leg = target.leg
    port, product = leg.port, leg.server.value if leg.server is not None else None
    sent = profile.identity is not None and hs.client_cert_sent
    client = profile.identity.leaf if profile.identity is not None else None
    todo = remedy(hs.alert, port=port, client=client, sent=sent, product=product)
    if not sent:
        return (
            f"the server requires a client certificate and got none ({alert}{when}); "
            f"it accepts certificates issued by: {names}. {todo[0].upper()}{todo[1:]}"
        )
    assert profile.identity is not None
    issuer = profile.identity.leaf.issuer
    listed = any(issuer == n for n in hs.client_ca_names)
    hint = (
        "its issuer is among the CA names the server sent"
        if listed
        else f"its issuer {issuer.rfc4514_string()} is not among the CA names the server sent "
        f"({names})"
    )
    return (
        f"the server rejected Expressway-C's certificate "
        f"{profile.identity.leaf.subject.rfc4514_string()} ({alert}{when}); {hint}. "
        f"Cause: {todo}"
    )


_FAILURE_WORDS: dict[Outcome, str] = {
    Outcome.TIMEOUT: "no answer in time ({detail}): a firewall dropping packets, or a server "
    "that accepts TCP and never speaks TLS",
    Outcome.REFUSED: "connection refused: nothing listens on {where} (service stopped, or the "
    "wrong port)",
    Outcome.UNREACHABLE: "cannot reach {where}: {detail}",
    Outcome.NOT_TLS: "{where} does not speak TLS ({detail}): plain HTTP or another protocol on "
    "this port",
    Outcome.RESET: "the server closed the connection during the handshake ({detail}); a TLS "
    "policy on the server, or a load balancer, cut it",
    Outcome.TLS_ERROR: "the TLS handshake failed: {detail}",
    Outcome.NO_SHARED_CIPHER: "no cipher suite or signature algorithm in common ({detail}): the "
    "server has no certificate of the type this offer asks for, or refuses these suites",
    Outcome.NO_SHARED_PROTOCOL: "no TLS version in common ({detail})",
    Outcome.OFFER_REFUSED: "the server ended this offer's handshake ({detail}) although it "
    "answers Expressway-C's own offer: it has no certificate it will present for this offer (JSSE "
    "closes the connection then)",
    Outcome.SKIPPED: "not attempted: {detail}",
}


def _log_lines(
    outcome: Outcome, hs: Handshake, verdict: Verdict | None, target: ProbeTarget
) -> tuple[str, ...]:
    sni = target.server_name or hs.address or target.connect_host
    address = hs.address or target.connect_host
    if outcome in (Outcome.UNTRUSTED, Outcome.CERTIFICATE_INVALID) and verdict is not None:
        return (
            traffic_server_verify_failed(
                sni, address, verdict.x509_error or "certificate verify failed", verdict.depth
            ),
            traffic_server_ssl_failed(
                sni, openssl_error_line("certificate verify failed", alert=None)
            ),
        )
    if outcome is Outcome.NAME_MISMATCH:
        return (traffic_server_name_failed(sni, address),)
    if outcome.kind in (OutcomeKind.VERDICT, OutcomeKind.NEGOTIATION) or outcome in (
        Outcome.NOT_TLS,
        Outcome.TLS_ERROR,
    ):
        reason = hs.detail or outcome.value
        alert = hs.alert if hs.alert is not Alert.CLOSE_NOTIFY else None
        return (traffic_server_ssl_failed(sni, openssl_error_line(reason, alert=alert)),)
    return ()


_RANK = {o: i for i, o in enumerate(VERDICT_ORDER)}
"""Each outcome's place in :data:`VERDICT_ORDER`."""


def observe_handshake(
    hs: Handshake,
    target: ProbeTarget,
    profile: ClientProfile,
    *,
    trust: TrustStore | None,
    now: dt.datetime,
    known: Iterable[x509.Certificate] = (),
    verdicts: dict[tuple[tuple[str, ...], str], Verdict] | None = None,
) -> Observation:
    """Turn one :class:`Handshake` into an :class:`Observation` with a verdict and words.

    ``verdicts`` remembers verdicts per (chain, name) across the observations of one run: the
    same server answers several offers with the same certificate.
    """
    verdict: Verdict | None = None
    if hs.chain:
        key = (tuple(facts(c).fingerprint for c in hs.chain), target.expected_name)
        verdict = verdicts.get(key) if verdicts is not None else None
        if verdict is None:
            verdict = judge(hs.chain, trust=trust, now=now, name=target.expected_name, known=known)
            if verdicts is not None:
                verdicts[key] = verdict
    found: list[Outcome] = list(verdict.outcomes) if verdict else []
    if hs.failure is not None and hs.failure not in found:
        found.append(hs.failure)
    outcomes = tuple(sorted(found, key=lambda o: _RANK.get(o, len(_RANK))))
    outcome = outcomes[0] if outcomes else Outcome.OK
    where = target.display
    parts: list[str] = []
    for o in outcomes:
        if o in (Outcome.UNTRUSTED, Outcome.CERTIFICATE_INVALID, Outcome.NAME_MISMATCH):
            assert verdict is not None
            reasons = [
                m
                for m, r in zip(verdict.problems, verdict.reasons, strict=True)
                if REASON_VERDICT.get(r) is o
            ]
            text = "; ".join(reasons)
            if o is Outcome.UNTRUSTED and verdict.missing:
                text += (
                    f". Upload {', '.join(verdict.missing)} to the trusted CA list of every "
                    "Expressway-C peer"
                )
            parts.append(text)
        elif o is Outcome.CLIENT_REJECTED:
            parts.append(_client_words(hs, profile, target))
        else:
            detail = hs.detail or o.value
            parts.append(_FAILURE_WORDS[o].format(detail=detail, where=where))
    if not parts:
        leaf = facts(hs.chain[0]) if hs.chain else None
        who = f"{leaf.subject} ({leaf.key.describe()})" if leaf else "no certificate"
        if verdict is not None and verdict.trust_checked:
            parts.append(
                f"accepted: {who} chains to the trust store and {target.expected_name} is in "
                "its SAN"
            )
        else:
            parts.append(
                f"handshake completed: {who}; {target.expected_name} is in its SAN; the chain "
                "was not checked (no trust store given)"
            )
        if verdict is not None and verdict.warnings:
            parts.extend(verdict.warnings)
    wanted = hs.variant.wanted
    got = facts(hs.chain[0]).key.type if hs.chain and hs.completed else None
    if wanted is not None and got is not None and got is not wanted:
        parts.append(
            f"asked for {wanted.value.upper()} first, the server presented its "
            f"{got.value.upper()} certificate: it has no {wanted.value.upper()} identity it uses "
            f"with {hs.tls_version}"
        )
    return Observation(
        variant=hs.variant,
        outcome=outcome,
        outcomes=outcomes,
        message="; ".join(parts),
        details=tuple(parts),
        log_lines=_log_lines(outcome, hs, verdict, target),
        handshake=hs,
        verdict=verdict,
    )


def _identities(observations: Sequence[Observation]) -> tuple[ServerIdentity, ...]:
    groups: dict[str, list[Observation]] = {}
    for obs in observations:
        if obs.chain and obs.verdict is not None:
            groups.setdefault(facts(obs.chain[0]).fingerprint, []).append(obs)
    out: list[ServerIdentity] = []
    for seen in groups.values():
        first = seen[0]
        assert first.verdict is not None
        negotiated: dict[tuple[str, str], None] = {}
        for o in seen:
            version, cipher = o.handshake.tls_version, o.handshake.cipher
            if version and cipher:
                negotiated[(version, cipher)] = None
        out.append(
            ServerIdentity(
                chain=first.chain,
                key_type=facts(first.chain[0]).key.type,
                variants=tuple(o.variant for o in seen),
                negotiated=tuple(negotiated),
                default=any(o.variant is Variant.DEFAULT for o in seen),
                verdict=first.verdict,
            )
        )
    return tuple(out)
