"""The report renderers escape what they show, and only that: passes a report counts, a line
without a control character. These tests put control characters where only the shortcuts would
miss them, and check the JSON written in pieces is the document made whole."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from mratrust.audit import Report, audit
from mratrust.inventory import load_inventory
from mratrust.model import Status, Subject
from mratrust.report import json as report_json
from mratrust.report import markdown, text
from mratrust.report.json import _layout, report_dict
from tests.conftest import NOW

Dir = Callable[[str], Path]
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m\x7f"
ESCAPED = "\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\x7f"
RAW = ("\x1b", "\x07", "\x9b", "\x7f")


@pytest.fixture(scope="module")
def report(scenario_dir: Dir) -> Report:
    return audit(load_inventory(scenario_dir("B0") / "inventory.yaml"), now=NOW)


def _hostile_pass(report: Report, hostile: str) -> Report:
    """``report`` with one pass whose message, leg, certificate and cluster hold ``hostile``
    (a cluster no endpoint has: its group heading is the cluster's name)."""
    i, f = next((i, f) for i, f in enumerate(report.findings) if f.status is Status.PASS)
    odd = replace(
        f,
        message=f"passed {hostile}",
        subject=Subject(cluster=f"c{hostile}", leg=f"leg{hostile}", certificate=f"crt{hostile}"),
        evidence=(*f.evidence, (f"k{hostile}", f"v{hostile}")),
    )
    return replace(report, findings=(*report.findings[:i], odd, *report.findings[i + 1 :]))


def _no_raw(out: str) -> None:
    for ch in RAW:
        assert ch not in out, f"{ch!r} reached the output"


@pytest.mark.parametrize("show_pass", [False, True])
def test_text_escapes_a_pass_where_it_shows_it(report: Report, show_pass: bool) -> None:
    out = text.render(_hostile_pass(report, HOSTILE), show_pass=show_pass)
    _no_raw(out)
    assert f"c{ESCAPED}" in out  # the group heading, with or without the pass listed
    assert (f"passed {ESCAPED}" in out) is show_pass
    assert (f"leg{ESCAPED} crt{ESCAPED}" in out) is show_pass


def test_text_keeps_a_plain_pass_as_it_is(report: Report) -> None:
    out = text.render(_hostile_pass(report, "Zürich"), show_pass=True)
    assert "cZürich" in out and "passed Zürich" in out and "\\x" not in out


def test_markdown_escapes_a_pass(report: Report) -> None:
    out = markdown.render(_hostile_pass(report, HOSTILE))
    _no_raw(out)
    assert f"passed {ESCAPED}" in out and f"c{ESCAPED} leg{ESCAPED} crt{ESCAPED}" in out


def test_markdown_keeps_a_plain_pass_as_it_is(report: Report) -> None:
    out = markdown.render(_hostile_pass(report, "Zürich"))
    assert "passed Zürich" in out and "cZürich legZürich crtZürich" in out and "\\x" not in out


def _whole(report: Report) -> bytes:
    """The JSON document built whole, every finding made displayable first (no shortcut)."""
    out = bytearray()
    _layout(report_dict(report), report_json._dumps(report_json._orjson()), out.extend)
    return bytes(out + b"\n")


@pytest.mark.parametrize(
    "odd",
    [
        HOSTILE,
        "\t\n\r\x0b\x0c\x00\x1f",  # the C0 controls JSON writes as \t, \n ... and as \u00XX
        "\x80\x85\x9f",  # C1 controls: raw bytes in UTF-8, no backslash
        "C:\\new\\table",  # no control character, a backslash: a false alarm, kept as it is
        "Zürich ©",  # a two-byte character that shares its lead byte with the C1 controls
        'say "a","b"',  # what separates strings encoded together, inside one of them
        'x},{"cluster":"y","node":null',  # what separates subjects encoded together
    ],
)
def test_json_lines_are_the_whole_document_made_displayable(report: Report, odd: str) -> None:
    hostile = _hostile_pass(report, odd)
    streamed = report_json.render_bytes(hostile)
    assert streamed == _whole(hostile)
    doc = json.loads(streamed)
    (shown,) = [f for f in doc["findings"] if f["message"].startswith("passed ")]
    for ch in RAW:
        assert ch not in shown["message"] and ch not in shown["subject"]["cluster"]
    control = any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in odd)
    assert (shown["message"] == f"passed {odd}") is not control
    assert (f"k{odd}" in shown["evidence"]) is not control


class _Pieces(io.RawIOBase):
    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        data = bytes(b)  # type: ignore[call-overload]
        self.pieces.append(data)
        return len(data)


