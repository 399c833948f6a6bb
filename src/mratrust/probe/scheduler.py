"""The bounded run: concurrent handshakes, per-address slots and one overall deadline.

:func:`probe_endpoints` drives up to ``workers`` non-blocking pyOpenSSL handshakes at once from
the calling thread (one ``poll`` over every socket of the run, no thread pool: threads would hand
the GIL back and forth on every OpenSSL call), at most ``per_host`` at a time to one address,
each under the limits of :class:`Timeouts`, and the whole run under ``timeouts.overall``. Per
endpoint it makes the default offer first (what Expressway-C gets) and then, unless the endpoint
did not answer at all, the forced offers that bring out every identity the server holds (RSA and
ECDSA under TLS 1.2 and 1.3), except those whose answer the default handshake already is
(:func:`covered_by`). Results come back in input order, as frozen data: the audit turns them
into evidence and findings.
"""

from __future__ import annotations

import datetime as dt
import select
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from cryptography import x509

from mratrust.errors import InputError
from mratrust.pki.facts import KeyType, facts
from mratrust.pki.verify import TrustStore
from mratrust.probe.client import ALL_VARIANTS, ClientProfile, Offer, Variant, build_offers
from mratrust.probe.handshake import (
    Handshake,
    Phase,
    Resolved,
    Seen,
    Steps,
    Timeouts,
    Wait,
    handshake_steps,
    poll_one,
)
from mratrust.probe.outcome import Outcome
from mratrust.probe.target import ProbeTarget
from mratrust.probe.verdict import (
    EndpointReport,
    Verdict,
    _identities,
    observe_handshake,
    refused_offer,
)
from mratrust.topology import Transport
from mratrust.values import frozen

STOP_AFTER_DEFAULT = frozenset(
    {Outcome.TIMEOUT, Outcome.REFUSED, Outcome.UNREACHABLE, Outcome.NOT_TLS}
)
"""Default-offer outcomes after which the forced offers are not tried (nobody answers TLS)."""


_COVERS: dict[tuple[str, KeyType], Variant] = {
    ("TLSv1.2", KeyType.RSA): Variant.TLS12_RSA,
    ("TLSv1.2", KeyType.ECDSA): Variant.TLS12_ECDSA,
    ("TLSv1.3", KeyType.RSA): Variant.TLS13_RSA,
    ("TLSv1.3", KeyType.ECDSA): Variant.TLS13_ECDSA,
}
"""The forced offer of the same TLS version and certificate type as a completed default
handshake: it gets that same certificate (one connection less per endpoint, and one less on a
production UC node)."""

_TLS13_FIRST: dict[KeyType, Variant] = {
    KeyType.RSA: Variant.TLS13_RSA,
    KeyType.ECDSA: Variant.TLS13_ECDSA,
}
"""The forced TLS 1.3 offer that lists a type's signature schemes first."""


def _first_type(sigalgs: Sequence[str]) -> KeyType | None:
    """The certificate type whose schemes come first in a ``signature_algorithms`` list."""
    first = sigalgs[0] if sigalgs else ""
    if first.startswith("ecdsa_"):
        return KeyType.ECDSA
    if first.startswith("rsa_"):
        return KeyType.RSA
    return None


def covered_by(hs: Handshake, sigalgs: Sequence[str] = ()) -> frozenset[Variant]:
    """The forced variants whose answer ``hs`` (a completed default handshake) already is.

    - The forced offer of the same TLS version and certificate type gets the same certificate.
    - Under TLS 1.3, the forced offer whose signature schemes put the same type first as the
      default's ``sigalgs`` makes the same request: whether the server follows the client's order
      or imposes its own, it answers both alike. So when the default offer, ECDSA first, got RSA,
      the ECDSA-first forced offer would get that RSA certificate again; the RSA-first one is
      answered by the rule above: nothing is left to ask under TLS 1.3.
    """
    if not hs.completed or not hs.chain or hs.tls_version is None:
        return frozenset()
    got = facts(hs.chain[0]).key.type  # computed once per certificate: the verdict reads it too
    if got not in _TLS13_FIRST:  # EdDSA or another type: no forced offer asks for it
        return frozenset()
    covered = {_COVERS[(hs.tls_version, got)]} if (hs.tls_version, got) in _COVERS else set()
    first = _first_type(sigalgs)
    if hs.tls_version == "TLSv1.3" and first is not None:
        covered.add(_TLS13_FIRST[first])
    return frozenset(covered)


