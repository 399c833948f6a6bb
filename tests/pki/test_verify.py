"""Path validation with Expressway semantics: every reason, classified; each case has a twin."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from mratrust.lab import pkigen as pg
from mratrust.pki.facts import NameMatch
from mratrust.pki.verify import Purpose, Reason, TrustStore, order_chain, validate
from tests.pki.conftest import NOW, Pki


def _store(*issued: pg.Issued) -> TrustStore:
    return TrustStore([i.cert for i in issued])


def test_full_chain_trusted(pki: Pki) -> None:
    r = validate([pki.leaf.cert], _store(pki.root, pki.inter), now=NOW, name="node1.example.com")
    assert r.ok and r.trusted and r.name_match is NameMatch.SAN
    assert list(r.chain) == [pki.leaf.cert, pki.inter.cert, pki.root.cert]
    assert r.anchor == pki.root.cert


def test_presented_intermediate_completes_the_path(pki: Pki) -> None:
    r = validate([pki.inter.cert, pki.leaf.cert], _store(pki.root), now=NOW)
    assert r.ok and r.chain[-1] == pki.root.cert


def test_untrusted_root_names_the_missing_issuer(pki: Pki) -> None:
    known = [pki.root.cert, pki.inter.cert]
    r = validate([pki.leaf.cert, pki.inter.cert], _store(pki.other_root), now=NOW, known=known)
    assert not r.ok and Reason.UNTRUSTED_ROOT in r.reasons()
    assert r.missing_issuer == "CN=T-ROOT"
    assert r.missing_certs == (pki.root.cert,)


def test_missing_intermediate(pki: Pki) -> None:
    known = [pki.root.cert, pki.inter.cert]
    r = validate([pki.leaf.cert], _store(pki.root), now=NOW, known=known)
    assert Reason.MISSING_INTERMEDIATE in r.reasons()
    assert r.missing_issuer == "CN=T-INT"
    assert r.missing_certs == (pki.inter.cert,)


def test_known_certificates_given_by_a_function_are_read_only_for_a_failed_path(
    pki: Pki,
) -> None:
    calls: list[int] = []

    def known() -> list[x509.Certificate]:
        calls.append(1)
        return [pki.root.cert, pki.inter.cert]

    r = validate([pki.leaf.cert], _store(pki.root), now=NOW, known=known)
    assert Reason.MISSING_INTERMEDIATE in r.reasons() and r.missing_certs == (pki.inter.cert,)
    assert calls == [1]
    # twin: a path that builds never asks for them
    calls.clear()
    ok = validate([pki.leaf.cert, pki.inter.cert], _store(pki.root), now=NOW, known=known)
    assert ok.trusted and calls == []


def test_intermediate_alone_is_not_an_anchor(pki: Pki) -> None:
    known = [pki.root.cert, pki.inter.cert]
    r = validate([pki.leaf.cert], _store(pki.inter), now=NOW, known=known)
    assert not r.ok and Reason.UNTRUSTED_ROOT in r.reasons()
    assert r.missing_certs == (pki.root.cert,)


def test_unknown_issuer_without_catalogue(pki: Pki) -> None:
    r = validate([pki.leaf.cert], _store(pki.other_root), now=NOW)
    assert Reason.UNKNOWN_ISSUER in r.reasons()
    assert "CN=T-INT" in r.problems[0].message


def test_name_not_in_san_lists_the_san(pki: Pki) -> None:
    r = validate([pki.leaf.cert], _store(pki.root, pki.inter), now=NOW, name="node9.example.com")
    assert not r.ok and r.reasons() == {Reason.NAME_MISMATCH}
    assert "node1.example.com, 10.0.0.1" in r.problems[0].message


def test_cn_fallback_is_a_warning(pki: Pki) -> None:
    r = validate(
        [pki.cn_only.cert], _store(pki.root, pki.inter), now=NOW, name="cnonly.example.com"
    )
    assert r.ok and r.reasons() == {Reason.CN_FALLBACK}
    assert not r.problems[0].fatal


def test_cn_fallback_off_fails(pki: Pki) -> None:
    r = validate(
        [pki.cn_only.cert],
        _store(pki.root, pki.inter),
        now=NOW,
        name="cnonly.example.com",
        cn_fallback=False,
    )
    assert not r.ok and Reason.NAME_MISMATCH in r.reasons()


def test_expired_intermediate_reported_with_date(pki: Pki) -> None:
    r = validate([pki.leaf_under_expired.cert], _store(pki.root, pki.expired_inter), now=NOW)
    assert r.trusted  # the path builds; validity is its own reason
    msgs = [p.message for p in r.problems if p.reason is Reason.EXPIRED]
    assert any("intermediate CN=T-OLD-INT expired on" in m for m in msgs)
    assert any("certificate CN=late.example.com expired" in m for m in msgs)


def test_not_yet_valid(pki: Pki) -> None:
    early = NOW - dt.timedelta(days=400)
    r = validate([pki.leaf.cert], _store(pki.root, pki.inter), now=early)
    assert Reason.NOT_YET_VALID in r.reasons()
    twin = validate([pki.leaf.cert], _store(pki.root, pki.inter), now=NOW)
    assert Reason.NOT_YET_VALID not in twin.reasons()


def test_eku_client_purpose(pki: Pki) -> None:
    r = validate(
        [pki.server_only.cert], _store(pki.root, pki.inter), now=NOW, purpose=Purpose.CLIENT
    )
    assert Reason.EKU in r.reasons() and "without clientAuth" in r.problems[0].message
    twin = validate(
        [pki.server_only.cert], _store(pki.root, pki.inter), now=NOW, purpose=Purpose.SERVER
    )
    assert twin.ok


def test_enterprise_ca_without_critical_bc_accepted(pki: Pki) -> None:
    r = validate([pki.enterprise_leaf.cert], _store(pki.enterprise_root), now=NOW)
    assert r.ok and r.trusted


def test_cucm_self_signed_trusted_directly(pki: Pki) -> None:
    r = validate([pki.cucm_self.cert], _store(pki.cucm_self), now=NOW, name="cucm-pub.example.com")
    assert r.ok
    twin = validate([pki.cucm_self.cert], _store(pki.root), now=NOW)
    assert Reason.UNTRUSTED_ROOT in twin.reasons()
    assert twin.missing_certs == (pki.cucm_self.cert,)


def test_shadowed_root_same_subject_other_key(pki: Pki) -> None:
    store = _store(pki.old_root, pki.root, pki.inter)
    r = validate([pki.leaf.cert], store, now=NOW)
    assert not r.ok and Reason.SHADOWED in r.reasons()
    assert r.shadowing == (pki.old_root.cert,)
    twin = validate([pki.leaf.cert], _store(pki.root, pki.old_root, pki.inter), now=NOW)
    assert twin.ok


def test_wrong_key_same_name_without_the_right_one(pki: Pki) -> None:
    r = validate([pki.leaf.cert], _store(pki.old_root, pki.inter), now=NOW, known=[pki.root.cert])
    assert Reason.BAD_SIGNATURE in r.reasons()
    assert r.missing_certs == (pki.root.cert,) and r.shadowing == (pki.old_root.cert,)


def test_weak_rsa_key(pki: Pki) -> None:
    small = pg.KeyPool(rsa_bits=1024)
    weak = pg.make_leaf(
        "weak.example.com", now=NOW, issuer=pki.inter, san=("weak.example.com",), pool=small
    )
    r = validate([weak.cert], _store(pki.root, pki.inter), now=NOW)
    assert Reason.WEAK_KEY in r.reasons() and "1024-bit" in str([p.message for p in r.problems])


def test_order_chain_any_order(pki: Pki) -> None:
    assert order_chain([pki.root.cert, pki.leaf.cert, pki.inter.cert]) == (
        pki.leaf.cert,
        pki.inter.cert,
        pki.root.cert,
    )


def test_ecdsa_chain(pki: Pki) -> None:
    r = validate([pki.ec_leaf.cert], _store(pki.ec_root), now=NOW, name="ec.example.com")
    assert r.ok
    twin = validate([pki.ec_leaf.cert], _store(pki.root), now=NOW, name="ec.example.com")
    assert not twin.ok


@pytest.mark.parametrize("store_first", [True, False], ids=["dup-first", "dup-last"])
def test_store_keeps_order_for_lookup(pki: Pki, store_first: bool) -> None:
    entries = (
        [pki.old_root.cert, pki.root.cert] if store_first else [pki.root.cert, pki.old_root.cert]
    )
    store = TrustStore(entries)
    assert store.lookup(pki.root.cert.subject) == entries[0]
    assert len(store.duplicate_subjects()) == 1


def test_what_is_known_is_read_afresh_for_each_inventory(pki: Pki) -> None:
    store = TrustStore([pki.root.cert])
    with_inter = (pki.inter.cert, pki.other_root.cert)
    without = (pki.other_root.cert,)
    for known, found in ((with_inter, True), (without, False), (with_inter, True)):
        result = validate([pki.leaf.cert], store, now=NOW, known=known)
        assert not result.trusted
        assert (pki.inter.cert in result.missing_certs) is found
    again = validate([pki.leaf.cert], store, now=NOW, known=list(without))  # not a tuple
    assert pki.inter.cert not in again.missing_certs


def test_may_anchor_agrees_with_validate(pki: Pki) -> None:
    """The cheap negative test never rules out a path that validate trusts."""
    cases = [
        ([pki.leaf.cert], _store(pki.root, pki.inter)),
        ([pki.inter.cert, pki.leaf.cert], _store(pki.root)),
        ([pki.cucm_self.cert], _store(pki.cucm_self)),
        ([pki.enterprise_leaf.cert], _store(pki.enterprise_root)),
        ([pki.leaf.cert, pki.inter.cert], _store(pki.other_root)),
        ([pki.leaf.cert], _store(pki.other_root, pki.other_inter)),
        ([pki.cucm_self.cert], _store(pki.root)),
        ([pki.leaf.cert], _store(pki.root)),
    ]
    for presented, store in cases:
        trusted = validate(presented, store, now=NOW).trusted
        assert store.may_anchor(presented) or not trusted
    # a store naming none of the chain's issuers: nothing to build
    assert not _store(pki.other_root).may_anchor([pki.leaf.cert, pki.inter.cert])
    assert not _store(pki.root).may_anchor([pki.cucm_self.cert])
    # twin: the store holds the leaf's issuer (or the self-signed certificate itself)
    assert _store(pki.root, pki.inter).may_anchor([pki.leaf.cert])
    assert _store(pki.root).may_anchor([pki.inter.cert, pki.leaf.cert])
    assert _store(pki.cucm_self).may_anchor([pki.cucm_self.cert])
    # the name alone is enough to try (the right key is judged by validate)
    assert _store(pki.old_root).may_anchor([pki.inter.cert])


def test_a_bundle_store_indexes_and_validates_as_a_plain_one(pki: Pki) -> None:
    entries = [pki.old_root.cert, pki.root.cert, pki.inter.cert, pki.other_root.cert]
    plain, bundle = TrustStore(entries), TrustStore(entries, bundle=True)
    assert bundle.key == plain.key and bundle.certs == plain.certs
    assert bundle.duplicate_subjects() == plain.duplicate_subjects() != ()
    assert bundle.lookup("CN=T-ROOT") is pki.old_root.cert  # the first entry with the name
    assert bundle.contains(pki.inter.cert) and not bundle.contains(pki.leaf.cert)
    for presented in ([pki.leaf.cert], [pki.cucm_self.cert], [pki.other_inter.cert]):
        a = validate(presented, plain, now=NOW)
        b = validate(presented, bundle, now=NOW)
        assert (a.trusted, a.reasons(), a.chain, a.anchor) == (
            b.trusted,
            b.reasons(),
            b.chain,
            b.anchor,
        )
    # twin: without the shadowing entry the same chain is trusted in both
    fixed = TrustStore(entries[1:], bundle=True)
    assert validate([pki.leaf.cert], fixed, now=NOW).trusted
    assert validate([pki.leaf.cert], TrustStore(entries[1:]), now=NOW).trusted
