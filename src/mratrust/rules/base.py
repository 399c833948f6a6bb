"""What every rule gets: the audit context, the rule registry and a few finding helpers.

A rule is a pure function ``(AuditContext) -> Iterable[Finding]`` registered under its stable ID.
It reads the deployment, the behaviour of the Expressway version and the time from the context,
and yields one finding per subject it applies to, passes included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography import x509

from mratrust.ciphers import EffectiveCiphers, effective
from mratrust.model import (
    Deployment,
    EvidenceValue,
    Finding,
    Node,
    Peer,
    Severity,
    Status,
    Subject,
    UcCluster,
)
from mratrust.pki.facts import CertFacts, facts
from mratrust.pki.verify import PathResult, Purpose, TrustStore, forget_known, validate
from mratrust.sunset import SunsetPolicy
from mratrust.topology import (
    Leg,
    LegRow,
    Transport,
    UcLeg,
    expressway_c,
    legs,
    slot_twin,
)
from mratrust.topology import Purpose as TopologyPurpose
from mratrust.values import frozen
from mratrust.versions import Behaviour, UpgradePath, Verification, Version, behaviour

if TYPE_CHECKING:  # loaded when needed: fixes with the first finding that has one, live
    # handshakes with --probe
    from mratrust.fixes import Fix, UcIdentity
    from mratrust.observation import Observed

_T = TypeVar("_T")

# --------------------------------------------------------------------------- sources

KB = {
    "S1": "https://www.cisco.com/c/en/us/support/docs/unified-communications/telepresence-video-communication-server-expressway/225476-understand-mobile-and-remote-access.html",
    "S2": "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway/217743-upgrade-of-video-communication-server-v.html",
    "S11": "https://www.cisco.com/c/en/us/support/docs/field-notices/743/fn74362.html",
    "S3": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X15-0/mra/exwy_b_mra-deployment-guide-x150/exwy_m_requirements-for-mra.html",
    "S4": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X14-0/mra/exwy_b_mra-deployment-guide-14/exwy_m_basic-configuration.html",
    "S5": "https://www.cisco.com/c/en/us/support/docs/unified-communications/unified-communications-manager-version-15/222534-implement-reuse-of-multi-san-tomcat-cert.html",
    "S6": "https://www.cisco.com/c/en/us/support/docs/unified-communications/unified-communications-manager-callmanager/221070-configure-tomcat-certificate-reuse-for-c.html",
    "S7": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/cucm/admin/12_5_1SU3/adminGd/cucm_b_administration-guide-1251su3/cucm_b_test-adminguide_chapter_01111.html",
    "S10": "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway-series/222186-customize-the-expressway-ssl-cipher-conf.html",
    "S12": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/admin_guide/X15-4/exwy_b_cisco-expressway-administrator-guide-x154/exwy_m_maintenance.html",
    "S13": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/release_note/X14-0-4/exwy_b_cisco-expressway-release-note-x1404/exwy_m_about-the-documentation-x1404.html",
    "S14": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/admin_guide/X15-5/exwy_b_cisco-expressway-administrator-guide-x155/exwy_m_introduction.html",
    "S15": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X15-5/cert-creation-use/exwy_b_cisco-expressway-certificate-creation-and-use-deployment-guide-x155/exwy_m_managing-expressway-certificates.html",
    "S16": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X14-3/cert_creation_use/exwy_b_cisco-expressway-certificate-creation-and-use-deployment-guide-x14-3/exwy_m_server-certificate-requirements-for-unified.html",
    "S17": "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway/213872-configure-and-troubleshoot-collaboration.html",
    "S18": "https://www.cisco.com/c/en/us/support/docs/unified-communications/unified-communications-manager-version-15/225746-troubleshoot-common-issues-with.html",
    "S20": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X12-5/exwy_b_certificate-creation-use-deployment-guide/exwy_b_certificate-creation-use-deployment-guide_chapter_01000.html",
    "S22": "https://www.cisco.com/c/en/us/support/docs/unified-communications/jabber/215572-cisco-jabber-and-sip-oauth-mode.html",
    "S24": "https://tools.cisco.com/security/center/content/CiscoSecurityAdvisory/cisco-sa-expressway-csrf-sqpsSfY6",
    "S27": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/release_note/X14-2-5/Expressway-Select/exwy_b_cisco-expressway-select-release-note-x1425.html",
    "S28": "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway-series/225482-prepare-expressway-for-client.html",
    "S29": "https://www.cisco.com/c/en/us/support/docs/unified-communications/telepresence-video-communication-server-expressway/225693-navigate-client-eku-sunset-with.html",
    "S30": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X14-0/cert_creation_use/exwy_b_cisco-expressway-certificate-creation-and-use-deployment-guide-x14-0/exwy_b_certificate-creation-use-deployment-guide_chapter_0110.html",
    "S31": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/cucm/security/12_5_1SU3/cucm_b_security_guide_1251SU3/cucm_m_certificates.html",
    "S32": "https://www.cisco.com/c/en/us/td/docs/solutions/CVD/Collaboration/enterprise/12x/120/collbcvd/security.html",
    "S36": "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway/218018-troubleshoot-expressway-traffic-server-c.html",
}


def sources(*ids: str) -> tuple[str, ...]:
    return tuple(KB[i] for i in ids)


# --------------------------------------------------------------------------- registry


@frozen
class RuleInfo:
    """A registered rule: its stable ID, title, release, severity, sources and check."""

    id: str
    title: str
    since: str | None
    severity: Severity
    sources: tuple[str, ...]
    kb: tuple[str, ...]
    check: Callable[[AuditContext], Iterable[Finding]]
    fix: FixFn | None = None
    """How a ``fail`` or ``risk`` of this rule is fixed, from the finding: typed fixes."""


FixFn = Callable[[Finding], Iterable["Fix"]]
"""A rule's fixes for one of its failing findings, read from the finding's subject and evidence."""

RULES: dict[str, RuleInfo] = {}


def rule(
    rule_id: str,
    *,
    title: str,
    since: Version | str | None,
    severity: Severity,
    kb: tuple[str, ...] = (),
    cite: tuple[str, ...] = (),
    fix: FixFn | None = None,
) -> Callable[
    [Callable[[AuditContext], Iterable[Finding]]], Callable[[AuditContext], Iterable[Finding]]
]:
    """Register a rule function under its stable ID (IDs are never renamed or reused).

    ``since`` is a release of :data:`mratrust.versions.TIMELINE` (its constant, e.g. ``X14_2``),
    a UC feature's :attr:`~mratrust.versions.UcFeature.since`, or None.

    ``fix`` gives the typed fixes (:mod:`mratrust.fixes`) of each ``fail`` or ``risk`` finding the
    rule makes; :func:`make` attaches them, and the plan turns them into steps.
    """

    def register(
        fn: Callable[[AuditContext], Iterable[Finding]],
    ) -> Callable[[AuditContext], Iterable[Finding]]:
        if rule_id in RULES:
            raise RuntimeError(f"rule {rule_id} registered twice")
        RULES[rule_id] = RuleInfo(
            id=rule_id,
            title=title,
            since=str(since) if since is not None else None,
            severity=severity,
            sources=sources(*cite),
            kb=kb,
            check=fn,
            fix=fix,
        )
        return fn

    return register


# --------------------------------------------------------------------------- gating


class Gate(Enum):
    """Whether Expressway-C verifies the server certificate of a leg on this version."""

    VERIFIED = "verified"
    DISPUTED = "disputed"
    """X14.0.8 up to X14.2: one Cisco source says verified, three say not."""
    DISABLED = "disabled"
    """X14.2+ with xConfiguration EdgeConfigServer VerifyOriginServer: Off."""
    NOT_VERIFIED = "not-verified"


GATE_STATUS: Mapping[Gate, Status] = {
    Gate.VERIFIED: Status.FAIL,
    Gate.DISPUTED: Status.RISK,
    Gate.DISABLED: Status.WARN,
    Gate.NOT_VERIFIED: Status.INFO,
}


# --------------------------------------------------------------------------- context


@dataclass(slots=True)
class _Cache:
    """What an audit context remembers while its rules run (never part of its value)."""

    paths: dict[tuple[object, ...], PathResult] = field(default_factory=dict)
    by_id: dict[
        tuple[int, int, str | None, Purpose | None],
        tuple[tuple[x509.Certificate, ...], TrustStore, PathResult],
    ] = field(default_factory=dict)
    ciphers: dict[str, EffectiveCiphers] = field(default_factory=dict)
    known: tuple[x509.Certificate, ...] | None = None
    legs: tuple[UcLeg, ...] | None = None
    graph: tuple[Leg, ...] | None = None
    memo: dict[str, object] = field(default_factory=dict)
    behaviour: tuple[Version, Version | None, Behaviour] | None = None
    node_subjects: dict[str | None, dict[int, Subject]] = field(default_factory=dict)
    leg_subjects: dict[str, dict[int, Subject]] = field(default_factory=dict)
    multi_server: dict[int, tuple[CertFacts, bool]] = field(default_factory=dict)


@frozen
class AuditContext:
    """The deployment, the version it is judged on, and the evaluation time."""

    deployment: Deployment
    version: Version
    upgraded_from: Version | None
    now: dt.datetime
    strict_from: Version | None = None
    observed: tuple[Observed, ...] = ()
    """Live handshakes (``audit --probe``); empty offline."""
    path: UpgradePath | None = None
    """The recorded releases up to ``version`` (default: the one hop from ``upgraded_from``)."""
    sunset: SunsetPolicy | None = None
    """The public-CA clientAuth cut-off and public roots (EKU-SUNSET); None: not judged."""
    _cache: _Cache = field(default_factory=_Cache, compare=False, repr=False)

    @property
    def behaviour(self) -> Behaviour:
        hit = self._cache.behaviour  # asked for by every gate: looked up once per version
        if hit is not None and hit[0] is self.version and hit[1] is self.strict_from:
            return hit[2]
        found = behaviour(self.version, strict_from=self.strict_from)
        self._cache.behaviour = (self.version, self.strict_from, found)
        return found

    @property
    def e_version(self) -> Version | None:
        """The release Expressway-E is judged on (None: no Expressway-E in the inventory).

        Its own running version when Expressway-C is judged on its running version; the judged
        version when Expressway-C is judged on another (``--version``, ``upgrade-check --to``):
        Cisco requires both to run the same release, so they are upgraded together.
        """
        exp_e = self.deployment.expressway_e
        if exp_e is None:
            return None
        if self.version != self.deployment.expressway.version:
            return self.version
        return exp_e.version

    @property
    def e_behaviour(self) -> Behaviour | None:
        """The behaviour of Expressway-E's judged release."""
        v = self.e_version
        return None if v is None else behaviour(v, strict_from=self.strict_from)

    @property
    def every_request(self) -> bool:
        return self.behaviour.verification is Verification.EVERY_REQUEST

    @property
    def upgrade_path(self) -> UpgradePath:
        """How Expressway reached ``version``: decides the default cipher order."""
        if self.path is not None and self.path.version == self.version:
            return self.path
        return UpgradePath.of(self.version, self.upgraded_from)

    def memo(self, key: str, compute: Callable[[], _T]) -> _T:
        """A value several rules need, computed once per audit."""
        if key not in self._cache.memo:
            self._cache.memo[key] = compute()
        return self._cache.memo[key]  # type: ignore[return-value]

    def legs(self) -> tuple[UcLeg, ...]:
        """The legs Expressway-C makes to the UC nodes (:func:`mratrust.topology.c2u_legs`)."""
        if self._cache.legs is None:
            # the same values, in the same order, as c2u_legs(): taken from the graph's legs
            first = expressway_c(self.deployment)[0].id
            self._cache.legs = tuple(
                leg
                for leg in self.graph_legs()
                if isinstance(leg, UcLeg) and leg.client.id == first
            )
        return self._cache.legs

    def graph_legs(self) -> tuple[Leg, ...]:
        """Every leg of the deployment, per Expressway-C peer and in both directions."""
        if self._cache.graph is None:
            self._cache.graph = legs(self.deployment)
        return self._cache.graph

    def release(self) -> None:
        """Forget what the rules remembered (verdicts, subjects, memos): once they have run,
        what the report needs is in their findings, and the rendering of a large deployment
        reuses that memory (at 10,000 nodes some 30 MB) instead of taking more. The legs stay
        (the report's graph is drawn from them); anything asked again is worked out again, to
        the same value."""
        cache = self._cache
        if cache.known is not None:
            forget_known(cache.known)
        cache.known = None
        cache.paths = {}
        cache.by_id = {}
        cache.memo = {}
        cache.node_subjects = {}
        cache.leg_subjects = {}
        cache.multi_server = {}

    def known(self) -> tuple[x509.Certificate, ...]:
        if self._cache.known is None:
            # one per DER encoding, the first met; keyed by its (remembered) fingerprint, which
            # is cheaper than hashing the encoding of every certificate again
            first: dict[str, x509.Certificate] = {}
            for c in self.deployment.all_certificates():
                first.setdefault(facts(c).fingerprint, c)
            self._cache.known = tuple(first.values())
        return self._cache.known

    def ciphers(self, setting: str) -> EffectiveCiphers:
        """The cipher string Expressway-C uses for a setting on this version and upgrade path."""
        found = self._cache.ciphers.get(setting)
        if found is None:
            exp = self.deployment.expressway
            configured = getattr(exp.ciphers, setting)
            found = effective(
                configured,
                self.version,
                self.upgraded_from,
                path=self.upgrade_path.cipher_path(),
            )
            self._cache.ciphers[setting] = found
        return found

    def validate(
        self,
        chain: tuple[x509.Certificate, ...],
        store: TrustStore,
        *,
        name: str | None = None,
        purpose: Purpose | None = None,
    ) -> PathResult:
        """Path validation, remembered per (chain, store, name, purpose).

        Identities and stores are long-lived objects, so they are looked up by identity first
        (kept alive in the entry), then by content.
        """
        fast = (id(chain), id(store), name, purpose)
        hit = self._cache.by_id.get(fast)
        if hit is not None and hit[0] is chain and hit[1] is store:
            return hit[2]
        key = (chain_fps(chain), store.key, name, purpose)
        found = self._cache.paths.get(key)
        if found is None:
            found = validate(
                chain, store, now=self.now, name=name, purpose=purpose, known=self.known
            )
            self._cache.paths[key] = found
        self._cache.by_id[fast] = (chain, store, found)
        return found

    def multi_server(self, found: CertFacts) -> bool:
        """:attr:`~mratrust.pki.facts.CertFacts.multi_server` of a certificate's facts, worked
        out once per facts object (each node of a cluster presents its one multi-server tomcat,
        and two rules ask), the object kept alive with its answer so that its id stays its own.
        A certificate of one SAN name at most is answered at once, not remembered (most are:
        3.5 MB fewer kept at 10,000 nodes)."""
        if len(found.san_dns) < 2:
            return found.multi_server
        hit = self._cache.multi_server.get(id(found))
        if hit is not None and hit[0] is found:
            return hit[1]
        answer = found.multi_server
        self._cache.multi_server[id(found)] = (found, answer)
        return answer

    def node_subject(
        self, cluster: UcCluster, node: Node, certificate: str | None = None
    ) -> Subject:
        """The subject of a finding about ``node`` (or its certificate ``certificate``): one
        value shared by every rule that asks (the deployment keeps its nodes alive)."""
        # by certificate, then by node: an int key per node and certificate, not a dictionary
        # per node (at 10,000 nodes 1.5 MB less while the rules run)
        by_cert = self._cache.node_subjects
        made = by_cert.get(certificate)
        if made is None:
            made = by_cert[certificate] = {}
        found = made.get(id(node))
        if found is None or found.cluster != cluster.name:
            from mratrust.topology import node_id

            found = _new_subject(
                cluster.name, node.name, None, certificate, None, node_id(cluster, node.name)
            )
            made.setdefault(id(node), found)  # a node in two clusters: the first one's
        return found

    def leg_subject(self, leg: UcLeg, certificate: str) -> Subject:
        """The subject of a finding about ``leg`` and the node's certificate ``certificate``:
        one value shared by the rules about the leg (the context keeps its legs alive)."""
        # by certificate, then by leg: an int key per leg, not a tuple and an int (at 10,000
        # nodes some 3 MB less while the rules run)
        by_cert = self._cache.leg_subjects
        made = by_cert.get(certificate)
        if made is None:
            made = by_cert[certificate] = {}
        found = made.get(id(leg))
        if found is None:
            found = made[id(leg)] = _new_subject(
                leg.cluster.name, leg.node.name, leg.label, certificate, leg.id, None
            )
        return found

    # ------------------------------------------------------------------ verification gate

    def gate(self, leg: UcLeg) -> Gate:
        """Does Expressway-C verify the server certificate on ``leg`` on this version?"""
        cluster = leg.cluster
        if leg.transport is Transport.ATS:
            if self.every_request:
                if self.deployment.expressway.verify_origin_server:
                    return Gate.VERIFIED
                return Gate.DISABLED
            if leg.discovery and cluster.tls_verify and is_discovered_node(cluster, leg.node):
                return Gate.VERIFIED
            return Gate.DISPUTED if self.behaviour.verification_disputed else Gate.NOT_VERIFIED
        return Gate.VERIFIED if cluster.tls_verify else Gate.NOT_VERIFIED

    def names_checked(self, leg: UcLeg) -> tuple[str, ...]:
        """Names Expressway-C checks on ``leg``: the typed address at discovery, else the node's."""
        if (
            leg.transport is Transport.ATS
            and not self.every_request
            and leg.discovery
            and is_discovered_node(leg.cluster, leg.node)
        ):
            names = [leg.cluster.publisher]
            names.extend(n for n in leg.expected_names() if n.lower() != names[0].lower())
            return tuple(names)
        return leg.expected_names()


