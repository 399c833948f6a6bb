"""The plain reading of an inventory (no pydantic) agrees with the schema's models.

:func:`read_plain` may only accept what pydantic accepts, and must then hold the very values
pydantic would. Checked on every lab scenario's inventory, on the examples, and on thousands of
seeded mutations of a document that sets every field; a document pydantic rejects or would
coerce must fall through to pydantic (and its error messages).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from mratrust.errors import InputError
from mratrust.inventory import _compose, load_inventory, parse_inventory
from mratrust.inventory_plain import read_plain
from mratrust.inventory_schema import InventoryIn
from mratrust.lab.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]

RICH = """\
schema: 1
name: Every field
collected:
  at: 2026-11-29T12:00:00Z
  tool: mratrust collect
  sources: [{kind: axl, host: cucm-pub.example.com, ok: true}]
  unknown: [expressway.ciphers.sip]
  drift: [{field: version, was: X15.3, now: X15.5}]
expressway:
  version: X15.5
  upgraded_from: X14.2.1
  cluster_name: expc.example.com
  verify_origin_server: false
  ciphers: {uc_server_discovery: "ECDHE-RSA-AES256-GCM-SHA384", sip: null, https: DEFAULT}
  sip_tls_versions: [TLSv1.2, TLSv1.3]
  sip_signature_pref_rsa: true
  cluster_tls_mode: enforce
  peers:
    - name: expc1.example.com
      certificate: certs/expc1.pem
      key: certs/expc1.key
      trusted_cas: certs/expc-trust.pem
      client_certificate: certs/expc1-client.pem
      client_key: certs/expc1-client.key
      probe: {host: 127.0.0.2, ports: {8443: 18443, 5061: 15061}}
expressway_e:
  version: X15.5
  edge_domains: [example.com]
  enable_server_eku_upload: true
  traversal:
    peer_addresses: [expc1.example.com]
    tls_verify_subject_name: expc.example.com
    port: 7001
  peers:
    - name: expe1.example.com
      certificate: certs/expe1.pem
      trusted_cas: certs/expe-trust.pem
uc_clusters:
  - name: cucm-main
    product: cucm
    version: "15.0.1.12900-234"
    publisher: cucm-pub.example.com
    tls_verify: false
    security_mode: mixed
    sip_oauth: true
    https_ciphers: ec-and-rsa
    tls_ciphers: ec-preferred
    secure_profiles: [Secure Profile]
    voicemail_host: cuc.example.com
    trust: {tomcat-trust: certs/tomcat-trust.pem, CallManager-trust: null}
    nodes:
      - name: cucm-pub.example.com
        role: publisher
        certificates: {tomcat: certs/pub-tomcat.pem, CallManager-ECDSA: null}
        probe: {host: 127.0.0.3}
      - name: cucm-sub1.example.com
        role: subscriber
  - name: cuc
    product: cuc
    publisher: cuc.example.com
    nodes: [{name: cuc.example.com, role: publisher}]
