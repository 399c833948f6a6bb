"""The JSON report of SPEC §4 (``mratrust.report/1``)."""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any

from mratrust.model import Finding
from mratrust.report.safe import displayable

if TYPE_CHECKING:
    from mratrust.audit import Report

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
    return out


def render(report: Report) -> str:
    return _json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
