"""Remediation per product and certificate type: what a UC engineer would sign."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import (
    CUCM_PUB,
    CUCM_SUB1,
    SCENARIOS,
    IdentityRef,
    SetPeer,
    build_spec,
    get_scenario,
    write_material,
)
from mratrust.model import Product, Status
from mratrust.pki.facts import facts
from mratrust.plan import Plan, Step, make_plan, write_kit
from mratrust.products import PRODUCTS, identity_recipe, trust_restarts
from mratrust.versions import Version
from tests.conftest import NOW

Dir = Callable[[str], Path]

CUC_SERVICES = (
    "Cisco Tomcat",
    "Connection Conversation Manager",
    "Connection Jetty",
    "Connection IMAP Server",
    "Connection SMTP Server",
    "Cisco Dirsync",
)


def _plan(scenario_dir: Dir, sid: str, to: str | None = None) -> Plan:
    d = load_inventory(scenario_dir(sid) / "inventory.yaml")
    return make_plan(d, to=Version.parse(to) if to else None, now=NOW)


def _only(plan: Plan, action: str, **target: str) -> Step:
    found = [
        s
        for s in plan.steps
        if s.action == action and all(s.target_dict().get(k) == v for k, v in target.items())
    ]
    assert len(found) == 1, [(s.action, s.target_dict()) for s in plan.steps]
    return found[0]


def _text(step: Step) -> str:
    return "\n".join((step.why, *step.commands))


# --------------------------------------------------------------------------- the table


def test_one_table_with_each_products_own_recipes() -> None:
    cuc = identity_recipe(Product.CUC, "tomcat").commands()
    assert cuc[: len(CUC_SERVICES)] == tuple(f"utils service restart {s}" for s in CUC_SERVICES)
    assert not any("CallManager" in c or "TFTP" in c for c in cuc)
    cucm_tomcat = " ".join(identity_recipe(Product.CUCM, "tomcat").commands())
    for service in ("Cisco UDS Tomcat", "Cisco AXL Tomcat", "Cisco TFTP", "DRF Master"):
        assert service in cucm_tomcat
    assert "Cisco DRF Local" in cucm_tomcat and "SP metadata" in cucm_tomcat
    assert "Cisco CallManager" not in cucm_tomcat
    assert "Cisco CallManager" in " ".join(
        identity_recipe(Product.CUCM, "tomcat", sip_oauth=True).commands()
    )
    imp = " ".join(identity_recipe(Product.IMP, "cup-xmpp").commands())
    assert "XCP Router" in imp and "CallManager" not in imp
    assert trust_restarts(Product.CUCM, "tomcat-trust") == (
        "utils service restart Cisco Tomcat",
        "utils service restart Cisco HAProxy",
    )
    assert trust_restarts(Product.CUCM, "tomcat-trust", sip_oauth=True)[-1].endswith(
        "Cisco CallManager"
    )
    assert set(PRODUCTS) == set(Product)


def test_mixed_mode_callmanager_recipe_orders_ctl_first_and_phones_last() -> None:
    plain = identity_recipe(Product.CUCM, "CallManager").commands()
    assert "utils ctl update CTLFile" not in plain
    assert {"Cisco TVS", "Cisco CTIManager"} <= {
        c.removeprefix("utils service restart ") for c in plain
    }
    mixed = identity_recipe(Product.CUCM, "CallManager", mixed=True).commands()
    assert mixed[0] == "utils ctl update CTLFile"
    assert "reset the phones" in mixed[-1]


# --------------------------------------------------------------------------- scenario kits


def test_f31_unity_connection_gets_its_own_restarts(scenario_dir: Dir) -> None:
    step = _only(_plan(scenario_dir, "F31"), "reissue", system="cuc")
    text = _text(step)
    for service in CUC_SERVICES:
        assert f"utils service restart {service}" in text
    assert "Cisco CallManager" not in text and "Cisco TFTP" not in text
    assert "Unified CM" not in text  # not CUCM's pages either


def test_f08_mixed_mode_callmanager_reissue(scenario_dir: Dir) -> None:
    plan = _plan(scenario_dir, "F08")
    step = _only(plan, "reissue", system="cucm", certificate="CallManager")
    commands = list(step.commands)
    ctl = commands.index("utils ctl update CTLFile")
    restarts = [i for i, c in enumerate(commands) if c.startswith("utils service restart")]
    assert restarts and ctl < min(restarts)
    assert "utils service restart Cisco TVS" in commands
    assert "utils service restart Cisco CTIManager" in commands
    assert "reset the phones" in commands[-1]
    # the new CA is in CallManager-trust before the new certificate is uploaded
    before = next(i for i, c in enumerate(commands) if c.startswith("before uploading it"))
    upload = next(i for i, c in enumerate(commands) if "Upload Certificate" in c)
    assert before < upload and "CallManager-trust" in commands[before]
    assert "CN=ENT-ROOT" in commands[before] and "CN=ENT-INT" in commands[before]
    assert step.target_dict()["issuer"] == "CN=ENT-INT"
    # tomcat is not multi-server in F08: no reuse suggestion
    assert "reuse the multi-server" not in step.why and "not offered" in step.why
    assert step.why.startswith("Cisco recommends CA-signed")
    # the stale self-signed CallManager entries leave Expressway-C's list, before the reissue
    removal = _only(plan, "remove-trust", system="expressway-c")
    d = load_inventory(scenario_dir("F08") / "inventory.yaml")
    cucm = next(c for c in d.uc_clusters if c.name == "cucm-main")
    idents = [(n.identity("CallManager"), n.identity("tomcat")) for n in cucm.nodes]
    callmanagers = {cm.leaf for cm, _ in idents if cm is not None}
    tomcats = {tc.leaf for _, tc in idents if tc is not None}
    assert len(callmanagers) == len(tomcats) == 2
    assert set(removal.certificates) == callmanagers
    assert not set(removal.certificates) & tomcats
    assert removal.order < step.order


def test_reuse_is_offered_only_for_a_multi_server_tomcat(scenario_dir: Dir) -> None:
    from mratrust.plan import _tomcat_multi_server

    b0 = load_inventory(scenario_dir("B0") / "inventory.yaml")
    f08 = load_inventory(scenario_dir("F08") / "inventory.yaml")
    assert _tomcat_multi_server(next(c for c in b0.uc_clusters if c.name == "cucm-main"))
    assert not _tomcat_multi_server(next(c for c in f08.uc_clusters if c.name == "cucm-main"))


def test_f05_cucm_tomcat_reissue_lists_the_upload_prompt_services(scenario_dir: Dir) -> None:
    step = _only(_plan(scenario_dir, "F05", "X14.2.1"), "reissue", certificate="tomcat")
    commands = list(step.commands)
    rolling = next(i for i, c in enumerate(commands) if "node by node" in c)
    assert "maintenance window" in commands[rolling] and "publisher first" in commands[rolling]
    restarts = commands[rolling + 1 :]
    for service in ("Cisco Tomcat", "Cisco UDS Tomcat", "Cisco AXL Tomcat", "Cisco TFTP"):
        assert f"utils service restart {service}" in restarts
    assert any("publisher only" in c and "DRF Master" in c for c in restarts)
    assert any("SP metadata" in c for c in restarts)
    assert "utils service restart Cisco CallManager" not in restarts  # no SIP OAuth in F05
    assert "tomcat-trust must hold the CA chain" in " ".join(commands[:rolling])


def test_f06_rename_then_refresh_no_reissue(scenario_dir: Dir) -> None:
    plan = _plan(scenario_dir, "F06")
    assert not [s for s in plan.steps if s.action == "reissue"]
    rename = _only(plan, "configure", system="cucm")
    assert "rename cucm-pub to cucm-pub.example.com" in rename.commands[0]
    assert "cucm-sub1 to cucm-sub1.example.com" in rename.commands[0]
    assert plan.steps[-1].action == "refresh" and plan.steps[-1].order > rename.order
    # proved: applied in memory (renamed), no failure remains and none is new
    assert not plan.remaining_failures and not plan.regressions
    assert {f.rule for f in plan.fixed} >= {"C2U-FQDN", "C2U-NAME"}


def test_f06_names_that_no_certificate_holds_still_get_a_reissue(scenario_dir: Dir) -> None:
    # negative twin: F31's voicemail host is in no certificate, so the reissue stays
    plan = _plan(scenario_dir, "F31")
    step = _only(plan, "reissue", system="cuc")
    assert "vm.example.com" in step.target_dict()["san"]


def test_f17_sip_oauth_restarts_callmanager_after_tomcat_trust(scenario_dir: Dir) -> None:
    plan = _plan(scenario_dir, "F17")
    restart = _only(plan, "restart", system="cucm")
    assert "utils service restart Cisco CallManager" in restart.commands
    assert "5091" in restart.why
    # negative twin: without SIP OAuth a tomcat-trust upload does not restart CallManager
    f01 = _plan(scenario_dir, "F01", "X14.0.2")
    tomcat_only = [
        s for s in f01.steps if s.action == "restart" and s.target_dict().get("system") == "cucm"
    ]
    assert tomcat_only and "tomcat-trust" in tomcat_only[0].why


def test_f40_renews_the_certificate_of_its_own_node(scenario_dir: Dir, tmp_path: Path) -> None:
    plan = _plan(scenario_dir, "F40")
    step = _only(plan, "reissue", certificate="CallManager")
    t = step.target_dict()
    assert t["system"] == "cucm" and t["cluster"] == "cucm-main"
    assert t["nodes"] == ["cucm-sub1.example.com"]
    assert t["san"] == ["cucm-sub1.example.com"] and t["key"] == "RSA 2048"
    write_kit(plan, tmp_path / "kit")
    md = (tmp_path / "kit" / "steps.md").read_text()
    assert "Reissue the CallManager certificate of Unified CM cluster cucm-main" in md
    assert "Expressway-C None" not in md and "SAN ," not in md


def test_f04_self_signed_trust_leads_with_ca_signing(scenario_dir: Dir) -> None:
    plan = _plan(scenario_dir, "F04", "X14.2.1")
    upload = _only(plan, "upload-trust", system="expressway-c")
    assert upload.why.startswith("Cisco recommends CA-signed certificates")
    assert upload.commands[0].startswith("recommended instead: CA-sign cucm-main's tomcat")
    # negative twin: a CA chain upload carries no such note
    f01 = _plan(scenario_dir, "F03")
    assert not any("recommended instead" in c for s in f01.steps for c in s.commands)


def test_uploads_to_uc_stores_are_made_on_the_publisher(scenario_dir: Dir) -> None:
    for sid, to in (("F01", "X14.0.2"), ("F03", None), ("F17", None)):
        for step in _plan(scenario_dir, sid, to).steps:
            if step.action == "upload-trust" and step.target_dict()["system"] == "cucm":
                assert step.commands[0].startswith("on the publisher (cucm-pub.example.com)")
                assert "on every node" not in _text(step)


def test_restarts_roll_node_by_node_publisher_first(scenario_dir: Dir) -> None:
    step = _only(_plan(scenario_dir, "F03"), "restart", system="cucm")
    assert "node by node" in step.why and "publisher first" in step.why
    assert "maintenance window" in step.why
    assert step.commands == (
        "utils service restart Cisco CallManager",
        "utils service restart Cisco TFTP",
        "utils service restart Cisco HAProxy",
    )


def test_f11_ecdsa_advice_that_holds_under_tls13_comes_first(scenario_dir: Dir) -> None:
    plan = _plan(scenario_dir, "F11")
    configure = [s for s in plan.steps if s.action == "configure"]
    first = configure[0]
    assert first.target_dict() == {
        "system": "cucm",
        "cluster": "cucm-main",
        "setting": "https_ciphers",
        "value": "rsa-only",
    }
    assert "TLS 1.3" in first.why and "CA-signed" in first.why
    assert "TLS 1.2 only" in first.why  # the cipher string, labelled for what it is
    # no step claims the Expressway cipher string fixes the leg
    assert not [s for s in configure if str(s.target_dict().get("setting")).startswith("ciphers.")]
    assert plan.fixed and not plan.remaining


# --------------------------------------------------------------------------- every kit


def _failing_runs() -> list[tuple[str, str | None]]:
    runs: list[tuple[str, str | None]] = []
    for sc in SCENARIOS:
        current = Version.parse(sc.spec().expressway.version)
        targets: list[str | None] = [None]
        for v in (*sc.versions, *((sc.upgrade_to,) if sc.upgrade_to else ())):
            if Version.parse(v) > current and v not in targets:
                targets.append(v)
        runs.extend((sc.id, t) for t in targets)
    return runs


_EMPTY_MD = re.compile(r"\bNone\b|\bnull\b|SAN ,|key ,|, ,|\(\s*\)|: ;|; ;|\bof \)")


def _walk(value: object, path: str) -> list[str]:
    bad: list[str] = []
    if value is None:
        bad.append(f"{path} is null")
    elif isinstance(value, str):
        if not value.strip() or value.strip() in ("None", "null") or re.search(r"\bNone\b", value):
            bad.append(f"{path} = {value!r}")
    elif isinstance(value, dict):
        for k, v in value.items():
            bad.extend(_walk(v, f"{path}.{k}"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            bad.extend(_walk(v, f"{path}[{i}]"))
    return bad


@pytest.mark.parametrize(("sid", "to"), _failing_runs())
def test_no_step_renders_none_or_an_empty_field(
    sid: str, to: str | None, scenario_dir: Dir, tmp_path: Path
) -> None:
    plan = _plan(scenario_dir, sid, to)
    if not [f for f in plan.before.findings if f.status in (Status.FAIL, Status.RISK)]:
        assert not plan.steps
        return
    kit = tmp_path / "kit"
    write_kit(plan, kit)
    steps = json.loads((kit / "steps.json").read_text())
    bad: list[str] = []
    for step in steps:
        where = f"step {step['order']} ({step['action']})"
        bad.extend(_walk(step["target"], f"{where}.target"))
        bad.extend(_walk(step["why"], f"{where}.why"))
        bad.extend(_walk(step["commands"], f"{where}.commands"))
        bad.extend(_walk(step.get("missing", []), f"{where}.missing"))
        if not step["fixes"]:
            bad.append(f"{where} fixes nothing")
        if step["action"] not in ("obtain-ca",) and not (step["commands"] or step["files"]):
            bad.append(f"{where} has nothing to do")
    md = (kit / "steps.md").read_text()
    bad.extend(f"steps.md: {line}" for line in md.splitlines() if _EMPTY_MD.search(line))
    assert not bad, bad


def test_f08_reissue_says_where_expressway_c_gets_the_new_chain(tmp_path: Path) -> None:
    # F08 with Expressway-C trusting only the self-signed node certificates (no ENT chain)
    f08 = get_scenario("F08")
    spec = f08.spec()
    cucm = "cucm-main"
    spec = SetPeer(
        trusted=(
            IdentityRef(cucm, CUCM_PUB, "tomcat"),
            IdentityRef(cucm, CUCM_SUB1, "tomcat"),
            IdentityRef(cucm, CUCM_PUB, "CallManager"),
            IdentityRef(cucm, CUCM_SUB1, "CallManager"),
        )
    ).apply(spec)
    inventory = write_material(build_spec(spec, info=f08.info(), now=NOW), tmp_path / "d")
    plan = make_plan(load_inventory(inventory), now=NOW)
    step = _only(plan, "reissue", certificate="CallManager")
    upload = _only(plan, "upload-trust", system="expressway-c")
    assert upload.order < step.order
    assert {facts(c).subject for c in upload.certificates} == {"CN=ENT-ROOT"}
    (line,) = [c for c in step.commands if "trusted CA list of Expressway-C" in c]
    assert line.startswith("upload CN=ENT-INT to the trusted CA list of Expressway-C expc1")
    assert "comes with the upload-trust above" in line
    assert step.commands.index(line) < next(
        i for i, c in enumerate(step.commands) if "Upload Certificate" in c
    )
    assert "C2U-SAME-CN" not in upload.fixes  # a preparation, not a fix it could prove


def test_f08_reissue_notes_a_chain_expressway_c_already_holds(scenario_dir: Dir) -> None:
    step = _only(_plan(scenario_dir, "F08"), "reissue", certificate="CallManager")
    assert "Expressway-C's trusted CA list holds that chain on every peer" in step.commands


def test_restart_and_reissue_steps_cite_their_sources(scenario_dir: Dir, tmp_path: Path) -> None:
    cuc = _only(_plan(scenario_dir, "F31"), "reissue", system="cuc")
    assert any("connection/15/os_administration" in u for u in cuc.sources)
    oauth = _only(_plan(scenario_dir, "F17"), "restart", system="cucm")
    assert any("215572-cisco-jabber-and-sip-oauth-mode" in u for u in oauth.sources)
    plain = _only(_plan(scenario_dir, "F03"), "restart", system="cucm")
    assert plain.sources and not any("215572" in u for u in plain.sources)
    plan = _plan(scenario_dir, "F31")
    write_kit(plan, tmp_path / "kit")
    steps = json.loads((tmp_path / "kit" / "steps.json").read_text())
    assert steps[0]["sources"] == list(cuc.sources)
    assert "Sources: https://www.cisco.com/" in (tmp_path / "kit" / "steps.md").read_text()