def is_discovered_node(cluster: UcCluster, node: Node) -> bool:
    """The node Expressway-C reaches through the address typed on its UC server page."""
    names = {n.name.lower() for n in cluster.nodes}
    if cluster.publisher.lower() in names:
        return node.name.lower() == cluster.publisher.lower()
    return node.role.value == "publisher"


# --------------------------------------------------------------------------- helpers


def make(
    info_id: str,
    status: Status,
    subject: Subject,
    message: str,
    *,
    remediation: Iterable[str] = (),
    evidence: Mapping[str, EvidenceValue] | None = None,
    severity: Severity | None = None,
    since: str | None = None,
    fixes: Iterable[Fix] | None = None,
) -> Finding:
    """A finding of a registered rule, with the rule's severity, sources and ``since``.

    A ``fail`` or ``risk`` carries its typed fixes: ``fixes`` when given (a fix that needs more
    than the finding holds), else what the rule's ``fix`` function derives from the finding.

    A message equal to the one made just before is that same string: a node's legs with one
    certificate often say the same of it (at 10,000 nodes some 20,000 strings fewer).
    """
    last = _LAST_MESSAGE[0]
    if message == last:
        message = last
    else:
        _LAST_MESSAGE[0] = message
    info = RULES[info_id]
    if status is _PASS or status is _INFO:  # most findings: nothing to fix, no remediation
        return _finding(
            info_id,
            status,
            severity or _SEVERITY_INFO,
            subject,
            message,
            since or info.since,
            (),
            _evidence(evidence) if evidence else (),
            info.sources,
        )
    bad = status is _FAIL or status is _RISK
    found = _finding(
        info_id,
        status,
        severity or (info.severity if bad else _soft(status)),
        subject,
        message,
        since or info.since,
        tuple(remediation),
        _evidence(evidence) if evidence else (),
        info.sources,
    )
    if not bad:
        return found
    if fixes is not None:
        return replace(found, fixes=tuple(fixes))
    if info.fix is not None:
        return replace(found, fixes=tuple(info.fix(found)))
    return found


