from __future__ import annotations

import itertools

import pytest

from mratrust.errors import InputError
from mratrust.versions import (
    BASE_CIPHERS,
    RSA_PREFIX,
    CipherPath,
    UpgradePath,
    Verification,
    Version,
    behaviour,
    cipher_path,
    default_cipher_string,
    httpd_build,
    render_timeline,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("X8.11.4", (8, 11, 4)),
        ("X14.0.2", (14, 0, 2)),
        ("X14.2.1", (14, 2, 1)),
        ("X15.3", (15, 3, 0)),
        ("14.2", (14, 2, 0)),
        ("x15.0.2", (15, 0, 2)),
    ],
)
def test_parse(text: str, expected: tuple[int, int, int]) -> None:
    v = Version.parse(text)
    assert (v.major, v.minor, v.patch) == expected


@pytest.mark.parametrize("bad", ["", "X", "X14", "15.x", "X14.2.1.5", "CUCM 15", "X-14.2"])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(InputError, match="not an Expressway version"):
        Version.parse(bad)


def test_ordering_and_str() -> None:
    assert Version.parse("X14.0.10") > Version.parse("X14.0.8")
    assert Version.parse("X14.2") == Version.parse("X14.2.0")
    assert Version.parse("X8.11.4") < Version.parse("X12.6")
    assert str(Version.parse("X15.3")) == "X15.3"
    assert str(Version.parse("X14.2.1")) == "X14.2.1"


@pytest.mark.parametrize(
    ("version", "presents", "verification", "disputed"),
    [
        ("X12.7", False, Verification.DISCOVERY_ONLY, False),
        ("X14.0.1", False, Verification.DISCOVERY_ONLY, False),
        ("X14.0.2", True, Verification.DISCOVERY_ONLY, False),
        ("X14.0.7", True, Verification.DISCOVERY_ONLY, False),
        ("X14.0.8", True, Verification.DISCOVERY_ONLY, True),
        ("X14.1", True, Verification.DISCOVERY_ONLY, True),
        ("X14.2", True, Verification.EVERY_REQUEST, False),
        ("X15.3", True, Verification.EVERY_REQUEST, False),
    ],
)
def test_behaviour_table(
    version: str, presents: bool, verification: Verification, disputed: bool
) -> None:
    b = behaviour(Version.parse(version))
    assert b.presents_client_certificate is presents
    assert b.verification is verification
    assert b.verification_disputed is disputed


def test_strict_from_moves_verification_earlier() -> None:
    v = Version.parse("X14.0.9")
    assert behaviour(v).verification is Verification.DISCOVERY_ONLY
    strict = behaviour(v, strict_from=Version.parse("X14.0.8"))
    assert strict.verification is Verification.EVERY_REQUEST
    assert not strict.verification_disputed
    # the twin: before the strict start nothing changes
    assert (
        behaviour(Version.parse("X14.0.7"), strict_from=Version.parse("X14.0.8")).verification
        is Verification.DISCOVERY_ONLY
    )


@pytest.mark.parametrize(
    ("version", "frm", "path"),
    [
        ("X14.0.7", "X12.7", CipherPath.RSA_FIRST),
        ("X14.2.1", None, CipherPath.ECDSA_FIRST),
        ("X14.2.1", "X12.7", CipherPath.ECDSA_FIRST),
        ("X14.2.1", "X14.0.7", CipherPath.RSA_FIRST),
        ("X15.3", "X14.0.7", CipherPath.RSA_FIRST),
        ("X15.3", "X14.2.1", CipherPath.UNKNOWN),
    ],
)
def test_cipher_path(version: str, frm: str | None, path: CipherPath) -> None:
    got = cipher_path(Version.parse(version), Version.parse(frm) if frm else None)
    assert got is path


def test_default_strings() -> None:
    assert default_cipher_string(Version.parse("X14.2.1"), None) == BASE_CIPHERS
    assert default_cipher_string(Version.parse("X14.2.1"), Version.parse("X14.0.7")) == (
        RSA_PREFIX + BASE_CIPHERS
    )


@pytest.mark.parametrize(
    ("version", "build"),
    [("X8.11.4", "2.4.34"), ("X12.6", "2.4.43"), ("X14.0.8", "2.4.53"), ("X15.3", "2.4.62")],
)
def test_httpd_builds(version: str, build: str) -> None:
    assert httpd_build(Version.parse(version)) == build


def test_httpd_before_first_known() -> None:
    assert httpd_build(Version.parse("X8.10")) is None


def test_timeline_renders_every_format() -> None:
    text = render_timeline()
    assert "X14.0.2" in text and "2.4.62" in text and "sources conflict" in text
    assert '"httpd_builds"' in render_timeline(fmt="json")
    assert "| X14.2 |" in render_timeline(fmt="markdown")


