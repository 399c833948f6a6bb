"""``mratrust probe`` through its own argparse harness (add_parser + run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mratrust.probe.cli import DEFAULT_VERSION, main

from .conftest import NODE, Pki, SServer, free_port

NOW = "--now"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["probe", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.openssl
def test_text_shows_identities_client_cas_and_verdict(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer], pki: Pki
) -> None:
    code, out, err = run(
        capsys,
        servers["mtls"].target,
        "--trust",
        str(pki.root_pem),
        "--client-cert",
        str(pki.expc_pem),
        "--client-key",
        str(pki.expc_key),
    )
    assert code == 0, out + err
    assert f"Expressway-C {DEFAULT_VERSION} (fresh install)" in out
    assert "Identities found (2):" in out
    assert "[1] RSA" in out and "[2] ECDSA" in out
    assert f"SAN:        {NODE}" in out
    assert "CA names accepted: CN=EXPC-CA,O=Example Corp" in out
    assert "requested (sent)" in out
    assert "TLSv1.3 TLS_AES_256_GCM_SHA384, RSA certificate" in out
    assert "1 endpoint(s): 1 ok, 0 failed, 0 incomplete, 0 could not be probed" in out
    assert "PRIVATE KEY" not in out + err


@pytest.mark.openssl
def test_negative_twin_rejected_client_exits_1_with_the_log_line(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer], pki: Pki
) -> None:
    code, out, err = run(
        capsys,
        servers["mtls"].target,
        "--trust",
        str(pki.root_pem),
        "--client-cert",
        str(pki.rogue_pem),
        "--client-key",
        str(pki.rogue_key),
    )
    assert code == 1
    assert "FAIL (client-rejected)" in out
    assert (
        f"ERROR: SSL connection failed for '{NODE}': error:14094418:SSL routines:"
        "ssl3_read_bytes:tlsv1 alert unknown ca"
    ) in out
    assert "PRIVATE KEY" not in out + err


@pytest.mark.openssl
def test_json_is_stable_and_complete(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer], pki: Pki, tmp_path: Path
) -> None:
    target = tmp_path / "probe.json"
    code, out, err = run(
        capsys,
        servers["dual"].target,
        "--trust",
        str(pki.other_root_pem),
        "--format",
        "json",
        "--output",
        str(target),
        NOW,
        "2026-12-01T00:00:00Z",
    )
    assert code == 1
    assert out == ""
    assert f"wrote {target}" in err
    doc = json.loads(target.read_text())
    assert doc["schema"] == "mratrust.probe/1"
    assert doc["evaluated_at"] == "2026-12-01T00:00:00Z"
    assert doc["profile"]["version"] == DEFAULT_VERSION
    (endpoint,) = doc["endpoints"]
    assert endpoint["status"] == "fail"
    assert endpoint["outcome"] == "untrusted"
    assert endpoint["target"] == {
        "host": NODE,
        "port": servers["dual"].port,
        "address": "127.0.0.1",
        "sni": NODE,
        "name": NODE,
    }
    assert [i["key_type"] for i in endpoint["identities"]] == ["rsa", "ecdsa"]
    assert [o["variant"] for o in endpoint["observations"]] == [
        "default",
        "tls1.2-rsa",
        "tls1.2-ecdsa",
        "tls1.3-rsa",
        "tls1.3-ecdsa",
    ]
    rsa = endpoint["identities"][0]
    assert rsa["verdict"]["missing_issuer"] == "CN=ENT-ROOT,O=Example Corp"
    assert rsa["chain"][0]["san"] == [NODE]
    assert rsa["chain"][0]["fingerprint"].startswith("sha256:")
    assert doc["summary"] == {"endpoints": 1, "ok": 0, "fail": 1, "incomplete": 0, "error": 0}


@pytest.mark.openssl
def test_negative_twin_json_ok_exits_0(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer], pki: Pki
) -> None:
    code, out, _ = run(
        capsys, servers["dual"].target, "--trust", str(pki.root_pem), "--format", "json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["endpoints"][0]["status"] == "ok"
    assert doc["summary"]["ok"] == 1


def test_unreachable_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, f"127.0.0.1:{free_port()}", "--timeout", "1", "--default-only")
    assert code == 3
    assert "ERROR (refused)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["h:1", "--as-version", "X99"], "is not an Expressway version", id="version"),
        pytest.param(["h:1", "--ciphers", "NOPE"], "matches no cipher suite", id="ciphers"),
        pytest.param(["h:1", "--trust", "/nonexistent/ca.pem"], "no such file", id="trust"),
        pytest.param(["h:99999"], "out of range", id="port"),
        pytest.param(["h:1", "--tls-versions", "TLSv1.0"], "not a TLS version", id="tls"),
        pytest.param(["h:1", "--client-key", "k.pem"], "needs --client-cert", id="key-alone"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err
    assert "Traceback" not in err


def test_wrong_client_key_is_input_error_without_key_material(
    capsys: pytest.CaptureFixture[str], pki: Pki
) -> None:
    code, out, err = run(
        capsys,
        "h:1",
        "--client-cert",
        str(pki.expc_pem),
        "--client-key",
        str(pki.rogue_key),
    )
    assert code == 2
    assert "does not belong to the certificate" in err
    assert "PRIVATE KEY" not in out + err and "BEGIN" not in out + err


@pytest.mark.openssl
def test_text_explains_a_failing_identity_expressway_does_not_get(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer], pki: Pki
) -> None:
    code, out, _ = run(capsys, servers["ec_self_signed"].target, "--trust", str(pki.root_pem))
    assert code == 1
    assert "FAIL (ECDSA identity untrusted: not on Expressway-C's own offer" in out
    assert "Verdict: accepted:" in out
    assert "(answered by the default handshake)" in out


def test_probe_cli_does_not_import_the_main_cli() -> None:
    # the shared options and output live in cli_support: no import cycle with mratrust.cli
    import subprocess
    import sys

    code = "import sys, mratrust.probe.cli; print('mratrust.cli' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
    main_cli = "import sys, mratrust.cli; print('mratrust.cli_support' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", main_cli], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "True"