_LAST_MESSAGE = [""]
"""The message of the finding :func:`make` made last."""


_FINDING_FIELDS = (
    "rule",
    "status",
    "severity",
    "subject",
    "message",
    "since",
    "remediation",
    "evidence",
    "sources",
    "change",
    "fixes",
)


def _finding_maker() -> Callable[
    [str, Status, Severity, Subject, str, str | None, tuple[str, ...], Any, tuple[str, ...]],
    Finding,
]:
    """A function making the :class:`Finding` its arguments describe (no change, no fixes).

    The dataclass's own ``__init__`` sets each of the eleven fields through the frozen class's
    ``object.__setattr__``, which is most of the cost of tens of thousands of findings; this
    sets them on an object of a plain class with the same slots, which then becomes a
    ``Finding`` (:func:`~mratrust.topology.slot_twin`): the same value, in a quarter of the
    time. Should ``Finding`` ever have other fields, or work of its own at creation, the
    dataclass's ``__init__`` is used instead.
    """
    twin = slot_twin(Finding, _FINDING_FIELDS)
    if twin is None:

        def plain(
            rule: str,
            status: Status,
            severity: Severity,
            subject: Subject,
            message: str,
            since: str | None,
            remediation: tuple[str, ...],
            evidence: Any,
            sources: tuple[str, ...],
        ) -> Finding:
            return Finding(
                rule=rule,
                status=status,
                severity=severity,
                subject=subject,
                message=message,
                since=since,
                remediation=remediation,
                evidence=evidence,
                sources=sources,
            )

        return plain
    new, finding_class = object.__new__, Finding

    def direct(
        rule: str,
        status: Status,
        severity: Severity,
        subject: Subject,
        message: str,
        since: str | None,
        remediation: tuple[str, ...],
        evidence: Any,
        sources: tuple[str, ...],
    ) -> Finding:
        found: Any = new(twin)
        found.rule = rule
        found.status = status
        found.severity = severity
        found.subject = subject
        found.message = message
        found.since = since
        found.remediation = remediation
        found.evidence = evidence
        found.sources = sources
        found.change = None
        found.fixes = ()
        found.__class__ = finding_class
        return found  # type: ignore[no-any-return]

    return direct


