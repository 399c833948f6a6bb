"""Pure pieces of collect: chain completion, the SOAP and UDS parsers, the credentials file."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mratrust.collect.axl import SoapFault, envelope, parse_rows
from mratrust.collect.http import ApiError
from mratrust.collect.merge import complete
from mratrust.collect.sources import load_credentials_file
from mratrust.collect.uds import parse_servers
from mratrust.errors import InputError
from mratrust.lab.pkigen import make_ca, make_leaf

from .conftest import NOW


def test_chain_completion_checks_signatures_and_stops_below_the_root() -> None:
    root = make_ca("U-ROOT", now=NOW, key_slot="u-root")
    inter = make_ca("U-INT", now=NOW, issuer=root, key_slot="u-int")
    impostor = make_ca("U-INT", now=NOW, issuer=root, key_slot="u-int-other")  # same name
    leaf = make_leaf("node.example.com", now=NOW, issuer=inter, san=["node.example.com"])
    pool = (impostor.cert, root.cert, inter.cert)
    assert complete((leaf.cert,), pool) == (leaf.cert, inter.cert)
    assert complete((leaf.cert,), (impostor.cert, root.cert)) == (leaf.cert,)  # the twin
    self_signed = make_leaf("ss.example.com", now=NOW, issuer=None, san=["ss.example.com"])
    assert complete((self_signed.cert,), pool) == (self_signed.cert,)


def test_soap_rows_and_fault() -> None:
    ok = (
        b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<s:Body><ns:executeSQLQueryResponse xmlns:ns='http://www.cisco.com/AXL/API/12.5'>"
        b"<return><row><name>a</name><x/></row><row><name>b</name><x>1</x></row></return>"
        b"</ns:executeSQLQueryResponse></s:Body></s:Envelope>"
    )
    assert parse_rows(ok, "pub") == [{"name": "a", "x": ""}, {"name": "b", "x": "1"}]
    fault = ok.replace(b"<return>", b"<s:Fault><faultstring>bad</faultstring></s:Fault><return>")
    with pytest.raises(SoapFault, match="pub: SOAP fault: bad"):
        parse_rows(fault, "pub")
    assert b"&lt;" in envelope("SELECT 1 WHERE a < b", "12.5")  # SQL is escaped, never markup


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_parsers_answer_any_bytes_with_an_api_error(body: bytes) -> None:
    for parse in (parse_rows, parse_servers):
        with contextlib.suppress(ApiError):  # anything else fails the test
            parse(body, "host")


def test_entities_are_refused() -> None:
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><servers><server>&a;</server></servers>'
    with pytest.raises(ApiError, match="DTD or entities; refused"):
        parse_servers(bomb, "pub")
    assert parse_servers(b"<servers><server>a.example.com</server></servers>", "p") == [
        "a.example.com"
    ]


def test_credentials_file_errors_never_quote_a_value(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("expc: {user: u, password: s3cret-value, extra: 1}\n", encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(InputError) as err:
        load_credentials_file(path)
    assert "exactly user and password" in str(err.value)
    assert "s3cret-value" not in str(err.value)
    path.write_text("expc: {user: u, password: 's3cret-value\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_credentials_file(path)
    assert "s3cret-value" not in str(err.value)
    path.write_text("expc: {user: u, password: s3cret-value}\n", encoding="utf-8")
    assert load_credentials_file(path) == {"expc": ("u", "s3cret-value")}


@pytest.mark.parametrize("version", [5, 2], ids=["v6", "v3"])
def test_an_answer_with_a_certificate_of_no_x509_version_is_an_api_error(version: int) -> None:
    """cryptography raises InvalidVersion (no ValueError) for it: one ApiError, like any broken
    certificate in an answer (the twin, version 3, is read)."""
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    from mratrust.collect.http import pem_certs

    cert = make_ca("ODD-ROOT", now=NOW).cert
    der = cert.public_bytes(Encoding.DER).replace(
        bytes.fromhex("a003020102"), bytes([0xA0, 3, 2, 1, version])
    )
    pem = (
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"
    )
    if version == 2:
        assert pem_certs(pem) == (cert,)
        return
    with pytest.raises(ApiError, match=r"not valid PEM .*5 is not a valid X509 version"):
        pem_certs(pem)
