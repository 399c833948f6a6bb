"""Path validation as Expressway and CUCM do it, with every reason reported and classified.

Path building follows the way Expressway looks up its trusted CA list: by subject, stopping at the
first match (so an older entry with the same subject and another key shadows the right one), and up
to a self-signed root in the store (an intermediate alone is not enough, as with OpenSSL). The
signatures and the structure of the path found are then checked by ``cryptography``'s verifier with
relaxed extension policies (enterprise CAs without critical basicConstraints, CUCM's self-signed
identities with CA:TRUE). Names, EKU, keys, signatures and validity are checked here, so that every
problem is reported, not only the first one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field
from enum import Enum
from functools import lru_cache
from operator import attrgetter

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509 import verification as xv

from mratrust.pki.facts import CertFacts, KeyType, NameMatch, dn, facts, index_key, match_name
from mratrust.pki.load import LoadedCert
from mratrust.values import frozen

MAX_DEPTH = 8
WEAK_HASHES = frozenset({"md5", "sha1", "md2", "md4"})


class Purpose(Enum):
    SERVER = "server"
    CLIENT = "client"


class Reason(Enum):
    """Why a path does not validate (or validates with a warning)."""

    UNTRUSTED_ROOT = "untrusted-root"
    MISSING_INTERMEDIATE = "missing-intermediate"
    UNKNOWN_ISSUER = "unknown-issuer"
    SHADOWED = "shadowed"
    BAD_SIGNATURE = "bad-signature"
    CHAIN_REJECTED = "chain-rejected"
    NAME_MISMATCH = "name-mismatch"
    CN_FALLBACK = "cn-fallback"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    EKU = "eku"
    WEAK_KEY = "weak-key"
    WEAK_SIGNATURE = "weak-signature"


TRUST_REASONS = frozenset(
    {
        Reason.UNTRUSTED_ROOT,
        Reason.MISSING_INTERMEDIATE,
        Reason.UNKNOWN_ISSUER,
        Reason.SHADOWED,
        Reason.BAD_SIGNATURE,
        Reason.CHAIN_REJECTED,
    }
)


@frozen
class Problem:
    """One reason, with the certificate it is about and whether it breaks the path."""

    reason: Reason
    message: str
    fatal: bool = True
    subject: str | None = None
    fingerprint: str | None = None
    detail: tuple[tuple[str, str], ...] = ()


def _key(name: x509.Name | str) -> str:
    return name if isinstance(name, str) else dn(name)


class TrustStore:
    """An ordered list of trusted certificates, looked up the way Expressway does.

    ``lookup`` returns the *first* entry with a given subject; later entries with the same subject
    are never seen (they are "shadowed").
    """

    __slots__ = ("_by_fp", "_by_subject", "_key", "certs", "label")

    def __init__(
        self,
        certs: Iterable[x509.Certificate | LoadedCert],
        label: str = "",
        *,
        bundle: bool = False,
    ) -> None:
        """``bundle``: a large root bundle (Mozilla's roots) of which a path reaches a few
        entries at most: entries are indexed by their name and fingerprint alone, and their other
        facts computed only when a path reaches them."""
        items = tuple(c.cert if isinstance(c, LoadedCert) else c for c in certs)
        self.certs: tuple[x509.Certificate, ...] = items
        self.label = label
        self._by_subject: dict[str, list[x509.Certificate]] = {}
        keys = [index_key(c) if bundle else (facts(c).subject, facts(c).fingerprint) for c in items]
        for c, (subject, _) in zip(items, keys, strict=True):
            self._by_subject.setdefault(subject, []).append(c)
        self._key: tuple[str, ...] = tuple(fp for _, fp in keys)
        self._by_fp: set[str] = set(self._key)

    @property
    def key(self) -> tuple[str, ...]:
        """A hashable identity of the store's content and order."""
        return self._key

    def lookup(self, subject: x509.Name | str) -> x509.Certificate | None:
        """The first entry with this subject (a DN string as facts() writes it, or a Name)."""
        found = self._by_subject.get(_key(subject))
        return found[0] if found else None

    def all_with_subject(self, subject: x509.Name | str) -> tuple[x509.Certificate, ...]:
        return tuple(self._by_subject.get(_key(subject), ()))

    def contains(self, cert: x509.Certificate) -> bool:
        return facts(cert).fingerprint in self._by_fp

    def may_anchor(self, presented: Iterable[x509.Certificate]) -> bool:
        """Could a path from ``presented`` reach this store at all?

        Every path :func:`validate` builds reaches the store through a lookup of the issuer of a
        presented certificate (of a self-signed one: itself); when the store holds none of those
        subjects, no path is trusted. A cheap negative test for callers that only need
        ``trusted`` and ``anchor``.
        """
        return any(facts(c).issuer in self._by_subject for c in presented)

    def duplicate_subjects(self) -> tuple[tuple[x509.Certificate, ...], ...]:
        """Groups of two or more entries sharing a subject, in store order."""
        return tuple(tuple(v) for v in self._by_subject.values() if len(v) > 1)

    def __len__(self) -> int:
        return len(self.certs)


@frozen
class PathResult:
    """The verdict on one presented chain."""

    chain: tuple[x509.Certificate, ...]
    """The path as built, leaf first (up to where it stopped when it failed)."""
    trusted: bool
    """A path to a trusted root was found and its signatures and structure hold."""
    problems: tuple[Problem, ...]
    name_match: NameMatch | None = None
    missing_issuer: str | None = None
    missing: tuple[str, ...] = ()
    """Subjects of every CA certificate the store lacks, leaf side first, when known."""
    missing_certs: tuple[x509.Certificate, ...] = ()
    """Certificates known elsewhere in the inventory that would complete the path if trusted."""
    shadowing: tuple[x509.Certificate, ...] = ()
    """Store entries that hide the right certificate (same subject, another key)."""
    anchor: x509.Certificate | None = None
    checked_name: str | None = None
    leaf: x509.Certificate | None = field(default=None)

    @property
    def ok(self) -> bool:
        return not any(p.fatal for p in self.problems)

    def reasons(self) -> frozenset[Reason]:
        return frozenset(p.reason for p in self.problems)

    def fatal_problems(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.fatal)


@lru_cache(maxsize=65536)
def issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``issuer`` names and signs ``child`` (signature checked; remembered)."""
    if facts(child).issuer != facts(issuer).subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def order_chain(presented: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """Put a presented chain in leaf-first order (any order in, duplicates dropped)."""
    if len(presented) <= 1:  # a leaf alone (most files): nothing to order, nor to hash
        return tuple(presented)
    unique = list(dict.fromkeys(presented))  # certificates hash and compare by DER
    if len(unique) <= 1:
        return tuple(unique)
    issuers = {facts(c).issuer for c in unique if facts(c).issuer != facts(c).subject}
    leaves = [c for c in unique if facts(c).subject not in issuers]
    leaf = next((c for c in leaves if not facts(c).is_ca), leaves[0] if leaves else unique[0])
    ordered = [leaf]
    rest = [c for c in unique if c is not leaf]
    current = leaf
    while rest:
        nxt = next((c for c in rest if facts(c).subject == facts(current).issuer), None)
        if nxt is None or facts(current).issuer == facts(current).subject:
            break
        ordered.append(nxt)
        rest.remove(nxt)
        current = nxt
    ordered.extend(rest)
    return tuple(ordered)


def _when(d: dt.datetime) -> str:
    return d.strftime("%Y-%m-%d %H:%M UTC")


def _ca_policy() -> xv.ExtensionPolicy:
    return xv.ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, xv.Criticality.AGNOSTIC, None
    )


_CA_POLICY = _ca_policy()
_EE_POLICY = xv.ExtensionPolicy.permit_all()


def _structure_time(path: Sequence[x509.Certificate], now: dt.datetime) -> dt.datetime:
    """``now`` if every certificate is valid then, else a moment inside all validity windows.

    Validity is reported separately, so the structural check must not fail because of it.
    """
    known = list(map(facts, path))
    start: dt.datetime = max(map(_NOT_BEFORE, known))
    end: dt.datetime = min(map(_NOT_AFTER, known))
    if start <= now <= end:
        return now
    if start <= end:
        return start
    return now


_NOT_BEFORE = attrgetter("not_before")
_NOT_AFTER = attrgetter("not_after")

_VERIFIERS: dict[tuple[str, dt.datetime], xv.ClientVerifier] = {}
_VERIFIERS_LIMIT = 1024


def _verifier(anchor: x509.Certificate, when: dt.datetime) -> xv.ClientVerifier:
    """cryptography's verifier trusting ``anchor`` alone at ``when`` (the policies are fixed).

    One per anchor and moment: an audit checks hundreds of paths up to the same few anchors at
    the same time, and a verifier made once checks each of them about a sixth faster than a new
    one (it holds no state between calls, so sharing it changes no verdict). Looked up by the
    anchor's fingerprint (its DER's digest, remembered), not by the certificate, which hashes
    its whole DER on every lookup.
    """
    key = (facts(anchor).fingerprint, when)
    found = _VERIFIERS.get(key)
    if found is None:
        if len(_VERIFIERS) >= _VERIFIERS_LIMIT:
            _VERIFIERS.clear()
        found = _VERIFIERS[key] = (
            xv.PolicyBuilder()
            .store(xv.Store([anchor]))
            .time(when)
            .max_chain_depth(MAX_DEPTH)
            .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
            .build_client_verifier()
        )
    return found


_CHECKED: dict[tuple[tuple[str, ...], dt.datetime], str | None] = {}
_CHECKED_LIMIT = 16384
_FINGERPRINT = attrgetter("fingerprint")


def _structure_check(path: tuple[x509.Certificate, ...], when: dt.datetime) -> str | None:
    """Run cryptography's verifier over exactly this path; None when it is accepted.

    The verdict is remembered per path and moment: by the fingerprints of the path's
    certificates (their DER's digests, remembered), the verdict depending on their content
    alone, not by the certificates, which hash their whole DER on every lookup.
    """
    key = (tuple(map(_FINGERPRINT, map(facts, path))), when)
    try:
        return _CHECKED[key]
    except KeyError:  # once per path: not worth a second lookup on every hit
        pass
    found: str | None
    try:
        _verifier(path[-1], when).verify(path[0], list(path[1:-1]))
    except xv.VerificationError as exc:
        found = str(exc)
    except ValueError as exc:
        found = str(exc)
    else:
        found = None
    if len(_CHECKED) >= _CHECKED_LIMIT:
        _CHECKED.clear()
    _CHECKED[key] = found
    return found


def clear_caches() -> None:
    """Forget every remembered verdict, verifier and signature check (a benchmark's cold run)."""
    _CHECKED.clear()
    _CA_PROBLEMS.clear()
    _VERIFIERS.clear()
    issued_by.cache_clear()


def _check_path(path: Sequence[x509.Certificate], now: dt.datetime) -> str | None:
    """cryptography's verdict on the path's structure and signatures (None: accepted).

    A trust anchor without basicConstraints (an old v1-style root) is accepted by OpenSSL but not
    by cryptography's verifier: its signature over the next certificate is checked here, and the
    verifier judges the rest of the path, anchored one step lower.
    """
    if len(path) > 1 and facts(path[-1]).is_ca is None:
        if not issued_by(path[-2], path[-1]):
            return f"the signature of {facts(path[-2]).subject} does not verify"
        path = path[:-1]
        if len(path) == 1:
            return None
    return _structure_check(tuple(path), _structure_time(path, now))


_Index = dict[str, list[x509.Certificate]]


def _subject_index(certs: Iterable[x509.Certificate]) -> _Index:
    index: _Index = {}
    for c in certs:
        index.setdefault(facts(c).subject, []).append(c)
    return index


_KNOWN: list[tuple[tuple[x509.Certificate, ...], _Index]] = []
"""The subject index of the last ``known`` tuple (an audit passes the same one to every
validation; the entry keeps it alive, so its identity is not reused)."""


def _known_index(known: Iterable[x509.Certificate]) -> _Index:
    if not isinstance(known, tuple):
        return _subject_index(known)
    if _KNOWN and _KNOWN[0][0] is known:
        return _KNOWN[0][1]
    index = _subject_index(known)
    _KNOWN[:] = [(known, index)]
    return index


def forget_known(known: tuple[x509.Certificate, ...]) -> None:
    """Drop the subject index of ``known`` if it is the one remembered (its audit is done)."""
    if _KNOWN and _KNOWN[0][0] is known:
        _KNOWN.clear()


Known = Iterable[x509.Certificate] | Callable[[], Iterable[x509.Certificate]]
"""Certificates known elsewhere, or what gives them when first needed (a failed path)."""


class _Catalogue:
    """Certificates known elsewhere in the inventory, used only to classify what is missing."""

    def __init__(self, known: Known, store: TrustStore) -> None:
        self._known = known
        self._store = store
        self._index: _Index | None = None

    def candidates(self, subject: str) -> tuple[x509.Certificate, ...]:
        """Certificates with this subject: the known ones first, then the store's entries."""
        if self._index is None:  # built on first use: only failed paths need it
            known = self._known
            self._index = _known_index(known() if callable(known) else known)
        return (*self._index.get(subject, ()), *self._store.all_with_subject(subject))

    def issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        for cand in self.candidates(facts(cert).issuer):
            if issued_by(cert, cand):
                return cand
        return None


def _missing_up(
    start: x509.Certificate, catalogue: _Catalogue | None, store: TrustStore
) -> tuple[list[str], bool]:
    """Subjects missing above ``start`` as far as the catalogue knows (up to the first one the
    store holds); True if the walk reaches a root."""
    missing = [facts(start).issuer]
    if catalogue is None:  # pragma: no cover - validate always builds one
        return missing, False
    current = start
    for _ in range(MAX_DEPTH):
        issuer = catalogue.issuer_of(current)
        if issuer is None:
            return missing, False
        if facts(issuer).self_signed:
            return missing, True
        if _store_has_issuer(issuer, store):
            return missing, True
        missing.append(facts(issuer).issuer)
        current = issuer
    return missing, False


def _store_has_issuer(cert: x509.Certificate, store: TrustStore) -> bool:
    entry = store.lookup(facts(cert).issuer)
    return entry is not None and issued_by(cert, entry)


def plausibly_issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Names and key identifiers agree (no signature check: the verifier does that once)."""
    cf, isf = facts(child), facts(issuer)
    if cf.issuer != isf.subject:
        return False
    aki, ski = cf.aki, isf.ski
    return aki is None or ski is None or aki == ski


def _build(
    chain: tuple[x509.Certificate, ...],
    store: TrustStore,
    catalogue: _Catalogue | None,
    *,
    signatures: bool = True,
) -> tuple[list[x509.Certificate], bool, list[Problem], tuple[str, ...]]:
    """Walk up from the leaf: presented certificates and the store's first subject match.

    With ``signatures`` off, links are judged by names and key identifiers only: the fast path,
    whose result the verifier then checks; the careful walk runs only when that fails.
    """
    linked = issued_by if signatures else plausibly_issued_by
    leaf = chain[0]
    path = [leaf]
    problems: list[Problem] = []
    presented = list(chain[1:])
    current = leaf
    for _ in range(MAX_DEPTH + 1):
        cf = facts(current)
        if cf.self_signed:
            entry = store.lookup(cf.subject)
            if entry is not None and facts(entry).fingerprint == cf.fingerprint:
                return path, True, problems, ()
            if entry is not None:
                # the lookup by subject stops at another certificate with this name
                problems.append(_shadow_problem(current, entry, store))
                return path, False, problems, (cf.subject,)
            problems.append(
                Problem(
                    reason=Reason.UNTRUSTED_ROOT,
                    message=f"the self-signed {'certificate' if current is leaf else 'root'} "
                    f"{cf.subject} is not in the trust store",
                    subject=cf.subject,
                    fingerprint=cf.fingerprint,
                )
            )
            return path, False, problems, (cf.subject,)
        entry = store.lookup(cf.issuer)
        # another certificate than ``current`` (compared by fingerprint: comparing certificates
        # compares their whole DER)
        if (
            entry is not None
            and entry is not current
            and facts(entry).fingerprint != cf.fingerprint
        ):
            if linked(current, entry):
                path.append(entry)
                current = entry
                if facts(entry).self_signed:
                    return path, True, problems, ()
                continue
            problems.append(_shadow_problem(current, entry, store, issuer=True))
            return path, False, problems, (cf.issuer,)
        nxt = next((c for c in presented if linked(current, c)), None)
        if nxt is not None:
            presented.remove(nxt)
            path.append(nxt)
            current = nxt
            continue
        # nothing signs ``current``: say what is missing, and whether it is a root
        missing, _ = _missing_up(current, catalogue, store)
        issuer_dn = cf.issuer
        known_issuer = catalogue.issuer_of(current) if catalogue is not None else None
        has_known_issuer = known_issuer is not None
        if known_issuer is not None and facts(known_issuer).self_signed:
            reason = Reason.UNTRUSTED_ROOT
            text = f"the root {issuer_dn} is not in the trust store"
        elif has_known_issuer:
            reason = Reason.MISSING_INTERMEDIATE
            text = f"the intermediate {issuer_dn} is neither presented nor in the trust store" + (
                f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else ""
            )
        elif current is not leaf:
            reason = Reason.UNTRUSTED_ROOT
            text = f"the issuer {issuer_dn} of {facts(current).subject} is not in the trust store"
        else:
            reason = Reason.UNKNOWN_ISSUER
            text = f"the issuer {issuer_dn} is neither presented nor in the trust store"
        problems.append(
            Problem(
                reason=reason,
                message=text,
                subject=facts(current).subject,
                fingerprint=facts(current).fingerprint,
                detail=(("missing_issuer", issuer_dn),),
            )
        )
        return path, False, problems, tuple(missing)
    problems.append(Problem(reason=Reason.CHAIN_REJECTED, message="the chain is too long"))
    return path, False, problems, ()


def _shadow_problem(
    cert: x509.Certificate, entry: x509.Certificate, store: TrustStore, *, issuer: bool = False
) -> Problem:
    dn = facts(cert).issuer if issuer else facts(cert).subject
    subject = dn
    later = store.all_with_subject(subject)[1:]
    right = next(
        (
            c
            for c in later
            if (issued_by(cert, c) if issuer else facts(c).fingerprint == facts(cert).fingerprint)
        ),
        None,
    )
    if right is not None:
        return Problem(
            reason=Reason.SHADOWED,
            message=f"the trust store holds {dn} more than once; the lookup stops at the first "
            f"entry ({facts(entry).fingerprint[:19]}…, another key), so the right one "
            f"({facts(right).fingerprint[:19]}…) is never used",
            subject=dn,
            fingerprint=facts(entry).fingerprint,
            detail=(
                ("shadowing", facts(entry).fingerprint),
                ("shadowed", facts(right).fingerprint),
            ),
        )
    return Problem(
        reason=Reason.BAD_SIGNATURE,
        message=f"the trust store's {dn} ({facts(entry).fingerprint[:19]}…) has the right name "
        "but not the key that signed this certificate",
        subject=dn,
        fingerprint=facts(entry).fingerprint,
        detail=(("missing_issuer", dn),),
    )


def _remedy(
    path: Sequence[x509.Certificate], store: TrustStore, catalogue: _Catalogue | None
) -> tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...]]:
    """What would complete a failed path: known certificates to add, entries hiding them."""
    needed: list[x509.Certificate] = []
    current = path[-1]
    if facts(current).self_signed:
        needed.append(current)
    else:
        for _ in range(MAX_DEPTH):
            issuer = catalogue.issuer_of(current) if catalogue is not None else None
            if issuer is None:
                break
            needed.append(issuer)
            if facts(issuer).self_signed:
                break
            current = issuer
    shadowing: list[x509.Certificate] = []
    for cert in needed:
        first = store.lookup(facts(cert).subject)
        if first is not None and facts(first).fingerprint != facts(cert).fingerprint:
            shadowing.append(first)
    missing = tuple(c for c in needed if not store.contains(c))
    return missing, tuple(shadowing)


def _leaf_checks(
    leaf: CertFacts, name: str | None, purpose: Purpose | None, cn_fallback: bool
) -> tuple[list[Problem], NameMatch | None]:
    problems: list[Problem] = []
    match: NameMatch | None = None
    if name is not None:
        match = match_name(leaf, name, cn_fallback=cn_fallback)
        names = ", ".join(leaf.names) or "none"
        if match is NameMatch.NONE:
            problems.append(
                Problem(
                    reason=Reason.NAME_MISMATCH,
                    message=f"{name} is not in the SAN of {leaf.subject} (SAN: {names}"
                    + (f"; CN: {leaf.common_name}" if leaf.common_name else "")
                    + ")",
                    subject=leaf.subject,
                    fingerprint=leaf.fingerprint,
                    detail=(("expected", name), ("san", names)),
                )
            )
        elif match is NameMatch.CN_FALLBACK:
            problems.append(
                Problem(
                    reason=Reason.CN_FALLBACK,
                    message=f"{name} matches only the CN of {leaf.subject}, not its SAN "
                    f"(SAN: {names}); accepted on UC-node legs, but reissue with the name in "
                    "the SAN",
                    fatal=False,
                    subject=leaf.subject,
                    fingerprint=leaf.fingerprint,
                )
            )
    if purpose is not None and leaf.has_key_usage and not _TLS_USES & set(leaf.key_usage):
        problems.append(
            Problem(
                reason=Reason.EKU,
                message=f"{leaf.subject} has keyUsage "
                f"{', '.join(leaf.key_usage) or '(none)'}, which allows no TLS use "
                "(digitalSignature or keyEncipherment)",
                subject=leaf.subject,
                fingerprint=leaf.fingerprint,
            )
        )
    if purpose is not None:
        wanted = "serverAuth" if purpose is Purpose.SERVER else "clientAuth"
        ok = leaf.server_auth if purpose is Purpose.SERVER else leaf.client_auth
        if not ok:
            problems.append(
                Problem(
                    reason=Reason.EKU,
                    message=f"{leaf.subject} has EKU {', '.join(leaf.eku)} without {wanted}",
                    subject=leaf.subject,
                    fingerprint=leaf.fingerprint,
                )
            )
    return problems, match


def _weak_key(f: CertFacts) -> str | None:
    """What is too weak about a key, or None."""
    key = f.key
    if key.type is KeyType.RSA and key.bits < 2048:
        return f"a {key.bits}-bit RSA key (2048 at least)"
    if key.type is KeyType.ECDSA and key.bits < 256:
        return f"a {key.bits}-bit ECDSA key ({key.curve}; P-256 at least)"
    if key.type is KeyType.OTHER and key.curve in ("dsa", "undecodable"):
        return "a DSA key (use RSA or ECDSA)" if key.curve == "dsa" else "a key that cannot be read"
    return None


_TLS_USES = frozenset({"digital_signature", "key_encipherment", "key_agreement"})


def _cert_checks(path: Sequence[x509.Certificate], now: dt.datetime) -> list[Problem]:
    """The problems of each certificate of ``path`` on its own (validity, key, extensions,
    signature algorithm), leaf first.

    Those of a CA are remembered per certificate and moment: hundreds of paths of an audit go
    through the same few intermediates and roots (a problem is a frozen value: sharing it
    changes nothing).
    """
    problems = _cert_problems(facts(path[0]), True, now)
    for cert in path[1:]:
        f = facts(cert)
        key = (f.fingerprint, now)
        found = _CA_PROBLEMS.get(key)
        if found is None:
            if len(_CA_PROBLEMS) >= _CA_PROBLEMS_LIMIT:
                _CA_PROBLEMS.clear()
            found = _CA_PROBLEMS[key] = tuple(_cert_problems(f, False, now))
        problems.extend(found)
    return problems


_CA_PROBLEMS: dict[tuple[str, dt.datetime], tuple[Problem, ...]] = {}
_CA_PROBLEMS_LIMIT = 4096


def _cert_problems(f: CertFacts, leaf: bool, now: dt.datetime) -> list[Problem]:
    """The problems of one certificate of a path (``leaf``: the first one) at ``now``."""
    problems: list[Problem] = []
    role = "certificate" if leaf else ("root" if f.self_signed else "intermediate")

    def add(reason: Reason, what: str) -> None:
        problems.append(
            Problem(
                reason=reason,
                message=f"the {role} {f.subject} {what}",
                subject=f.subject,
                fingerprint=f.fingerprint,
            )
        )

    if now > f.not_after:
        add(Reason.EXPIRED, f"expired on {_when(f.not_after)}")
    elif now < f.not_before:
        add(Reason.NOT_YET_VALID, f"is not valid before {_when(f.not_before)}")
    weak = _weak_key(f)
    if weak is not None:
        add(Reason.WEAK_KEY, f"has {weak}")
    if f.malformed is not None:
        add(
            Reason.CHAIN_REJECTED,
            f"has extensions that cannot be decoded ({f.malformed}); OpenSSL rejects it",
        )
    if not leaf and f.has_key_usage and "key_cert_sign" not in f.key_usage:
        add(
            Reason.CHAIN_REJECTED,
            f"may not sign certificates (its keyUsage {', '.join(f.key_usage) or 'empty'} "
            "lacks keyCertSign)",
        )
    if not f.self_signed and (f.signature_hash or "").lower() in WEAK_HASHES:
        add(Reason.WEAK_SIGNATURE, f"is signed with {f.signature_hash}")
    return problems


def validate(
    presented: Sequence[x509.Certificate],
    store: TrustStore,
    *,
    now: dt.datetime,
    name: str | None = None,
    purpose: Purpose | None = None,
    cn_fallback: bool = True,
    known: Known = (),
) -> PathResult:
    """Validate ``presented`` (any order) against ``store`` for ``name`` at ``now``.

    ``known`` are other certificates the caller knows (the rest of the inventory): they are never
    trusted, they only help to say whether a missing issuer is a root or an intermediate. It may
    be a function giving them, called only when a path fails (a passing path never needs them).
    """
    if not presented:
        raise ValueError("validate needs at least one certificate")
    chain = order_chain(presented)
    catalogue = _Catalogue(known, store)
    path, reached, problems, missing = _build(chain, store, catalogue, signatures=False)
    verdict = _check_path(path, now) if reached else None
    if not reached or verdict is not None:
        # the careful walk, with every signature checked, says exactly what is wrong
        path, reached, problems, missing = _build(chain, store, catalogue)
        verdict = _check_path(path, now) if reached else None
    leaf = facts(chain[0])
    trusted = reached
    if reached and verdict is not None:
        trusted = False
        problems.append(
            Problem(
                reason=Reason.CHAIN_REJECTED,
                message=f"the path to {facts(path[-1]).subject} is rejected: {verdict}",
                subject=leaf.subject,
                fingerprint=leaf.fingerprint,
            )
        )
    missing_certs: tuple[x509.Certificate, ...] = ()
    shadowing: tuple[x509.Certificate, ...] = ()
    if not reached:
        missing_certs, shadowing = _remedy(path, store, catalogue)
    leaf_problems, match = _leaf_checks(leaf, name, purpose, cn_fallback)
    if match is NameMatch.CN_FALLBACK and any(facts(c).name_constrained for c in path[1:]):
        # name constraints apply to the SAN; a CN-only match would slip past them
        leaf_problems = [p for p in leaf_problems if p.reason is not Reason.CN_FALLBACK]
        leaf_problems.append(
            Problem(
                reason=Reason.NAME_MISMATCH,
                message=f"{name} matches only the CN of {leaf.subject}, and a CA above it "
                "constrains names: the CN fallback is not accepted there; put the name in the SAN",
                subject=leaf.subject,
                fingerprint=leaf.fingerprint,
            )
        )
        match = NameMatch.NONE
    problems.extend(leaf_problems)
    problems.extend(_cert_checks(path, now))
    return PathResult(
        chain=tuple(path),
        trusted=trusted,
        problems=tuple(problems),
        name_match=match,
        missing_issuer=missing[0] if missing else None,
        missing=missing,
        missing_certs=missing_certs,
        shadowing=shadowing,
        anchor=path[-1] if reached else None,
        checked_name=name,
        leaf=chain[0],
    )