_finding = _finding_maker()

_SUBJECT_FIELDS = ("cluster", "node", "leg", "certificate", "leg_id", "endpoint_id")


def _subject_maker() -> Callable[
    [str | None, str | None, str | None, str | None, str | None, str | None], Subject
]:
    """A function making the :class:`Subject` of (cluster, node, leg, certificate, leg_id,
    endpoint_id), its slots set as :func:`_finding_maker` does (the dataclass's ``__init__``
    when ``Subject`` has other fields or work of its own)."""
    twin = slot_twin(Subject, _SUBJECT_FIELDS)
    if twin is None:

        def plain(
            cluster: str | None,
            node: str | None,
            leg: str | None,
            certificate: str | None,
            leg_id: str | None,
            endpoint_id: str | None,
        ) -> Subject:
            return Subject(
                cluster=cluster,
                node=node,
                leg=leg,
                certificate=certificate,
                leg_id=leg_id,
                endpoint_id=endpoint_id,
            )

        return plain
    new, subject_class = object.__new__, Subject

    def direct(
        cluster: str | None,
        node: str | None,
        leg: str | None,
        certificate: str | None,
        leg_id: str | None,
        endpoint_id: str | None,
    ) -> Subject:
        found: Any = new(twin)
        found.cluster = cluster
        found.node = node
        found.leg = leg
        found.certificate = certificate
        found.leg_id = leg_id
        found.endpoint_id = endpoint_id
        found.__class__ = subject_class
        return found  # type: ignore[no-any-return]

    return direct


