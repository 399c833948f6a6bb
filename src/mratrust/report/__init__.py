"""Renderers: ``render(report) -> str`` for text, JSON, Markdown and HTML. No logic here."""

from __future__ import annotations

from mratrust.report import html, json, markdown, text

FORMATS = {
    "text": text.render,
    "json": json.render,
    "markdown": markdown.render,
    "html": html.render,
}

__all__ = ["FORMATS", "html", "json", "markdown", "text"]
