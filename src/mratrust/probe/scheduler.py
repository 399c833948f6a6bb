"""The bounded run: handshakes in a thread pool, per-address slots and one overall deadline.

:func:`probe_endpoints` runs blocking pyOpenSSL handshakes in a bounded thread pool, at most
``per_host`` at a time to one address, each under the limits of :class:`Timeouts`, and the whole
run under ``timeouts.overall``. Per endpoint it makes the default offer first (what Expressway-C
gets) and then, unless the endpoint did not answer at all, the forced offers that bring out
every identity the server holds (RSA and ECDSA under TLS 1.2 and 1.3), except those whose answer
the default handshake already is (:func:`covered_by`). Results come back in input
order, as frozen data: the audit turns them into evidence and findings.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from cryptography import x509

from mratrust.errors import InputError
from mratrust.pki.facts import KeyType, facts
from mratrust.pki.verify import TrustStore
from mratrust.probe.client import ALL_VARIANTS, ClientProfile, Offer, Variant, build_offers
from mratrust.probe.handshake import Handshake, Phase, Resolved, Timeouts, handshake
from mratrust.probe.outcome import Outcome
from mratrust.probe.target import ProbeTarget
from mratrust.probe.verdict import (
    EndpointReport,
    Verdict,
    _identities,
    observe_handshake,
    refused_offer,
)
from mratrust.threads import leave_signals_to_main
from mratrust.topology import Transport

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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """What every handshake of one run shares: the offers, the per-address slots, the deadline."""

    targets: Sequence[ProbeTarget]
    offers: dict[Transport, dict[Variant, Offer]]
    """The default offer differs by transport (TLS 1.3 signature order): one set per transport."""
    slots: dict[str, threading.BoundedSemaphore]
    timeouts: Timeouts
    deadline: float
    """time.monotonic() value after which nothing more is started or waited for."""
    resolved: Resolved
    """Each endpoint's addresses, resolved once (by its default offer) for all its offers."""

    @classmethod
    def start(
        cls,
        targets: Sequence[ProbeTarget],
        profile: ClientProfile,
        wanted: Sequence[Variant],
        timeouts: Timeouts,
        per_host: int,
    ) -> _Run:
        offers = {
            transport: build_offers(profile, wanted, transport=transport)
            for transport in dict.fromkeys(t.leg.transport for t in targets)
        }
        return cls(
            targets=targets,
            offers=offers,
            slots={t.connect_host: threading.BoundedSemaphore(per_host) for t in targets},
            timeouts=timeouts,
            deadline=time.monotonic() + timeouts.overall,
            resolved={},
        )

    def handshake(self, index: int, variant: Variant) -> Handshake:
        """One handshake, inside a slot of its address (an offer without a context is not sent)."""
        target = self.targets[index]
        offer = self.offers[target.leg.transport][variant]

        def connect() -> Handshake:
            return handshake(
                target.connect_host,
                target.port,
                offer=offer,
                server_name=target.server_name,
                timeouts=self.timeouts,
                deadline=self.deadline,
                resolved=self.resolved,
            )

        if offer.context is None:
            return connect()
        slot = self.slots[target.connect_host]
        if not slot.acquire(timeout=max(self.deadline - time.monotonic(), 0)):
            return _deadline_passed(variant, self.timeouts, waiting_for_slot=True)
        try:
            return connect()
        finally:
            slot.release()

    def task(
        self, index: int, variant: Variant, done: queue.SimpleQueue[tuple[Key, Handshake]]
    ) -> None:
        """Run one handshake on a pool thread and hand its result to the loop."""
        try:
            hs = self.handshake(index, variant)
        except Exception as exc:  # a bug, not the network: still report, never hang the run
            hs = Handshake(
                variant=variant,
                completed=False,
                failure=Outcome.TLS_ERROR,
                phase=Phase.HANDSHAKE,
                detail=f"{type(exc).__name__}: {exc}",
            )
        done.put(((index, variant), hs))


def _follow_ups(
    run: _Run, index: int, default: Handshake, wanted: Sequence[Variant]
) -> tuple[dict[Key, Handshake], list[Key]]:
    """After the default offer: the forced offers already decided (skipped when nobody answered
    TLS, or answered by the default handshake itself) and those still to send."""
    decided: dict[Key, Handshake] = {}
    to_send: list[Key] = []
    own = run.offers[run.targets[index].leg.transport][Variant.DEFAULT]
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

    Handshakes still pending at the deadline are not waited for: they come back as timeouts.
    """
    results: dict[Key, Handshake] = {}
    total = len(run.targets) * len(wanted)
    done: queue.SimpleQueue[tuple[Key, Handshake]] = queue.SimpleQueue()
    pool = ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="mratrust-probe", initializer=leave_signals_to_main
    )
    pending: dict[Key, Future[None]] = {}

    def submit(key: Key) -> None:
        pending[key] = pool.submit(run.task, *key, done)

    try:
        for i in range(len(run.targets)):
            submit((i, Variant.DEFAULT))
        while pending:
            remaining = run.deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                key, hs = done.get(timeout=remaining)
            except queue.Empty:
                break
            pending.pop(key, None)
            results[key] = hs
            index, variant = key
            if variant is Variant.DEFAULT:
                decided, to_send = _follow_ups(run, index, hs, wanted)
                results.update(decided)
                for follow in to_send:
                    submit(follow)
            if progress is not None:
                progress(len(results), total)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for key in pending:
        results[key] = _deadline_passed(key[1], run.timeouts)
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