@pytest.mark.parametrize(
    ("releases", "fresh", "expected", "assumes"),
    [
        (("X14.0.7", "X14.2.1", "X15.3"), False, CipherPath.RSA_FIRST, False),  # F09 -> X15.3
        (("X12.7", "X14.0.7", "X15.3"), False, CipherPath.RSA_FIRST, False),  # B0 -> X15.3
        (("X12.7", "X14.2.1", "X15.3"), False, CipherPath.ECDSA_FIRST, False),
        (("X14.2.1", "X15.3"), True, CipherPath.ECDSA_FIRST, True),  # fresh X14.2.1 upgraded
        (("X14.2.1", "X15.3"), False, CipherPath.UNKNOWN, False),  # origin not recorded
        (("X14.0.7",), True, CipherPath.RSA_FIRST, False),
        (("X14.0.7", "X15.3"), True, CipherPath.RSA_FIRST, False),  # fresh X14.0.7: no matter
    ],
)
def test_upgrade_path_uses_the_whole_recorded_history(
    releases: tuple[str, ...], fresh: bool, expected: CipherPath, assumes: bool
) -> None:
    path = UpgradePath(releases=tuple(Version.parse(r) for r in releases), fresh=fresh)
    assert path.cipher_path() is expected
    assert path.assumes_fresh_install is assumes


def test_one_hop_path_is_unchanged() -> None:
    v = Version.parse
    assert cipher_path(v("X15.3"), v("X14.2.1")) is CipherPath.UNKNOWN
    assert cipher_path(v("X15.3"), v("X14.0.7")) is CipherPath.RSA_FIRST
    assert cipher_path(v("X14.2.1"), None) is CipherPath.ECDSA_FIRST


def test_timeline_does_not_put_sip_ports_on_traffic_server() -> None:
    text = render_timeline()
    line = next(ln for ln in text.splitlines() if ln.startswith("X14.0.2 "))
    block = text[text.index(line) :].split("\nX14.0.8", 1)[0]
    assert "6971 and 6972" in block
    assert "(6971, 6972, 5061, 5091)" not in text
    assert "SIP TLS 5061 (mixed mode) and SIP OAuth 5091 are mutual TLS of the SIP zones" in block


def test_latest_is_the_last_release_of_the_timeline() -> None:
    from mratrust.versions import LATEST, TIMELINE, Version

    assert Version.parse("X15.5") == LATEST
    assert all(c.version <= LATEST for c in TIMELINE)


def test_traffic_server_offers_tls13_from_x14_2_only() -> None:
    from mratrust.versions import Version, behaviour

    assert behaviour(Version.parse("X14.2")).ats_tls13
    assert not behaviour(Version.parse("X14.1")).ats_tls13


def _flags(version: Version) -> dict[str, object]:
    b = behaviour(version)
    return {
        name: getattr(b, name)
        for name in b.__dataclass_fields__
        if name not in ("version", "changes")
    }


def test_behaviour_flags_change_only_at_releases_of_the_timeline() -> None:
    # one version table: a flag that switched anywhere else would be a release written twice
    from mratrust.versions import TIMELINE

    releases = sorted({c.version for c in TIMELINE})
    for before, release in itertools.pairwise(releases):
        between = [Version(before.major, before.minor, before.patch + 1)]
        if release.minor > 0:
            between.append(Version(release.major, release.minor - 1, 99))
        for v in between:
            if before < v < release:
                assert _flags(v) == _flags(before), (v, before)
    # negative twin: the table does change at its releases
    assert any(_flags(a) != _flags(b) for a, b in itertools.pairwise(releases))


def test_every_rules_since_is_in_the_version_table() -> None:
    from mratrust.rules import RULES
    from mratrust.versions import CUCM_TOMCAT_REUSE, TIMELINE

    releases = {str(c.version) for c in TIMELINE}
    known = releases | {CUCM_TOMCAT_REUSE.since}
    for info in RULES.values():
        assert info.since is None or info.since in known, (info.id, info.since)
    assert RULES["UCM-REUSE"].since == "UCM 14"
    assert RULES["C2U-TRUST"].since == "X14.2"


def test_uc_feature_knows_unknown_versions() -> None:
    from mratrust.versions import CUCM_TOMCAT_REUSE

    assert CUCM_TOMCAT_REUSE.reached(14) is True
    assert CUCM_TOMCAT_REUSE.reached(12) is False
    assert CUCM_TOMCAT_REUSE.reached(None) is None
    assert CUCM_TOMCAT_REUSE.needs == "Unified CM 14 or later"


def test_the_probe_default_is_in_the_version_table() -> None:
    from mratrust.probe.cli import DEFAULT_VERSION
    from mratrust.versions import LATEST, PROBE_DEFAULT

    assert DEFAULT_VERSION == str(PROBE_DEFAULT) == "X15.3"
    assert _flags(PROBE_DEFAULT)["tls13_rsa_signature_default"] is True
    assert PROBE_DEFAULT <= LATEST