_new_subject = _subject_maker()


_SOFT = {
    Status.WARN: Severity.MEDIUM,
    Status.ERROR: Severity.HIGH,
    Status.INFO: Severity.INFO,
    Status.PASS: Severity.INFO,
}


_SHARED: dict[object, object] = {}
_SHARED_LIMIT = 1 << 16


def _evidence(evidence: Mapping[str, EvidenceValue]) -> tuple[tuple[str, EvidenceValue], ...]:
    """The evidence as the finding holds it, its (key, value) pairs and the whole tuple shared
    with every equal one already made: tens of thousands of findings repeat a few thousand
    pairs (a gate, a chain's fingerprints). Pairs with a bool or int value are not shared on
    their own; a tuple holding them is shared only with one whose values have the same types
    (``True == 1``: sharing must not turn one into the other)."""
    if len(_SHARED) > _SHARED_LIMIT:
        _SHARED.clear()
    if _PLAIN_KINDS.issuperset(map(type, evidence.values())):  # most evidence: no loop here
        items = tuple(evidence.items())
        found = _SHARED.get(items)  # made before: one lookup (the pairs are shared already)
        if found is not None:
            return found  # type: ignore[return-value]
        shared = tuple(map(_SHARED.setdefault, items, items))
        return _SHARED.setdefault(shared, shared)  # type: ignore[return-value]
    # equal values of the same types are the same values: keyed by both, ``True`` and ``1``
    # never meet
    kinds = tuple(map(type, evidence.values()))
    typed = _TYPED_KINDS.issuperset(kinds)
    if typed:
        key = (_TYPED, kinds, tuple(evidence.items()))
        found = _SHARED.get(key)
        if found is not None:
            return found  # type: ignore[return-value]
    pairs: list[tuple[str, EvidenceValue]] = []
    for pair in evidence.items():
        kind = type(pair[1])
        if kind is str or kind is tuple:
            pair = _SHARED.setdefault(pair, pair)  # type: ignore[assignment]
        pairs.append(pair)
    out = tuple(pairs)
    if typed:
        _SHARED[key] = out
    return out


