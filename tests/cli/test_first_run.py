"""What a new user meets first: wrong files, odd exports, messages in the project's own words."""

from __future__ import annotations

import shutil
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
