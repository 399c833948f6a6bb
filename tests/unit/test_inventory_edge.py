"""Inventory schema 1, the Expressway-E half: every error names the file, line and field."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.unit.test_inventory_schema import GOOD

from mratrust.errors import InputError
from mratrust.inventory import load_inventory, parse_inventory

E = """\
expressway_e:
  version: X15.4
  cluster_tls_mode: enforce
  enable_server_eku_upload: true
  edge_domains: [example.com]
  traversal:
    peer_addresses: [expe1.example.com]
    tls_verify_subject_name: expc.example.com
    port: 7001
  peers:
    - name: expe1.example.com
      certificate: certs/expe1.pem
      trusted_cas: certs/expe-trust.pem
      probe: {host: 127.0.0.1, ports: {7001: 17001}}
"""


def test_expressway_e_fields_parse() -> None:
    model, _ = parse_inventory(GOOD + E)
    e = model.expressway_e
    assert e is not None and e.traversal is not None
    assert (e.cluster_tls_mode, e.enable_server_eku_upload, e.edge_domains) == (
        "enforce",
        True,
        ["example.com"],
    )
    assert e.traversal.port == 7001 and e.peers[0].probe is not None


def test_client_key_without_client_certificate_is_an_error() -> None:
    text = GOOD.replace(
        "      trusted_cas: certs/expc-trust.pem\n",
        "      trusted_cas: certs/expc-trust.pem\n      client_key: certs/c.key\n",
        1,
    )
    with pytest.raises(InputError, match="client_key is set without client_certificate") as exc:
        parse_inventory(text, source="inv.yaml")
    assert exc.value.line == text.splitlines().index("    - name: expc1.example.com") + 1
    assert exc.value.field == "expressway.peers[0]"


def test_bad_traversal_port_and_mode_name_line_and_field() -> None:
    text = GOOD + E.replace("port: 7001", "port: 70001")
    with pytest.raises(InputError, match="70001 is not a TCP port") as exc:
        parse_inventory(text, source="inv.yaml")
    assert exc.value.field == "expressway_e.traversal.port"
    assert exc.value.line == text.splitlines().index("    port: 70001") + 1
    with pytest.raises(InputError, match="expected one of: permissive, enforce"):
        parse_inventory(GOOD + E.replace("enforce", "strict"), source="inv.yaml")


def test_edge_domains_typo_suggests_the_key() -> None:
    with pytest.raises(InputError, match="unknown key 'edge_domain'") as exc:
        parse_inventory(GOOD + E.replace("edge_domains:", "edge_domain:"), source="inv.yaml")
    assert "did you mean 'edge_domains'" in (exc.value.hint or "")


def test_missing_client_key_file_is_reported(
    scenario_dir: Callable[[str], Path], tmp_path: Path
) -> None:
    shutil.copytree(scenario_dir("B0E"), tmp_path / "b0e")
    inventory = tmp_path / "b0e" / "inventory.yaml"
    text = inventory.read_text()
    cert = "certificate: certs/expressway/expc1.example.com.pem\n"
    assert cert in text
    text = text.replace(
        cert,
        cert
        + "    client_certificate: certs/expressway/expc1.example.com.pem\n"
        + "    client_key: certs/nope.key\n",
        1,
    )
    inventory.write_text(text)
    with pytest.raises(InputError, match="key file not found") as exc:
        load_inventory(inventory)
    assert exc.value.field == "expressway.peers[0].client_key"


@pytest.mark.parametrize("base", [".", "/", "inv", "/srv/mra/inv", "//net/inv"])
@pytest.mark.parametrize(
    "ref",
    [
        "certs/a.pem",
        "a.pem",
        "../shared/a.pem",
        "./certs/a.pem",
        "certs//a.pem",
        "certs/./a.pem",
        "certs/",
        ".",
        "/abs/a.pem",
        "~/a.pem",
        "~",
        "a b/ü.pem",
    ],
)
def test_a_reference_resolves_as_pathlib_writes_it(base: str, ref: str) -> None:
    # the written path is every message's and every LoadedCert's file name: exactly Path's text
    from mratrust.inventory import _Files

    expected = Path(ref).expanduser()
    want = str(expected if expected.is_absolute() else Path(base) / expected)
    files = _Files(Path(base), "inv.yaml", {}, None)
    assert files.resolve(ref) == want
    assert files.resolve(ref) == want  # and again, from its table
