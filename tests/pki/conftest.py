"""A small real PKI per test session, built with the lab's generator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from mratrust.lab import pkigen as pg

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Pki:
    root: pg.Issued
    inter: pg.Issued
    leaf: pg.Issued
    ec_root: pg.Issued
    ec_leaf: pg.Issued
    other_root: pg.Issued
    other_inter: pg.Issued
    enterprise_root: pg.Issued
    enterprise_leaf: pg.Issued
    cucm_self: pg.Issued
    cn_only: pg.Issued
    wildcard: pg.Issued
    multi: pg.Issued
    server_only: pg.Issued
    expired_inter: pg.Issued
    leaf_under_expired: pg.Issued
    old_root: pg.Issued
    pool: pg.KeyPool


@pytest.fixture(scope="session")
def pki() -> Pki:
    pool = pg.KeyPool()
    root = pg.make_ca("T-ROOT", now=NOW, pool=pool)
    inter = pg.make_ca("T-INT", now=NOW, issuer=root, pool=pool)
    leaf = pg.make_leaf(
        "node1.example.com", now=NOW, issuer=inter, san=("node1.example.com", "10.0.0.1"), pool=pool
    )
    ec_root = pg.make_ca("T-EC-ROOT", now=NOW, key_type=pg.KeyType.EC, pool=pool)
    ec_leaf = pg.make_leaf(
        "ec.example.com",
        now=NOW,
        issuer=ec_root,
        san=("ec.example.com",),
        key_type=pg.KeyType.EC,
        pool=pool,
    )
    other_root = pg.make_ca("OTHER-ROOT", now=NOW, pool=pool)
    other_inter = pg.make_ca("OTHER-INT", now=NOW, issuer=other_root, pool=pool)
    enterprise_root = pg.make_ca(
        "ENTERPRISE-ROOT", now=NOW, critical_basic_constraints=False, pool=pool
    )
    enterprise_leaf = pg.make_leaf(
        "ent.example.com", now=NOW, issuer=enterprise_root, san=("ent.example.com",), pool=pool
    )
    cucm_self = pg.make_cucm_self_signed("cucm-pub.example.com", now=NOW, pool=pool)
    cn_only = pg.make_leaf("cnonly.example.com", now=NOW, issuer=inter, san=(), pool=pool)
    wildcard = pg.make_leaf(
        "*.example.com", now=NOW, issuer=inter, san=("*.example.com",), pool=pool
    )
    multi = pg.make_multi_server(
        ("cucm-pub.example.com", "cucm-sub1.example.com"), now=NOW, issuer=inter, pool=pool
    )
    server_only = pg.make_leaf(
        "srv.example.com",
        now=NOW,
        issuer=inter,
        san=("srv.example.com",),
        eku=(pg.Eku.SERVER_AUTH,),
        pool=pool,
    )
    expired_inter = pg.make_ca(
        "T-OLD-INT", now=NOW, issuer=root, validity=pg.Validity.expired(NOW, days_ago=3), pool=pool
    )
    leaf_under_expired = pg.make_leaf(
        "late.example.com",
        now=NOW,
        issuer=expired_inter,
        san=("late.example.com",),
        validity=pg.Validity.expired(NOW, days_ago=3, lifetime_days=30),
        pool=pool,
    )
    old_root = pg.make_ca("T-ROOT", now=NOW, key_slot="ca:T-ROOT:old", pool=pool)
    return Pki(
        root=root,
        inter=inter,
        leaf=leaf,
        ec_root=ec_root,
        ec_leaf=ec_leaf,
        other_root=other_root,
        other_inter=other_inter,
        enterprise_root=enterprise_root,
        enterprise_leaf=enterprise_leaf,
        cucm_self=cucm_self,
        cn_only=cn_only,
        wildcard=wildcard,
        multi=multi,
        server_only=server_only,
        expired_inter=expired_inter,
        leaf_under_expired=leaf_under_expired,
        old_root=old_root,
        pool=pool,
    )
