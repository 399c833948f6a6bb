"""The one place where a report's text is made safe to show, for every format.

Certificate names, SANs and issuers reach findings (messages, remediation, evidence) and so do a
server's alerts and log lines under ``--probe``; the inventory names subjects. Every renderer
(text, JSON, Markdown, HTML) shows a finding only as :func:`displayable_finding` makes it, so
none of them can print a raw control character, whichever rule wrote the text. HTML starts from
:func:`displayable`; the others escape only what they print (text and Markdown count most passes
without showing them, JSON checks each encoded line and escapes only a suspect one), which is the
same output without the cost of looking at every text of every finding.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mratrust.model import EvidenceValue, Finding, Subject
from mratrust.textsafe import escape_control

if TYPE_CHECKING:
    from mratrust.audit import Report


def _opt(s: str | None) -> str | None:
    return None if s is None else escape_control(s)


def _value(v: EvidenceValue) -> EvidenceValue:
    if isinstance(v, str):
        return escape_control(v)
    if isinstance(v, tuple):
        return tuple(escape_control(x) for x in v)
    return v


def _printable(f: Finding, shared: dict[int, bool] | None = None) -> bool:
    """No text ``f`` carries holds a control character (every one of them is unprintable).

    One ``isprintable`` over all of its text joined. ``shared`` remembers the verdict on the
    sources tuple that a rule's findings share, by identity: the caller keeps the findings, so
    an id is not reused meanwhile.
    """
    if f.sources:
        ok = shared.get(id(f.sources)) if shared is not None else None
        if ok is None:
            ok = "".join(f.sources).isprintable()
            if shared is not None:
                shared[id(f.sources)] = ok
        if not ok:
            return False
    s = f.subject
    texts = [
        f.message,
        s.cluster or "",
        s.node or "",
        s.leg or "",
        s.certificate or "",
        s.leg_id or "",
        s.endpoint_id or "",
        f.since or "",
        *f.remediation,
    ]
    for k, v in f.evidence:
        texts.append(k)
        if isinstance(v, str):
            texts.append(v)
        elif isinstance(v, tuple):
            texts += v
    return "".join(texts).isprintable()


def displayable_finding(f: Finding, _shared: dict[int, bool] | None = None) -> Finding:
    """``f`` with control characters escaped in every text it carries (``f`` itself if none)."""
    if _printable(f, _shared):
        return f
    s = f.subject
    return replace(
        f,
        subject=Subject(
            cluster=_opt(s.cluster),
            node=_opt(s.node),
            leg=_opt(s.leg),
            certificate=_opt(s.certificate),
            leg_id=_opt(s.leg_id),
            endpoint_id=_opt(s.endpoint_id),
        ),
        message=escape_control(f.message),
        since=_opt(f.since),
        remediation=tuple(escape_control(r) for r in f.remediation),
        evidence=tuple((escape_control(k), _value(v)) for k, v in f.evidence),
        sources=tuple(escape_control(u) for u in f.sources),
    )


def displayable(report: Report) -> Report:
    """``report`` with control characters escaped in every text it carries."""
    shared: dict[int, bool] = {}
    return replace(
        report,
        deployment=escape_control(report.deployment),
        findings=tuple(displayable_finding(f, shared) for f in report.findings),
    )
