"""One writer for certificates and keys (plan kit, lab, collect)."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.conftest import NOW

from mratrust.lab import pkigen as pg
from mratrust.pki.load import load_path
from mratrust.pki.write import certs_pem, safe_name, write_certs, write_key


def test_certificates_round_trip_in_order_without_a_key(tmp_path: Path) -> None:
    pool = pg.KeyPool()
    root = pg.make_ca("W-ROOT", now=NOW, pool=pool)
    leaf = pg.make_leaf("w.example.com", now=NOW, issuer=root, pool=pool)
    path = write_certs(tmp_path / "a" / "chain.pem", (leaf.cert, root.cert))
    assert [c.cert for c in load_path(path)] == [leaf.cert, root.cert]
    text = path.read_text()
    assert text.count("BEGIN CERTIFICATE") == 2 and "PRIVATE" not in text
    assert certs_pem(()) == b""
    key = write_key(tmp_path / "k" / "w.key", leaf.key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in key.read_bytes()


def test_safe_names() -> None:
    assert safe_name("CN=a b/c") == "CN-a-b-c"
    assert safe_name("cucm-pub.example.com") == "cucm-pub.example.com"
    assert safe_name("///") == "x"
    assert safe_name("///", empty="cert") == "cert"