ProgressFn = Callable[[int, int], None]
Key = tuple[int, Variant]
"""One handshake of a run: (index of the target, offer)."""


def _deadline_passed(
    variant: Variant, timeouts: Timeouts, *, waiting_for_slot: bool = False
) -> Handshake:
    """The outcome of a handshake the run's overall deadline left no time for."""
    detail = f"the run's deadline of {timeouts.overall:g} s passed"
    if waiting_for_slot:
        detail += " before a connection slot was free"
    return Handshake(
        variant=variant, completed=False, failure=Outcome.TIMEOUT, phase=Phase.QUEUE, detail=detail
    )


@frozen
class _Run:
    """What every handshake of one run shares: the offers, the per-address limit, the deadline."""

    targets: Sequence[ProbeTarget]
    offers: dict[Transport, dict[Variant, Offer]]
    """The default offer differs by transport (TLS 1.3 signature order): one set per transport."""
    per_host: int
    timeouts: Timeouts
    deadline: float
    """time.monotonic() value after which nothing more is started or waited for."""
    resolved: Resolved
    """Each endpoint's addresses, resolved once (by its default offer) for all its offers."""
    per_target: tuple[dict[Variant, Offer], ...]
    """The offers of each target (those of its leg's transport), by the target's index."""
    seen: Seen
    """The certificates received in the run, by DER (each parsed once)."""

    @classmethod
    def start(
        cls,
        targets: Sequence[ProbeTarget],
        profile: ClientProfile,
        wanted: Sequence[Variant],
        timeouts: Timeouts,
        per_host: int,
    ) -> _Run:
        transports = [t.leg.transport for t in targets]
        offers = {
            transport: build_offers(profile, wanted, transport=transport)
            for transport in dict.fromkeys(transports)
        }
        return cls(
            targets=targets,
            offers=offers,
            per_target=tuple(offers[transport] for transport in transports),
            per_host=per_host,
            timeouts=timeouts,
            deadline=time.monotonic() + timeouts.overall,
            resolved={},
            seen={},
        )

    def offer(self, key: Key) -> Offer:
        return self.per_target[key[0]][key[1]]

    def steps(self, key: Key) -> Steps:
        """The steps of one handshake (an offer without a context returns at once)."""
        target = self.targets[key[0]]
        return handshake_steps(
            target.connect_host,
            target.port,
            offer=self.offer(key),
            server_name=target.server_name,
            timeouts=self.timeouts,
            deadline=self.deadline,
            resolved=self.resolved,
            seen=self.seen,
        )


def _broken(variant: Variant, exc: Exception) -> Handshake:
    """A bug, not the network: still reported, and the run goes on."""
    return Handshake(
        variant=variant,
        completed=False,
        failure=Outcome.TLS_ERROR,
        phase=Phase.HANDSHAKE,
        detail=f"{type(exc).__name__}: {exc}",
    )


