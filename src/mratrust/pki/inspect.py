"""Text and JSON views of certificates (``inspect``) and of a path verdict (``verify``).

Every text that comes from a certificate (names, SANs, issuers, problem messages that quote them)
or from the command line goes through :func:`~mratrust.textsafe.escape_control` here, in both
formats: a certificate cannot clear the terminal that inspects it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from mratrust.pki.facts import CertFacts, facts
from mratrust.pki.load import LoadedCert
from mratrust.pki.verify import PathResult
from mratrust.textsafe import escape_control as esc


def _opt(s: str | None) -> str | None:
    return None if s is None else esc(s)


def facts_dict(f: CertFacts, now: dt.datetime | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "subject": esc(f.subject),
        "common_name": _opt(f.common_name),
        "san_dns": [esc(n) for n in f.san_dns],
        "san_ip": list(f.san_ip),
        "issuer": esc(f.issuer),
        "serial": f"{f.serial:x}",
        "not_before": f.not_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": f.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "key": {"type": f.key.type.value, "bits": f.key.bits, "curve": f.key.curve},
        "signature_hash": f.signature_hash,
        "eku": list(f.eku) if f.has_eku else None,
        "key_usage": list(f.key_usage),
        "basic_constraints": None
        if f.is_ca is None
        else {"ca": f.is_ca, "critical": f.basic_constraints_critical},
        "self_signed": f.self_signed,
        "wildcard": f.wildcard,
        "multi_server": f.multi_server,
        "fingerprint": f.fingerprint,
    }
    if now is not None:
        out["valid_now"] = f.valid_at(now)
    return out


def _lines(f: CertFacts, now: dt.datetime) -> list[str]:
    days = (f.not_after - now).days
    state = (
        "EXPIRED"
        if now > f.not_after
        else ("NOT YET VALID" if now < f.not_before else f"{days} days left")
    )
    bc = (
        "absent"
        if f.is_ca is None
        else f"CA:{'TRUE' if f.is_ca else 'FALSE'}"
        + (" (critical)" if f.basic_constraints_critical else " (not critical)")
    )
    kinds = [
        k
        for k, on in (
            ("self-signed", f.self_signed),
            ("wildcard", f.wildcard),
            ("CUCM multi-server (SAN)", f.multi_server),
        )
        if on
    ]
    return [
        f"  Subject:     {esc(f.subject) or '(empty)'}",
        f"  SAN:         {esc(', '.join(f.names)) if f.names else '(none)'}",
        f"  Issuer:      {esc(f.issuer)}",
        f"  Validity:    {f.not_before:%Y-%m-%d} .. {f.not_after:%Y-%m-%d}  [{state}]",
        f"  Key:         {f.key.describe()}",
        f"  Signature:   {f.signature_hash or 'unknown'}",
        f"  EKU:         {', '.join(f.eku) if f.has_eku else '(absent: any use)'}",
        f"  Key usage:   {', '.join(f.key_usage) or '(absent)'}",
        f"  Basic constr:{' ' + bc}",
        f"  Kind:        {', '.join(kinds) or 'issued by a CA'}",
        f"  Serial:      {f.serial:x}",
        f"  SHA-256:     {f.fingerprint.removeprefix('sha256:')}",
    ]


def render_inspect(
    certs: Sequence[LoadedCert], *, fmt: str = "text", now: dt.datetime | None = None
) -> str:
    """Describe every certificate (never a private key: they are not even loaded)."""
    when = now or dt.datetime.now(dt.UTC)
    if fmt == "json":
        return (
            json.dumps(
                [
                    {"source": esc(c.source), "index": c.index, **facts_dict(facts(c.cert), when)}
                    for c in certs
                ],
                indent=2,
            )
            + "\n"
        )
    out: list[str] = []
    for c in certs:
        out.append(f"{esc(c.source)} #{c.index + 1}")
        out.extend(_lines(facts(c.cert), when))
        out.append("")
    return "\n".join(out)


def render_verify(result: PathResult, *, fmt: str, chain_file: str, store: str) -> str:
    if fmt == "json":
        return (
            json.dumps(
                {
                    "ok": result.ok,
                    "trusted": result.trusted,
                    "name": _opt(result.checked_name),
                    "name_match": result.name_match.value if result.name_match else None,
                    "path": [esc(facts(c).subject) for c in result.chain],
                    "missing_issuer": _opt(result.missing_issuer),
                    "problems": [
                        {"reason": p.reason.value, "fatal": p.fatal, "message": esc(p.message)}
                        for p in result.problems
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    lines = [
        f"{esc(chain_file)} against {esc(store)}"
        + (f" for {esc(result.checked_name)}" if result.checked_name else "")
    ]
    lines.append("  Path:")
    for i, c in enumerate(result.chain):
        f = facts(c)
        anchor = "  (trust anchor)" if c is result.anchor else ""
        lines.append(f"    {i}. {esc(f.subject)}{anchor}")
    if result.ok:
        warn = [p for p in result.problems if not p.fatal]
        lines.append("  Verdict: OK" + (" with warnings" if warn else ""))
        lines.extend(f"    warning [{p.reason.value}]: {esc(p.message)}" for p in warn)
    else:
        lines.append("  Verdict: FAILED")
        for p in result.problems:
            tag = "error" if p.fatal else "warning"
            lines.append(f"    {tag} [{p.reason.value}]: {esc(p.message)}")
    return "\n".join(lines) + "\n"
