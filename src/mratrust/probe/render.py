"""Probe reports as text for people and JSON for tools. No logic: the verdicts are made already.

Nothing here can print a private key: the reports hold certificates and names only. Every string
that reaches the output goes through :func:`mratrust.textsafe.escape_control` (SPEC §2): names,
alert details and messages come from certificates and servers, and must not drive the terminal.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from cryptography import x509

from mratrust import __version__
from mratrust.pki.facts import facts
from mratrust.pki.verify import TrustStore
from mratrust.probe.client import ClientProfile
from mratrust.probe.outcome import Outcome
from mratrust.probe.verdict import EndpointReport, Observation, ServerIdentity, Verdict
from mratrust.textsafe import escape_control

SCHEMA = "mratrust.probe/1"


def status(report: EndpointReport) -> str:
    """``ok``, ``fail`` (a verdict fails), ``incomplete`` (an offer got no answer: an identity may
    be unseen) or ``error`` (could not be probed)."""
    if report.failed:
        return "fail"
    if not report.reachable:
        return "error"
    if report.incomplete:
        return "incomplete"
    return "ok"


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_json(cert: x509.Certificate) -> dict[str, Any]:
    """The facts of one certificate that matter for MRA."""
    f = facts(cert)
    return {
        "subject": f.subject,
        "issuer": f.issuer,
        "san": [*f.san_dns, *f.san_ip],
        "key": {"type": f.key.type.value, "bits": f.key.bits, "curve": f.key.curve},
        "not_before": _when(f.not_before),
        "not_after": _when(f.not_after),
        "serial": f"{f.serial:x}",
        "self_signed": f.self_signed,
        "eku": list(f.eku),
        "fingerprint": f.fingerprint,
    }


def _verdict_json(v: Verdict | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "ok": v.ok,
        "outcomes": [o.value for o in v.outcomes],
        "trust_checked": v.trust_checked,
        "problems": list(v.problems),
        "reasons": [r.value for r in v.reasons],
        "warnings": list(v.warnings),
        "missing_issuer": v.missing_issuer,
        "missing": list(v.missing),
    }


def _observation_json(o: Observation) -> dict[str, Any]:
    hs = o.handshake
    key_type = o.key_type
    return {
        "variant": o.variant.value,
        "outcome": o.outcome.value,
        "outcomes": [x.value for x in o.outcomes],
        "message": o.message,
        "details": list(o.details),
        "log_lines": list(o.log_lines),
        "completed": hs.completed,
        "phase": hs.phase.value if hs.phase else None,
        "tls_version": hs.tls_version,
        "cipher": hs.cipher,
        "key_type": key_type.value if key_type else None,
        "chain": [facts(c).fingerprint for c in hs.chain],
        "client_certificate": {
            "requested": hs.client_cert_requested,
            "sent": hs.client_cert_sent,
            "accepted_by": hs.client_verdict,
            "ca_names": [n.rfc4514_string() for n in hs.client_ca_names],
        },
        "alert": hs.alert.value if hs.alert else None,
        "detail": hs.detail,
        "address": hs.address,
        "elapsed_ms": round(hs.elapsed * 1000, 1),
        "same_as": hs.same_as.value if hs.same_as else None,
    }


def _cert_once(cert: x509.Certificate, seen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """:func:`cert_json` of ``cert``, made once per document: a server's certificate is in the
    identities of every name it serves."""
    key = facts(cert).fingerprint
    found = seen.get(key)
    if found is None:
        found = seen[key] = cert_json(cert)
    return found


def _identity_json(i: ServerIdentity, seen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "key_type": i.key_type.value,
        "fingerprint": i.fingerprint,
        "default": i.default,
        "variants": [v.value for v in i.variants],
        "negotiated": [{"tls_version": v, "cipher": c} for v, c in i.negotiated],
        "verdict": _verdict_json(i.verdict),
        "chain": [_cert_once(c, seen) for c in i.chain],
    }


def _profile_json(p: ClientProfile) -> dict[str, Any]:
    return {
        "version": str(p.version),
        "upgraded_from": str(p.upgraded_from) if p.upgraded_from else None,
        "cipher_string": p.cipher_string,
        "ciphers_configured": p.ciphers_configured,
        "prefers_ecdsa": p.prefers_ecdsa,
        "tls_versions": [v.value for v in p.tls_versions],
        "rsa_signature_first": p.rsa_signature_first,
        "signature_algorithms": list(p.signature_algorithms),
        "client_certificate": cert_json(p.identity.leaf) if p.identity else None,
    }


def to_json(
    reports: Sequence[EndpointReport],
    profile: ClientProfile,
    *,
    trust: TrustStore | None,
    now: dt.datetime,
) -> str:
    """The stable JSON document (``schema: mratrust.probe/1``)."""
    seen: dict[str, dict[str, Any]] = {}
    doc = {
        "schema": SCHEMA,
        "tool": {"name": "mratrust", "version": __version__},
        "evaluated_at": _when(now),
        "profile": _profile_json(profile),
        "trust": {"label": trust.label, "certificates": len(trust)} if trust else None,
        "endpoints": [
            {
                "target": {
                    "host": r.target.host,
                    "port": r.target.port,
                    "address": r.target.address,
                    "sni": r.target.server_name,
                    "name": r.target.expected_name,
                    "leg": {
                        "port": r.target.leg.port,
                        "transport": r.target.leg.transport.value,
                        "product": r.target.leg.server.value if r.target.leg.server else None,
                        "listed": r.target.leg.listed,
                    },
                },
                "signature_algorithms": list(
                    profile.signature_algorithms_on(r.target.leg.transport)
                ),
                "status": status(r),
                "outcome": r.default.outcome.value,
                "message": r.default.message,
                "default": (
                    observed[0]
                    if r.observations and r.observations[0] is r.default
                    else _observation_json(r.default)
                ),
                "identities": [_identity_json(i, seen) for i in r.identities],
                "observations": observed,
            }
            for r in reports
            for observed in ([_observation_json(o) for o in r.observations],)
        ],
        "summary": summary(reports),
    }
    return _encode(doc) + "\n"


_RAW_CONTROL = re.compile(rb"\x7f|\xc2[\x80-\x9f]")
"""DEL and the C1 controls as UTF-8: the JSON encoder writes them as they are."""


def _encode(doc: dict[str, Any]) -> str:
    """``doc`` as indented JSON, every string (keys included) through :func:`escape_control`.

    Encoded once; a C0 control character in any string comes out as a backslash escape and DEL or
    a C1 control as its raw bytes, so an encoding with neither holds nothing to escape. Only then
    (names and details from a hostile server) is the document walked and encoded again.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; kept for a bare install
        return json.dumps(_escaped(doc), indent=2)
    try:
        raw = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
        if b"\\" in raw or (
            (b"\x7f" in raw or b"\xc2" in raw) and _RAW_CONTROL.search(raw)
        ):  # the byte look-ups first: the pattern alone scans a 1 MB document in 10 ms
            raw = orjson.dumps(_escaped(doc), option=orjson.OPT_INDENT_2)
    except TypeError:  # a lone surrogate (from a certificate): the standard encoder escapes it
        return json.dumps(_escaped(doc), indent=2)
    return raw.decode()


