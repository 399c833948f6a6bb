"""Names in certificates that try to drive the terminal: shown escaped in every format (SPEC §2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mratrust.cli import main
from mratrust.lab import pkigen as pg
from mratrust.textsafe import escape_control
from tests.pki.conftest import NOW, Pki

NOW_ARG = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
HOSTILE = "\x1b[2J\x1b]0;pwned\x07"
C1_CSI = "\x9b"
RAW = ("\x1b", "\x07", "\x9b")
"""ESC, BEL and the one-byte CSI: none may reach the output."""

INVENTORY = """\
schema: 1
name: Hostile names
expressway:
  version: X14.2.1
  peers:
    - name: expc1.example.com
      certificate: expc1.pem
      trusted_cas: expc-trust.pem
uc_clusters:
  - name: cucm-main
    product: cucm
    publisher: cucm-pub.example.com
    trust:
      tomcat-trust: cas.pem
      CallManager-trust: cas.pem
    nodes:
      - name: cucm-pub.example.com
        role: publisher
        certificates:
          tomcat: tomcat.pem
"""


def _write(tmp_path: Path, pki: Pki, *, issuer_cn: str, leaf_cn: str, san: str) -> Path:
    """A node whose tomcat certificate (and its CA, which Expressway-C does not trust) carry
    the given names: C2U-TRUST quotes the issuer, C2U-NAME the SAN."""
    ca = pg.make_ca(issuer_cn, now=NOW, pool=pki.pool, key_slot="ca:hostile-test")
    leaf = pg.make_leaf(leaf_cn, now=NOW, issuer=ca, san=(san,), pool=pki.pool)
    expc1 = pg.make_leaf(
        "expc1.example.com", now=NOW, issuer=pki.inter, san=("expc1.example.com",), pool=pki.pool
    )
    pg.write_certs(tmp_path / "expc1.pem", [expc1.cert, pki.inter.cert])
    pg.write_certs(tmp_path / "expc-trust.pem", [pki.root.cert, pki.inter.cert])
    pg.write_certs(tmp_path / "cas.pem", [pki.root.cert, pki.inter.cert])
    pg.write_certs(tmp_path / "tomcat.pem", [leaf.cert, ca.cert])
    inv = tmp_path / "inventory.yaml"
    inv.write_text(INVENTORY)
    return inv


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _no_raw_controls(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"{ch!r} reached the output"
    data = text.encode("utf-8")
    assert b"\x1b" not in data and b"\x07" not in data and b"\x9b" not in data


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _shown(fmt: str, out: str) -> str:
    """The output as a reader sees it (JSON decoded: a consumer prints the decoded strings)."""
    return "\n".join(_strings(json.loads(out))) if fmt == "json" else out


def test_escape_control_writes_controls_as_visible_text() -> None:
    assert escape_control(HOSTILE) == "\\x1b[2J\\x1b]0;pwned\\x07"
    assert escape_control("a\x9bb\x7fc\x00d\x80e\x9f") == "a\\x9bb\\x7fc\\x00d\\x80e\\x9f"
    assert escape_control("line\nbreak\ttab") == "line\\x0abreak\\x09tab"


def test_escape_control_keeps_normal_unicode() -> None:
    for text in ("Zürich", "Łódź CA", "東京", "café ☕", "\xa0nbsp", "plain.example.com"):
        assert escape_control(text) == text


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_audit_escapes_hostile_names_in_every_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki, fmt: str
) -> None:
    inv = _write(
        tmp_path,
        pki,
        issuer_cn=f"EVIL{C1_CSI}31m-CA{HOSTILE}",
        leaf_cn=f"node{HOSTILE}",
        san=f"x{HOSTILE}.example.com",
    )
    code, out, err = run(capsys, "audit", str(inv), "--format", fmt, "--now", NOW_ARG)
    assert code == 1, err
    _no_raw_controls(out)
    _no_raw_controls(err)
    shown = _shown(fmt, out)
    _no_raw_controls(shown)
    # the names are there, escaped: the rules that quote them did run
    assert "x\\x1b[2J\\x1b]0;pwned\\x07.example.com" in shown  # SAN (C2U-NAME)
    assert "EVIL\\x9b31m-CA\\x1b[2J" in shown  # issuer (C2U-TRUST)


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_audit_keeps_unicode_names_unchanged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki, fmt: str
) -> None:
    inv = _write(
        tmp_path, pki, issuer_cn="Zürich Root CA", leaf_cn="Zürich", san="zurich.example.com"
    )
    code, out, err = run(capsys, "audit", str(inv), "--format", fmt, "--now", NOW_ARG)
    assert code == 1, err
    shown = _shown(fmt, out)
    assert "Zürich Root CA" in shown and "zurich.example.com" in shown
    assert "\\x" not in shown


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_inspect_escapes_hostile_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki, fmt: str
) -> None:
    _write(
        tmp_path,
        pki,
        issuer_cn=f"EVIL{C1_CSI}31m-CA",
        leaf_cn=f"node{HOSTILE}{C1_CSI}",
        san=f"x{HOSTILE}.example.com",
    )
    code, out, err = run(
        capsys, "inspect", str(tmp_path / "tomcat.pem"), "--format", fmt, "--now", NOW_ARG
    )
    assert code == 0, err
    shown = _shown(fmt, out)
    _no_raw_controls(out)
    _no_raw_controls(shown)
    assert "CN=node\\x1b[2J\\x1b]0\\;pwned\\x07\\x9b" in shown  # RFC 4514 escapes the ;
    assert "x\\x1b[2J\\x1b]0;pwned\\x07.example.com" in shown and "EVIL\\x9b31m-CA" in shown


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_inspect_keeps_unicode_names_unchanged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki, fmt: str
) -> None:
    _write(tmp_path, pki, issuer_cn="Zürich Root CA", leaf_cn="Zürich", san="zurich.example.com")
    code, out, _ = run(
        capsys, "inspect", str(tmp_path / "tomcat.pem"), "--format", fmt, "--now", NOW_ARG
    )
    shown = _shown(fmt, out)
    assert code == 0 and "CN=Zürich" in shown and "Zürich Root CA" in shown
    assert "\\x" not in shown


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_verify_escapes_hostile_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki, fmt: str
) -> None:
    _write(tmp_path, pki, issuer_cn=f"EVIL{C1_CSI}-CA", leaf_cn="n", san=f"x{HOSTILE}.example.com")
    code, out, err = run(
        capsys,
        "verify",
        str(tmp_path / "tomcat.pem"),
        "--trust",
        str(tmp_path / "cas.pem"),
        "--name",
        "cucm-pub.example.com",
        "--format",
        fmt,
        "--now",
        NOW_ARG,
    )
    assert code == 1, err
    shown = _shown(fmt, out)
    _no_raw_controls(out)
    _no_raw_controls(shown)
    assert "EVIL\\x9b-CA" in shown and "x\\x1b[2J" in shown


def test_input_error_quoting_a_hostile_name_is_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki
) -> None:
    inv = _write(tmp_path, pki, issuer_cn="c", leaf_cn="n", san="n.example.com")
    ca = pg.make_ca(f"EVIL{HOSTILE}{C1_CSI}", now=NOW, pool=pki.pool)
    pg.write_certs(tmp_path / "tomcat.pem", [ca.cert])  # a CA where the node's own belongs
    code, out, err = run(capsys, "audit", str(inv), "--now", NOW_ARG)
    assert code == 2 and out == ""
    _no_raw_controls(err)
    assert "this is a CA certificate (CN=EVIL\\x1b[2J\\x1b]0\\;pwned\\x07\\x9b)" in err
