"""Renderers: ``render(report) -> str`` for text, JSON, Markdown and HTML. No logic here.

Each renderer is imported when it is first used: only HTML loads jinja2, and only colour on a
terminal loads rich. JSON can also be streamed to a file (:func:`mratrust.report.json.write`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mratrust.audit import Report
    from mratrust.report import html, json, markdown, text

_NAMES = ("text", "json", "markdown", "html")


def _lazy(name: str) -> Callable[[Report], str]:
    def render(report: Report) -> str:
        module = importlib.import_module(f"mratrust.report.{name}")
        result: str = module.render(report)
        return result

    render.__name__ = f"render_{name}"
    return render


FORMATS: dict[str, Callable[[Report], str]] = {name: _lazy(name) for name in _NAMES}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return importlib.import_module(f"mratrust.report.{name}")
    raise AttributeError(f"module 'mratrust.report' has no attribute {name!r}")


__all__ = ["FORMATS", "html", "json", "markdown", "text"]