def _escaped(value: Any) -> Any:
    """Every string in a JSON document (keys included) with control characters escaped."""
    if isinstance(value, str):
        return escape_control(value)
    if isinstance(value, dict):
        return {escape_control(str(k)): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


def summary(reports: Sequence[EndpointReport]) -> dict[str, int]:
    """Endpoint counts by status."""
    counts = {"endpoints": len(reports), "ok": 0, "fail": 0, "incomplete": 0, "error": 0}
    for r in reports:
        counts[status(r)] += 1
    return counts


# --------------------------------------------------------------------------- text

_MARK = {"ok": "OK", "fail": "FAIL", "incomplete": "INCOMPLETE", "error": "ERROR"}
_COLOR = {"ok": "\x1b[32m", "fail": "\x1b[31m", "incomplete": "\x1b[33m", "error": "\x1b[33m"}
_RESET = "\x1b[0m"


class _Painted(str):
    """A line built from our own words and already-escaped names, with colour codes added: the
    final pass of :func:`to_text`, which escapes every other line, leaves it as it is."""

    __slots__ = ()


def _paint(word: str, state: str, color: bool) -> str:
    return f"{_COLOR[state]}{word}{_RESET}" if color else word


def _wrap(prefix: str, text: str, width: int = 100) -> list[str]:
    import textwrap

    return textwrap.wrap(
        escape_control(text),
        width=width,
        initial_indent=prefix,
        subsequent_indent=" " * len(prefix),
        break_long_words=False,
        break_on_hyphens=False,
    ) or [prefix.rstrip()]


def _identity_lines(n: int, ident: ServerIdentity, color: bool) -> list[str]:
    f = facts(ident.leaf)
    state = "ok" if ident.verdict.ok else "fail"
    verdict = (
        "verifies"
        if ident.verdict.ok and ident.verdict.trust_checked
        else "name and validity fine (chain not checked)"
        if ident.verdict.ok
        else ", ".join(o.value for o in ident.verdict.outcomes)
    )
    who = "Expressway-C gets this one" if ident.default else "only when forced"
    lines = [
        _Painted(
            f"    [{n}] {ident.key_type.value.upper():<5} {_paint(_MARK[state], state, color)} "
            f"{verdict} — {who}; offers: {', '.join(v.value for v in ident.variants)}"
        ),
        f"        subject:    {f.subject}",
        f"        issuer:     {f.issuer}",
        f"        SAN:        {', '.join([*f.san_dns, *f.san_ip]) or 'none'}",
        f"        key:        {f.key.describe()}",
        f"        valid:      {_when(f.not_before)} to {_when(f.not_after)}",
        f"        sha256:     {f.fingerprint.removeprefix('sha256:')}",
        "        chain:      " + " <- ".join(facts(c).subject for c in ident.chain),
    ]
    if ident.negotiated:
        lines.append("        negotiated: " + "; ".join(f"{v} {c}" for v, c in ident.negotiated))
    for problem in ident.verdict.problems:
        lines += _wrap("        problem:    ", problem)
    for warning in ident.verdict.warnings:
        lines += _wrap("        warning:    ", warning)
    return lines


def _offer_line(r: EndpointReport, profile: ClientProfile) -> str:
    leg = r.target.leg
    first = "RSA" if profile.rsa_first_on(leg.transport) else "ECDSA"
    where = f"port {leg.port}" + ("" if leg.listed else ", not a leg port: taken as HTTPS")
    return f"  Offer: {leg.transport.component} ({where}), TLS 1.3 signatures {first} first"


def _endpoint_lines(r: EndpointReport, profile: ClientProfile, color: bool) -> list[str]:
    state = status(r)
    d = r.default
    hs = d.handshake
    head = f"{escape_control(r.target.display)}  {_paint(_MARK[state], state, color)}"
    if d.outcome is not Outcome.OK:
        head += f" ({d.outcome.value})"
    elif r.failed:
        bad = [
            f"{i.key_type.value.upper()} identity {', '.join(o.value for o in i.verdict.outcomes)}"
            for i in r.identities
            if not i.verdict.ok
        ]
        rejected = [o.variant.value for o in r.client_rejected]
        if rejected:
            bad.append(f"client-rejected on {', '.join(rejected)}")
        head += f" ({'; '.join(bad)}: not on Expressway-C's own offer, but on any that prefers it)"
    extra = []
    if r.target.server_name != r.target.host:
        extra.append(f"SNI {r.target.server_name or 'none'}")
    if r.target.expected_name != r.target.host:
        extra.append(f"expected name {r.target.expected_name}")
    if extra:
        head += "  [" + escape_control(", ".join(extra)) + "]"
    lines: list[str] = [_Painted(head), _offer_line(r, profile)]
    if hs.completed or hs.chain:
        leaf = facts(hs.chain[0]) if hs.chain else None
        negotiated = f"{hs.tls_version} {hs.cipher}" if hs.completed else "handshake not finished"
        lines.append(
            f"  As Expressway-C: {negotiated}"
            + (f", {leaf.key.type.value.upper()} certificate {leaf.subject}" if leaf else "")
        )
        if hs.client_cert_requested:
            sent = "sent" if hs.client_cert_sent else "none sent"
            names = "; ".join(n.rfc4514_string() for n in hs.client_ca_names) or "none listed"
            lines += _wrap(
                "  Client certificate: ", f"requested ({sent}); CA names accepted: {names}"
            )
            if hs.client_verdict:
                lines += _wrap("  Server's verdict: ", f"accepted ({hs.client_verdict})")
        else:
            lines.append("  Client certificate: not requested")
    lines += _wrap("  Verdict: ", d.details[0] if d.details else d.message)
    for more in d.details[1:]:
        lines += _wrap("     also: ", more)
    if d.log_lines:
        lines.append("  Traffic Server would log:")
        lines += [f"    {line}" for line in d.log_lines]
    if r.identities:
        lines.append(f"  Identities found ({len(r.identities)}):")
        for n, ident in enumerate(r.identities, 1):
            lines += _identity_lines(n, ident, color)
    forced = [o for o in r.observations if o is not d]
    if forced:
        lines.append("  Offers:")
        for o in r.observations:
            h = o.handshake
            got = (
                f"{h.tls_version} {h.cipher} {o.key_type.value.upper() if o.key_type else ''}"
                if h.completed
                else (h.detail or "")
            )
            if h.completed and Outcome.CLIENT_REJECTED in o.outcomes and h.alert is not None:
                got += f" (alert {h.alert.value} after the handshake)"
            if h.same_as is not None:
                got += f"  (answered by the {h.same_as.value} handshake)"
            seen = ", ".join(x.value for x in o.outcomes) or o.outcome.value
            lines.append(f"    {o.variant.value:<13} {seen:<19} {got}".rstrip())
    return lines


def to_text(
    reports: Sequence[EndpointReport],
    profile: ClientProfile,
    *,
    trust: TrustStore | None,
    color: bool = False,
) -> str:
    """The people's view: per endpoint, what Expressway-C gets, every identity, the verdict."""
    lines = _wrap("Emulating ", profile.describe())
    if trust is None:
        lines.append("Trust store: none given (--trust): chains are not judged, names are")
    else:
        count = f"{len(trust)} certificate" + ("" if len(trust) == 1 else "s")
        lines.append(f"Trust store: {trust.label or 'given'} ({count})")
    for r in reports:
        lines.append("")
        lines += _endpoint_lines(r, profile, color)
    counts = summary(reports)
    lines += [
        "",
        f"{counts['endpoints']} endpoint(s): {counts['ok']} ok, {counts['fail']} failed, "
        f"{counts['incomplete']} incomplete, {counts['error']} could not be probed",
    ]
    return "\n".join(x if isinstance(x, _Painted) else escape_control(x) for x in lines) + "\n"


__all__ = ["SCHEMA", "cert_json", "status", "summary", "to_json", "to_text"]