_PLAIN_KINDS = frozenset({str, tuple})
_TYPED_KINDS = frozenset({str, tuple, bool, int})
_TYPED = object()
"""Marks the keys of :func:`_evidence`'s typed entries (no evidence tuple starts with it)."""
_PASS, _INFO, _FAIL, _RISK = Status.PASS, Status.INFO, Status.FAIL, Status.RISK
_SEVERITY_INFO = _SOFT[Status.PASS]


def _soft(status: Status) -> Severity:
    return _SOFT.get(status, Severity.LOW)


def short(name: str) -> str:
    """``cucm-sub1.example.com`` → ``cucm-sub1`` (for messages)."""
    return name.split(".")[0] if "." in name and not name[0].isdigit() else name


def chain_fps(chain: Iterable[x509.Certificate]) -> tuple[str, ...]:
    return tuple(map(_FINGERPRINT, map(facts, chain)))


_FINGERPRINT = attrgetter("fingerprint")


def peers(ctx: AuditContext) -> tuple[Peer, ...]:
    return ctx.deployment.expressway.peers


EXPC = "expressway-c"


CIPHER_LABELS = {
    "uc_server_discovery": "UC server discovery",
    "sip": "SIP",
    "https": "HTTPS",
}
"""Labels of Expressway's cipher settings (Maintenance > Security > Ciphers)."""


