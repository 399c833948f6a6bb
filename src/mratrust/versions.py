"""Expressway versions and the one behaviour table that every rule reads.

Version knowledge lives here and nowhere else: rules ask :func:`behaviour` what a release does
(present its certificate to CUCM, verify every UC node, prefer ECDSA …) instead of comparing
version numbers themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache, total_ordering

from mratrust.errors import InputError
from mratrust.values import frozen

_VERSION_RE = re.compile(r"^[Xx]?(\d{1,2})\.(\d{1,2})(?:\.(\d{1,3}))?$")


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """An Expressway release such as ``X14.0.7`` (patch 0 when omitted)."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str, *, field: str | None = None) -> Version:
        """Parse ``X14.2.1``, ``X15.3`` or ``14.0`` (the leading X is optional)."""
        match = _VERSION_RE.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InputError(
                f"{text!r} is not an Expressway version",
                field=field,
                hint="write it as X<major>.<minor>[.<patch>], e.g. X14.2.1",
            )
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch or 0))

    def _key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        if self.patch:
            return f"X{self.major}.{self.minor}.{self.patch}"
        return f"X{self.major}.{self.minor}"


def V(text: str) -> Version:
    """Shorthand for :meth:`Version.parse` used by the tables below."""
    return Version.parse(text)


class Verification(Enum):
    """How Expressway-C's Traffic Server verifies the certificates of UC nodes."""

    DISCOVERY_ONLY = "discovery-only"
    """Before X14.2: the publisher address only, at discovery/refresh, only with TLS verify on."""
    EVERY_REQUEST = "every-request"
    """From X14.2: every node on every request, whatever TLS verify says."""


class CipherPath(Enum):
    """Where an Expressway's default cipher order comes from (knowledge base §6)."""

    RSA_FIRST = "rsa-first"
    ECDSA_FIRST = "ecdsa-first"
    UNKNOWN = "unknown"


BASE_CIPHERS = "EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:!PSK:!eNULL:!aNULL:!aDH"
"""Expressway's default cipher string (X15.0.2 documents it for all eight protocols)."""

RSA_PREFIX = "ECDHE-RSA-AES256-GCM-SHA384:"
"""What an upgrade from X14.0 or later to X14.2+ prepends, and the documented workaround."""


@frozen
class Change:
    """One row of the timeline: what a release changed that matters to MRA certificates."""

    version: Version
    summary: str
    rules: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    evidence: str = "verified"


S1 = "https://www.cisco.com/c/en/us/support/docs/unified-communications/telepresence-video-communication-server-expressway/225476-understand-mobile-and-remote-access.html"
S2 = "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway/217743-upgrade-of-video-communication-server-v.html"
S3 = "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X15-0/mra/exwy_b_mra-deployment-guide-x150/exwy_m_requirements-for-mra.html"
S10 = "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway-series/222186-customize-the-expressway-ssl-cipher-conf.html"
S11 = "https://www.cisco.com/c/en/us/support/docs/field-notices/743/fn74362.html"
S12 = "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/admin_guide/X15-4/exwy_b_cisco-expressway-administrator-guide-x154/exwy_m_maintenance.html"
S13 = "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/release_note/X14-0-4/exwy_b_cisco-expressway-release-note-x1404/exwy_m_about-the-documentation-x1404.html"
S14 = "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/admin_guide/X15-5/exwy_b_cisco-expressway-administrator-guide-x155/exwy_m_introduction.html"
S15 = "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X15-5/cert-creation-use/exwy_b_cisco-expressway-certificate-creation-and-use-deployment-guide-x155/exwy_m_managing-expressway-certificates.html"
S22 = "https://www.cisco.com/c/en/us/support/docs/unified-communications/jabber/215572-cisco-jabber-and-sip-oauth-mode.html"
S24 = "https://tools.cisco.com/security/center/content/CiscoSecurityAdvisory/cisco-sa-expressway-csrf-sqpsSfY6"
S27 = "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/release_note/X14-2-5/Expressway-Select/exwy_b_cisco-expressway-select-release-note-x1425.html"
S28 = "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway-series/225482-prepare-expressway-for-client.html"
S29 = "https://www.cisco.com/c/en/us/support/docs/unified-communications/telepresence-video-communication-server-expressway/225693-navigate-client-eku-sunset-with.html"
S30 = "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/expressway/config_guide/X14-0/cert_creation_use/exwy_b_cisco-expressway-certificate-creation-and-use-deployment-guide-x14-0/exwy_b_certificate-creation-use-deployment-guide_chapter_0110.html"

