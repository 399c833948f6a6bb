"""What a report costs: JSON passes without repeated evidence, plain text without rich's console,
renderers and lab modules imported only when used."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from mratrust.audit import audit
from mratrust.inventory import load_inventory
from mratrust.report import json as report_json
from mratrust.report import text
from mratrust.report.schema import report_schema
from tests.conftest import NOW, modules_after

Dir = Callable[[str], Path]


def _report(scenario_dir: Dir, sid: str) -> dict[str, object]:
    deployment = load_inventory(scenario_dir(sid) / "inventory.yaml")
    doc: dict[str, object] = json.loads(report_json.render(audit(deployment, now=NOW)))
    jsonschema.validate(doc, report_schema())
    return doc


def test_a_pass_keeps_its_words_but_not_its_chain_nor_its_sources(scenario_dir: Dir) -> None:
    doc = _report(scenario_dir, "B0")
    findings = doc["findings"]
    assert isinstance(findings, list)
    trust = [f for f in findings if f["rule"] == "C2U-TRUST" and f["status"] == "pass"]
    assert trust, "B0 has passing C2U-TRUST findings"
    for f in trust:
        assert f["message"] and f["subject"]["node"]
        assert "chain" not in f["evidence"] and f["evidence"]["gate"] in (
            "verified",
            "not-verified",
        )
        assert f["sources"] == []
    sources = doc["rule_sources"]
    assert isinstance(sources, dict)
    assert sources["C2U-TRUST"] and all(u.startswith("https://") for u in sources["C2U-TRUST"])


def test_a_failure_keeps_its_chain_and_its_sources(scenario_dir: Dir) -> None:
    doc = _report(scenario_dir, "F08")
    findings = doc["findings"]
    assert isinstance(findings, list)
    failed = [f for f in findings if f["rule"] == "C2U-TRUST" and f["status"] == "fail"]
    assert failed, "F08 fails C2U-TRUST"
    sources = doc["rule_sources"]
    assert isinstance(sources, dict)
    for f in failed:
        assert f["evidence"]["chain"] and f["evidence"]["chain"][0].startswith("sha256:")
        assert f["sources"] == sources["C2U-TRUST"] != []


def test_json_is_one_finding_per_line(scenario_dir: Dir) -> None:
    deployment = load_inventory(scenario_dir("F03") / "inventory.yaml")
    report = audit(deployment, now=NOW)
    lines = report_json.render(report).splitlines()
    per_line = [line for line in lines if line.startswith('    {"rule":')]
    assert len(per_line) == len(report.findings) > 1
    assert all(json.loads(line.rstrip(","))["rule"] for line in per_line)


@pytest.mark.parametrize("sid", ["B0", "F03", "F11"])
def test_plain_text_is_what_rich_prints_without_colour(scenario_dir: Dir, sid: str) -> None:
    report = audit(load_inventory(scenario_dir(sid) / "inventory.yaml"), now=NOW)
    for show_pass in (False, True):
        buf = io.StringIO()
        console = Console(file=buf, no_color=True, width=110, highlight=False, soft_wrap=True)
        text.render_to(console, report, show_pass=show_pass)
        assert text.render(report, show_pass=show_pass) == buf.getvalue()
    assert "\x1b[" in text.render(report, color=True)
    assert "\x1b[" not in text.render(report)


def test_help_loads_neither_the_lab_nor_the_renderers() -> None:
    loaded = modules_after("from mratrust.cli import build_parser\nbuild_parser()")
    assert {"mratrust.lab.cli", "mratrust.collect.cli"} <= loaded  # the commands are listed ...
    heavy = {"mratrust.lab.scenarios", "mratrust.lab.process", "mratrust.collect.run"}
    assert not (heavy | {"jinja2", "pydantic", "httpx"}) & loaded  # ... their machinery is not
    # the probe's help text reads the leg table, which needs neither the model nor cryptography
    assert "mratrust.topology" in loaded
    assert not {"mratrust.model", "cryptography", "cryptography.x509"} & loaded


def test_json_audit_loads_no_template_engine(scenario_dir: Dir, tmp_path: Path) -> None:
    inv = scenario_dir("B0") / "inventory.yaml"
    run = "from mratrust.cli import main\nmain(['audit', {!r}, '--format', {!r}, '-o', {!r}])"
    as_json = modules_after(run.format(str(inv), "json", str(tmp_path / "r.json")))
    assert "jinja2" not in as_json and "rich" not in as_json
    as_html = modules_after(run.format(str(inv), "html", str(tmp_path / "r.html")))
    assert "jinja2" in as_html


def test_an_offline_audit_gives_the_collector_back(scenario_dir: Dir, tmp_path: Path) -> None:
    import gc

    from mratrust.cli import main

    inv = str(scenario_dir("B0") / "inventory.yaml")
    assert gc.isenabled()
    assert main(["audit", inv, "--format", "json", "-o", str(tmp_path / "r.json")]) == 0
    assert gc.isenabled()
    assert main(["audit", str(tmp_path / "missing.yaml")]) == 2  # an input error, too
    assert gc.isenabled()


_WATCH_COLLECTOR = """
import gc, os, sys
from mratrust import cli