@dataclass(slots=True)
class _Loop:
    """The handshakes of a run in flight, each a generator waiting for one descriptor."""

    run: _Run
    workers: int
    queued: deque[Key] = field(default_factory=deque)
    waiting: dict[int, tuple[Key, Steps, Wait]] = field(default_factory=dict)
    """By file descriptor: the handshake that waits for it, and for what."""
    per_address: dict[str, int] = field(default_factory=dict)
    """Handshakes in flight per address (counted against ``per_host``)."""
    finished: list[tuple[Key, Handshake]] = field(default_factory=list)

    def _host(self, key: Key) -> str:
        return self.run.targets[key[0]].connect_host

    def _advance(self, key: Key, steps: Steps, ready: bool | None) -> None:
        """Resume ``steps`` (start it when ``ready`` is None) until it waits or ends."""
        try:
            wait = next(steps) if ready is None else steps.send(ready)
        except StopIteration as stop:
            self._finish(key, stop.value)
        except Exception as exc:
            self._finish(key, _broken(key[1], exc))
        else:
            self.waiting[wait.fd] = (key, steps, wait)

    def _finish(self, key: Key, hs: Handshake) -> None:
        if self.run.offer(key).context is not None:
            self.per_address[self._host(key)] -= 1
        self.finished.append((key, hs))

    def _held(self, key: Key) -> bool:
        """Would starting ``key`` exceed the per-address limit?"""
        counts = self.run.offer(key).context is not None
        return counts and self.per_address.get(self._host(key), 0) >= self.run.per_host

    def start_queued(self) -> None:
        """Start queued handshakes, in order, while workers and their addresses' slots allow
        (nothing once the run's deadline has passed)."""
        if time.monotonic() >= self.run.deadline:
            return
        kept: deque[Key] = deque()
        while self.queued and len(self.waiting) < self.workers:
            key = self.queued.popleft()
            if self._held(key):
                kept.append(key)
                continue
            if self.run.offer(key).context is not None:
                host = self._host(key)
                self.per_address[host] = self.per_address.get(host, 0) + 1
            self._advance(key, self.run.steps(key), None)
        if kept:
            kept.extend(self.queued)
            self.queued = kept

    def wait_once(self) -> None:
        """One ``poll`` over every waiting descriptor; resume the ready and the expired."""
        now = time.monotonic()
        soonest = min((w.deadline for _, _, w in self.waiting.values()), default=now)
        timeout = min(max(soonest - now, 0.0), max(self.run.deadline - now, 0.0))
        ready: set[int] = set()
        if hasattr(select, "poll"):
            poller = select.poll()
            for fd, (_, _, w) in self.waiting.items():
                poller.register(fd, select.POLLOUT if w.write else select.POLLIN)
            ready = {fd for fd, _ in poller.poll(timeout * 1000)}
        else:  # pragma: no cover - Windows: one descriptor at a time
            fd, (_, _, w) = next(iter(self.waiting.items()))
            if poll_one(w._replace(deadline=min(w.deadline, now + timeout))):
                ready = {fd}
        now = time.monotonic()
        for fd in [
            fd for fd, (_, _, w) in self.waiting.items() if fd in ready or w.deadline <= now
        ]:
            key, steps, _ = self.waiting.pop(fd)
            self._advance(key, steps, fd in ready)

    def abandon(self) -> list[Key]:
        """The run's deadline passed: close every handshake in flight; the keys not finished."""
        left = []
        for key, steps, _ in self.waiting.values():
            steps.close()  # closes its socket
            left.append(key)
        self.waiting.clear()
        return left


def _follow_ups(
    run: _Run, index: int, default: Handshake, wanted: Sequence[Variant]
) -> tuple[dict[Key, Handshake], list[Key]]:
    """After the default offer: the forced offers already decided (skipped when nobody answered
    TLS, or answered by the default handshake itself) and those still to send."""
    decided: dict[Key, Handshake] = {}
    to_send: list[Key] = []
    own = run.per_target[index][Variant.DEFAULT]
    covered = covered_by(default, own.sigalgs)
    for v in wanted:
        if v is Variant.DEFAULT:
            continue
        if default.failure in STOP_AFTER_DEFAULT:
            decided[(index, v)] = Handshake(
                variant=v,
                completed=False,
                failure=Outcome.SKIPPED,
                detail="the default offer got no TLS answer",
            )
        elif v in covered:
            decided[(index, v)] = replace(default, variant=v, same_as=Variant.DEFAULT)
        else:
            to_send.append((index, v))
    return decided, to_send


