"""Inventory validation: every error names the file, the line and the field, and what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from mratrust.errors import InputError, InputErrors
from mratrust.inventory import README_REF, InventoryIn, _model_of, load_inventory, parse_inventory

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


_A = "  upgraded_from: X12.7\n"


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
    hint = err.hint or ""
    assert "did you mean 'tls_verify'?" in hint and "security_mode, sip_oauth" in hint
    assert "'Inventory reference' in the README" in hint and "SPEC" not in err.render()


def test_unknown_key_without_a_close_match_says_remove_it() -> None:
    (err,) = _errors(GOOD.replace(_A, _A + "  zzz: 1\n"))
    assert err.field == "expressway.zzz"
    hint = err.hint or ""
    assert hint.startswith("remove it or fix its spelling") and "did you mean" not in hint
    assert "version, upgraded_from, cluster_name" in hint


def test_bad_enum_lists_allowed_values() -> None:
    (err,) = _errors(GOOD.replace("product: cucm", "product: cme"))
    assert err.field == "uc_clusters[0].product"
    assert err.message == "'cme' is not allowed: expected one of: cucm, imp, cuc"
    assert err.line == 12


def test_bad_version() -> None:
    (err,) = _errors(GOOD.replace("version: X14.0.7", "version: fourteen"))
    assert err.field == "expressway.version"
    assert "not an Expressway version: expected a version like X14.2.1" in err.message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            ("    product: cucm\n", "    product: cucm\n    tls_verify: maybe\n"),
            "uc_clusters[0].tls_verify",
            "expected true or false (found 'maybe')",
        ),
        (
            (_A, _A + "  sip_signature_pref_rsa: perhaps\n"),
            "expressway.sip_signature_pref_rsa",
            "expected true or false (found 'perhaps')",
        ),
        (
            ("    product: cucm\n", "    product: cucm\n    security_mode: secure\n"),
            "uc_clusters[0].security_mode",
            "'secure' is not allowed: expected one of: non-secure, mixed",
        ),
        (
            (_A, _A + "  sip_tls_versions: [TLS1.3]\n"),
            "expressway.sip_tls_versions[0]",
            "expected one of: TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3",
        ),
        (
            (_A, _A + "  sip_tls_versions: TLSv1.3\n"),
            "expressway.sip_tls_versions",
            "expected a list (one '- item' per line, or [a, b]) (found 'TLSv1.3')",
        ),
        (
            ("upgraded_from: X12.7", "upgraded_from: twelve"),
            "expressway.upgraded_from",
            "'twelve' is not an Expressway version: expected a version like X14.2.1",
        ),
        (
            (
                "        role: subscriber\n",
                "        role: subscriber\n        probe: {host: h, ports: {x: 1}}\n",
            ),
            "uc_clusters[0].nodes[1].probe.ports.x",
            "expected a whole number (found 'x')",
        ),
        (("name: Example Corp", "name: [a]"), "name", "expected text"),
        (("name: Example Corp", "name: ''"), "name", "must not be empty"),
        (
            (_A, _A + "  ciphers: abc\n"),
            "expressway.ciphers",
            "expected a mapping (key: value lines) (found 'abc')",
        ),
        (
            ("uc_clusters:\n", "uc_clusters:\n  - cucm\n"),
            "uc_clusters[0]",
            "expected a mapping (key: value lines) (found 'cucm')",
        ),
    ],
)
def test_pydantic_wording_never_reaches_the_user(
    change: tuple[str, str], field: str, words: str
) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    errs = _errors(text)
    (err,) = [e for e in errs if e.field == field]
    assert words in err.message
    rendered = err.render()
    for pydantic_words in ("Input should be", "valid dictionary", "instance of", "List should"):
        assert pydantic_words not in rendered


def test_empty_peer_list_says_how_many() -> None:
    text = GOOD.replace(
        "  peers:\n    - name: expc1.example.com\n      certificate: certs/expc1.pem\n"
        "      trusted_cas: certs/expc-trust.pem\n",
        "  peers: []\n",
    )
    (err,) = _errors(text)
    assert err.field == "expressway.peers" and err.message == "expected at least 1 item"


def test_a_null_trust_store_is_unknown_not_an_error() -> None:
    model, _ = parse_inventory(
        GOOD.replace("tomcat-trust: certs/tomcat-trust.pem", "tomcat-trust: null")
    )
    assert model.uc_clusters[0].trust == {"tomcat-trust": None}


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
    assert all(f"starts from the inventory's folder ({tmp_path})" in (e.hint or "") for e in errs)
    assert {e.field for e in errs} >= {
        "expressway.peers[0].certificate",
        "uc_clusters[0].nodes[0].certificates.tomcat",
    }


def _field_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        inner = _model_of(info.annotation)
        if inner is not None:
            names |= _field_names(inner)
    return names


def test_readme_inventory_reference_covers_every_field() -> None:
    # the error messages point there: the section must exist and name every key schema 1 reads
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert README_REF == "see 'Inventory reference' in the README"
    start = readme.index("\n## Inventory reference\n")
    section = readme[start : readme.index("\n## ", start + 1)]
    missing = sorted(
        n for n in _field_names(InventoryIn) if f"`{n}`" not in section and f".{n}`" not in section
    )
    assert missing == []


def test_dump_writes_back_what_was_given(scenario_dir: Callable[[str], Path]) -> None:
    # a lab inventory (written through the schema) parses and dumps to the same YAML body
    text = (scenario_dir("B0E") / "inventory.yaml").read_text(encoding="utf-8")
    model, _ = parse_inventory(text)
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    dumped = yaml.safe_dump(
        model.dump(), sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    assert dumped == body
    assert "tls_ciphers" not in dumped  # a default left out stays out
    # negative twin: a default given explicitly is written
    given = text.replace(
        "  https_ciphers: rsa-only\n",
        "  https_ciphers: rsa-only\n  tls_ciphers: rsa-preferred\n",
        1,
    )
    assert "tls_ciphers: rsa-preferred" in yaml.safe_dump(parse_inventory(given)[0].dump())


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("name: !foo Example Corp", "could not determine a constructor for the tag '!foo'"),
        (
            "<<: {name: Example Corp}",
            "could not determine a constructor for the tag 'tag:yaml.org,2002:merge'",
        ),
    ],
)
def test_a_tag_the_safe_loader_refuses_is_a_message_with_its_line(value: str, problem: str) -> None:
    (err,) = _errors(GOOD.replace("name: Example Corp", value, 1))
    assert err.message == f"YAML value not allowed: {problem}"
    assert err.line == 2 and "no '!tag'" in (err.hint or "")


def test_a_standard_tag_is_read_as_its_value() -> None:
    model, _ = parse_inventory(GOOD.replace("name: Example Corp", "name: !!str 1234", 1))
    assert model.name == "1234"


def test_file_errors_keep_the_order_of_the_inventory(tmp_path: Path) -> None:
    # the files are read ahead (their certificates' facts computed together), but each error is
    # reported where the inventory names it, key files among them
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        GOOD.replace(
            "      trusted_cas: certs/expc-trust.pem\n",
            "      trusted_cas: certs/expc-trust.pem\n      key: certs/expc1.key\n",
            1,
        )
    )
    with pytest.raises(InputErrors) as info:
        load_inventory(inv)
    assert [(e.field, e.message.split(" (")[0]) for e in info.value.errors] == [
        ("expressway.peers[0].certificate", "file not found"),
        ("expressway.peers[0].trusted_cas", "file not found"),
        ("expressway.peers[0].key", "key file not found"),
        ("uc_clusters[0].trust.tomcat-trust", "file not found"),
        ("uc_clusters[0].nodes[0].certificates.tomcat", "file not found"),
    ]
