"""What a new user meets first: wrong files, odd exports, messages in the project's own words."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs7

from mratrust.cli import main
from mratrust.lab import pkigen as pg
from tests.pki.conftest import NOW, Pki

NOW_ARG = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mratrust", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


# --------------------------------------------------------------------------- PKCS#7 from openssl


@needs_openssl
@pytest.mark.openssl
@pytest.mark.parametrize("outform", ["PEM", "DER"])
def test_crl2pkcs7_bundle_loads_without_a_warning(tmp_path: Path, pki: Pki, outform: str) -> None:
    files = []
    for name, issued in (("leaf", pki.leaf), ("inter", pki.inter), ("root", pki.root)):
        files += ["-certfile", str(pg.write_certs(tmp_path / f"{name}.pem", [issued.cert]))]
    p7b = tmp_path / "chain.p7b"
    subprocess.run(
        ["openssl", "crl2pkcs7", "-nocrl", *files, "-outform", outform, "-out", str(p7b)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    # the file really is one that cryptography reads only through its BER fallback
    der = _p7_der(p7b) if outform == "PEM" else p7b.read_bytes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pkcs7.load_der_pkcs7_certificates(der)
    assert any("falling back to parsing as BER" in str(w.message) for w in caught)

    done = _cli("inspect", str(p7b), "--now", NOW_ARG)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("Subject:") == 3 and "CN=T-INT" in done.stdout


def _p7_der(p7b: Path) -> bytes:
    import base64

    body = p7b.read_text().split("-----")[2]
    return base64.b64decode("".join(body.split()))


# --------------------------------------------------------------------------- wrong identity files

INVENTORY = """\
schema: 1
name: First run
expressway:
  version: X14.2.1
  peers:
    - name: expc1.example.com
      certificate: {expc}
      trusted_cas: expc-trust.pem
uc_clusters:
  - name: cucm-main
    product: cucm
    publisher: cucm-pub.example.com
    trust:
      tomcat-trust: tomcat-trust.pem
      CallManager-trust: callmanager-trust.pem
    nodes:
      - name: cucm-pub.example.com
        role: publisher
        certificates:
          tomcat: {tomcat}
