"""``mratrust probe`` through its own argparse harness (add_parser + run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mratrust.probe.cli import DEFAULT_VERSION, main
from mratrust.topology import EndpointKind, Purpose, row_for

from .conftest import NODE, Pki, SServer, free_port

NOW = "--now"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["probe", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _presenting(pki: Pki, cert: Path, key: Path) -> tuple[str, ...]:
    """The arguments that trust the test root and present ``cert`` (with ``key``)."""
    return ("--trust", str(pki.root_pem), "--client-cert", str(cert), "--client-key", str(key))


@pytest.mark.openssl
def test_text_shows_identities_client_cas_and_verdict(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer], pki: Pki
) -> None:
    mtls = servers["mtls"]
    code, out, err = run(
        capsys,
        f"{NODE}:5061{{127.0.0.1}}",
        "--port-map",
        f"5061={mtls.port}",
        *_presenting(pki, pki.expc_pem, pki.expc_key),
    )
    assert code == 0, out + err
    assert f"Expressway-C {DEFAULT_VERSION} (fresh install)" in out
    assert "Identities found (2):" in out
    assert "[1] RSA" in out and "[2] ECDSA" in out
    assert f"SAN:        {NODE}" in out
    assert "CA names accepted: CN=EXPC-CA,O=Example Corp" in out
    assert "requested (sent)" in out
    assert f"{NODE}:5061{{127.0.0.1:{mtls.port}}}  OK" in out
    assert "Offer: SIP (port 5061), TLS 1.3 signatures RSA first" in out
    assert "TLSv1.3 TLS_AES_256_GCM_SHA384, RSA certificate" in out
    assert "1 endpoint(s): 1 ok, 0 failed, 0 incomplete, 0 could not be probed" in out
    assert "PRIVATE KEY" not in out + err


@pytest.mark.openssl
def test_negative_twin_rejected_client_exits_1_with_the_log_line(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer], pki: Pki
) -> None:
    mtls = servers["mtls"]
    code, out, err = run(
        capsys,
        f"{NODE}:5061{{127.0.0.1}}",
        "--port-map",
        f"5061={mtls.port}",
        *_presenting(pki, pki.rogue_pem, pki.rogue_key),
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
        "leg": {"port": servers["dual"].port, "transport": "ats", "product": None, "listed": False},
    }
    assert endpoint["signature_algorithms"][0].startswith("ecdsa")
    # an unlisted port is taken as Traffic Server's: the ECDSA identity first (TLS 1.3)
    assert [i["key_type"] for i in endpoint["identities"]] == ["ecdsa", "rsa"]
    assert [o["variant"] for o in endpoint["observations"]] == [
        "default",
        "tls1.2-rsa",
        "tls1.2-ecdsa",
        "tls1.3-rsa",
        "tls1.3-ecdsa",
    ]
    rsa = endpoint["identities"][1]
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
    code, out, _ = run(
        capsys,
        f"{NODE}:5061{{127.0.0.1}}",
        "--port-map",
        f"5061={servers['ec_self_signed'].port}",
        "--trust",
        str(pki.root_pem),
    )
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


def _default_key(capsys: pytest.CaptureFixture[str], server: SServer, port: int, *more: str) -> str:
    """The key type Expressway-C's own TLS 1.3 offer gets from ``server`` standing for ``port``."""
    code, out, err = run(
        capsys,
        f"{NODE}:{port}{{127.0.0.1}}",
        "--port-map",
        f"{port}={server.port}",
        "--as-version",
        "X15.3",
        "--default-only",
        "--format",
        "json",
        *more,
    )
    assert code == 0, out + err
    (endpoint,) = json.loads(out)["endpoints"]
    assert endpoint["target"]["leg"]["port"] == port
    assert endpoint["target"]["port"] == server.port
    assert endpoint["default"]["tls_version"] == "TLSv1.3"
    key: str = endpoint["default"]["key_type"]
    return key


