"""The Markdown report for change tickets and the HTML report's page (without a browser)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mratrust.audit import audit
from mratrust.cli import main
from mratrust.report import html
from tests.cli.test_hostile_names import _write
from tests.conftest import NOW
from tests.pki.conftest import Pki

NOW_ARG = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
Dir = Callable[[str], Path]


def _out(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main([*argv, "--now", NOW_ARG])
    return capsys.readouterr().out


def test_markdown_lists_failures_with_since_and_remediation_and_folds_passes(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    md = _out(capsys, "audit", str(scenario_dir("F08") / "inventory.yaml"), "--format", "markdown")
    head, _, rest = md.partition("## Summary")
    assert "| Version judged | Expressway **X14.0.7** |" in head
    assert "| Upgrade path | upgraded from X12.7 |" in head and "**6** fail" in head
    summary, _, details = rest.partition("## Failures and risks")
    assert summary.count("| FAIL |") == 6 and "| PASS |" not in summary
    assert details.count("### FAIL ") == 6
    section = details.split("### FAIL C2U-TRUST: cucm-main / cucm-pub.example.com")[1]
    section = section.split("### ")[0]
    assert "- Since: X8.8" in section and "- [ ] restart Expressway-C" in section
    assert "[cisco.com › 217743-upgrade-of-video-communication-server-v.html](https://" in section
    m = re.search(r"\*\*(\d+)\*\* pass", head)
    assert m is not None and int(m.group(1)) > 50
    passed = int(m.group(1))
    folded = md.split(f"<details><summary>{passed} checks passed</summary>")[1]
    assert folded.rstrip().endswith("</details>") and folded.count("\n| ") == passed + 1


def test_markdown_of_a_clean_deployment_has_no_failure_section(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    md = _out(capsys, "audit", str(scenario_dir("B0") / "inventory.yaml"), "--format", "markdown")
    assert "## Failures and risks" not in md and "| FAIL |" not in md and "| RISK |" not in md
    assert re.search(r"<details><summary>\d+ checks passed</summary>", md)


def test_markdown_upgrade_check_names_the_change(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    inv = str(scenario_dir("F01") / "inventory.yaml")
    md = _out(capsys, "upgrade-check", inv, "--to", "X14.0.2", "--format", "markdown")
    assert "| Upgrade check | Expressway **X12.7** → **X14.0.2**" in md
    assert "### FAIL U2C-TRUST (new on X14.0.2): cucm-main trust stores" in md
    assert "| FAIL | U2C-TRUST | new |" in md


def test_markdown_cannot_open_html_from_a_certificate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki
) -> None:
    inv = _write(
        tmp_path, pki, issuer_cn="EVIL<script>x</script>|", leaf_cn="n", san="n.example.com"
    )
    md = _out(capsys, "audit", str(inv), "--format", "markdown")
    # RFC 4514 writes CN=EVIL\<script\>…: a backslash would escape the next character, not hide it
    assert "CN=EVIL\\&lt;script\\>x\\&lt;/script\\>\\|" in md  # in a table cell
    tags = {md[m.start() : md.index(">", m.start()) + 1] for m in re.finditer("<", md)}
    assert tags == {"<details>", "<summary>", "</summary>", "</details>"}
    doc = json.loads(_out(capsys, "audit", str(inv), "--format", "json"))
    assert any("EVIL\\<script\\>x\\</script\\>|" in f["message"] for f in doc["findings"])


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_html_csp_allows_exactly_the_page_style_and_script(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    page = _out(capsys, "audit", str(scenario_dir("F08") / "inventory.yaml"), "--format", "html")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert csp is not None
    rules = dict(r.strip().split(" ", 1) for r in csp.group(1).split(";"))
    assert rules["default-src"] == "'none'"
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(styles) == 1 and len(scripts) == 1
    assert rules["style-src"] == _sha(styles[0]) and rules["script-src"] == _sha(scripts[0])
    assert " style=" not in page and not re.search(r"\son[a-z]+=", page)
    assert not re.search(r"""\ssrc=["']?https?:""", page) and "@import" not in page


def test_html_graph_is_deterministic_and_links_each_arrow(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    argv = ("audit", str(scenario_dir("F08") / "inventory.yaml"), "--format", "html")
    first, second = _out(capsys, *argv), _out(capsys, *argv)
    assert first == second
    svg = first[first.index("<svg") : first.index("</svg>")]
    arrows = re.findall(r'<a href="#(leg-\d+)" class="leg (st-\w+)', svg)
    assert len(arrows) == 11 and sorted(c for _, c in arrows).count("st-fail") == 2
    for anchor, _ in arrows:
        assert f'id="{anchor}"' in first  # its card
    assert 'id="ep-0"' in first  # Expressway-C's box leads to its findings
    fail = next(a for a, c in arrows if c == "st-fail")
    card = first[
        first.index(f'id="{fail}"') : first.index("</section>", first.index(f'id="{fail}"'))
    ]
    assert "Chain judged by C2U-TRUST (leaf first): <code" in card and "What to do" in card


def test_html_without_a_graph_still_lists_findings(deployment: Callable[[str], Any]) -> None:
    report = audit(deployment("F08"), now=NOW)
    drawn = html.render(report)
    bare = html.render(replace(report, graph=None))
    assert "<svg" in drawn and 'class="matrix"' in drawn
    assert "<svg" not in bare and 'class="matrix"' not in bare
    assert bare.count('class="f st-fail"') == drawn.count('class="f st-fail"') == 6


def test_html_draws_the_edge_and_the_traversal_zone(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    page = _out(capsys, "audit", str(scenario_dir("E01") / "inventory.yaml"), "--format", "html")
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert ">Clients</text>" in svg and ">Expressway-E</text>" in svg
    fails = re.findall(r'class="leg st-fail"[^>]*aria-label="([^"]+)"', svg)
    assert fails and all("expc1.example.com → expe1.example.com" in a for a in fails)
    assert re.search(r'class="leg st-\w+"[^>]*aria-label="internet → expe1.example.com :8443', svg)
    md = _out(capsys, "audit", str(scenario_dir("E01") / "inventory.yaml"), "--format", "markdown")
    assert "### FAIL CE-TRUST: Expressway-E expe1.example.com" in md


def test_html_upgrade_check_gives_the_matrix_a_column_per_version(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    inv = str(scenario_dir("F01") / "inventory.yaml")
    page = _out(capsys, "upgrade-check", inv, "--to", "X14.0.2", "--format", "html")
    heads = re.findall(r'<th scope="col" class="ver">(.*?)</th>', page)
    assert heads == ['On X12.7 <span class="sub">running</span>', "On X14.0.2"]
    matrix = page[page.index('<table class="matrix">') : page.index("</table>")]
    rows = [r for r in matrix.split("<tr ")[1:] if ":6972" in r]
    assert len(rows) == 2
    for row in rows:
        assert re.findall(r'<td class="ver st-(\w+)">', row) == ["pass", "fail"]
    # The other formats and an audit's page have no such columns.
    assert 'class="ver' not in _out(capsys, "audit", inv, "--format", "html")
    md = _out(capsys, "upgrade-check", inv, "--to", "X14.0.2", "--format", "markdown")
    assert "On X12.7" not in md
