"""Without Chromium the browser tests skip with how to install it; CI makes that a failure."""

from __future__ import annotations

import pytest

from tests.browser.conftest import _unavailable


def test_without_a_browser_the_tests_skip_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MRATRUST_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium found: apt-get install chromium"):
        _unavailable("no Chromium found")


def test_ci_turns_the_skip_into_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MRATRUST_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match=r"required .* but no Chromium found"):
        _unavailable("no Chromium found")
