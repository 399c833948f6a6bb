from __future__ import annotations

import pytest

from mratrust.ciphers import (
    BASE_CIPHERS,
    RSA_PREFIX,
    Auth,
    effective,
    expand,
    render_ciphers,
    suggest_rsa_first,
)
from mratrust.errors import InputError
from mratrust.versions import Version


def test_base_string_prefers_ecdsa() -> None:
    exp = expand(BASE_CIPHERS)
    assert exp.prefers_ecdsa
    assert exp.suites[exp.first_ecdsa or 0].name == "ECDHE-ECDSA-AES256-GCM-SHA384"
    assert "OpenSSL" in exp.openssl


def test_prefix_prefers_rsa() -> None:
    exp = expand(RSA_PREFIX + BASE_CIPHERS)
    assert not exp.prefers_ecdsa
    assert exp.suites[exp.first_rsa or 0].name == "ECDHE-RSA-AES256-GCM-SHA384"


def test_plus_ecdsa_moves_ecdsa_last() -> None:
    exp = expand(BASE_CIPHERS + ":+ECDSA")
    assert not exp.prefers_ecdsa
    tls12 = [s for s in exp.suites if s.auth in (Auth.RSA, Auth.ECDSA)]
    assert tls12[-1].auth is Auth.ECDSA


def test_bang_ecdsa_removes_it() -> None:
    exp = expand(BASE_CIPHERS + ":!ECDSA")
    assert not exp.offers_ecdsa and not exp.prefers_ecdsa


def test_suggestions_are_verified() -> None:
    suggestions = suggest_rsa_first(BASE_CIPHERS)
    assert {s.how.split()[0] for s in suggestions} == {"prefix", "append"}
    for s in suggestions:
        assert not s.expansion.prefers_ecdsa
        assert s.expansion.first_rsa is not None


def test_no_suggestion_when_rsa_is_banned() -> None:
    # "!aRSA" removes RSA for good, so no rewrite can prefer it: the twin of the verified case
    assert suggest_rsa_first("HIGH:!aRSA") == ()


def test_junk_string_is_input_error() -> None:
    with pytest.raises(InputError, match="matches no cipher suite"):
        expand("NOT-A-CIPHER")


def test_effective_follows_upgrade_path() -> None:
    fresh = effective(None, Version.parse("X14.2.1"), None)
    assert fresh.prefers_ecdsa is True and not fresh.configured
    upgraded = effective(None, Version.parse("X14.2.1"), Version.parse("X14.0.7"))
    assert upgraded.prefers_ecdsa is False
    unknown = effective(None, Version.parse("X15.3"), Version.parse("X14.2.1"))
    assert unknown.prefers_ecdsa is None
    configured = effective(BASE_CIPHERS + ":+ECDSA", Version.parse("X14.2.1"), None)
    assert configured.configured and configured.prefers_ecdsa is False


def test_render_text_and_json() -> None:
    text = render_ciphers(None, version=Version.parse("X14.2.1"), fresh=True)
    assert "ECDSA is preferred" in text and "To prefer RSA" in text
    text = render_ciphers(
        None, version=Version.parse("X14.2.1"), upgraded_from=Version.parse("X14.0.7")
    )
    assert "RSA is preferred" in text
    assert '"prefers_ecdsa": true' in render_ciphers(BASE_CIPHERS, fmt="json")


def test_render_needs_string_or_version() -> None:
    with pytest.raises(InputError, match="cipher string or --version"):
        render_ciphers(None)


def test_x14_0_7_default_is_labelled_modelled_not_documented() -> None:
    """The RSA prefix is what the upgrade to X14.2 adds, not a documented X14.0.7 default."""
    text = render_ciphers(None, version=Version.parse("X14.0.7"))
    assert "default of X14.0.7" in text
    assert "modelled default of X14.0.7" in text
    assert "what an upgrade to X14.2 from X14.0 or later adds" in text
    js = render_ciphers(None, version=Version.parse("X14.0.7"), fmt="json")
    assert '"documented": false' in js


def test_x15_3_fresh_default_is_the_documented_string() -> None:
    """The twin: the X15.0.2+ fresh default is the one tech note 222186 documents."""
    js = render_ciphers(None, version=Version.parse("X15.3"), fresh=True, fmt="json")
    assert '"documented": true' in js and "documented default of X15.3" in js


def test_rsa_first_verdict_says_tls_1_2_only() -> None:
    text = render_ciphers(RSA_PREFIX + BASE_CIPHERS)
    assert "RSA is preferred over ECDSA under TLS 1.2" in text and "TLS 1.3" in text
