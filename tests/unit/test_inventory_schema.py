"""Inventory validation: every error names the file, the line and the field, and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from mratrust.errors import InputError, InputErrors
from mratrust.inventory import load_inventory, parse_inventory

GOOD = """\
schema: 1
name: Example Corp
expressway:
  version: X14.0.7
  upgraded_from: X12.7
  peers:
    - name: expc1.example.com
      certificate: certs/expc1.pem
      trusted_cas: certs/expc-trust.pem
uc_clusters:
  - name: cucm-main
    product: cucm
    version: "15.0.1.12900-234"
    publisher: cucm-pub.example.com
    trust:
      tomcat-trust: certs/tomcat-trust.pem
    nodes:
      - name: cucm-pub.example.com
        role: publisher
        certificates:
          tomcat: certs/pub-tomcat.pem
          CallManager-ECDSA: null
      - name: cucm-sub1.example.com
        role: subscriber
"""


def _errors(text: str) -> list[InputError]:
    with pytest.raises(InputError) as info:
        parse_inventory(text, source="inv.yaml")
    exc = info.value
    return list(exc.errors) if isinstance(exc, InputErrors) else [exc]


def test_good_schema_parses() -> None:
    model, lines = parse_inventory(GOOD, source="inv.yaml")
    assert model.name == "Example Corp"
    assert model.uc_clusters[0].nodes[1].role == "subscriber"
    assert model.expressway.verify_origin_server is True  # default
    assert model.expressway.sip_tls_versions == ["TLSv1.2"]
    assert lines[("uc_clusters", 0, "nodes", 1, "name")] == 23


def test_yaml_syntax_error_has_line() -> None:
    (err,) = _errors(GOOD.replace("  version: X14.0.7", "  version: [X14.0.7"))
    assert err.line is not None and err.line >= 4
    assert "YAML syntax error" in err.render()
    assert err.render().startswith("inv.yaml:")


def test_unknown_key_names_line_and_field() -> None:
    (err,) = _errors(
        GOOD.replace("    tls_verify_typo", "").replace(
            "    product: cucm\n", "    product: cucm\n    tls_verfy: true\n"
        )
    )
    assert "unknown key 'tls_verfy'" in err.message
    assert err.field == "uc_clusters[0].tls_verfy"
    assert err.line == 13
    assert "spelling" in (err.hint or "")


def test_bad_enum_lists_allowed_values() -> None:
    (err,) = _errors(GOOD.replace("product: cucm", "product: cme"))
    assert err.field == "uc_clusters[0].product"
    assert "'cme' is not allowed" in err.message
    assert "'cucm'" in (err.hint or "") and "'imp'" in (err.hint or "")
    assert err.line == 12


def test_bad_version() -> None:
    (err,) = _errors(GOOD.replace("version: X14.0.7", "version: fourteen"))
    assert err.field == "expressway.version"
    assert "not an Expressway version" in err.message


def test_duplicate_node_names_message() -> None:
    text = GOOD.replace("      - name: cucm-sub1.example.com\n        role: subscriber\n", "") + (
        "      - name: cucm-pub.example.com\n        role: subscriber\n"
    )
    (err,) = _errors(text)
    assert "listed twice" in err.message
    assert err.field == "uc_clusters[0]"


def test_two_publishers() -> None:
    (err,) = _errors(GOOD.replace("role: subscriber", "role: publisher"))
    assert "2 publishers" in err.message


def test_wrong_store_name_for_product() -> None:
    (err,) = _errors(GOOD.replace("tomcat-trust: certs", "cup-xmpp-trust: certs"))
    assert "cup-xmpp-trust" in err.message and "tomcat-trust, CallManager-trust" in err.message


def test_missing_required_and_several_errors_together() -> None:
    text = GOOD.replace("name: Example Corp\n", "").replace("product: cucm", "product: cme")
    errs = _errors(text)
    fields = {e.field for e in errs}
    assert "name" in fields and "uc_clusters[0].product" in fields


def test_duplicate_yaml_key() -> None:
    (err,) = _errors(
        GOOD.replace("  upgraded_from: X12.7\n", "  upgraded_from: X12.7\n  version: X15.3\n")
    )
    assert "appears twice" in err.message and err.line == 6


def test_not_a_mapping() -> None:
    (err,) = _errors("- just\n- a list\n")
    assert "must be a YAML mapping" in err.message


def test_empty_file(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("")
    with pytest.raises(InputError, match="empty"):
        load_inventory(inv)


def test_missing_inventory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="inventory file not found"):
        load_inventory(tmp_path / "nope.yaml")


def test_every_missing_file_reported_together(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(GOOD)
    with pytest.raises(InputErrors) as info:
        load_inventory(inv)
    errs = info.value.errors
    assert len(errs) == 4  # expc1.pem, expc-trust.pem, tomcat-trust.pem, pub-tomcat.pem
    assert all("file not found" in e.message and e.line for e in errs)
    assert {e.field for e in errs} >= {
        "expressway.peers[0].certificate",
        "uc_clusters[0].nodes[0].certificates.tomcat",
    }
