"""The JSON report of SPEC §4 (``mratrust.report/1``).

A pass keeps its rule, status, subject, message and scalar evidence, but not its list evidence
(chains of fingerprints and the like) nor its own copy of the rule's sources: those are listed
once per rule in ``rule_sources``. Problems (fail, risk, warn, error) and info findings keep
everything. Each finding is written on one line, so that a report of thousands of nodes stays a
file a person can open, search and diff.

:func:`write` streams the report: each finding is encoded on its own and written at once, so a
large report is never held whole, neither as dicts nor as bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from itertools import islice
from operator import attrgetter
from typing import IO, TYPE_CHECKING, Any

from mratrust.model import EvidenceValue, Finding, Status, Subject
from mratrust.report.safe import displayable_finding
from mratrust.textsafe import escape_control

if TYPE_CHECKING:
    from mratrust.audit import Report
    from mratrust.topology import Endpoint, Graph, GraphLeg

SCHEMA_ID = "mratrust.report/1"

Dumps = Callable[[Any], bytes]
Evidence = tuple[tuple[str, EvidenceValue], ...]


def subject_dict(s: Subject) -> dict[str, str | None]:
    """A finding's subject as the report writes it (keys in schema order)."""
    return {
        "cluster": s.cluster,
        "node": s.node,
        "leg": s.leg,
        "certificate": s.certificate,
        "leg_id": s.leg_id,
        "endpoint_id": s.endpoint_id,
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    """One finding as plain JSON values (the text as ``f`` holds it: see :func:`_line`)."""
    brief = f.status is Status.PASS
    s = f.subject
    out: dict[str, Any] = {
        "rule": f.rule,
        "status": f.status.value,
        "severity": f.severity.value,
        "subject": subject_dict(s),
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


_NATIVE_SUBJECT = tuple(x.name for x in fields(Subject)) == (
    "cluster",
    "node",
    "leg",
    "certificate",
    "leg_id",
    "endpoint_id",
)
"""orjson writes a Subject as the object :func:`subject_dict` spells out (same keys, same order)."""


_PASS = Status.PASS


def _fast_dict(f: Finding) -> dict[str, Any]:
    """:func:`finding_dict` for orjson, which writes enums by value, tuples as arrays and a
    dataclass as an object itself: the same document with less work per finding."""
    brief = f.status is _PASS
    out: dict[str, Any] = {
        "rule": f.rule,
        "status": f.status._value_,  # what .value reads, without its descriptor
        "severity": f.severity._value_,
        "subject": f.subject if _NATIVE_SUBJECT else subject_dict(f.subject),
        "message": f.message,
        "since": f.since,
        "remediation": f.remediation,
        "evidence": (
            {k: v for k, v in f.evidence if not isinstance(v, tuple)} if brief else dict(f.evidence)
        ),
        "sources": () if brief else f.sources,
    }
    if f.change is not None:
        out["change"] = f.change._value_
    return out


_MAYBE_CONTROL = re.compile(rb'\\[^"\\]|\x7f|\xc2[\x80-\x9f]')
"""What an encoded line holds when one of its strings holds a control character: JSON escapes
C0 controls (``\\n``, ``\\u001b``: a backslash and a letter), DEL and the C1 controls stay as
they are (``\\x7f``, UTF-8 ``\\xc2\\x80``..``\\xc2\\x9f``). A line without any of these has no
control character to escape; a match may be a false alarm (a backslash in the text), which only
costs the careful path."""


def _line(f: Finding, fast: Dumps | None) -> bytes:
    """``f`` encoded on one line, its text made displayable (:mod:`mratrust.report.safe`).

    Encoded as it is first: escaping changes nothing in a line without a control character,
    the usual case, so only a suspect line is encoded again from the escaped finding.
    """
    line = _encode(f, fast)
    if _suspect(line):
        shown = displayable_finding(f)
        if shown is not f:
            line = _encode(shown, fast)
    return line


def _suspect(piece: bytes) -> bool:
    """``piece`` may hold a control character (:data:`_MAYBE_CONTROL`)."""
    return (piece.find(92) >= 0 or piece.find(0x7F) >= 0 or piece.find(0xC2) >= 0) and bool(
        _MAYBE_CONTROL.search(piece)
    )


Piece = tuple[bytes, bool]
"""Bytes of a line encoded once for the findings that share an object, and whether they may
hold a control character."""


def _split(blob: bytes, sep: bytes, count: int) -> tuple[list[bytes], bool] | None:
    """``blob`` split at ``sep`` into ``count`` parts, and whether any may hold a control
    character (None if it does not split so)."""
    parts = blob.split(sep)
    return (parts, _suspect(blob)) if len(parts) == count else None


def _strings(texts: list[str], enc: Dumps) -> tuple[list[bytes], bool] | None:
    """Each of ``texts`` as a JSON string without its quotes, encoded in one call (None if
    orjson does not take one of them). In a JSON array of strings ``","`` is only ever a
    boundary: a quote inside a string is written ``\\"``."""
    try:
        return _split(enc(texts)[2:-2], b'","', len(texts))
    except TypeError:
        return None


def _subjects(subjects: list[Subject], enc: Dumps) -> tuple[list[bytes], bool] | None:
    """Each subject as a JSON object without its ``{"cluster":`` and its ``}``, encoded in one
    call (None if orjson does not take one). ``{"cluster":`` with a bare quote only ever opens
    a subject: a quote inside a string is escaped."""
    # as plain objects: orjson writes a dataclass with slots several times slower than the
    # dict (same keys, same order: _NATIVE_SUBJECT)
    rows = [subject_dict(s) for s in subjects]
    try:
        return _split(enc(rows)[12:-2], b'},{"cluster":', len(subjects))
    except TypeError:
        return None


Frame = tuple[bytes, bytes, bytes, bool]
"""What a line holds besides its subject, message and evidence: the bytes before the subject,
those between the message and the evidence, those after the evidence, and whether they may
hold a control character."""

_REFUSED: Frame = (b"", b"", b"", True)
"""The frame of findings orjson does not take (they are written as :func:`_line` does)."""


class _NoFinding:
    """What the first finding of :func:`_finding_lines` is compared with: nothing it holds."""

    __slots__ = ()
    rule = status = severity = since = remediation = sources = change = object()


_NO_FINDING = _NoFinding()


_FRAMES = 4096
"""Frames remembered at most (a report has a few dozen when its rules share their texts)."""


def _frame(f: Finding, enc: Dumps) -> Frame:
    brief = f.status is _PASS
    head = (
        b'{"rule":'
        + enc(f.rule)
        + b',"status":'
        + enc(f.status._value_)
        + b',"severity":'
        + enc(f.severity._value_)
        + b',"subject":{"cluster":'
    )
    middle = b'","since":' + enc(f.since) + b',"remediation":' + enc(f.remediation)
    tail = b',"sources":' + (b"[]" if brief else enc(f.sources))
    if f.change is not None:
        tail += b',"change":' + enc(f.change._value_)
    tail += b"}"
    return head, middle, tail, _suspect(head + middle + tail)


def _finding_lines(findings: Sequence[Finding], fast: Dumps | None) -> Iterator[bytes]:
    """Each finding as :func:`_line` encodes it, the parts findings share encoded once.

    What a rule's findings share (rule, status, severity, ``since``, remediation, sources) is
    encoded once, and so is an evidence tuple that findings share as one object: the bytes are
    remembered by identity (``findings`` holds each object while the lines are made, so no id
    is reused meanwhile), evidence for one batch of findings only, so that memory stays
    bounded. The subjects and the messages of a batch are encoded in one call each. The line is
    the bytes orjson writes for :func:`_fast_dict` (compact, keys in the same order); it goes
    the careful way of :func:`_line` when one of its pieces may hold a control character.
    """
    if fast is None or not _NATIVE_SUBJECT:
        yield from (_line(f, fast) for f in findings)
        return
    enc = fast
    frames: dict[tuple[object, ...], Frame] = {}
    brief_ev: dict[int, Piece] = {}
    full_ev: dict[int, Piece] = {}
    subject_of = attrgetter("subject")
    message_of = attrgetter("message")
    open_message = b'},"message":"'
    # the finding before and its frame; the first finding looks its frame up
    last: Any = _NO_FINDING
    last_frame = _REFUSED
    for start in range(0, len(findings), _BATCH):
        batch = findings[start : start + _BATCH]
        brief_ev.clear()
        full_ev.clear()
        if len(frames) > _FRAMES:  # findings that share little: memory stays bounded
            frames.clear()
        subjects = _subjects(list(map(subject_of, batch)), enc)
        texts = _strings(list(map(message_of, batch)), enc)
        if subjects is None or texts is None:
            yield from (_line(f, fast) for f in batch)
            continue
        odd = subjects[1] or texts[1]
        for f, subject, text in zip(batch, subjects[0], texts[0], strict=True):
            status = f.status
            if (  # the frame of the finding before (sorted findings share it in long runs)
                f.rule is last.rule
                and status is last.status
                and f.severity is last.severity
                and f.since is last.since
                and f.remediation is last.remediation
                and f.sources is last.sources
                and f.change is last.change
            ):
                frame = last_frame
            else:
                key = (
                    f.rule,
                    id(status),
                    id(f.severity),
                    f.since,
                    id(f.remediation),
                    id(f.sources),
                    id(f.change),
                )
                known = frames.get(key)
                if known is None:
                    try:
                        known = frames[key] = _frame(f, enc)
                    except TypeError:  # what orjson does not take: the wider way, as _line
                        known = frames[key] = _REFUSED
                frame = last_frame = known
                last = f
            ev = f.evidence
            evs = brief_ev if status is _PASS else full_ev
            evidence = evs.get(id(ev))
            if evidence is None and frame is not _REFUSED:
                shown = (
                    {k: v for k, v in ev if not isinstance(v, tuple)}
                    if evs is brief_ev
                    else dict(ev)
                )
                try:
                    data = b',"evidence":' + enc(shown)  # a copy: orjson's buffer is not kept
                    evidence = evs[id(ev)] = (data, _suspect(data))
                except TypeError:
                    pass
            if frame is _REFUSED or evidence is None:
                yield _line(f, fast)
                continue
            line = b"".join(
                (frame[0], subject, open_message, text, frame[1], evidence[0], frame[2])
            )
            if (odd or frame[3] or evidence[1]) and _suspect(line):
                shown_f = displayable_finding(f)
                if shown_f is not f:
                    line = _encode(shown_f, fast)
            yield line


def _encode(f: Finding, fast: Dumps | None) -> bytes:
    if fast is not None:
        try:
            return fast(_fast_dict(f))
        except TypeError:  # an integer beyond 64 bits, a lone surrogate: the slower, wider path
            pass
    return _std_dumps(finding_dict(f))


def _head(report: Report) -> dict[str, Any]:
    """The report's fields before its findings."""
    out: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "tool": {"name": "mratrust", "version": report.tool_version},
        "evaluated_at": report.evaluated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deployment": escape_control(report.deployment),
        "expressway_version": str(report.expressway_version),
        "upgraded_from": str(report.upgraded_from) if report.upgraded_from else None,
        "assumed_fresh_install": report.assumed_fresh_install,
    }
    if report.target_version is not None:
        out["target_version"] = str(report.target_version)
    return out


def _tail(report: Report, graph: Callable[[Graph], Any]) -> dict[str, Any]:
    """The report's fields after its findings (``graph`` writes the trust graph)."""
    out: dict[str, Any] = {"summary": report.summary()}
    if report.graph is not None:
        out["graph"] = graph(report.graph)
    # the sources of each rule's first finding, rules in the order first met
    findings = report.findings
    rules = list(map(attrgetter("rule"), findings))
    first = dict(zip(reversed(rules), range(len(rules) - 1, -1, -1), strict=True))
    sources = {
        rule: [escape_control(u) for u in findings[first[rule]].sources]
        for rule in dict.fromkeys(rules)
    }
    out["rule_sources"] = sources
    return out


def report_dict(report: Report) -> dict[str, Any]:
    """The whole report as plain JSON values, its text made displayable."""
    return {
        **_head(report),
        "findings": [finding_dict(displayable_finding(f)) for f in report.findings],
        **_tail(report, graph_dict),
    }


def graph_dict(graph: Graph) -> dict[str, Any]:
    """The trust graph of SPEC §4: endpoints, and legs with the worst status of their findings."""
    return {
        "endpoints": [_endpoint_dict(e) for e in graph.endpoints],
        "legs": [_leg_dict(g) for g in graph.legs],
    }


# the enums' values read as _fast_dict reads them: ``_value_``, without ``.value``'s descriptor


def _endpoint_dict(e: Endpoint) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind._value_, "cluster": e.cluster, "name": e.name}