HTTPS_PORT = row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, Purpose.HTTPS).port
SIP_PORT = row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, Purpose.SIP).port
TFTP_PORT = row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, Purpose.TFTP).port
XMPP_PORT = row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.IMP, Purpose.XMPP).port


@pytest.mark.openssl
@pytest.mark.parametrize("port", [HTTPS_PORT, TFTP_PORT, XMPP_PORT], ids=["8443", "6972", "7400"])
@pytest.mark.parametrize("pref", [(), ("--signature-pref-rsa", "on")], ids=["default", "pref-on"])
def test_x153_traffic_server_and_xcp_targets_get_ecdsa_under_tls13(
    capsys: pytest.CaptureFixture[str],
    servers: dict[str, SServer],
    port: int,
    pref: tuple[str, ...],
) -> None:
    # knowledge base §6.1: TlsSignatureAlgoPrefRsa is SIP's; Traffic Server (8443, 6972) and XCP
    # keep OpenSSL's order, so a dual RSA/ECDSA server gives them its ECDSA certificate
    assert _default_key(capsys, servers["dual"], port, *pref) == "ecdsa"


@pytest.mark.openssl
def test_twin_x153_sip_target_gets_rsa_under_tls13(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer]
) -> None:
    assert _default_key(capsys, servers["dual"], SIP_PORT) == "rsa"


@pytest.mark.openssl
def test_twin_sip_target_with_the_preference_off_gets_ecdsa(
    capsys: pytest.CaptureFixture[str], servers: dict[str, SServer]
) -> None:
    key = _default_key(capsys, servers["dual"], SIP_PORT, "--signature-pref-rsa", "off")
    assert key == "ecdsa"


def test_port_map_needs_port_equals_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["probe", "cucm:5061", "--port-map", "5061"])
    assert exc.value.code == 2
    assert "is not PORT=CONNECT" in capsys.readouterr().err


def _probe_process(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """``python -m mratrust probe`` as a user runs it: the process ends with ``os._exit``."""
    return subprocess.run(
        [sys.executable, "-m", "mratrust", "probe", *argv],
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.openssl
def test_the_process_ends_at_once_with_the_whole_report_on_a_pipe(
    servers: dict[str, SServer], pki: Pki
) -> None:
    done = _probe_process(servers["dual"].target, "--trust", str(pki.root_pem), "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # every byte arrived: the pipe was flushed before the end
    assert doc["summary"]["ok"] == 1
    assert done.stderr == b""


@pytest.mark.openssl
def test_negative_twin_a_failing_probe_keeps_its_exit_code_and_file(
    servers: dict[str, SServer], pki: Pki, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    done = _probe_process(
        servers["dual"].target,
        "--trust",
        str(pki.client_ca_pem),  # not the server's CA: the chain is untrusted
        "--format",
        "json",
        "--output",
        str(out),
    )
    # the probe fails (1), and says where it wrote
    assert done.returncode == 1, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["fail"] == 1
    assert done.stdout == b""
    assert f"wrote {out}".encode() in done.stderr


_MODULES_AFTER = """
import os, sys
import mratrust.cli as cli

def report(code):
    print("loaded", "cryptography.hazmat.primitives.serialization.ssh" in sys.modules)
    sys.stdout.flush()
    os._exit(code)

cli._exit_now = report
sys.argv = ["mratrust", "probe", *sys.argv[1:], "--format", "json", "-o", os.devnull]
cli.main()
"""


def _key_loader_loaded(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _MODULES_AFTER, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout.split("loaded ", 1)[1].strip()


@pytest.mark.openssl
def test_a_probe_without_a_client_certificate_loads_no_key_reader(
    servers: dict[str, SServer], pki: Pki
) -> None:
    assert _key_loader_loaded(servers["dual"].target, "--trust", str(pki.root_pem)) == "False"


@pytest.mark.openssl
def test_negative_twin_a_client_certificate_loads_the_key_reader(
    servers: dict[str, SServer], pki: Pki
) -> None:
    loaded = _key_loader_loaded(
        servers["dual"].target, *_presenting(pki, pki.expc_pem, pki.expc_key)
    )
    assert loaded == "True"
