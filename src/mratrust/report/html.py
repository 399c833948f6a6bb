"""A standalone HTML report (jinja2, autoescaped)."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from jinja2 import Environment, select_autoescape

from mratrust.report.safe import displayable

if TYPE_CHECKING:
    from mratrust.audit import Report

_TEMPLATE = (resources.files("mratrust.report") / "report.html.j2").read_text("utf-8")

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def render(report: Report) -> str:
    return _ENV.from_string(_TEMPLATE).render(r=displayable(report))
