"""Plain or coloured terminal report: grouped by the graph's endpoints, worst first.

The report is laid out once as lines of styled pieces. Plain text joins the pieces; colour hands
the same lines to rich, which is imported only then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import partial
from itertools import compress
from operator import attrgetter, is_, not_
from typing import IO, TYPE_CHECKING

from mratrust.model import Finding, Status
from mratrust.report.groups import Grouping
from mratrust.report.safe import displayable_finding
from mratrust.textsafe import escape_control

if TYPE_CHECKING:
    from rich.console import Console

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
WIDTH = 110
"""The width a report is laid out for (rich's console has it too when colour is on)."""

Line = tuple[str, tuple[tuple[str, str], ...]]
"""One printed line: its style, and its pieces, each with its own style ("" for none)."""

_BLANK: Line = ("", ())


def _heading(report: Report) -> str:
    path = f" ({report.install_note()})"
    if report.target_version is not None:
        return (
            f"mratrust upgrade-check: {report.deployment}: Expressway {report.expressway_version} "
            f"-> {report.target_version}{path}"
        )
    return f"mratrust audit: {report.deployment}: Expressway {report.expressway_version}{path}"


def _lines(report: Report, *, show_pass: bool, limit: int | None, width: int) -> Iterator[Line]:
    """The report's lines, every text in them displayable (:mod:`mratrust.report.safe`).

    Only the findings shown are made displayable: the passes a report only counts are grouped
    (:meth:`Grouping.heading` escapes what it reads) and never printed.
    """
    report = replace(report, deployment=escape_control(report.deployment))
    yield "bold", ((_heading(report), ""),)
    yield "", ((f"evaluated at {report.evaluated_at:%Y-%m-%d %H:%M:%S} UTC", ""),)
    findings = report.findings
    headings = list(map(Grouping(report).heading, findings))
    is_pass = list(map(partial(is_, Status.PASS), map(attrgetter("status"), findings)))
    passes = Counter(compress(headings, is_pass))  # counted without a loop of ours
    groups: dict[str, list[Finding]] = {}
    listed: Iterable[tuple[Finding, str]] = zip(findings, headings, strict=True)
    if not show_pass:  # only the findings that are not a pass are listed
        listed = compress(listed, map(not_, is_pass))
    for f, group in listed:
        groups.setdefault(group, []).append(f)
    order = sorted(groups, key=lambda g: min(f.status.rank for f in groups[g]))
    shown = 0
    for group in order:
        yield _BLANK
        yield "bold underline", ((group, ""),)
        for f in groups[group]:
            if limit is not None and shown >= limit:
                break
            shown += 1
            yield from _finding(displayable_finding(f), width)
        if not show_pass and passes.get(group):
            yield "green", ((f"  {passes[group]} checks passed", ""),)
    quiet = [g for g in passes if g not in groups]
    if quiet and not show_pass:
        yield _BLANK
        yield "green", ((f"All checks passed for: {', '.join(sorted(quiet))}", ""),)
    yield _BLANK
    summary = report.summary()
    pieces = [("Summary: ", "")]
    for i, (status, count) in enumerate(summary.items()):
        if i:
            pieces.append((", ", ""))
        pieces.append((f"{count} {status}", STYLE[Status(status)] if count else ""))
    yield "", tuple(pieces)


def _finding(f: Finding, width: int) -> Iterator[Line]:
    head = [("  ", ""), (MARK[f.status], STYLE[f.status]), (f" {f.rule}", "")]
    if f.change is not None:
        head.append((f" [{f.change.value}]", "bold" if f.change.value == "new" else ""))
    where = " ".join(x for x in (f.subject.leg, f.subject.certificate) if x)
    if where:
        head.append((f"  {where}", "dim"))
    yield "", tuple(head)
    yield "", ((_wrap(f.message, width, "        ", "        "), ""),)
    if f.since and f.status in (Status.FAIL, Status.RISK):
        yield "dim", ((f"        since {f.since}", ""),)
    for step in f.remediation:
        yield "", ((_wrap(step, width, "        -> ", "           "), ""),)


def _wrap(text: str, width: int, first: str, rest: str) -> str:
    if text and text[0] != " " != text[-1] and text.isprintable():
        if len(text) <= width:
            return first + text  # one line as it is: what textwrap gives, without its cost
        if len(first) == len(rest) and "  " not in text:
            return _fill(text, width, first, rest)
    import textwrap  # only for the text the two lines above cannot lay out

    return textwrap.fill(
        text,
        width=width + len(first),
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _fill(text: str, width: int, first: str, rest: str) -> str:
    """What ``textwrap.fill`` makes of ``text``, words joined by single spaces (printable text,
    no other whitespace), the indents of the same length, and words never broken: each line
    takes the words that fit in ``width``, a longer word a line of its own. Cut a line at a
    time (at the last space that keeps it within ``width``), not a word at a time."""
    lines: list[str] = []
    at, end = 0, len(text)
    while end - at > width:
        cut = text.rfind(" ", at, at + width + 1)
        if cut < 0:  # the first word alone is longer than a line: it has a line of its own
            cut = text.find(" ", at)
            if cut < 0:
                break
        lines.append(text[at:cut])
        at = cut + 1
    lines.append(text[at:])
    return first + ("\n" + rest).join(lines)


def render_to(
    console: Console, report: Report, *, show_pass: bool = False, limit: int | None = None
) -> None:
    """Write the report to a rich console."""
    from rich.text import Text

    width = max(console.width - 8, 40)
    for style, pieces in _lines(report, show_pass=show_pass, limit=limit, width=width):
        if not pieces:
            console.print()
            continue
        line = Text(style=style)
        for text, piece_style in pieces:
            line.append(text, style=piece_style or None)
        console.print(line)


def render(report: Report, *, color: bool = False, show_pass: bool = False) -> str:
    if color:
        import io

        from rich.console import Console

        buf = io.StringIO()
        console = Console(
            file=buf, force_terminal=True, width=WIDTH, highlight=False, soft_wrap=True
        )
        render_to(console, report, show_pass=show_pass)
        return buf.getvalue()
    return "".join(_plain(report, show_pass))


def _plain(report: Report, show_pass: bool) -> Iterator[str]:
    """Each line of the plain report, its newline included."""
    lines = _lines(report, show_pass=show_pass, limit=None, width=max(WIDTH - 8, 40))
    return ("".join(text for text, _ in pieces) + "\n" for _, pieces in lines)


_CHUNK = 1 << 18
"""Characters gathered before a write: few calls, little memory."""


def write(report: Report, out: IO[str], *, show_pass: bool = False) -> None:
    """The plain report (what :func:`render` gives) written to ``out`` about 256 kB at a time:
    a large report is never held whole (4 MB of text at 10,000 nodes, and as much again
    encoded)."""
    batch: list[str] = []
    size = 0
    for line in _plain(report, show_pass):
        batch.append(line)
        size += len(line)
        if size >= _CHUNK:
            out.write("".join(batch))
            batch.clear()
            size = 0
    out.write("".join(batch))
