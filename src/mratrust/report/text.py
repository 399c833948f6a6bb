"""Plain or coloured terminal report: grouped by the graph's endpoints, worst first."""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from mratrust.model import Finding, Status
from mratrust.report.groups import Grouping
from mratrust.report.safe import displayable

if TYPE_CHECKING:
    from mratrust.audit import Report

STYLE = {
    Status.FAIL: "bold red",
    Status.ERROR: "bold magenta",
    Status.RISK: "yellow",
    Status.WARN: "yellow",
    Status.INFO: "cyan",
    Status.PASS: "green",
}
MARK = {
    Status.FAIL: "FAIL ",
    Status.ERROR: "ERROR",
    Status.RISK: "RISK ",
    Status.WARN: "WARN ",
    Status.INFO: "info ",
    Status.PASS: "pass ",
}


def _heading(report: Report) -> str:
    path = f" ({report.install_note()})"
    if report.target_version is not None:
        return (
            f"mratrust upgrade-check: {report.deployment}: Expressway {report.expressway_version} "
            f"-> {report.target_version}{path}"
        )
    return f"mratrust audit: {report.deployment}: Expressway {report.expressway_version}{path}"


def render_to(
    console: Console, report: Report, *, show_pass: bool = False, limit: int | None = None
) -> None:
    """Write the report to a rich console."""
    report = displayable(report)
    console.print(Text(_heading(report), style="bold"))
    console.print(f"evaluated at {report.evaluated_at:%Y-%m-%d %H:%M:%S} UTC")
    findings = [f for f in report.findings if show_pass or f.status is not Status.PASS]
    grouping = Grouping(report)
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(grouping.heading(f), []).append(f)
    passes: dict[str, int] = {}
    for f in report.findings:
        if f.status is Status.PASS:
            group = grouping.heading(f)
            passes[group] = passes.get(group, 0) + 1
    order = sorted(groups, key=lambda g: min(f.status.rank for f in groups[g]))
    shown = 0
    for group in order:
        console.print()
        console.print(Text(group, style="bold underline"))
        for f in groups[group]:
            if limit is not None and shown >= limit:
                break
            shown += 1
            _finding(console, f)
        if not show_pass and passes.get(group):
            console.print(Text(f"  {passes[group]} checks passed", style="green"))
    quiet = [g for g in passes if g not in groups]
    if quiet and not show_pass:
        console.print()
        console.print(Text(f"All checks passed for: {', '.join(sorted(quiet))}", style="green"))
    console.print()
    summary = report.summary()
    line = Text("Summary: ")
    for i, (status, count) in enumerate(summary.items()):
        if i:
            line.append(", ")
        line.append(f"{count} {status}", style=STYLE[Status(status)] if count else "")
    console.print(line)


def _finding(console: Console, f: Finding) -> None:
    head = Text("  ")
    head.append(MARK[f.status], style=STYLE[f.status])
    head.append(f" {f.rule}")
    if f.change is not None:
        head.append(f" [{f.change.value}]", style="bold" if f.change.value == "new" else "")
    where = " ".join(x for x in (f.subject.leg, f.subject.certificate) if x)
    if where:
        head.append(f"  {where}", style="dim")
    console.print(head)
    width = max(console.width - 8, 40)
    console.print(Text(_wrap(f.message, width, "        ", "        ")))
    if f.since and f.status in (Status.FAIL, Status.RISK):
        console.print(Text(f"        since {f.since}", style="dim"))
    for step in f.remediation:
        console.print(Text(_wrap(step, width, "        -> ", "           ")))


def _wrap(text: str, width: int, first: str, rest: str) -> str:
    return textwrap.fill(
        text,
        width=width + len(first),
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


class _Plain:
    """The part of a rich console that :func:`render_to` uses, writing plain text.

    Without colour, rich's console only adds cost: every line it prints is a styled text (or a
    string without markup) written as it is, since the console never wraps (``soft_wrap``).
    """

    def __init__(self, buf: io.StringIO, width: int) -> None:
        self.width = width
        self._write = buf.write

    def print(self, *objects: Text | str) -> None:
        self._write(" ".join(o.plain if isinstance(o, Text) else o for o in objects) + "\n")


def render(report: Report, *, color: bool = False, show_pass: bool = False) -> str:
    buf = io.StringIO()
    console: Console | _Plain = (
        Console(
            file=buf,
            force_terminal=True,
            width=110,
            highlight=False,
            soft_wrap=True,
        )
        if color
        else _Plain(buf, 110)
    )
    render_to(console, report, show_pass=show_pass)  # type: ignore[arg-type]
    return buf.getvalue()