"""
TOMCAT_LINE = 20
EXPC_LINE = 7


def _deployment(tmp_path: Path, pki: Pki, *, tomcat: str, expc: str = "expc1.pem") -> Path:
    """A one-node deployment whose files are all right; ``tomcat``/``expc`` pick what is named."""
    expc1 = pg.make_leaf(
        "expc1.example.com",
        now=NOW,
        issuer=pki.inter,
        san=("expc1.example.com",),
        pool=pki.pool,
    )
    node = pg.make_leaf(
        "cucm-pub.example.com",
        now=NOW,
        issuer=pki.inter,
        san=("cucm-pub.example.com",),
        pool=pki.pool,
    )
    cas = [pki.root.cert, pki.inter.cert]
    pg.write_certs(tmp_path / "expc1.pem", [expc1.cert, pki.inter.cert])
    pg.write_certs(tmp_path / "expc-trust.pem", cas)
    pg.write_certs(tmp_path / "tomcat-trust.pem", cas)
    pg.write_certs(tmp_path / "callmanager-trust.pem", cas)
    pg.write_certs(tmp_path / "tomcat.pem", [node.cert])
    pg.write_certs(tmp_path / "tomcat-chain.pem", [pki.root.cert, node.cert, pki.inter.cert])
    pg.write_certs(tmp_path / "certs" / "cucm-main" / "tomcat.pem", [node.cert])
    pg.write_certs(tmp_path / "root.pem", [pki.root.cert])
    pg.write_certs(tmp_path / "inter.pem", [pki.inter.cert])
    selfs = [
        pg.make_cucm_self_signed(n, now=NOW, pool=pki.pool).cert
        for n in ("cucm-pub.example.com", "cucm-sub1.example.com")
    ]
    pg.write_certs(tmp_path / "self.pem", selfs[:1])
    # public CAs often carry serverAuth/clientAuth EKUs: still CAs, still a chain
    ca_uses = frozenset({pg.KeyUse.KEY_CERT_SIGN, pg.KeyUse.CRL_SIGN})
    eku_root = pg.make_leaf(
        "EKU-ROOT", now=NOW, issuer=None, san=(), ca=True, key_usage=ca_uses, pool=pki.pool
    )
    eku_int = pg.make_leaf(
        "EKU-INT", now=NOW, issuer=eku_root, san=(), ca=True, key_usage=ca_uses, pool=pki.pool
    )
    eku_leaf = pg.make_leaf(
        "cucm-pub.example.com",
        now=NOW,
        issuer=eku_int,
        san=("cucm-pub.example.com",),
        pool=pki.pool,
    )
    pg.write_certs(tmp_path / "eku-chain.pem", [eku_leaf.cert, eku_int.cert, eku_root.cert])
    pg.write_certs(tmp_path / "eku-int.pem", [eku_int.cert])
    pg.write_certs(tmp_path / "selfs-bundle.pem", selfs)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(INVENTORY.format(tomcat=tomcat, expc=expc))
    return inv


@pytest.mark.parametrize(
    ("tomcat", "words", "hint"),
    [
        (
            "certs/cucm-main/",
            "is a folder; an identity is one certificate file",
            "give the file of the node's own tomcat certificate inside it",
        ),
        (
            "callmanager-trust.pem",
            "this is 2 CA certificates (CN=T-ROOT; CN=T-INT), not the node's own tomcat",
            "export the node's own tomcat certificate, not its issuer or a trust store",
        ),
        (
            "root.pem",
            "this is a CA certificate (CN=T-ROOT), not the node's own tomcat",
            "not its issuer",
        ),
        (
            "eku-int.pem",
            "this is a CA certificate (CN=EKU-INT), not the node's own tomcat",
            "not its issuer",
        ),
        (
            "selfs-bundle.pem",
            "holds 2 certificates that each look like a server's own",
            "export the node's own tomcat certificate",
        ),
    ],
)
def test_wrong_file_as_node_identity_is_an_input_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki, tomcat: str, words: str, hint: str
) -> None:
    inv = _deployment(tmp_path, pki, tomcat=tomcat)
    code, out, err = run(capsys, "audit", str(inv), "--now", NOW_ARG)
    assert code == 2 and out == ""
    assert err.startswith(f"mratrust: error: {inv}:{TOMCAT_LINE}: ")
    assert "uc_clusters[0].nodes[0].certificates.tomcat: " in err
    assert words in err and hint in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("tomcat", ["tomcat.pem", "tomcat-chain.pem", "self.pem", "eku-chain.pem"])
def test_a_leaf_a_chain_or_cucm_self_signed_identity_still_loads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki, tomcat: str
) -> None:
    # self.pem is CA:TRUE with keyCertSign, as CUCM makes its self-signed identities
    inv = _deployment(tmp_path, pki, tomcat=tomcat)
    code, out, err = run(capsys, "audit", str(inv), "--now", NOW_ARG)
    assert code in (0, 1), err
    assert err == "" and "Summary:" in out


def test_a_ca_as_expressway_peer_certificate_is_an_input_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki
) -> None:
    inv = _deployment(tmp_path, pki, tomcat="tomcat.pem", expc="inter.pem")
    code, _, err = run(capsys, "audit", str(inv), "--now", NOW_ARG)
    assert code == 2
    assert f"{inv}:{EXPC_LINE}: expressway.peers[0].certificate: " in err
    assert "this is a CA certificate (CN=T-INT), not the Expressway peer expc1.example.com's" in err
    assert "export the Expressway peer expc1.example.com's own server certificate" in err


def test_missing_certificate_file_says_where_relative_paths_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki
) -> None:
    inv = _deployment(tmp_path, pki, tomcat="nope/tomcat.pem")
    code, _, err = run(capsys, "audit", str(inv), "--now", NOW_ARG)
    assert code == 2 and "file not found" in err
    assert f"a relative path starts from the inventory's folder ({tmp_path})" in err


@pytest.mark.parametrize("command", ["inspect", "verify"])
def test_inspect_and_verify_do_not_speak_of_an_inventory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "absent.pem"
    extra = ["--trust", str(missing)] if command == "verify" else []
    code, _, err = run(capsys, command, str(missing), *extra)
    assert code == 2 and f"{missing}: file not found" in err
    assert "a relative path starts from the current folder" in err
    assert "inventory" not in err


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_a_probe_exits_130_without_a_traceback(tmp_path: Path, pki: Pki) -> None:
    """A real SIGINT while ``audit --probe`` waits on a server that accepts and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(30)
    port = listener.getsockname()[1]
    inv = _deployment(tmp_path, pki, tomcat="tomcat.pem")
    inv.write_text(
        inv.read_text() + f"        probe: {{host: 127.0.0.1, ports: {{8443: {port}, 6972: {port}, "
        f"6971: {port}, 5061: {port}, 5091: {port}}}}}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "mratrust", "audit", str(inv), "--probe", "--timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    held = []
    try:
        held.append(listener.accept()[0])  # the handshake has started and now waits
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for s in (*held, listener):
            s.close()
    assert proc.returncode == 130, err
    assert "mratrust: interrupted" in err and "Traceback" not in err
    assert out == ""


def test_ctrl_c_is_130_and_an_ordinary_run_is_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = _deployment(tmp_path, pki, tomcat="tomcat.pem")
    assert run(capsys, "audit", str(inv), "--now", NOW_ARG)[0] in (0, 1)

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("mratrust.audit.audit", interrupted)
    code, out, err = run(capsys, "audit", str(inv), "--now", NOW_ARG)
    assert code == 130 and out == "" and err == "mratrust: interrupted\n"