# Each release that changed something for MRA certificates, written once: the timeline, the
# behaviour flags and the rules' ``since`` all read these.
X8_8 = V("X8.8")
X8_10 = V("X8.10")
X12_5 = V("X12.5")
X12_6 = V("X12.6")
X14_0 = V("X14.0")
X14_0_1 = V("X14.0.1")
X14_0_2 = V("X14.0.2")
X14_0_8 = V("X14.0.8")
X14_2 = V("X14.2")
X14_3 = V("X14.3")
X15_0 = V("X15.0")
X15_2 = V("X15.2")
X15_4 = V("X15.4")
X15_5 = V("X15.5")

TIMELINE: tuple[Change, ...] = (
    Change(
        version=X8_8,
        summary="Certificate validation tightened: unique trusted-CA entries, hostname in CN/SAN "
        "with TLS verify on, cluster peers over TLS",
        rules=("C2U-DUP-SUBJECT", "C2U-NAME"),
        sources=(S12,),
    ),
    Change(
        version=X8_10,
        summary="Server certificate upload warns on a missing CN (alarm); MRA needs a CN",
        rules=("EXP-CN",),
        sources=(S30,),
    ),
    Change(
        version=X12_5,
        summary="SIP OAuth over MRA: CEOAuth zones, mutual TLS to CUCM port 5091 with the tomcat "
        "certificate",
        rules=("U2C-OAUTH",),
        sources=(S22,),
    ),
    Change(
        version=X12_6,
        summary="Phone security profile names in the Expressway-C certificate must be FQDNs",
        rules=("U2C-PROFILE-SAN",),
        sources=(S15,),
    ),
    Change(
        version=X14_0,
        summary="Cipher filters updated; port 6971 added to the HTTPS allow list",
        sources=(S13,),
    ),
    Change(
        version=X14_0_1,
        summary="Alarm for trusted CA certificates expiring within 21 days",
        rules=("CERT-VALIDITY",),
        sources=(S13,),
    ),
    Change(
        version=X14_0_2,
        summary="Traffic Server presents the Expressway-C certificate when CUCM asks for one on "
        "ports other than 8443 (the tech note names 6971 and 6972): CUCM tomcat-trust and "
        "CallManager-trust must hold its CA chain, even in non-secure mode with TLS verify off "
        "(CSCvz45074 / CSCvz20720). SIP TLS 5061 (mixed mode) and SIP OAuth 5091 are mutual TLS "
        "of the SIP zones, not Traffic Server, and needed that trust before",
        rules=("U2C-TRUST",),
        sources=(S1, S2, S3, S13),
    ),
    Change(
        version=X14_0_8,
        summary="The tech note says Traffic Server verifies every HTTPS request from here, TLS "
        "verify off included; the release notes and CVE-2022-20814 say X14.2 — modelled as risk "
        "(fail with --strict-from X14.0.8)",
        rules=("C2U-TRUST", "C2U-NAME"),
        sources=(S1, S24, S27),
        evidence="conflicting",
    ),
    Change(
        version=X14_2,
        summary="Server certificate verification for every UC node on every request whatever TLS "
        "verify says (CSCwc69661, CVE-2022-20814), unless VerifyOriginServer is off; ECDSA cipher "
        "preference over RSA on fresh installs and upgrades from below X14.0; TLS 1.3 for SIP and "
        "the reverse proxy",
        rules=("C2U-TRUST", "C2U-NAME", "C2U-FQDN", "C2U-ECDSA"),
        sources=(S2, S3, S14, S27),
    ),
    Change(
        version=X14_3,
        summary="ECDSA server certificate supported on Expressway",
        rules=("EXP-KEY",),
        sources=(S14,),
    ),
    Change(
        version=X15_0,
        summary="Banned CCM ciphers removed from the defaults; default cipher string "
        f"{BASE_CIPHERS}",
        sources=(S10, S14),
    ),
    Change(
        version=X15_2,
        summary="RSA sent as the preferred signature algorithm in TLS 1.3; xConfiguration SIP "
        "Advanced TlsSignatureAlgoPrefRsa (SIP only, with SipTlsVersions TLSv1.3)",
        rules=("C2U-TLS13-SIGALG",),
        sources=(S1, S14),
    ),
    Change(
        version=X15_4,
        summary="Expressway-E may hold a serverAuth-only certificate with xConfiguration XCP TLS "
        "Certificate CVS EnableServerEkuUpload: On; Expressway-C no longer checks clientAuth in "
        "MRA SIP SERVICE; ClusterDB skips the clientAuth check; Expressway-C still needs both "
        "EKUs; C and E must run the same release",
        rules=("EXP-EKU", "CE-EKU", "CE-CLUSTER", "CE-VERSION", "EKU-SUNSET"),
        sources=(S11, S28),
    ),
    Change(
        version=X15_5,
        summary="Separate server and client certificates (same trusted CA list; the server "
        "certificate is copied to the client store on upgrade); option to ignore the clientAuth "
        "EKU; EnableServerEkuUpload deprecated",
        rules=("EXP-EKU", "CE-EKU", "EKU-SUNSET"),
        sources=(S11, S14, S15, S29),
    ),
)

