"""The JSON report of SPEC §4 (``mratrust.report/1``).

A pass keeps its rule, status, subject, message and scalar evidence, but not its list evidence
(chains of fingerprints and the like) nor its own copy of the rule's sources: those are listed
once per rule in ``rule_sources``. Problems (fail, risk, warn, error) and info findings keep
everything. Each finding is written on one line, so that a report of thousands of nodes stays a
file a person can open, search and diff.
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mratrust.model import Finding, Status
from mratrust.report.safe import displayable

if TYPE_CHECKING:
    from mratrust.audit import Report
    from mratrust.topology import Graph

SCHEMA_ID = "mratrust.report/1"


def finding_dict(f: Finding) -> dict[str, Any]:
    brief = f.status is Status.PASS
    s = f.subject
    out: dict[str, Any] = {
        "rule": f.rule,
        "status": f.status.value,
        "severity": f.severity.value,
        "subject": {
            "cluster": s.cluster,
            "node": s.node,
            "leg": s.leg,
            "certificate": s.certificate,
            "leg_id": s.leg_id,
            "endpoint_id": s.endpoint_id,
        },
        "message": f.message,
        "since": f.since,
        "remediation": list(f.remediation),
        "evidence": (
            {k: v for k, v in f.evidence if not isinstance(v, tuple)}
            if brief
            else {k: list(v) if isinstance(v, tuple) else v for k, v in f.evidence}
        ),
        "sources": [] if brief else list(f.sources),
    }
    if f.change is not None:
        out["change"] = f.change.value
    return out


class _Findings:
    """The findings of a report, turned into dicts one at a time as they are encoded."""

    __slots__ = ("findings",)

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        self.findings = findings


def report_dict(report: Report, *, _stream: bool = False) -> dict[str, Any]:
    report = displayable(report)
    out: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "tool": {"name": "mratrust", "version": report.tool_version},
        "evaluated_at": report.evaluated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deployment": report.deployment,
        "expressway_version": str(report.expressway_version),
        "upgraded_from": str(report.upgraded_from) if report.upgraded_from else None,
        "assumed_fresh_install": report.assumed_fresh_install,
    }
    if report.target_version is not None:
        out["target_version"] = str(report.target_version)
    out["findings"] = (
        _Findings(report.findings) if _stream else [finding_dict(f) for f in report.findings]
    )
    out["summary"] = report.summary()
    if report.graph is not None:
        out["graph"] = graph_dict(report.graph)
    sources: dict[str, list[str]] = {}
    for f in report.findings:
        if f.rule not in sources:
            sources[f.rule] = list(f.sources)
    out["rule_sources"] = sources
    return out


def graph_dict(graph: Graph) -> dict[str, Any]:
    """The trust graph of SPEC §4: endpoints, and legs with the worst status of their findings."""
    return {
        "endpoints": [
            {"id": e.id, "kind": e.kind.value, "cluster": e.cluster, "name": e.name}
            for e in graph.endpoints
        ],
        "legs": [
            {
                "id": g.leg.id,
                "client": g.leg.client.id,
                "server": g.leg.server.id,
                "port": g.leg.port,
                "purpose": g.leg.purpose.value,
                "mutual": g.leg.mutual,
                "status": g.status.value if g.status is not None else None,
            }
            for g in graph.legs
        ],
    }


def _encoder() -> Callable[[Any], bytes]:
    """orjson's compact encoder when installed (several times faster), else the standard one."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; kept for a bare install
        return _std_dumps
    plain = orjson.dumps

    def dumps(value: Any) -> bytes:
        try:
            return plain(value)
        except TypeError:  # an integer beyond 64 bits, a lone surrogate: the slower, wider path
            return _std_dumps(value)

    return dumps


def _std_dumps(value: Any) -> bytes:
    text = _json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text.encode("utf-8", "backslashreplace")  # a lone surrogate as a \\u escape


def _layout(value: Any, dumps: Callable[[Any], bytes], out: bytearray, depth: int = 0) -> None:
    """Mappings one key per line; a list of objects one object per line; the rest compact.

    Written into ``out`` piece by piece: each encoded piece is let go at once (orjson's own
    buffers are kilobytes each, whatever they hold).
    """
    pad = b"\n" + b"  " * (depth + 1)
    if isinstance(value, dict) and value:
        out += b"{"
        for i, (k, v) in enumerate(value.items()):
            out += (b"," + pad) if i else pad
            out += dumps(str(k))
            out += b": "
            _layout(v, dumps, out, depth + 1)
        out += b"\n" + b"  " * depth + b"}"
        return
    items: Any = None
    if isinstance(value, _Findings):  # as a list of objects, never all held as dicts at once
        items = (finding_dict(f) for f in value.findings) if value.findings else None
    elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        items = value
    if items is None:
        out += dumps([] if isinstance(value, _Findings) else value)
        return
    out += b"["
    for i, item in enumerate(items):
        out += (b"," + pad) if i else pad
        out += dumps(item)
    out += b"\n" + b"  " * depth + b"]"


def render_bytes(report: Report) -> bytes:
    """The report as UTF-8 JSON."""
    out = bytearray()
    _layout(report_dict(report, _stream=True), _encoder(), out)
    out += b"\n"
    return bytes(out)


def render(report: Report) -> str:
    return render_bytes(report).decode()
