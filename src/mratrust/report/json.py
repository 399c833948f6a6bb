"""The JSON report of SPEC §4 (``mratrust.report/1``)."""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any

from mratrust.model import Finding
from mratrust.report.safe import displayable

if TYPE_CHECKING:
    from mratrust.audit import Report
    from mratrust.topology import Graph

SCHEMA_ID = "mratrust.report/1"


def finding_dict(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": f.rule,
        "status": f.status.value,
        "severity": f.severity.value,
        "subject": {
            "cluster": f.subject.cluster,
            "node": f.subject.node,
            "leg": f.subject.leg,
            "certificate": f.subject.certificate,
            "leg_id": f.subject.leg_id,
            "endpoint_id": f.subject.endpoint_id,
        },
        "message": f.message,
        "since": f.since,
        "remediation": list(f.remediation),
        "evidence": {k: list(v) if isinstance(v, tuple) else v for k, v in f.evidence},
        "sources": list(f.sources),
    }
    if f.change is not None:
        out["change"] = f.change.value
    return out


def report_dict(report: Report) -> dict[str, Any]:
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
    out["findings"] = [finding_dict(f) for f in report.findings]
    out["summary"] = report.summary()
    if report.graph is not None:
        out["graph"] = graph_dict(report.graph)
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


def render(report: Report) -> str:
    return _json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