def test_json_is_written_in_pieces_of_bounded_size(report: Report) -> None:
    big = replace(report, findings=report.findings * 200)
    sink = _Pieces()
    report_json.write(big, sink)
    whole = b"".join(sink.pieces)
    assert whole == report_json.render_bytes(big) and len(whole) > 3 << 20
    assert len(sink.pieces) >= 3
    assert max(len(p) for p in sink.pieces) < report_json._CHUNK + (1 << 18)
    small = _Pieces()
    report_json.write(report, small)
    assert len(small.pieces) == 1 and small.pieces[0] == report_json.render_bytes(report)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_report_that_cannot_be_written_is_one_input_error(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir, tmp_path: Path, fmt: str
) -> None:
    from mratrust.cli import main

    inv = str(scenario_dir("B0") / "inventory.yaml")
    target = tmp_path / "missing" / f"r.{fmt}"
    assert main(["audit", inv, "--format", fmt, "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "cannot write (No such file or directory)" in err and "Traceback" not in err
    assert main(["audit", inv, "--format", fmt, "-o", str(tmp_path / f"r.{fmt}")]) == 0
    assert (tmp_path / f"r.{fmt}").stat().st_size > 0


def test_text_and_markdown_audits_load_neither_rich_nor_jinja2(
    scenario_dir: Dir, tmp_path: Path
) -> None:
    from tests.conftest import modules_after

    inv = scenario_dir("B0") / "inventory.yaml"
    run = "from mratrust.cli import main\nmain(['audit', {!r}, '--format', {!r}, '-o', {!r}])"
    for fmt in ("text", "markdown"):
        loaded = modules_after(run.format(str(inv), fmt, str(tmp_path / f"r.{fmt}")))
        assert not {"rich", "jinja2"} & loaded, fmt
    coloured = modules_after(
        f"from mratrust.report import text\nfrom mratrust.audit import audit\n"
        f"from mratrust.inventory import load_inventory\n"
        f"text.render(audit(load_inventory({str(inv)!r})), color=True)"
    )
    assert "rich" in coloured and "jinja2" not in coloured


@pytest.mark.parametrize(
    ("statuses", "fail_on", "code"),
    [
        ((Status.PASS, Status.WARN), "fail", 0),
        ((Status.PASS, Status.WARN), "warn", 1),
        ((Status.RISK, Status.PASS), "fail", 0),
        ((Status.RISK, Status.PASS), "risk", 1),
        ((Status.INFO, Status.FAIL), "fail", 1),
        ((Status.ERROR, Status.PASS), "fail", 3),
        ((Status.ERROR, Status.FAIL), "fail", 1),
        ((Status.ERROR, Status.WARN), "warn", 1),
        ((), "warn", 0),
    ],
)
def test_exit_code_reads_the_statuses_found(
    report: Report, statuses: tuple[Status, ...], fail_on: str, code: int
) -> None:
    from mratrust.cli import _exit_for

    base = report.findings[0]
    findings = tuple(replace(base, status=s) for s in statuses)
    assert _exit_for(replace(report, findings=findings), fail_on) == code


def test_an_interrupted_json_write_leaves_the_previous_report(
    monkeypatch: pytest.MonkeyPatch, scenario_dir: Dir, tmp_path: Path
) -> None:
    from mratrust.cli import main

    inv = str(scenario_dir("B0") / "inventory.yaml")
    target = tmp_path / "r.json"
    target.write_bytes(b"previous report\n")
    real_write = report_json.write

    def cut_short(report: Report, out: io.BufferedIOBase) -> None:
        out.write(b'{"half": ')
        raise KeyboardInterrupt

    monkeypatch.setattr(report_json, "write", cut_short)
    assert main(["audit", inv, "--format", "json", "-o", str(target)]) == 130
    assert target.read_bytes() == b"previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no partial file left
    monkeypatch.setattr(report_json, "write", real_write)
    assert main(["audit", inv, "--format", "json", "-o", str(target)]) == 0
    assert json.loads(target.read_bytes())["findings"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_json_to_a_pipe_is_streamed_to_it(scenario_dir: Dir, tmp_path: Path) -> None:
    import os
    import threading

    from mratrust.cli import main

    inv = str(scenario_dir("B0") / "inventory.yaml")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert main(["audit", inv, "--format", "json", "-o", str(fifo)]) == 0
    reader.join(timeout=30)
    assert json.loads(got[0])["findings"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_text_wraps_a_long_line_as_textwrap_does() -> None:
    import random
    import textwrap

    from mratrust.report.text import _wrap

    rng = random.Random(13)
    words = ["a", "bb", "ccc", "d-d", "x" * 30, "Zürich", "ÿ" * 9, "y" * 120, "sha256:" + "f" * 64]
    for _ in range(2000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
        width = rng.randint(20, 110)
        for first, rest in (("        ", "        "), ("        -> ", "           "), ("", "  ")):
            want = textwrap.fill(
                text,
                width=width + len(first),
                initial_indent=first,
                subsequent_indent=rest,
                break_on_hyphens=False,
                break_long_words=False,
            )
            assert _wrap(text, width, first, rest) == want, (text, width, first)
    # text that is not a plain run of words still goes through textwrap
    assert _wrap("a  b\tc " * 30, 20, "  ", "  ") == textwrap.fill(
        "a  b\tc " * 30,
        width=22,
        initial_indent="  ",
        subsequent_indent="  ",
        break_on_hyphens=False,
        break_long_words=False,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"message": "lone \udc80 surrogate"},  # refused with the messages of its batch
        {"evidence": (("serial", 2**80),)},  # refused with its evidence
        {"since": "X\udc80"},  # refused with what it shares with the rule's findings
        {"subject": Subject(cluster="c\udc80")},  # refused with the subjects of its batch
    ],
)
def test_json_lines_orjson_refuses_are_the_whole_document(
    report: Report, change: dict[str, object]
) -> None:
    i = len(report.findings) // 2
    odd = replace(report.findings[i], **change)  # type: ignore[arg-type]
    mixed = replace(report, findings=(*report.findings[:i], odd, *report.findings[i + 1 :]))
    streamed = report_json.render_bytes(mixed)
    assert streamed == _whole(mixed)
    assert streamed.count(b'{"rule":') == len(report.findings)  # one line each
    assert streamed.count(b'{"rule": ') == 1  # the refused one, written by the json module


def test_json_lines_of_findings_that_share_nothing_are_the_whole_document(
    report: Report,
) -> None:
    many = [
        replace(f, remediation=(f"step {i}",), since=f"X{i}")
        for i, f in enumerate(report.findings * (report_json._FRAMES // len(report.findings) + 2))
    ]
    assert len(many) > report_json._FRAMES
    big = replace(report, findings=tuple(many))
    streamed = report_json.render_bytes(big)
    assert streamed == _whole(big)
    assert streamed.count(b'"remediation":["step ') == len(many)


class _TextPieces(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []

    def write(self, s: str) -> int:
        self.pieces.append(s)
        return len(s)


@pytest.mark.parametrize("show_pass", [False, True])
def test_text_is_written_in_pieces_of_bounded_size(report: Report, show_pass: bool) -> None:
    big = replace(report, findings=report.findings * 300)
    sink = _TextPieces()
    text.write(big, sink, show_pass=show_pass)
    whole = "".join(sink.pieces)
    assert whole == text.render(big, show_pass=show_pass)
    # with the passes shown the report is large: written in several pieces
    assert (len(whole) > 1 << 20 and len(sink.pieces) >= 3) is show_pass
    # a piece ends at the first line past the chunk's size (a finding's line wraps to a few)
    assert max(len(p) for p in sink.pieces) < text._CHUNK + 4096
    small = _TextPieces()
    text.write(report, small, show_pass=show_pass)
    assert small.pieces == [text.render(report, show_pass=show_pass)]
    # twin: the passes shown or not are two reports
    other = _TextPieces()
    text.write(report, other, show_pass=not show_pass)
    assert other.pieces != small.pieces


def test_text_streamed_to_a_file_and_to_stdout_is_the_rendered_report(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir, tmp_path: Path, report: Report
) -> None:
    from mratrust.cli import main

    inv = str(scenario_dir("B0") / "inventory.yaml")
    now = ["--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ")]
    target = tmp_path / "r.txt"
    assert main(["audit", inv, "--format", "text", *now, "-o", str(target)]) == 0
    assert target.read_bytes() == text.render(report).encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt"]  # no partial file left
    capsys.readouterr()
    assert main(["audit", inv, "--format", "text", *now, "--show-pass"]) == 0
    shown = capsys.readouterr().out
    assert shown == text.render(report, show_pass=True) != target.read_text(encoding="utf-8")


def test_an_interrupted_text_write_leaves_the_previous_report(
    monkeypatch: pytest.MonkeyPatch, scenario_dir: Dir, tmp_path: Path
) -> None:
    from mratrust.cli import main

    inv = str(scenario_dir("B0") / "inventory.yaml")
    target = tmp_path / "r.txt"
    target.write_text("previous report\n", encoding="utf-8")
    real_write = text.write

    def cut_short(report: Report, out: io.TextIOBase, *, show_pass: bool = False) -> None:
        out.write("mratrust audit: half")
        raise KeyboardInterrupt

    monkeypatch.setattr(text, "write", cut_short)
    assert main(["audit", inv, "--format", "text", "-o", str(target)]) == 130
    assert target.read_text(encoding="utf-8") == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt"]
    monkeypatch.setattr(text, "write", real_write)
    assert main(["audit", inv, "--format", "text", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("mratrust audit: ")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_reader_that_stops_early_ends_the_audit_quietly(
    scenario_dir: Dir, tmp_path: Path, fmt: str
) -> None:
    import subprocess
    import sys

    inv = scenario_dir("B0") / "inventory.yaml"
    cmd = [sys.executable, "-m", "mratrust", "audit", str(inv), "--format", fmt, "--show-pass"]
    whole = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert whole.returncode in (0, 1) and len(whole.stdout) > 1000 and not whole.stderr
    script = (
        "import subprocess, sys\n"
        f"p = subprocess.Popen({cmd!r}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
        "p.stdout.close()\n"  # gone before the audit writes its first byte
        "err = p.stderr.read()\n"
        "sys.stdout.write(str(p.wait()) + ' ' + err.decode())\n"
    )
    got = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    code, _, err = got.stdout.partition(" ")
    assert code in ("0", str(whole.returncode)) and "Traceback" not in err
    assert "Exception ignored" not in err and "BrokenPipeError" not in err