LATEST: Version = max(c.version for c in TIMELINE)
"""The last release whose behaviour is modelled; a later one is judged as this one."""

PROBE_DEFAULT: Version = V("X15.3")
"""The release ``mratrust probe`` emulates when ``--as-version`` is not given: a current one
(every node verified from X14.2, RSA-first TLS 1.3 signatures on SIP from X15.2), whose offer is
the same as :data:`LATEST`'s."""


@frozen
class UcFeature:
    """A UC product feature that needs a major version (the UC side of the version table)."""

    product: str
    """The product's name in words (``Unified CM``)."""
    abbreviation: str
    """Its short name in a rule's ``since`` (``UCM``)."""
    major: int
    summary: str

    @property
    def since(self) -> str:
        """The ``since`` of a rule about it (``UCM 14``)."""
        return f"{self.abbreviation} {self.major}"

    @property
    def needs(self) -> str:
        """``Unified CM 14 or later``."""
        return f"{self.product} {self.major} or later"

    def reached(self, major: int | None) -> bool | None:
        """Does a cluster of this ``major`` version have it (None: the version is not known)?"""
        return None if major is None else major >= self.major


CUCM_TOMCAT_REUSE = UcFeature(
    product="Unified CM",
    abbreviation="UCM",
    major=14,
    summary='"Use Tomcat Certificate For Other Services": a multi-server tomcat (or tomcat-ECDSA) '
    "certificate serves CallManager too (knowledge base §4.1)",
)

HTTPD_BUILDS: tuple[tuple[Version, str], ...] = (
    (V("X8.11.4"), "2.4.34"),
    (V("X12.6"), "2.4.43"),
    (V("X14.0.8"), "2.4.53"),
    (V("X15.3"), "2.4.62"),
    (V("X15.4"), "2.4.65"),
    (V("X15.5"), "2.4.66"),
)
"""Apache httpd builds reported by ``/apache2/bin/httpd -v`` on these releases."""


@frozen
class Behaviour:
    """What one Expressway release does, as the rules need to know it."""

    version: Version
    presents_client_certificate: bool
    """X14.0.2+: Traffic Server sends its certificate when a UC node asks for one."""
    verification: Verification
    verification_disputed: bool
    """X14.0.8 up to X14.2: the tech note says every request is verified, other sources disagree."""
    ecdsa_preference_release: bool
    """X14.2+: default cipher order depends on the upgrade path (ECDSA may come first)."""
    sip_tls13: bool
    """X14.2+: SIP TLS may negotiate TLS 1.3 (SipTlsVersions decides)."""
    ats_tls13: bool
    """X14.2+: Traffic Server offers TLS 1.3 beside TLS 1.2 (knowledge base §5, tech note 225476's
    capture of Expressway-C's Client Hello)."""
    tls13_rsa_signature_default: bool
    """X15.2+: RSA sent first among TLS 1.3 signature algorithms (SIP)."""
    ecdsa_server_certificate: bool
    separate_client_certificate: bool
    """X15.5+: separate server and client certificates (same trusted CA list)."""
    expressway_e_server_only_eku: bool
    """X15.4+: Expressway-C no longer checks clientAuth on Expressway-E's certificate in MRA SIP
    SERVICE, and ClusterDB no longer checks clientAuth between peers."""
    server_eku_upload_switch: bool
    """X15.4 only: Expressway-E may hold a serverAuth-only certificate when
    ``xConfiguration XCP TLS Certificate CVS EnableServerEkuUpload: On`` (deprecated in X15.5,
    where the server certificate needs serverAuth only)."""
    sip_oauth: bool
    profile_fqdn_required: bool
    changes: tuple[Change, ...] = field(default=())

    def expressway_e_needs_client_auth(self, *, server_eku_upload: bool) -> bool:
        """Does Expressway-E's server certificate need clientAuth on this release?

        Before X15.4: yes (Expressway-C checks it in MRA SIP SERVICE, ClusterDB between peers).
        X15.4: only without EnableServerEkuUpload (the upload of a serverAuth-only certificate
        is refused without it). X15.5: no, the server certificate needs serverAuth only.
        """
        if not self.expressway_e_server_only_eku:
            return True
        if self.separate_client_certificate:
            return False
        return not server_eku_upload

    def server_needs_client_auth(self) -> bool:
        """Does an Expressway's server certificate also serve as its client certificate?

        Before X15.5 one certificate plays both roles, so it needs clientAuth too (Expressway-C
        still does on X15.4). From X15.5 the client certificate is separate.
        """
        return not self.separate_client_certificate