"""


def _data(text: str) -> Any:
    data, _ = _compose(text, "inv.yaml")
    return data


def _dump(value: Any) -> Any:
    """The plain reading as ``model_dump()`` writes the models: nested objects as dicts."""
    if isinstance(value, SimpleNamespace):
        return {k: _dump(v) for k, v in vars(value).items()}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _pydantic(data: Any) -> InventoryIn | None:
    try:
        return InventoryIn.model_validate(data)
    except ValidationError:
        return None


def _agree(data: Any) -> tuple[bool, bool]:
    """(plain reading accepted, pydantic accepted); fails when the plain reading accepts what
    pydantic rejects or holds other values."""
    plain = read_plain(data)
    model = _pydantic(data)
    if plain is not None:
        assert model is not None, f"accepted without pydantic, rejected by it: {data!r}"
        assert _dump(plain) == model.model_dump(), data
    return plain is not None, model is not None


def test_rich_document_reads_plainly_with_every_value_pydantic_gives() -> None:
    data = _data(RICH)
    assert _agree(data) == (True, True)
    plain = read_plain(data)
    assert plain.expressway_e.traversal.port == 7001
    assert plain.expressway.peers[0].probe.ports == {8443: 18443, 5061: 15061}
    assert plain.uc_clusters[1].tls_ciphers == "rsa-preferred"  # a default filled in
    assert plain.uc_clusters[1].nodes[0].certificates == {}


def test_every_lab_scenario_and_example_reads_plainly(scenario_dir: Callable[[str], Path]) -> None:
    texts = [(scenario_dir(s.info().id) / "inventory.yaml").read_text() for s in SCENARIOS]
    texts += [p.read_text() for p in sorted((ROOT / "examples").rglob("*.yaml"))]
    inventories = [t for t in texts if "uc_clusters" in t]
    assert len(inventories) >= len(SCENARIOS)
    for text in inventories:
        assert _agree(_data(text)) == (True, True)


_VALUES: tuple[object, ...] = (
    None,
    True,
    False,
    0,
    1,
    7001,
    70000,
    -1,
    1.5,
    14.2,
    "",
    "x",
    "7001",
    "X14.2",
    "X15.5.1",
    "X99.1",
    "not-a-version",
    "publisher",
    "subscriber",
    "mixed",
    "cucm",
    "enforce",
    "TLSv1.3",
    "tomcat",
    [],
    {},
    ["a"],
    [1],
    {"a": 1},
    {1: 2},
    dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    dt.date(2026, 1, 1),
    b"raw",
)


def _places(doc: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _places(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _places(v, (*at, i))


def _get(doc: Any, at: tuple[Any, ...]) -> Any:
    for part in at:
        doc = doc[part]
    return doc


def _mutate(doc: Any, rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        places = list(_places(doc))
        at = rng.choice(places[1:])
        parent, last = _get(doc, at[:-1]), at[-1]
        kind = rng.randrange(6)
        if kind == 0:
            parent[last] = rng.choice(_VALUES)
        elif kind == 1 and isinstance(parent, dict):
            del parent[last]
        elif kind == 2 and isinstance(parent, dict):
            parent[rng.choice(("extra", "Name", "schema_", 5, "port", "CallManager"))] = parent[
                last
            ]
        elif kind == 3 and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))  # a repeated name, a second publisher
        elif kind == 4 and isinstance(parent, list):
            del parent[last]
        elif kind == 5 and isinstance(parent, dict) and isinstance(last, str | int):
            swapped = (
                str(last) if isinstance(last, int) else (int(last) if last.isdigit() else last)
            )
            parent[swapped] = parent.pop(last)  # a port written "5061", a key as a number
        else:
            parent[last] = rng.choice(_VALUES)
    return doc


def test_mutations_the_plain_reading_accepts_pydantic_accepts_with_the_same_values() -> None:
    base = _data(RICH)
    rng = random.Random(20261201)
    tally = {(True, True): 0, (False, True): 0, (False, False): 0}
    for _ in range(3000):
        tally[_agree(_mutate(base, rng))] += 1
    # the mutations reach all three kinds: read plainly, left to pydantic to coerce, rejected
    assert tally[(True, True)] >= 200, tally
    assert tally[(False, True)] >= 20, tally
    assert tally[(False, False)] >= 1000, tally


@pytest.mark.parametrize(
    ("change", "plain", "valid"),
    [
        (
            ("  cluster_tls_mode: enforce\n", "  cluster_tls_mode: enforce\n  colour: red\n"),
            False,
            False,
        ),
        (("        role: subscriber\n", "        role: publisher\n"), False, False),
        (("X14.2.1", "X15.9.9"), False, False),  # upgraded from a later release
        (("{8443: 18443, 5061: 15061}", "{8443: 18443, 5061: 70000}"), False, False),
        (("      client_certificate: certs/expc1-client.pem\n", ""), False, False),
        (("port: 7001", "port: 0"), False, False),
        (("port: 7001", 'port: "7001"'), False, True),  # pydantic coerces it
        (("{8443: 18443, 5061: 15061}", '{"8443": 18443}'), False, True),
        (("version: X15.5\n  upgraded", "version: 15.5\n  upgraded"), False, True),
        (("tls_verify: false", "tls_verify: 0"), False, True),
        (("port: 7001", "port: 7001"), True, True),  # unchanged: the positive twin
    ],
)
def test_what_pydantic_rejects_or_coerces_is_left_to_it(
    change: tuple[str, str], plain: bool, valid: bool
) -> None:
    old, new = change
    assert old in RICH
    assert _agree(_data(RICH.replace(old, new, 1))) == (plain, valid)


_PROBE = """
import sys
from mratrust.cli import main
code = main(["audit", sys.argv[1], "--now", "2026-11-29T12:00:00Z", "-o", sys.argv[2]])
print("pydantic", "loaded" if "pydantic" in sys.modules else "not-loaded", "exit", code)
"""


def _audit(inventory: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, str(inventory), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_an_audit_of_a_valid_inventory_does_not_import_pydantic(
    scenario_dir: Callable[[str], Path], tmp_path: Path
) -> None:
    done = _audit(scenario_dir("B0") / "inventory.yaml", tmp_path / "r.txt")
    assert "pydantic not-loaded" in done.stdout, done.stdout + done.stderr


def test_an_invalid_inventory_gets_pydantic_and_its_line(
    scenario_dir: Callable[[str], Path], tmp_path: Path
) -> None:
    source = scenario_dir("B0")
    text = (source / "inventory.yaml").read_text()
    assert "  version: X" in text
    bad = tmp_path / "inventory.yaml"
    bad.write_text(text.replace("  version: X", "  verison: X", 1))
    for entry in source.iterdir():
        if entry.name != "inventory.yaml":
            (tmp_path / entry.name).symlink_to(entry)
    done = _audit(bad, tmp_path / "r.txt")
    assert "pydantic loaded exit 2" in done.stdout, done.stdout + done.stderr
    assert "unknown key 'verison'" in done.stderr
    assert "did you mean 'version'?" in done.stderr


def test_a_coerced_value_loads_the_same_deployment_as_the_plain_one(
    scenario_dir: Callable[[str], Path], tmp_path: Path
) -> None:
    source = tmp_path / "B0"
    shutil.copytree(scenario_dir("B0"), source)
    text = (source / "inventory.yaml").read_text()
    doc = yaml.safe_load(text)
    doc["uc_clusters"][0]["tls_verify"] = 1  # pydantic reads it as true
    doc["expressway"]["verify_origin_server"] = "true"
    coerced = source / "coerced.yaml"  # beside it: the same relative certificate paths
    coerced.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert read_plain(_data(coerced.read_text())) is None
    assert read_plain(_data(text)) is not None
    plain, via_pydantic = load_inventory(source / "inventory.yaml"), load_inventory(coerced)
    assert via_pydantic.uc_clusters[0].tls_verify is True
    assert via_pydantic.expressway.verify_origin_server is True
    assert plain.uc_clusters == via_pydantic.uc_clusters
    assert plain.expressway == via_pydantic.expressway


def test_a_plainly_read_inventory_still_reports_a_missing_file(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        RICH.split("expressway_e:")[0] + "uc_clusters:" + RICH.split("uc_clusters:")[1]
    )
    assert read_plain(_data(inventory.read_text())) is not None
    with pytest.raises(InputError, match="not found"):
        load_inventory(inventory)


def test_a_binary_version_is_a_field_error_not_a_crash() -> None:
    # YAML's !!binary gives bytes; pydantic makes text of them before the version is checked
    text = RICH.replace("upgraded_from: X14.2.1", "upgraded_from: !!binary cmF3", 1)
    assert read_plain(_data(text)) is None
    with pytest.raises(InputError) as info:
        parse_inventory(text, source="inv.yaml")
    assert info.value.field == "expressway.upgraded_from"
    assert info.value.line == 11
    assert "'raw' is not an Expressway version" in info.value.message


def test_the_lazy_re_export_names_every_model_of_the_schema() -> None:
    # mratrust.inventory lists the schema's names itself, so that naming one does not import
    # pydantic; the two lists must stay the same
    import mratrust.inventory as inventory
    import mratrust.inventory_schema as schema

    assert sorted(inventory._SCHEMA_NAMES) == sorted(schema.__all__)
    for name in schema.__all__:
        assert getattr(inventory, name) is getattr(schema, name)


def test_negative_twin_a_name_the_schema_lacks_is_not_re_exported() -> None:
    import mratrust.inventory as inventory

    with pytest.raises(AttributeError):
        inventory.NoSuchModelIn  # noqa: B018