def _run_handshakes(
    run: _Run, wanted: Sequence[Variant], workers: int, progress: ProgressFn | None
) -> dict[Key, Handshake]:
    """Every handshake of the run, default offers first, until all are in or the deadline passes.

    Handshakes still going or queued at the deadline are not waited for: they come back as
    timeouts. The loop makes at most one ``poll`` per wake-up and wakes up only for a socket that
    is ready or a deadline that passed, so it is bounded by the number of handshakes and by time.
    """
    results: dict[Key, Handshake] = {}
    total = len(run.targets) * len(wanted)
    loop = _Loop(run=run, workers=workers)
    loop.queued.extend((i, Variant.DEFAULT) for i in range(len(run.targets)))
    try:
        while True:
            loop.start_queued()
            for key, hs in loop.finished:
                results[key] = hs
                index, variant = key
                if variant is Variant.DEFAULT:
                    decided, to_send = _follow_ups(run, index, hs, wanted)
                    results.update(decided)
                    loop.queued.extend(to_send)
                if progress is not None:
                    progress(len(results), total)
            if loop.finished:
                loop.finished.clear()
                continue  # new follow-ups may start now
            if not loop.waiting or time.monotonic() >= run.deadline:
                break
            loop.wait_once()
    finally:
        in_flight = loop.abandon()
    for key in in_flight:
        results[key] = _deadline_passed(key[1], run.timeouts)
    for key in loop.queued:
        results[key] = _deadline_passed(key[1], run.timeouts, waiting_for_slot=True)
    return results


def _endpoint_reports(
    run: _Run,
    results: dict[Key, Handshake],
    wanted: Sequence[Variant],
    profile: ClientProfile,
    *,
    trust: TrustStore | None,
    now: dt.datetime,
    known: Sequence[x509.Certificate],
) -> tuple[EndpointReport, ...]:
    """Judge each target's handshakes, in the order of the targets."""
    reports: list[EndpointReport] = []
    verdicts: dict[tuple[tuple[str, ...], str], Verdict] = {}
    for i, target in enumerate(run.targets):
        seen = {
            v: results[(i, v)] if (i, v) in results else _deadline_passed(v, run.timeouts)
            for v in wanted
        }
        observations = tuple(
            observe_handshake(
                refused_offer(seen[v], seen[Variant.DEFAULT]),
                target,
                profile,
                trust=trust,
                now=now,
                known=known,
                verdicts=verdicts,
            )
            for v in wanted
        )
        reports.append(
            EndpointReport(
                target=target,
                default=observations[0],
                observations=observations,
                identities=_identities(observations),
            )
        )
    return tuple(reports)


def probe_endpoints(
    targets: Sequence[ProbeTarget],
    profile: ClientProfile,
    *,
    trust: TrustStore | None,
    now: dt.datetime | None = None,
    timeouts: Timeouts | None = None,
    variants: Sequence[Variant] = ALL_VARIANTS,
    workers: int = 16,
    per_host: int = 4,
    known: Iterable[x509.Certificate] = (),
    progress: ProgressFn | None = None,
) -> tuple[EndpointReport, ...]:
    """Probe every target as Expressway-C would, and find every identity each one has.

    ``trust`` is Expressway-C's trusted CA list (None: chains are not judged, names and validity
    are). ``now`` is the evaluation time (default: now, UTC). At most ``workers`` handshakes run at
    once, at most ``per_host`` to one address. Nothing raises for a network problem: it becomes
    an outcome. Raises :class:`InputError` when the profile cannot be turned into an offer.
    Reports come back in the order of ``targets``.
    """
    timeouts = timeouts or Timeouts()
    now = now or dt.datetime.now(dt.UTC)
    if workers < 1 or per_host < 1:
        raise InputError("workers and per-host limit must be at least 1")
    wanted = tuple(dict.fromkeys((Variant.DEFAULT, *variants)))
    run = _Run.start(targets, profile, wanted, timeouts, per_host)
    results = _run_handshakes(run, wanted, workers, progress)
    reports = _endpoint_reports(
        run, results, wanted, profile, trust=trust, now=now, known=tuple(known)
    )
    if progress is not None:
        total = len(targets) * len(wanted)
        progress(total, total)
    return reports