@lru_cache(maxsize=256)
def behaviour(version: Version, *, strict_from: Version | None = None) -> Behaviour:
    """The behaviour of ``version``.

    ``strict_from`` (``--strict-from``) moves the start of every-request verification earlier,
    e.g. to X14.0.8 as the tech note claims.
    """
    verify_from = X14_2
    if strict_from is not None and strict_from < verify_from:
        verify_from = strict_from
    every = version >= verify_from
    return Behaviour(
        version=version,
        presents_client_certificate=version >= X14_0_2,
        verification=Verification.EVERY_REQUEST if every else Verification.DISCOVERY_ONLY,
        verification_disputed=(not every) and X14_0_8 <= version < X14_2,
        ecdsa_preference_release=version >= X14_2,
        sip_tls13=version >= X14_2,
        ats_tls13=version >= X14_2,
        tls13_rsa_signature_default=version >= X15_2,
        ecdsa_server_certificate=version >= X14_3,
        separate_client_certificate=version >= X15_5,
        expressway_e_server_only_eku=version >= X15_4,
        server_eku_upload_switch=X15_4 <= version < X15_5,
        sip_oauth=version >= X12_5,
        profile_fqdn_required=version >= X12_6,
        changes=tuple(c for c in TIMELINE if c.version <= version),
    )


@frozen
class UpgradePath:
    """The releases an Expressway went through, oldest first, ending with the judged one.

    ``fresh`` says that ``releases[0]`` was installed fresh (the inventory has no
    ``upgraded_from``); otherwise the origin of ``releases[0]`` is not recorded.
    """

    releases: tuple[Version, ...]
    fresh: bool

    @classmethod
    def of(cls, version: Version, upgraded_from: Version | None) -> UpgradePath:
        """One hop: ``version`` reached from ``upgraded_from`` (None: a fresh install)."""
        if upgraded_from is None:
            return cls(releases=(version,), fresh=True)
        return cls(releases=(upgraded_from, version), fresh=False)

    @property
    def version(self) -> Version:
        return self.releases[-1]

    def _crossing(self) -> int | None:
        """Index of the first release at X14.2 or later (where the cipher order was set)."""
        return next((i for i, r in enumerate(self.releases) if r >= X14_2), None)

    def cipher_path(self) -> CipherPath:
        """Which way the default cipher order leans at the end of this path.

        Before X14.2 the offer is RSA first. The first release at X14.2 or later sets the order:
        a fresh install or an upgrade from below X14.0 prefers ECDSA, an upgrade from X14.0 or
        later gets the ``ECDHE-RSA-AES256-GCM-SHA384:`` prefix (release note X14.2, knowledge base
        §6). Later upgrades keep it. A path that starts at X14.2 or later without a recorded
        origin is unknown.
        """
        i = self._crossing()
        if i is None:
            return CipherPath.RSA_FIRST
        if i == 0:
            return CipherPath.ECDSA_FIRST if self.fresh else CipherPath.UNKNOWN
        return CipherPath.ECDSA_FIRST if self.releases[i - 1] < X14_0 else CipherPath.RSA_FIRST

    @property
    def assumes_fresh_install(self) -> bool:
        """The cipher order hinges on ``releases[0]`` being a fresh install at X14.2 or later."""
        return self.fresh and self._crossing() == 0

    def words(self) -> str:
        """``X15.3 upgraded from X14.2.1 (from X14.0.7)`` or ``a fresh X14.2.1 install``."""
        *before, last = self.releases
        if not before:
            return f"a fresh {last} install" if self.fresh else f"{last}"
        text = f"{last} upgraded from {before[-1]}"
        if len(before) > 1:
            text += " (" + ", ".join(f"from {r}" for r in reversed(before[:-1])) + ")"
        if self.fresh and self._crossing() == 0:
            text += f", {before[0]} installed fresh"
        return text


