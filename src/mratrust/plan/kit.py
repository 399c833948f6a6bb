"""Kit: write the folder of ``plan --out`` (PEM files per upload, steps.json, steps.md,
steps.html)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography import x509

from mratrust.errors import InputError
from mratrust.pki.facts import facts
from mratrust.pki.write import certs_pem, safe_name
from mratrust.plan.render import _markdown, _title, summary
from mratrust.plan.types import Plan, Step


def _safe(name: str) -> str:
    return safe_name(name, empty="cert")


def _file_name(cert: x509.Certificate, used: set[str]) -> str:
    f = facts(cert)
    base = _safe(f.common_name or f.subject)
    name = f"{base}.pem"
    i = 2
    while name in used:
        name = f"{base}-{i}.pem"
        i += 1
    used.add(name)
    return name


def _folder(step: Step) -> str:
    t = step.target_dict()
    owner = t.get("cluster") or t.get("peer") or t.get("system")
    return f"{step.order:02d}-{_safe(str(owner))}-{_safe(str(t.get('store', step.action)))}"


def kit_files(plan: Plan) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """steps.json content and the PEM files, by path relative to the kit folder."""
    files: dict[str, bytes] = {}
    out: list[dict[str, Any]] = []
    for step in plan.steps:
        data = step.as_json()
        if step.action == "upload-trust":
            folder = _folder(step)
            used: set[str] = set()
            names = []
            for cert in step.certificates:
                rel = f"{folder}/{_file_name(cert, used)}"
                files[rel] = certs_pem((cert,))
                names.append(rel)
            data["files"] = names
        out.append(data)
    return out, files


def write_kit(plan: Plan, out: Path, *, force: bool = False, fmt: str = "text") -> str:
    """Write steps.json, steps.md, steps.html and the PEM folders; return what to print."""
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", file=out, hint="choose another --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(
            "folder is not empty", file=out, hint="choose an empty folder or add --force"
        )
    steps_json, files = kit_files(plan)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if force:
            for old in sorted(out.rglob("*"), reverse=True):
                if old.is_file() and (old.suffix == ".pem" or old.name.startswith("steps.")):
                    old.unlink()
                elif old.is_dir() and not any(old.iterdir()):
                    old.rmdir()
        for rel, data in files.items():
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (out / "steps.json").write_text(json.dumps(steps_json, indent=2) + "\n", encoding="utf-8")
        (out / "steps.md").write_text(_markdown(plan, steps_json), encoding="utf-8")
        from mratrust.report.html import render_steps

        titled = [(_title(s), data) for s, data in zip(plan.steps, steps_json, strict=True)]
        page = render_steps(plan.before, plan.fixed, titled)
        (out / "steps.html").write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the kit ({exc.strerror})", file=out) from exc
    return summary(plan, out, steps_json, files, fmt)
