"""The command line: exit codes, formats, and one clear line for bad input (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from mratrust.cli import main
from mratrust.report.schema import dumps as schema_dumps

Dir = Callable[[str], Path]
ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-29T12:00:00Z"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _inv(scenario_dir: Dir, sid: str) -> str:
    return str(scenario_dir(sid) / "inventory.yaml")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == "mratrust 1.0.0"


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mratrust", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "mratrust" in done.stdout


def test_no_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "usage" in err.lower()


def test_bad_flag_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "audit", "x.yaml", "--fail-on", "sometimes")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_audit_clean_baseline(capsys: pytest.CaptureFixture[str], scenario_dir: Dir) -> None:
    code, out, _ = run(capsys, "audit", _inv(scenario_dir, "B0"), "--now", NOW)
    assert code == 0
    assert "Summary: 0 fail, 0 risk" in out


def test_audit_failure_exit_1_and_message(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    code, out, _ = run(capsys, "audit", _inv(scenario_dir, "F03"), "--now", NOW)
    assert code == 1
    assert "FAIL  U2C-TRUST" in out and "CallManager-trust" in out and "->" in out


def test_fail_on_risk(capsys: pytest.CaptureFixture[str], scenario_dir: Dir) -> None:
    inv = _inv(scenario_dir, "F11")
    assert run(capsys, "audit", inv, "--now", NOW)[0] == 0
    assert run(capsys, "audit", inv, "--now", NOW, "--fail-on", "risk")[0] == 1


def test_audit_json_matches_schema(capsys: pytest.CaptureFixture[str], scenario_dir: Dir) -> None:
    code, out, err = run(
        capsys,
        "audit",
        _inv(scenario_dir, "F05"),
        "--version",
        "X14.2.1",
        "--format",
        "json",
        "--now",
        NOW,
    )
    assert code == 1 and err == ""
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(schema_dumps()))
    assert doc["schema"] == "mratrust.report/1" and doc["expressway_version"] == "X14.2.1"
    assert doc["evaluated_at"] == NOW
    assert doc["summary"]["fail"] == sum(f["status"] == "fail" for f in doc["findings"])


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "schema" / "report.schema.json").read_text(encoding="utf-8")
    assert committed == schema_dumps(), (
        "run: python -m mratrust.report.schema > schema/report.schema.json"
    )


def test_schema_rejects_a_broken_report(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    _, out, _ = run(capsys, "audit", _inv(scenario_dir, "B0"), "--format", "json", "--now", NOW)
    doc = json.loads(out)
    doc["findings"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json.loads(schema_dumps()))


def test_upgrade_check_json(capsys: pytest.CaptureFixture[str], scenario_dir: Dir) -> None:
    code, out, _ = run(
        capsys,
        "upgrade-check",
        _inv(scenario_dir, "F01"),
        "--to",
        "X14.0.2",
        "--format",
        "json",
        "--now",
        NOW,
    )
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(schema_dumps()))
    assert code == 1 and doc["target_version"] == "X14.0.2"
    assert doc["findings"][0]["change"] == "new" and doc["findings"][0]["rule"] == "U2C-TRUST"


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_other_formats(capsys: pytest.CaptureFixture[str], scenario_dir: Dir, fmt: str) -> None:
    code, out, _ = run(capsys, "audit", _inv(scenario_dir, "F23"), "--format", fmt, "--now", NOW)
    assert code == 1 and "EXP-EKU" in out
    if fmt == "html":
        assert out.startswith("<!doctype html>")
        assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'' in out


def test_output_file(capsys: pytest.CaptureFixture[str], scenario_dir: Dir, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, out, err = run(
        capsys,
        "audit",
        _inv(scenario_dir, "B0"),
        "--format",
        "json",
        "-o",
        str(target),
        "--now",
        NOW,
    )
    assert code == 0 and out == "" and str(target) in err
    assert json.loads(target.read_text())["deployment"].startswith("Example Corp")


def test_missing_inventory_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "audit", str(tmp_path / "none.yaml"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "inventory file not found" in err and "Traceback" not in err


def test_yaml_error_names_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("schema: 1\nname: x\nexpressway: {version: X14.2\n")
    code, _, err = run(capsys, "audit", str(inv))
    assert code == 2 and f"{inv}:" in err and "YAML syntax error" in err


def test_inspect_text_never_prints_keys(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir, tmp_path: Path
) -> None:
    d = scenario_dir("B0")
    cert = next(d.rglob("*expc1*.pem"))
    key = next(p for p in d.rglob("*") if p.suffix == ".key")
    both = tmp_path / "both.pem"
    both.write_bytes(key.read_bytes() + cert.read_bytes())
    code, out, _ = run(capsys, "inspect", str(both), "--now", NOW)
    assert code == 0 and "Subject:" in out and "SHA-256:" in out
    assert "PRIVATE KEY" not in out and key.read_text().splitlines()[1] not in out


def test_inspect_json(capsys: pytest.CaptureFixture[str], scenario_dir: Dir) -> None:
    store = next(scenario_dir("B0").rglob("*tomcat*"))
    code, out, _ = run(capsys, "inspect", str(store), "--format", "json", "--now", NOW)
    assert code == 0 and isinstance(json.loads(out), list)


def test_inspect_junk_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"\x01\x02 not a certificate")
    code, _, err = run(capsys, "inspect", str(junk))
    assert code == 2 and str(junk) in err and "not a certificate" in err


def test_verify_good_and_bad(capsys: pytest.CaptureFixture[str], scenario_dir: Dir) -> None:
    d = scenario_dir("B0")
    from mratrust.inventory import load_inventory

    dep = load_inventory(d / "inventory.yaml")
    node = dep.uc_clusters[0].nodes[1]
    tomcat = d / next(i.path for i in node.certificates if i.name == "tomcat")
    trust = d / dep.expressway.peers[0].trusted_cas.path
    code, out, _ = run(
        capsys, "verify", str(tomcat), "--trust", str(trust), "--name", node.name, "--now", NOW
    )
    assert code == 0 and "Verdict: OK" in out
    code, out, _ = run(
        capsys,
        "verify",
        str(tomcat),
        "--trust",
        str(trust),
        "--name",
        "other.example.com",
        "--now",
        NOW,
    )
    assert code == 1 and "Verdict: FAILED" in out and "[name-mismatch]" in out
    other = d / dep.uc_clusters[0].nodes[0].certificates[0].path
    code, out, _ = run(capsys, "verify", str(tomcat), "--trust", str(other), "--now", NOW)
    assert code == 1 and ("untrusted-root" in out or "unknown-issuer" in out or "missing" in out)


def test_ciphers_and_versions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ciphers", "--version", "X14.2.1", "--fresh")
    assert code == 0 and "ECDSA is preferred" in out and "ECDHE-RSA-AES256-GCM-SHA384:EECDH" in out
    code, out, _ = run(capsys, "ciphers", "--version", "X14.2.1", "--upgraded-from", "X14.0.7")
    assert code == 0 and "RSA is preferred" in out
    code, out, _ = run(capsys, "versions")
    assert code == 0 and "X14.0.2" in out and "2.4.53" in out
    code, _, err = run(capsys, "ciphers", "NOPE-CIPHER")
    assert code == 2 and "matches no cipher suite" in err


def test_public_api_is_pinned() -> None:
    import mratrust

    assert set(mratrust.__all__) == {
        "ChangeKind",
        "Deployment",
        "Finding",
        "InputError",
        "LabError",
        "MratrustError",
        "ProbeError",
        "Report",
        "Severity",
        "Status",
        "Subject",
        "Version",
        "__version__",
        "audit",
        "load_inventory",
        "upgrade_check",
    }
    for name in mratrust.__all__:
        assert getattr(mratrust, name) is not None
    with pytest.raises(AttributeError):
        _ = mratrust.nothing_here  # type: ignore[attr-defined]