def cipher_path(version: Version, upgraded_from: Version | None) -> CipherPath:
    """Which way the default cipher order leans on ``version`` reached from ``upgraded_from``
    (see :meth:`UpgradePath.cipher_path`; an upgrade from X14.2 or later is unknown)."""
    return UpgradePath.of(version, upgraded_from).cipher_path()


def default_cipher_string(
    version: Version, upgraded_from: Version | None, *, path: CipherPath | None = None
) -> str:
    """The cipher string Expressway uses when none is configured, for this upgrade path.

    Where the path is unknown (upgraded from X14.2 or later) the ECDSA-first default is returned,
    the pessimistic choice; callers that care ask :func:`cipher_path`. Only two facts are
    documented: the X15.0.2 default (tech note 222186) and the prefix that an upgrade from X14.0
    or later to X14.2 adds (X14.2 release note); see :func:`default_cipher_basis`.
    """
    if (path or cipher_path(version, upgraded_from)) is CipherPath.RSA_FIRST:
        return RSA_PREFIX + BASE_CIPHERS
    return BASE_CIPHERS


X15_0_2 = V("X15.0.2")


def default_cipher_basis(version: Version, path: CipherPath) -> tuple[bool, str]:
    """Is the default string shown for ``version`` documented, and on what is it based?

    Returns (documented, explanation). A string the sources do not give is labelled modelled.
    """
    if version < X14_2:
        return False, (
            f"modelled: the default string of {version} is not in the sources used; before X14.2 "
            "Expressway offered RSA first (X14.2 release note), so it is shown as the X15.0.2 "
            "default with the RSA suite first. The ECDHE-RSA-AES256-GCM-SHA384: prefix itself is "
            "what an upgrade to X14.2 from X14.0 or later adds"
        )
    if path is CipherPath.RSA_FIRST:
        return False, (
            "modelled from two documented parts: the ECDHE-RSA-AES256-GCM-SHA384: prefix that the "
            "upgrade to X14.2 from X14.0 or later prepends (X14.2 release note), and the X15.0.2 "
            "default (tech note 222186)"
            + ("" if version >= X15_0_2 else f"; the exact string of {version} is not documented")
        )
    if path is CipherPath.UNKNOWN:
        return False, (
            "modelled: the order depends on what the release before X14.2 was, which is not "
            "recorded; shown pessimistically as ECDSA first"
        )
    if version >= X15_0_2:
        return True, "the documented X15.0.2 default (tech note 222186), ECDSA first"
    return False, (
        "modelled: X14.2 prefers ECDSA on this path (X14.2 release note); the exact string of "
        f"{version} is not in the sources used, shown as the X15.0.2 default (tech note 222186)"
    )


def httpd_build(version: Version) -> str | None:
    """The Apache httpd build of the newest listed release at or below ``version``."""
    found: str | None = None
    for release, build in HTTPD_BUILDS:
        if release <= version:
            found = build
    return found


def render_timeline(*, fmt: str = "text") -> str:
    """The ``mratrust versions`` view: what each release changed, and httpd builds."""
    import json

    builds = {str(v): b for v, b in HTTPD_BUILDS}
    if fmt == "json":
        return (
            json.dumps(
                {
                    "timeline": [
                        {
                            "version": str(c.version),
                            "summary": c.summary,
                            "rules": list(c.rules),
                            "evidence": c.evidence,
                            "sources": list(c.sources),
                            "httpd": builds.get(str(c.version)),
                        }
                        for c in TIMELINE
                    ],
                    "httpd_builds": builds,
                },
                indent=2,
            )
            + "\n"
        )
    if fmt == "markdown":
        rows = ["| version | change | rules |", "|---|---|---|"]
        rows += [
            f"| {c.version} | {c.summary}"
            f"{' (sources conflict)' if c.evidence == 'conflicting' else ''} "
            f"| {', '.join(c.rules)} |"
            for c in TIMELINE
        ]
        rows += ["", "| version | Apache httpd |", "|---|---|"]
        rows += [f"| {v} | {b} |" for v, b in builds.items()]
        return "\n".join(rows) + "\n"
    lines = ["Expressway behaviour that mratrust models:", ""]
    for c in TIMELINE:
        flag = "  [sources conflict]" if c.evidence == "conflicting" else ""
        lines.append(f"{c.version!s:<9} {c.summary}{flag}")
        if c.rules:
            lines.append(f"{'':<9} rules: {', '.join(c.rules)}")
    lines += ["", "Apache httpd builds (/apache2/bin/httpd -v):"]
    lines += [f"{v:<9} {b}" for v, b in builds.items()]
    return "\n".join(lines) + "\n"