def cipher_where(setting: str) -> str:
    """Where an Expressway cipher setting is changed (only what the sources document)."""
    return (
        f"the {CIPHER_LABELS.get(setting, setting)} cipher string on Expressway-C "
        "(Maintenance > Security > Ciphers)"
    )


ATS_DEBUG = (
    "To see the handshake on Expressway-C: xConfiguration Logger Developer "
    'developer.trafficserver.http Level: "DEBUG" (likewise developer.trafficserver.http_trans, '
    "developer.trafficserver.iocore and developer.trafficserver.ssl), reproduce with "
    "Maintenance > Diagnostics > Diagnostic logging (with tcpdump), then return those levels to "
    "what they were (tech note 225476)"
)
"""The tech note's Traffic Server debug levels, for a failing Traffic Server leg."""


def rejection_signature(leg: LegRow, node: str) -> str:
    """How a UC node's rejection of Expressway-C's certificate shows, per component.

    Only Traffic Server's log line is documented (its message text comes from Traffic Server's
    own source); the SIP zones and XCP have no documented log line here.
    """
    transport, port = leg.transport, leg.port
    if transport is Transport.ATS:
        return (
            f"Traffic Server logs \"SSL connection failed for '{node}': ... tlsv1 alert unknown "
            'ca"'
        )
    if leg.purpose is TopologyPurpose.SIP_OAUTH:
        return (
            f"the SIP OAuth (CEOAuth) zone to {node} does not come up; tech note 215572 describes "
            "the symptom as 'Unknown CA from UCM'"
        )
    if transport is Transport.SIP:
        return f"the SIP TLS (CEtls) zone to {node} does not come up and secure registrations fail"
    return f"the XCP connection to {node} on {port} fails; no log line for it is documented"


