"""Render: the text of steps.md and the summary the ``plan`` command prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mratrust.model import Product, Status
from mratrust.pki.facts import facts
from mratrust.plan.types import TARGET_BAD, Plan, Step
from mratrust.products import info as product_info

_SETTINGS = {
    "ciphers.uc_server_discovery": "the UC server discovery cipher string on Expressway-C",
    "ciphers.sip": "the SIP cipher string on Expressway-C",
    "SIP Advanced TlsSignatureAlgoPrefRsa": "the SIP TLS 1.3 signature preference on Expressway-C",
    "https_ciphers": "the HTTPS Ciphers enterprise parameter",
    "server_names": "the server names (System > Server)",
    "enable_server_eku_upload": "XCP TLS Certificate CVS EnableServerEkuUpload (X15.4)",
}


def _owner(t: dict[str, Any]) -> str:
    system = str(t.get("system", ""))
    if system == "expressway-c":
        return f"Expressway-C {t['peer']}" if t.get("peer") else "Expressway-C"
    if system == "expressway-e":
        return f"Expressway-E {t['peer']}" if t.get("peer") else "Expressway-E"
    if system == "ca":
        return "the issuing CA"
    label = product_info(Product(system)).label if system in ("cucm", "imp", "cuc") else system
    return f"{label} cluster {t['cluster']}" if t.get("cluster") else label


def _title(step: Step) -> str:
    """A heading a UC engineer reads as an instruction."""
    t = step.target_dict()
    system = str(t.get("system", ""))
    owner = _owner(t)
    if step.action == "obtain-ca":
        return f"Obtain the CA certificate {step.subject} (key identifier {step.key_id})"
    if step.action == "upload-trust":
        if system in ("expressway-c", "expressway-e"):
            return f"Upload to the trusted CA list of {owner}"
        return f"Upload to the {t.get('store')} of {owner}, on the publisher"
    if step.action == "remove-trust":
        return f"Remove from the trusted CA list of {owner}"
    if step.action == "restart":
        if system in ("expressway-c", "expressway-e"):
            return f"Restart {owner}"
        return f"Restart services node by node in {owner} ({', '.join(t.get('nodes', []))})"
    if step.action == "configure":
        setting = str(t.get("setting") or "")
        label = _SETTINGS.get(setting, setting)
        where = "" if system == "expressway-c" else f" of {owner}"
        return f"Change {label}{where}" if setting else f"Change the setup of {owner}"
    if step.action == "reissue":
        what = t.get("certificate", "certificate")
        nodes = t.get("nodes") or []
        where = owner + (f" ({', '.join(nodes)})" if nodes else "")
        details = "; ".join(
            part
            for part in (
                f"SAN {', '.join(t['san'])}" if t.get("san") else "",
                str(t.get("key") or ""),
                f"EKU {' + '.join(t['eku'])}" if t.get("eku") else "",
                "multi-server (SAN) CSR" if t.get("multi_server") == "True" else "",
                f"signed by {t['issuer']}" if t.get("issuer") else "",
            )
            if part
        )
        if system == "ca":
            return f"Renew {what} at {owner}"
        return f"Reissue the {what} certificate of {where}" + (f" ({details})" if details else "")
    return "Refresh the UC servers on Expressway-C"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _proof_of_obtain(plan: Plan) -> str:
    """Which steps and failures wait for an obtain-ca step."""
    parts = []
    for order, needs in sorted(plan.dependent_steps.items()):
        parts.append(f"step {order} depends on obtain-ca step {', '.join(map(str, needs))}")
    waiting = len(plan.pending)
    return (
        f"{_plural(waiting, 'remaining finding')} {'waits' if waiting == 1 else 'wait'} for a CA "
        f"the kit does not hold: {'; '.join(parts)}. Once it is obtained (or given with --ca), "
        "those uploads complete the path; the proof cannot apply a certificate it does not have."
    )


def _markdown(plan: Plan, steps_json: list[dict[str, Any]]) -> str:
    before = plan.before
    head = f"# Remediation plan: {before.deployment}\n\n"
    if before.target_version is not None:
        head += (
            f"Prepares Expressway **{before.expressway_version} → {before.target_version}**: "
            "apply before upgrading.\n\n"
        )
    else:
        head += f"For Expressway **{before.expressway_version}**.\n\n"
    bad = [f for f in before.findings if f.status in TARGET_BAD]
    head += (
        f"The audit found {_plural(sum(f.status is Status.FAIL for f in bad), 'failure')} and "
        f"{_plural(sum(f.status is Status.RISK for f in bad), 'risk')}. Applied in memory, this "
        f"kit fixes {len(plan.fixed)} of them; {len(plan.remaining)} remain"
        + (
            " (they need the reissues or settings below)"
            if len(plan.remaining) > len(plan.pending)
            else ""
        )
        + ".\n\n"
    )
    if plan.pending:
        head += _proof_of_obtain(plan) + "\n\n"
    lines = [head, "## Steps\n"]
    for s, data in zip(plan.steps, steps_json, strict=True):
        lines.append(f"### {s.order}. {_title(s)}\n")
        if s.why:
            lines.append(f"Why: {s.why}\n")
        first = [c for c in s.commands if c.startswith("recommended instead")]
        for cmd in first:
            lines.append(f"- [ ] {cmd}")
        for subject, key_id, step in s.missing:
            lines.append(
                f"- [ ] upload {subject} (key identifier {key_id}) once step {step} has obtained it"
            )
        for f in data["files"]:
            lines.append(f"- [ ] upload `{f}`")
        for cmd in s.commands:
            if cmd not in first:
                lines.append(f"- [ ] {cmd}")
        if s.action == "remove-trust":
            for cert in s.certificates:
                lines.append(f"  - {facts(cert).subject} ({facts(cert).fingerprint})")
        if s.sources:
            lines.append(f"\nSources: {', '.join(s.sources)}")
        lines.append(f"\nFixes: {', '.join(s.fixes) or '—'}\n")
    if plan.remaining:
        lines.append("## Still failing after the uploads and settings of this kit\n")
        for f in plan.remaining:
            where = " ".join(x for x in (f.subject.cluster, f.subject.node, f.subject.leg) if x)
            lines.append(f"- {f.status.value.upper()} {f.rule} {where}: {f.message}")
        lines.append("")
    lines.append("## Check afterwards\n")
    lines.append(
        "- [ ] `mratrust audit` (with `--probe` from the Expressway-C network) shows no fail"
    )
    return "\n".join(lines) + "\n"


def summary(
    plan: Plan, out: Path, steps_json: list[dict[str, Any]], files: dict[str, bytes], fmt: str
) -> str:
    """What ``plan --out`` prints once the kit is written (``fmt``: text, json or markdown)."""
    if fmt == "json":
        return (
            json.dumps(
                {
                    "out": str(out),
                    "steps": steps_json,
                    "depends_on_obtain_ca": {
                        str(k): list(v) for k, v in sorted(plan.dependent_steps.items())
                    },
                    "fixed": [f.rule for f in plan.fixed],
                    "remaining": [
                        {"rule": f.rule, "status": f.status.value, "message": f.message}
                        for f in plan.remaining
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    if fmt == "markdown":
        return _markdown(plan, steps_json)
    lines = [f"Remediation kit written to {out}: {len(plan.steps)} steps, {len(files)} files"]
    for s in plan.steps:
        t = s.target_dict()
        owner = s.subject or t.get("cluster") or t.get("peer") or t.get("system")
        store = f" {t['store']}" if "store" in t else ""
        needs = f" [needs step {', '.join(map(str, s.needs))}]" if s.needs else ""
        lines.append(f"  {s.order:2}. {s.action:<13} {owner}{store}{needs}  ({', '.join(s.fixes)})")
    lines.append(
        f"Proof: applied in memory, the kit fixes {len(plan.fixed)} failing checks; "
        f"{len(plan.remaining)} remain"
        + (
            " (need a reissue or a product setting; see steps.md)"
            if len(plan.remaining) > len(plan.pending)
            else ""
        )
    )
    if plan.pending:
        lines.append("Proof: " + _proof_of_obtain(plan))
    return "\n".join(lines) + "\n"
