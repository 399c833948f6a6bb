"""A Markdown report for pasting into a change ticket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mratrust.model import Finding, Status
from mratrust.report.groups import Grouping
from mratrust.report.safe import displayable

if TYPE_CHECKING:
    from mratrust.audit import Report


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: Report) -> str:
    report = displayable(report)
    title = f"# mratrust: {report.deployment}"
    lines = [title, ""]
    if report.target_version is not None:
        lines.append(
            f"Upgrade check: Expressway **{report.expressway_version}** → "
            f"**{report.target_version}** ({report.install_note()}), evaluated "
            f"{report.evaluated_at:%Y-%m-%d %H:%M} UTC."
        )
    else:
        lines.append(
            f"Audit at Expressway **{report.expressway_version}** ({report.install_note()}), "
            f"evaluated {report.evaluated_at:%Y-%m-%d %H:%M} UTC."
        )
    lines.append("")
    summary = report.summary()
    lines.append(" · ".join(f"**{v}** {k}" for k, v in summary.items()))
    lines.append("")
    problems = [f for f in report.findings if f.status is not Status.PASS]
    if problems:
        change = report.target_version is not None
        lines.append("| status | rule | " + ("change | " if change else "") + "where | finding |")
        lines.append("|---|---|" + ("---|" if change else "") + "---|---|")
        grouping = Grouping(report)
        groups: dict[str, list[Finding]] = {}
        for f in problems:
            groups.setdefault(grouping.heading(f), []).append(f)
        ordered = sorted(groups.values(), key=lambda g: min(f.status.rank for f in g))
        for f in (f for group in ordered for f in group):
            where = " ".join(
                x for x in (grouping.heading(f), f.subject.leg, f.subject.certificate) if x
            )
            ch = f" {f.change.value if f.change else ''} |" if change else ""
            lines.append(
                f"| {f.status.value.upper()} | {f.rule} |{ch} {_cell(where)} | {_cell(f.message)} |"
            )
        lines.append("")
        actions = [
            (f, step)
            for f in problems
            if f.status in (Status.FAIL, Status.RISK)
            for step in f.remediation
        ]
        if actions:
            lines.append("## What to do")
            lines.append("")
            seen: set[str] = set()
            for _, step in actions:
                if step not in seen:
                    seen.add(step)
                    lines.append(f"- [ ] {step}")
            lines.append("")
    else:
        lines.append("Every check passed.")
        lines.append("")
    passed = summary.get("pass", 0)
    lines.append(f"{passed} checks passed (run with `--format json` for all of them).")
    return "\n".join(lines) + "\n"