# --------------------------------------------------------------------------- typed fixes


def evidence_fps(f: Finding, key: str) -> tuple[str, ...]:
    """The fingerprints (or names) a finding's evidence lists under ``key``."""
    value = f.evidence_dict().get(key)
    if isinstance(value, tuple):
        return value
    if isinstance(value, str):
        return (value,)
    return ()


def expressway_trust_fixes(f: Finding, *peer_names: str) -> tuple[Fix, ...]:
    """Make Expressway-C trust the chain of the finding: remove the entries that hide it, upload
    what is missing (``peer_names``: those peers' lists; default the evidence's ``peers``, else
    every peer)."""
    from mratrust.fixes import ExpresswayTrust, RemoveTrust, UploadTrust

    store = ExpresswayTrust(peers=peer_names or evidence_fps(f, "peers"))
    remove = evidence_fps(f, "remove")
    upload = UploadTrust(
        store=store, certificates=evidence_fps(f, "upload"), chain=evidence_fps(f, "chain")
    )
    return (RemoveTrust(store=store, certificates=remove), upload) if remove else (upload,)


def uc_trust_fixes(f: Finding) -> tuple[Fix, ...]:
    """Make a UC cluster's store (the subject's certificate names it) trust Expressway-C's
    chain; in mixed mode ``CallManager-trust`` takes the presenting peer's certificate too."""
    from mratrust.fixes import UcTrust, UploadTrust

    store = f.subject.certificate
    if not store:
        return ()
    return (
        UploadTrust(
            store=UcTrust(cluster=f.subject.cluster or "", store=store),
            certificates=evidence_fps(f, "upload"),
            chain=evidence_fps(f, "chain"),
            leaf_of=f.subject.node if store == "CallManager-trust" else None,
        ),
    )


def uc_identity(f: Finding, **kw: Any) -> UcIdentity:
    """The UC identity a finding is about (``tomcat+CallManager`` and ``tomcat (…)`` name the
    first one)."""
    from mratrust.fixes import UcIdentity

    cert = (f.subject.certificate or "tomcat").split("+")[0].split()[0]
    return UcIdentity(cluster=f.subject.cluster or "", certificate=cert, **kw)


def rename_or_reissue(f: Finding) -> tuple[Fix, ...]:
    """Nodes defined by host name are renamed to their FQDN first; else a new certificate."""
    from mratrust.fixes import Reissue, Rename

    return (Reissue(what=uc_identity(f, rename=Rename.IF_SHORT)),)


def reissue_uc(f: Finding) -> tuple[Fix, ...]:
    """Reissue the UC identity the finding is about."""
    from mratrust.fixes import Reissue

    return (Reissue(what=uc_identity(f)),)


def reissue_expressway(f: Finding) -> tuple[Fix, ...]:
    """Reissue the certificate of the Expressway-C peer the finding is about."""
    from mratrust.fixes import ExpresswayIdentity, Reissue

    return (Reissue(what=ExpresswayIdentity(peer=f.subject.node or "")),)


def reissue_client(ctx: AuditContext, peer: str) -> tuple[Fix, ...]:
    """What Expressway-C peer ``peer`` presents as a TLS client: from X15.5 its separate client
    certificate, before that its server certificate, reissued."""
    from mratrust.fixes import ExpresswayClientIdentity, ExpresswayIdentity, Reissue

    if ctx.behaviour.separate_client_certificate:
        return (Reissue(what=ExpresswayClientIdentity(peer=peer)),)
    return (Reissue(what=ExpresswayIdentity(peer=peer)),)
