"""A real Chromium (the distribution's package) driven by Playwright, for the HTML reports.

Playwright's own browser download is not used: the tests point it at the installed ``chromium``
(or ``MRATRUST_CHROMIUM``). Without one the tests skip, saying how to install it, unless
``MRATRUST_REQUIRE_BROWSER=1`` (set by CI) turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

INSTALL = (
    "apt-get install chromium (Debian/Ubuntu) and pip install playwright, or set MRATRUST_CHROMIUM"
)


def _chromium() -> str | None:
    given = os.environ.get("MRATRUST_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("MRATRUST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required (MRATRUST_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"{reason}: {INSTALL}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests write screenshots and PDFs (``MRATRUST_SCREENSHOTS``, kept by CI)."""
    given = os.environ.get("MRATRUST_SCREENSHOTS")
    out = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


from tests.pki.conftest import pki  # noqa: E402, F401  (a fixture: pytest finds it here)
