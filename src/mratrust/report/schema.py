"""The JSON Schema of the report (SPEC §4), built from the enums so it cannot drift silently.

``schema/report.schema.json`` in the repository is this schema, written by
``python -m mratrust.report.schema``; a test fails when the two differ.
"""

from __future__ import annotations

import json
from typing import Any

from mratrust.model import ChangeKind, Severity, Status
from mratrust.report.json import SCHEMA_ID
from mratrust.topology import EndpointKind, Purpose

_NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}


def report_schema() -> dict[str, Any]:
    statuses = [s.value for s in Status]
    finding = {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "rule",
            "status",
            "severity",
            "subject",
            "message",
            "since",
            "remediation",
            "evidence",
            "sources",
        ],
        "properties": {
            "rule": {"type": "string", "pattern": "^[A-Z0-9]+(-[A-Z0-9]+)+$"},
            "status": {"enum": statuses},
            "severity": {"enum": [s.value for s in Severity]},
            "subject": {
                "type": "object",
                "additionalProperties": False,
                "required": ["cluster", "node", "leg", "certificate", "leg_id", "endpoint_id"],
                "properties": {
                    "cluster": _NULLABLE_STR,
                    "node": _NULLABLE_STR,
                    "leg": _NULLABLE_STR,
                    "certificate": _NULLABLE_STR,
                    "leg_id": _NULLABLE_STR,
                    "endpoint_id": _NULLABLE_STR,
                },
            },
            "message": {"type": "string", "minLength": 1},
            "since": _NULLABLE_STR,
            "remediation": {"type": "array", "items": {"type": "string"}},
            "evidence": {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [
                        {"type": "string"},
                        {"type": "integer"},
                        {"type": "boolean"},
                        {"type": "array", "items": {"type": "string"}},
                    ]
                },
            },
            "sources": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "change": {"enum": [c.value for c in ChangeKind]},
        },
    }
    endpoint = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "kind", "cluster", "name"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "kind": {"enum": [k.value for k in EndpointKind]},
            "cluster": {"type": "string"},
            "name": {"type": "string", "minLength": 1},
        },
    }
    leg = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "client", "server", "port", "purpose", "mutual", "status"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "client": {"type": "string", "minLength": 1},
            "server": {"type": "string", "minLength": 1},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "purpose": {"enum": [p.value for p in Purpose]},
            "mutual": {"type": "boolean"},
            "status": {"enum": [*statuses, None]},
        },
    }
    graph = {
        "type": "object",
        "additionalProperties": False,
        "required": ["endpoints", "legs"],
        "properties": {
            "endpoints": {"type": "array", "items": endpoint},
            "legs": {"type": "array", "items": leg},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mratrust.invalid/schema/report-1.json",
        "title": "mratrust report",
        "type": "object",
        "additionalProperties": False,
        "required": [
            "schema",
            "tool",
            "evaluated_at",
            "deployment",
            "expressway_version",
            "findings",
            "summary",
        ],
        "properties": {
            "schema": {"const": SCHEMA_ID},
            "tool": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "version"],
                "properties": {"name": {"const": "mratrust"}, "version": {"type": "string"}},
            },
            "evaluated_at": {
                "type": "string",
                "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$",
            },
            "deployment": {"type": "string"},
            "expressway_version": {"type": "string", "pattern": "^X\\d+\\.\\d+(\\.\\d+)?$"},
            "target_version": {"type": "string", "pattern": "^X\\d+\\.\\d+(\\.\\d+)?$"},
            "upgraded_from": {
                "type": ["string", "null"],
                "pattern": "^X\\d+\\.\\d+(\\.\\d+)?$",
            },
            "assumed_fresh_install": {"type": "boolean"},
            "findings": {"type": "array", "items": finding},
            "graph": graph,
            "summary": {
                "type": "object",
                "additionalProperties": False,
                "required": statuses,
                "properties": {s: {"type": "integer", "minimum": 0} for s in statuses},
            },
            "rule_sources": {
                "description": "The sources of every rule in the report, listed once (a pass "
                "does not repeat them)",
                "type": "object",
                "additionalProperties": {
                    "type": "array",
                    "items": {"type": "string", "format": "uri"},
                },
            },
        },
    }


def dumps() -> str:
    return json.dumps(report_schema(), indent=2) + "\n"


if __name__ == "__main__":
    print(dumps(), end="")
