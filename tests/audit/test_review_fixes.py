"""Regression tests for problems found in review (each with the case that must keep working)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from mratrust.audit import audit, upgrade_check
from mratrust.cli import main
from mratrust.errors import InputError
from mratrust.lab import pkigen as pg
from mratrust.model import Deployment, SecurityMode, Status
from mratrust.pki.facts import NameMatch, facts, match_name
from mratrust.pki.verify import Reason, TrustStore, validate
from tests.conformance_helpers import no_basic_constraints_root
from tests.conftest import NOW

Get = Callable[[str], Deployment]
Dir = Callable[[str], Path]
POOL = pg.KeyPool()


def test_ip_name_never_matches_the_cn() -> None:
    leaf = pg.make_leaf("10.0.0.1", now=NOW, issuer=None, san=("cucm.example.com",), pool=POOL)
    assert match_name(facts(leaf.cert), "10.0.0.1") is NameMatch.NONE
    with_ip = pg.make_leaf("x.example.com", now=NOW, issuer=None, san=("10.0.0.1",), pool=POOL)
    assert match_name(facts(with_ip.cert), "10.0.0.1") is NameMatch.SAN


def test_host_and_parent_domain_is_not_multi_server() -> None:
    single = pg.make_leaf(
        "cucm-pub.example.com",
        now=NOW,
        issuer=None,
        san=("cucm-pub.example.com", "example.com"),
        pool=POOL,
    )
    assert not facts(single.cert).multi_server
    two_hosts = pg.make_leaf(
        "cucm-pub.example.com",
        now=NOW,
        issuer=None,
        san=("cucm-pub.example.com", "cucm-sub1.example.com"),
        pool=POOL,
    )
    assert facts(two_hosts.cert).multi_server


@pytest.mark.parametrize(
    ("cn", "san", "multi"),
    [
        ("cucm-pub.example.com", ("cucm-pub.example.com",), False),
        ("cucm-pub.example.com", (), False),
        ("cucm-pub-ms.example.com", ("cucm-pub-ms.example.com",), True),  # named so
        ("cucm-pub-ms.example.com", (), True),
        ("cucm-pub.example.com", ("cucm-pub.example.com", "cucm-sub1.example.com"), True),
    ],
)
def test_one_san_name_is_multi_server_only_by_its_cn(
    deployment: Get, cn: str, san: tuple[str, ...], multi: bool
) -> None:
    from mratrust.audit import context

    leaf = pg.make_leaf(cn, now=NOW, issuer=None, san=san, pool=POOL)
    found = facts(leaf.cert)
    assert found.multi_server is multi
    # the audit's remembered answer (one SAN name at most: answered at once) is the same
    ctx = context(deployment("B0"), now=NOW)
    assert ctx.multi_server(found) is multi and ctx.multi_server(found) is multi
    assert (id(found) in ctx._cache.multi_server) is (len(san) > 1)


def test_missing_lists_only_what_the_store_lacks() -> None:
    root = pg.make_ca("RV-ROOT", now=NOW, pool=POOL)
    inter = pg.make_ca("RV-INT", now=NOW, issuer=root, pool=POOL)
    leaf = pg.make_leaf("n.example.com", now=NOW, issuer=inter, san=("n.example.com",), pool=POOL)
    r = validate([leaf.cert], TrustStore([root.cert]), now=NOW, known=[inter.cert])
    assert r.missing == ("CN=RV-INT",) and r.missing_certs == (inter.cert,)
    assert Reason.MISSING_INTERMEDIATE in r.reasons()
    twin = validate([leaf.cert], TrustStore([]), now=NOW, known=[inter.cert, root.cert])
    assert twin.missing == ("CN=RV-INT", "CN=RV-ROOT")


def test_root_without_basic_constraints_is_an_anchor_but_an_intermediate_is_not() -> None:
    root, leaf = no_basic_constraints_root(NOW)
    assert validate([leaf], TrustStore([root]), now=NOW, name="n.example.com").ok
    good_root = pg.make_ca("RV-GOOD-ROOT", now=NOW, pool=POOL)
    bad_int, bad_leaf = no_basic_constraints_root(NOW, issuer=good_root)
    r = validate([bad_leaf, bad_int], TrustStore([good_root.cert]), now=NOW, name="n.example.com")
    assert not r.ok


def test_upgraded_from_later_than_version_is_an_input_error(
    tmp_path: Path, scenario_dir: Dir
) -> None:
    src = scenario_dir("B0")
    text = (
        (src / "inventory.yaml").read_text().replace("upgraded_from: X12.7", "upgraded_from: X15.3")
    )
    inv = src / "inventory-later.yaml"
    inv.write_text(text)
    try:
        from mratrust.inventory import load_inventory

        with pytest.raises(InputError, match="later than version") as info:
            load_inventory(inv)
        assert info.value.line is not None
    finally:
        inv.unlink()


def test_upgrade_check_refuses_a_downgrade(deployment: Get) -> None:
    with pytest.raises(InputError, match="earlier than the running"):
        upgrade_check(deployment("B0"), "X14.0.1", now=NOW)


def test_now_with_an_offset_is_reported_in_utc(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    inv = str(scenario_dir("B0") / "inventory.yaml")
    assert main(["audit", inv, "--format", "json", "--now", "2026-11-29T17:00:00+05:00"]) == 0
    assert json.loads(capsys.readouterr().out)["evaluated_at"] == "2026-11-29T12:00:00Z"


def test_same_cn_blames_the_shadowed_leg(deployment: Get) -> None:
    d = deployment("F08")
    peer = d.expressway.peers[0]
    certs = peer.trusted_cas.certs
    cm = {
        facts(ident.leaf).fingerprint
        for _, n in d.nodes()
        if (ident := n.identity("CallManager")) is not None
    }
    first = tuple(c for c in certs if facts(c.cert).fingerprint in cm)
    rest = tuple(c for c in certs if facts(c.cert).fingerprint not in cm)
    flipped = replace(
        d,
        expressway=replace(
            d.expressway,
            peers=(replace(peer, trusted_cas=peer.trusted_cas.with_certs(first + rest)),),
        ),
    )
    fails = [f for f in audit(flipped, now=NOW).by_rule("C2U-SAME-CN") if f.status is Status.FAIL]
    assert fails and all("expc->cucm:8443" in f.message for f in fails)
    original = [f for f in audit(d, now=NOW).by_rule("C2U-SAME-CN") if f.status is Status.FAIL]
    assert original and all("expc->cucm:5061" in f.message for f in original)


def test_tls13_sigalg_follows_the_gate(deployment: Get) -> None:
    d = deployment("F08")
    cucm = next(c for c in d.uc_clusters if c.product.value == "cucm")
    off = replace(cucm, tls_verify=False, security_mode=SecurityMode.MIXED)
    exp = replace(d.expressway, sip_tls_versions=("TLSv1.3",), sip_signature_pref_rsa=False)
    unverified = replace(
        d, expressway=exp, uc_clusters=tuple(off if c is cucm else c for c in d.uc_clusters)
    )
    statuses = {
        f.status for f in audit(unverified, version="X15.3", now=NOW).by_rule("C2U-TLS13-SIGALG")
    }
    assert statuses and Status.FAIL not in statuses and Status.RISK not in statuses
    verified = replace(d, expressway=exp)
    statuses = {
        f.status for f in audit(verified, version="X15.3", now=NOW).by_rule("C2U-TLS13-SIGALG")
    }
    assert Status.RISK in statuses


@pytest.mark.parametrize("sid", ["B0", "F08", "F34", "F40"])
def test_finding_keys_are_unique(deployment: Get, sid: str) -> None:
    for version in ("X14.0.7", "X14.2.1", "X15.5"):
        keys = Counter(f.key() for f in audit(deployment(sid), version=version, now=NOW).findings)
        assert [k for k, n in keys.items() if n > 1] == []