def watch(phase, info):  # a collection once the audit has begun (the collector was off then)
    if phase == "start" and "mratrust.audit" in sys.modules:
        os.write(2, b"collector ran\\n")

gc.callbacks.append(watch)
sys.argv = ["mratrust", "audit", {inv!r}, "--format", "json", "-o", {out!r}]
code = {call}
junk = [[i] for i in range(100_000)]  # allocations enough to start a collection if enabled
"""


@pytest.mark.parametrize("call", ["cli.main()", "cli.main(sys.argv[1:])"])
def test_a_real_process_ends_without_walking_what_it_made(
    scenario_dir: Dir, tmp_path: Path, call: str
) -> None:
    """The command ends inside the batch: the collector, enabled again, would first walk every
    object the audit made. A library call gives it back (the twin: the watch does see it)."""
    inv = str(scenario_dir("F03") / "inventory.yaml")
    script = _WATCH_COLLECTOR.format(inv=inv, out=str(tmp_path / "r.json"), call=call)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert (tmp_path / "r.json").is_file(), done.stderr
    if call == "cli.main()":
        assert done.returncode == 1  # F03 fails: the exit code of the command itself
        assert "collector ran" not in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert "collector ran" in done.stderr


@pytest.mark.parametrize(("sid", "code"), [("B0", 0), ("F03", 1)])
def test_a_real_process_ends_at_once_with_its_whole_output(
    scenario_dir: Dir, sid: str, code: int
) -> None:
    inv = str(scenario_dir(sid) / "inventory.yaml")
    for fmt in ("text", "json"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "mratrust",
                "audit",
                inv,
                "--format",
                fmt,
                "--now",
                "2026-11-29",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == code, done.stderr
        if fmt == "json":
            assert (json.loads(done.stdout)["summary"]["fail"] > 0) == (code == 1)
        else:
            assert done.stdout.rstrip().splitlines()[-1].startswith("Summary: ")


def test_json_to_stdout_and_to_a_file_are_the_same_bytes(
    capsysbinary: pytest.CaptureFixture[bytes], scenario_dir: Dir, tmp_path: Path
) -> None:
    from mratrust.cli import main

    inv = str(scenario_dir("F03") / "inventory.yaml")
    args = ["audit", inv, "--format", "json", "--now", "2026-11-29T12:00:00Z"]
    assert main(args) == 1
    out = capsysbinary.readouterr().out
    assert main([*args, "-o", str(tmp_path / "r.json")]) == 1
    assert out == (tmp_path / "r.json").read_bytes()
    assert json.loads(out.decode("utf-8"))["summary"]["fail"] > 0


def test_what_orjson_refuses_is_still_written(scenario_dir: Dir) -> None:
    from dataclasses import replace

    report = audit(load_inventory(scenario_dir("B0") / "inventory.yaml"), now=NOW)
    odd = replace(
        report.findings[0],
        message="lone \udc80 surrogate",
        evidence=(("serial", 2**80),),
    )
    doc = json.loads(report_json.render_bytes(replace(report, findings=(odd,))))
    (f,) = doc["findings"]
    assert f["message"] == "lone \udc80 surrogate"
    assert f["evidence"] == {"serial": 2**80}  # a scalar: a pass keeps it too
