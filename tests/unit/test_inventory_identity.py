"""Which certificate files can be an identity: one certificate says it in fewer steps."""

from __future__ import annotations

import datetime as dt

import pytest

from mratrust.inventory import _wrong_identity
from mratrust.lab import pkigen as pg
from mratrust.pki.load import LoadedCert

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
POOL = pg.KeyPool()
ROOT = pg.make_ca("ID-ROOT", now=NOW, pool=POOL)
INTER = pg.make_ca("ID-INT", now=NOW, issuer=ROOT, pool=POOL)
LEAF = pg.make_leaf(
    "node1.example.com", now=NOW, issuer=INTER, san=("node1.example.com",), pool=POOL
)
SELF = pg.make_cucm_self_signed("cucm-pub.example.com", now=NOW, pool=POOL)
# self-signed CAs without a SAN: one with a TLS EKU (a server's own), one without (a root)
SELF_EKU, SELF_NO_EKU = (
    pg.make_leaf(
        "bare-ca",
        now=NOW,
        issuer=None,
        san=(),
        eku=eku,
        ca=True,
        key_usage=frozenset({pg.KeyUse.KEY_CERT_SIGN}),
        pool=POOL,
    )
    for eku in (pg.BOTH_EKU, ())
)
PATH = "certs/tomcat.pem"


def _one(issued: pg.Issued, source: str = PATH) -> tuple[LoadedCert, ...]:
    return (LoadedCert(cert=issued.cert, source=source, index=0),)


@pytest.mark.parametrize(
    "issued", [LEAF, SELF, SELF_EKU], ids=["leaf", "cucm-self-signed", "self-signed-tls-eku"]
)
def test_one_certificate_that_can_be_a_servers_own_is_an_identity(issued: pg.Issued) -> None:
    assert _wrong_identity(_one(issued), PATH, "tomcat", "the node's") is None
    # the same certificate followed by its issuers: the general case agrees
    chain = (*_one(issued), *(LoadedCert(cert=c.cert, source=PATH, index=1) for c in (INTER,)))
    if issued is LEAF:
        assert _wrong_identity(chain, PATH, "tomcat", "the node's") is None


@pytest.mark.parametrize(
    ("issued", "words"),
    [
        (ROOT, "this is a CA certificate (CN=ID-ROOT), not the node's own tomcat certificate"),
        (INTER, "this is a CA certificate (CN=ID-INT), not the node's own tomcat certificate"),
        (SELF_NO_EKU, "this is a CA certificate (CN=bare-ca), not the node's own tomcat"),
    ],
)
def test_one_ca_certificate_is_not_an_identity(issued: pg.Issued, words: str) -> None:
    found = _wrong_identity(_one(issued), PATH, "tomcat", "the node's")
    assert found is not None and found[0].startswith(words)
    assert found[1] == "export the node's own tomcat certificate, not its issuer or a trust store"


@pytest.mark.parametrize("issued", [LEAF, ROOT], ids=["leaf", "ca"])
def test_one_certificate_read_from_a_folder_is_not_an_identity(issued: pg.Issued) -> None:
    # load_path read a folder holding one file: the folder is named, whatever the file holds
    found = _wrong_identity(_one(issued, "certs/tomcat/a.pem"), "certs/tomcat", "tomcat", "x's")
    assert found is not None
    assert found[0].startswith("certs/tomcat is a folder; an identity is one certificate file")
    assert found[1] == "give the file of x's own tomcat certificate inside it"