def _leg_dict(g: GraphLeg) -> dict[str, Any]:
    leg, status = g.leg, g.status
    return {
        "id": leg.id,
        "client": leg.client.id,
        "server": leg.server.id,
        "port": leg.port,
        "purpose": leg.purpose._value_,
        "mutual": leg.mutual,
        "status": status._value_ if status is not None else None,
    }


def _orjson() -> Dumps | None:
    """orjson's compact encoder when installed (several times faster)."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; kept for a bare install
        return None
    dumps: Dumps = orjson.dumps
    return dumps


def _std_dumps(value: Any) -> bytes:
    import json as _json  # here: orjson writes what it takes, and the standard encoder the rest

    text = _json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text.encode("utf-8", "backslashreplace")  # a lone surrogate as a \\u escape


def _dumps(fast: Dumps | None) -> Dumps:
    if fast is None:
        return _std_dumps

    def dumps(value: Any) -> bytes:
        try:
            return fast(value)
        except TypeError:
            return _std_dumps(value)

    return dumps


_BATCH = 256
"""Lines joined before they are written: few calls, little memory."""


class _Lines:
    """A list of objects already encoded, one per line (the findings)."""

    __slots__ = ("lines",)

    def __init__(self, lines: Iterator[bytes]) -> None:
        self.lines = lines


def _layout(value: Any, dumps: Dumps, write: Callable[[bytes], object], depth: int = 0) -> None:
    """Mappings one key per line; a list of objects one object per line; the rest compact."""
    pad = b"\n" + b"  " * (depth + 1)
    if isinstance(value, dict) and value:
        write(b"{")
        for i, (k, v) in enumerate(value.items()):
            write((b"," + pad) if i else pad)
            write(dumps(str(k)) + b": ")
            _layout(v, dumps, write, depth + 1)
        write(b"\n" + b"  " * depth + b"}")
        return
    lines: Iterator[bytes] | None = None
    if isinstance(value, _Lines):
        lines = value.lines
    elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        lines = iter(map(dumps, value))
    if lines is None:
        write(dumps(value))
        return
    sep = b"," + pad
    batch = list(islice(lines, _BATCH))
    if not batch:
        write(b"[]")
        return
    write(b"[" + pad + sep.join(batch))
    while batch := list(islice(lines, _BATCH)):
        write(sep + sep.join(batch))
    write(b"\n" + b"  " * depth + b"]")


def _rows(
    items: Sequence[Any], row: Callable[[Any], dict[str, Any]], dumps: Dumps, fast: Dumps | None
) -> Iterator[bytes]:
    """Each of ``items`` as ``row`` makes it (an object whose first key is ``"id"``, with no
    object among its values), encoded a batch at a time when it is written: in one call per
    batch when orjson takes it, ``},{"id":`` with bare quotes being only ever a boundary between
    two rows (a quote inside a string is escaped)."""
    for start in range(0, len(items), _BATCH):
        rows = list(map(row, items[start : start + _BATCH]))
        parts: list[bytes] = []
        if fast is not None:
            try:
                parts = fast(rows)[7:-2].split(b'},{"id":')
            except TypeError:
                parts = []
        if len(parts) == len(rows):
            yield from (b'{"id":' + p + b"}" for p in parts)
        else:
            yield from map(dumps, rows)


_CHUNK = 1 << 18
"""What is gathered before a write: few calls, little memory."""


def write(report: Report, out: IO[bytes]) -> None:
    """Write the report to ``out`` as UTF-8 JSON, piece by piece (about 256 kB at a time)."""
    fast = _orjson()
    dumps = _dumps(fast)
    buf = bytearray()

    def put(piece: bytes) -> None:
        buf.extend(piece)
        if len(buf) >= _CHUNK:
            out.write(buf)
            buf.clear()

    def graph(g: Graph) -> dict[str, Any]:  # one line each, as the findings
        return {
            "endpoints": _Lines(_rows(g.endpoints, _endpoint_dict, dumps, fast)),
            "legs": _Lines(_rows(g.legs, _leg_dict, dumps, fast)),
        }

    findings = _Lines(_finding_lines(report.findings, fast))
    _layout({**_head(report), "findings": findings, **_tail(report, graph)}, dumps, put)
    buf.extend(b"\n")
    out.write(buf)


def render_bytes(report: Report) -> bytes:
    """The report as UTF-8 JSON."""
    import io

    out = io.BytesIO()
    write(report, out)
    return out.getvalue()


def render(report: Report) -> str:
    return render_bytes(report).decode()
