"""Simulated UC nodes, checked with independent clients: stdlib ``ssl`` and ``openssl s_client``."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mratrust.inventory import load_inventory
from mratrust.lab.pkigen import Issued, certs_pem, write_certs, write_key
from mratrust.lab.scenarios import (
    Change,
    ScenarioMaterial,
    SetCluster,
    build_scenario,
    build_spec,
    get_scenario,
    list_scenarios,
)
from mratrust.lab.servers import LabServers, plan_listeners, read_log
from mratrust.topology import EcdsaOffer, c2u_legs, edge_legs
from tests.lab.conftest import NOW, Written

PUB = "cucm-pub.example.com"
SUB1 = "cucm-sub1.example.com"
IMP = "imp1.example.com"
CUC = "cuc1.example.com"
TIMEOUT = 5.0

RSA_12 = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"
ECDSA_12 = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
ECDSA_FIRST_12 = ECDSA_12 + ":" + RSA_12

_OAUTH = SetCluster(cluster="cucm-main", values={"sip_oauth": True})
VARIANTS: dict[str, tuple[Change, ...]] = {
    # B0 with SIP OAuth, HTTPS Ciphers RSA only / EC and RSA
    "oauth-rsa": (_OAUTH,),
    "oauth-ec": (_OAUTH, SetCluster(cluster="cucm-main", values={"https_ciphers": "ec-and-rsa"})),
    # F08 (mixed mode) with CUCM's TLS Ciphers set to prefer EC
    "F08-ec-preferred": (SetCluster(cluster="cucm-main", values={"tls_ciphers": "ec-preferred"}),),
}

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")


# --------------------------------------------------------------------------- lab fixtures


@dataclass(frozen=True, slots=True, kw_only=True)
class Lab:
    material: ScenarioMaterial
    servers: LabServers
    directory: Path
    expc_cert: Path
    expc_key: Path

    def port(self, node: str, role: int) -> int:
        return self.servers.ports[node][role]

    def identity(self, node: str, name: str) -> x509.Certificate:
        return self.material.node(node)[1].identities[name].cert

    @property
    def log(self) -> Path:
        return self.directory / "lab.log"


def _start(material: ScenarioMaterial, directory: Path) -> Lab:
    directory.mkdir(parents=True, exist_ok=True)
    peer = material.peers[0].identity
    cert = write_certs(directory / "expc.pem", peer.chain())
    key = write_key(directory / "expc.key", peer.key)
    servers = LabServers(material, directory / "private", log_path=directory / "lab.log").start()
    return Lab(
        material=material, servers=servers, directory=directory, expc_cert=cert, expc_key=key
    )


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lab]]:
    started: dict[str, Lab] = {}
    base = tmp_path_factory.mktemp("labs")
    try:
        for sid in ("B0", "F01", "F08", "F11", "F17", "F23"):
            started[sid] = _start(build_scenario(sid, now=NOW), base / sid)
        f11 = get_scenario("F11")
        f08 = get_scenario("F08")
        preferring = build_spec(
            dataclasses.replace(f11.spec(), server_cipher_preference=True),
            info=f11.info(),
            now=NOW,
        )
        started["F11-server-pref"] = _start(preferring, base / "F11-server-pref")
        for sid in ("F13", "F13-TLS12", "F35", "F35-LEAF"):
            started[sid] = _start(build_scenario(sid, now=NOW), base / sid)
        for name, changes in VARIANTS.items():
            spec = get_scenario("B0").spec() if name.startswith("oauth") else f08.spec()
            for change in changes:
                spec = change.apply(spec)
            material = build_spec(spec, info=get_scenario("B0").info(), now=NOW)
            started[name] = _start(material, base / name)
        yield started
    finally:
        for lab in started.values():
            lab.servers.close()


# --------------------------------------------------------------------------- clients


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    ok: bool
    presented: x509.Certificate | None
    version: str | None
    cipher: str | None
    reason: str | None
    response: bytes


def connect(
    port: int,
    *,
    ciphers: str | None = None,
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    client: tuple[Path, Path] | None = None,
    trust: Sequence[x509.Certificate] = (),
    server_name: str | None = None,
    request: bytes = b"GET / HTTP/1.0\r\n\r\n",
) -> Result:
    """One connection as a stdlib client; the first alert or error is kept as ``reason``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = min_version
    ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    if trust:
        ctx.load_verify_locations(cadata=certs_pem(trust).decode())
        ctx.check_hostname = server_name is not None
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client is not None:
        ctx.load_cert_chain(*client)
    presented = version = cipher = None
    response = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        try:
            with ctx.wrap_socket(sock, server_hostname=server_name) as tls:
                der = tls.getpeercert(binary_form=True)
                presented = x509.load_der_x509_certificate(der) if der else None
                version = tls.version()
                c = tls.cipher()
                cipher = c[0] if c else None
                tls.sendall(request)
                while len(response) < 65536:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    response += chunk
        except ssl.SSLError as exc:
            return Result(
                ok=False,
                presented=presented,
                version=version,
                cipher=cipher,
                reason=str(exc.reason or exc),
                response=response,
            )
    return Result(
        ok=True, presented=presented, version=version, cipher=cipher, reason=None, response=response
    )


def logged(lab: Lab, node: str, role: int, **match: object) -> dict[str, Any]:
    """The first log entry of ``node``/``role`` holding ``match`` (polled: the server logs after
    the client is done)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        for entry in read_log(lab.log):
            same = entry["node"] == node and entry["role"] == role
            if same and all(entry.get(k) == v for k, v in match.items()):
                return entry
        if time.monotonic() > deadline:
            raise AssertionError(f"no log entry for {node}:{role} with {match}")
        time.sleep(0.02)


def s_client(port: int, *args: str, data: bytes = b"") -> str:
    """``openssl s_client`` output (stdout + stderr), bounded in time."""
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "lab", *args],
        input=data,
        capture_output=True,
        timeout=20,
        check=False,
    )
    return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")


def first_subject(output: str) -> str:
    """The subject of the first certificate ``s_client`` printed."""
    for line in output.splitlines():
        if line.startswith("subject="):
            return line.removeprefix("subject=").strip()
    raise AssertionError("no certificate in s_client output:\n" + output[-2000:])


def is_ec(cert: x509.Certificate | None) -> bool:
    return isinstance(cert.public_key() if cert else None, ec.EllipticCurvePublicKey)


def is_rsa(cert: x509.Certificate | None) -> bool:
    return isinstance(cert.public_key() if cert else None, rsa.RSAPublicKey)


# --------------------------------------------------------------------------- listeners


def test_listener_plan_follows_the_products(labs: dict[str, Lab]) -> None:
    def roles(sid: str) -> dict[str, set[int]]:
        return {n: set(p) for n, p in labs[sid].servers.ports.items()}

    assert roles("B0") == {PUB: {8443, 6972}, SUB1: {8443, 6972}, IMP: {8443, 7400}, CUC: {443}}
    assert roles("F08")[PUB] == {8443, 6972, 5061}  # mixed mode adds SIP TLS
    assert roles("F17")[PUB] == {8443, 6972, 5091}  # SIP OAuth adds 5091
    plans = {(p.node, p.role): p for p in plan_listeners(labs["B0"].material)}
    assert plans[(PUB, 8443)].ecdsa is None  # rsa-only HTTPS ciphers
    assert plans[(PUB, 6972)].client_auth == "optional"
    assert (
        plans[(IMP, 7400)].identity == "cup-xmpp" and plans[(IMP, 7400)].client_auth == "required"
    )
    f11 = {(p.node, p.role): p for p in plan_listeners(labs["F11"].material)}
    assert f11[(PUB, 8443)].ecdsa is not None


def test_tomcat_presents_the_multi_server_certificate_with_chain(labs: dict[str, Lab]) -> None:
    lab = labs["B0"]
    ms = lab.identity(PUB, "tomcat")
    for node in (PUB, SUB1):
        result = connect(
            lab.port(node, 8443),
            trust=[lab.material.cas["ENT-ROOT"].cert],
            server_name=node,
        )
        assert result.ok, result.reason
        assert result.presented == ms
        assert b"<product>cucm</product>" in result.response
        assert node.encode() in result.response


def test_tomcat_fails_for_a_client_trusting_another_ca(labs: dict[str, Lab]) -> None:
    lab = labs["B0"]
    result = connect(lab.port(PUB, 8443), trust=[lab.material.cas["ENT2-ROOT"].cert])
    assert not result.ok and result.reason == "CERTIFICATE_VERIFY_FAILED"
    logged(lab, PUB, 8443, alert_received="unknown_ca", outcome="handshake-failed")


def test_rsa_offer_gets_rsa_identity_and_ecdsa_offer_fails_where_not_enabled(
    labs: dict[str, Lab],
) -> None:
    lab = labs["B0"]
    port = lab.port(PUB, 8443)
    rsa_result = connect(port, ciphers=RSA_12, max_version=ssl.TLSVersion.TLSv1_2)
    assert rsa_result.ok and rsa_result.presented == lab.identity(PUB, "tomcat")
    ec_result = connect(port, ciphers=ECDSA_12, max_version=ssl.TLSVersion.TLSv1_2)
    assert not ec_result.ok and ec_result.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"


@pytest.mark.parametrize(("node", "role"), [(PUB, 8443), (SUB1, 6972)])
def test_ecdsa_offer_gets_ecdsa_identity_where_enabled(
    labs: dict[str, Lab], node: str, role: int
) -> None:
    lab = labs["F11"]
    ec_result = connect(lab.port(node, role), ciphers=ECDSA_12, max_version=ssl.TLSVersion.TLSv1_2)
    assert ec_result.ok, ec_result.reason
    assert ec_result.presented == lab.identity(node, "tomcat-ECDSA")
    assert is_ec(ec_result.presented)
    rsa_result = connect(lab.port(node, role), ciphers=RSA_12, max_version=ssl.TLSVersion.TLSv1_2)
    assert rsa_result.ok and rsa_result.presented == lab.identity(node, "tomcat")


def test_imp_and_cuc_stay_rsa_only_in_f11(labs: dict[str, Lab]) -> None:
    lab = labs["F11"]
    for node, role in ((IMP, 8443), (CUC, 443)):
        result = connect(lab.port(node, role), ciphers=ECDSA_12, max_version=ssl.TLSVersion.TLSv1_2)
        assert not result.ok


def test_cipher_preference_is_a_scenario_setting(labs: dict[str, Lab]) -> None:
    # the client lists ECDSA first: honoured by default, overridden with server preference (RSA)
    honour = connect(
        labs["F11"].port(PUB, 8443), ciphers=ECDSA_FIRST_12, max_version=ssl.TLSVersion.TLSv1_2
    )
    assert honour.ok and is_ec(honour.presented)
    assert honour.cipher is not None and "ECDSA" in honour.cipher
    server = connect(
        labs["F11-server-pref"].port(PUB, 8443),
        ciphers=ECDSA_FIRST_12,
        max_version=ssl.TLSVersion.TLSv1_2,
    )
    assert server.ok and is_rsa(server.presented)
    assert server.cipher is not None and "ECDHE-RSA" in server.cipher


def test_sip_5061_offers_callmanager_rsa_and_ecdsa(labs: dict[str, Lab]) -> None:
    lab = labs["F08"]
    client = (lab.expc_cert, lab.expc_key)
    port = lab.port(PUB, 5061)
    sip = b"OPTIONS sip:cucm-pub.example.com SIP/2.0\r\nCall-ID: 1@lab\r\nCSeq: 1 OPTIONS\r\n\r\n"
    rsa_result = connect(
        port, ciphers=RSA_12, max_version=ssl.TLSVersion.TLSv1_2, client=client, request=sip
    )
    assert rsa_result.ok, rsa_result.reason
    assert rsa_result.presented == lab.identity(PUB, "CallManager")
    assert (
        rsa_result.response.startswith(b"SIP/2.0 200 OK")
        and b"Call-ID: 1@lab" in rsa_result.response
    )
    ec_result = connect(
        port, ciphers=ECDSA_12, max_version=ssl.TLSVersion.TLSv1_2, client=client, request=sip
    )
    assert ec_result.ok and ec_result.presented == lab.identity(PUB, "CallManager-ECDSA")


@pytest.mark.parametrize(
    ("max_version", "reason"),
    [
        (ssl.TLSVersion.TLSv1_2, "SSLV3_ALERT_HANDSHAKE_FAILURE"),
        (ssl.TLSVersion.TLSv1_3, "TLSV13_ALERT_CERTIFICATE_REQUIRED"),
    ],
    ids=["tls1.2", "tls1.3"],
)
def test_sip_5061_requires_a_client_certificate(
    labs: dict[str, Lab], max_version: ssl.TLSVersion, reason: str
) -> None:
    result = connect(labs["F08"].port(PUB, 5061), max_version=max_version)
    assert not result.ok and result.reason == reason


@pytest.mark.parametrize(("sid", "ecdsa"), [("oauth-rsa", False), ("oauth-ec", True)])
def test_sip_oauth_5091_follows_https_ciphers(labs: dict[str, Lab], sid: str, ecdsa: bool) -> None:
    # 5091 is the CallManager service presenting tomcat; the lab follows the leg table
    lab = labs[sid]
    plan = {(p.node, p.role): p for p in plan_listeners(lab.material)}[(PUB, 5091)]
    assert plan.identity == "tomcat" and (plan.ecdsa is not None) is ecdsa
    client = (lab.expc_cert, lab.expc_key)
    sip = b"OPTIONS sip:cucm-pub.example.com SIP/2.0\r\nCall-ID: 2@lab\r\nCSeq: 1 OPTIONS\r\n\r\n"
    port = lab.port(PUB, 5091)
    result = connect(
        port, ciphers=ECDSA_12, max_version=ssl.TLSVersion.TLSv1_2, client=client, request=sip
    )
    if ecdsa:
        assert result.ok and result.presented == lab.identity(PUB, "tomcat-ECDSA")
    else:
        assert not result.ok and result.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"
    rsa_result = connect(
        port, ciphers=RSA_12, max_version=ssl.TLSVersion.TLSv1_2, client=client, request=sip
    )
    assert rsa_result.ok and rsa_result.presented == lab.identity(PUB, "tomcat")


@pytest.mark.parametrize(
    ("sid", "expected"), [("F08", "CallManager"), ("F08-ec-preferred", "CallManager-ECDSA")]
)
@pytest.mark.parametrize("max_version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_sip_5061_follows_cucm_tls_ciphers(
    labs: dict[str, Lab], sid: str, expected: str, max_version: ssl.TLSVersion
) -> None:
    # "All Ciphers RSA Preferred" (the default): RSA even when the client lists ECDSA first;
    # EC preferred: ECDSA even when the client lists RSA first. TLS 1.2 suites and 1.3 signatures.
    lab = labs[sid]
    client = (lab.expc_cert, lab.expc_key)
    sip = b"OPTIONS sip:cucm-pub.example.com SIP/2.0\r\nCall-ID: 3@lab\r\nCSeq: 1 OPTIONS\r\n\r\n"
    against = ECDSA_FIRST_12 if expected == "CallManager" else RSA_12 + ":" + ECDSA_12
    result = connect(
        lab.port(PUB, 5061), ciphers=against, max_version=max_version, client=client, request=sip
    )
    assert result.ok, result.reason
    assert result.presented == lab.identity(PUB, expected)


@pytest.mark.parametrize(("sid", "version"), [("F13", "TLSv1.3"), ("F13-TLS12", "TLSv1.2")])
def test_tls13_is_a_cluster_setting(labs: dict[str, Lab], sid: str, version: str) -> None:
    lab = labs[sid]
    result = connect(lab.port(PUB, 8443), max_version=ssl.TLSVersion.TLSv1_3)
    assert result.ok and result.version == version
    assert {p.tls13 for p in plan_listeners(lab.material) if p.cluster == "cucm-main"} == {
        version == "TLSv1.3"
    }


@needs_openssl
@pytest.mark.openssl
@pytest.mark.parametrize(("sid", "sent"), [("F35", 2), ("F35-LEAF", 1)])
def test_sends_intermediates_is_a_cluster_setting(
    labs: dict[str, Lab], sid: str, sent: int
) -> None:
    out = s_client(labs[sid].port(PUB, 8443), "-showcerts", "-tls1_2")
    assert out.count("-----BEGIN CERTIFICATE-----") == sent
    assert "CN = ENT2-INT" in out  # the leaf's issuer, named either way


# --------------------------------------------------------------------------- client certificates


@pytest.mark.parametrize("max_version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tftp_6972_accepts_a_trusted_expressway(
    labs: dict[str, Lab], max_version: ssl.TLSVersion
) -> None:
    lab = labs["B0"]
    result = connect(
        lab.port(SUB1, 6972),
        max_version=max_version,
        client=(lab.expc_cert, lab.expc_key),
        request=b"GET /CSFjdoe.cnf.xml HTTP/1.1\r\nHost: lab\r\n\r\n",
    )
    assert result.ok, result.reason
    assert result.response.startswith(b"HTTP/1.1 200 OK")
    assert b"<name>CSFjdoe</name>" in result.response
    entry = logged(lab, SUB1, 6972, client_certificate="CN=expc.example.com")
    assert entry["outcome"] == "ok" and entry["request"].startswith("GET /CSFjdoe.cnf.xml")


def test_tftp_6972_unknown_file_is_404(labs: dict[str, Lab]) -> None:
    lab = labs["B0"]
    result = connect(
        lab.port(PUB, 6972),
        client=(lab.expc_cert, lab.expc_key),
        request=b"GET /nothing.txt HTTP/1.0\r\n\r\n",
    )
    assert result.ok and result.response.startswith(b"HTTP/1.1 404")


@pytest.mark.parametrize("max_version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tftp_6972_rejects_an_untrusted_expressway_with_unknown_ca(
    labs: dict[str, Lab], max_version: ssl.TLSVersion
) -> None:
    lab = labs["F01"]
    result = connect(
        lab.port(PUB, 6972), max_version=max_version, client=(lab.expc_cert, lab.expc_key)
    )
    assert not result.ok and result.reason == "TLSV1_ALERT_UNKNOWN_CA"
    entry = logged(lab, PUB, 6972, alert_sent="unknown_ca")
    assert entry["verify_message"] == "unable to get local issuer certificate"


def test_tftp_6972_without_client_certificate_is_allowed(labs: dict[str, Lab]) -> None:
    result = connect(labs["F01"].port(PUB, 6972), request=b"GET /CSFx.cnf.xml HTTP/1.0\r\n\r\n")
    assert result.ok and b"200 OK" in result.response


def test_tftp_6972_rejects_a_certificate_without_client_auth(labs: dict[str, Lab]) -> None:
    lab = labs["F23"]
    result = connect(lab.port(PUB, 6972), client=(lab.expc_cert, lab.expc_key))
    assert not result.ok and result.reason == "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE"


def test_sip_oauth_5091_checks_tomcat_trust(labs: dict[str, Lab]) -> None:
    lab = labs["F17"]  # chain only in CallManager-trust
    result = connect(lab.port(PUB, 5091), client=(lab.expc_cert, lab.expc_key))
    assert not result.ok and result.reason == "TLSV1_ALERT_UNKNOWN_CA"
    # 6972 needs both stores, so it rejects too; 8443 does not ask for a certificate
    assert connect(lab.port(PUB, 6972), client=(lab.expc_cert, lab.expc_key)).reason == (
        "TLSV1_ALERT_UNKNOWN_CA"
    )
    plain = connect(lab.port(PUB, 8443))
    assert plain.ok and plain.presented == lab.identity(PUB, "tomcat")


def test_imp_7400_presents_cup_xmpp_and_accepts_expressway(labs: dict[str, Lab]) -> None:
    lab = labs["B0"]
    result = connect(
        lab.port(IMP, 7400),
        client=(lab.expc_cert, lab.expc_key),
        request=b"<?xml version='1.0'?><stream:stream to='imp1.example.com'>",
    )
    assert result.ok, result.reason
    assert result.presented == lab.identity(IMP, "cup-xmpp")
    assert b"stream:stream" in result.response
    rejected = connect(lab.port(IMP, 7400))
    assert not rejected.ok


def test_cuc_443_answers_with_its_tomcat(labs: dict[str, Lab]) -> None:
    lab = labs["B0"]
    result = connect(lab.port(CUC, 443), trust=[lab.material.cas["ENT-ROOT"].cert], server_name=CUC)
    assert result.ok and result.presented == lab.identity(CUC, "tomcat")
    assert b"<product>cuc</product>" in result.response


# --------------------------------------------------------------------------- openssl s_client


@needs_openssl
@pytest.mark.openssl
def test_openssl_sees_ca_names_on_6972_and_no_request_on_8443(labs: dict[str, Lab]) -> None:
    lab = labs["B0"]
    out = s_client(lab.port(PUB, 6972), "-tls1_2")
    assert "Acceptable client certificate CA names" in out
    names = out.split("Acceptable client certificate CA names", 1)[1].splitlines()[1:3]
    assert [n.strip() for n in names] == ["CN = ENT-ROOT", "CN = ENT-INT"]
    plain = s_client(lab.port(PUB, 8443), "-tls1_2")
    assert "Client Certificate Types" not in plain
    assert first_subject(plain) == "CN = cucm-pub-ms.example.com"


@needs_openssl
@pytest.mark.openssl
@pytest.mark.parametrize(
    ("sigalgs", "expected"),
    [
        ("ECDSA+SHA256", "CN = cucm-pub-EC.example.com"),
        ("rsa_pss_rsae_sha256", "CN = cucm-pub-ms.example.com"),
    ],
    ids=["ecdsa", "rsa"],
)
def test_openssl_tls13_identity_by_signature_algorithms(
    labs: dict[str, Lab], sigalgs: str, expected: str
) -> None:
    out = s_client(labs["F11"].port(PUB, 8443), "-tls1_3", "-sigalgs", sigalgs)
    assert "TLSv1.3" in out
    assert first_subject(out) == expected


@needs_openssl
@pytest.mark.openssl
def test_openssl_tls13_ecdsa_only_fails_where_not_enabled(labs: dict[str, Lab]) -> None:
    out = s_client(labs["B0"].port(PUB, 8443), "-tls1_3", "-sigalgs", "ECDSA+SHA256")
    assert "handshake failure" in out.lower()
    assert "subject=" not in out


@needs_openssl
@pytest.mark.openssl
def test_openssl_tls13_server_preference_orders_signature_algorithms(
    labs: dict[str, Lab],
) -> None:
    both = "ECDSA+SHA256:rsa_pss_rsae_sha256"
    honour = s_client(labs["F11"].port(PUB, 8443), "-tls1_3", "-sigalgs", both)
    assert first_subject(honour) == "CN = cucm-pub-EC.example.com"
    server = s_client(labs["F11-server-pref"].port(PUB, 8443), "-tls1_3", "-sigalgs", both)
    assert first_subject(server) == "CN = cucm-pub-ms.example.com"


@needs_openssl
@pytest.mark.openssl
@pytest.mark.parametrize("sid", ["B0", "F01"])
def test_openssl_client_certificate_on_6972(labs: dict[str, Lab], sid: str) -> None:
    lab = labs[sid]
    out = s_client(
        lab.port(PUB, 6972),
        "-tls1_2",
        "-cert",
        str(lab.expc_cert),
        "-key",
        str(lab.expc_key),
        "-ign_eof",
        data=b"GET /CSFjdoe.cnf.xml HTTP/1.0\r\n\r\n",
    )
    if sid == "B0":
        assert "HTTP/1.1 200 OK" in out and "alert" not in out.lower()
    else:
        assert "alert unknown ca" in out.lower()
        assert "HTTP/1.1" not in out


# --------------------------------------------------------------------------- lifecycle


def test_close_frees_every_port(tmp_path: Path) -> None:
    lab = _start(build_scenario("B0", now=NOW), tmp_path / "lab")
    ports = [p for node in lab.servers.ports.values() for p in node.values()]
    assert len(ports) == 7
    assert connect(lab.port(PUB, 8443)).ok
    lab.servers.close()
    for port in ports:
        with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
            sock.settimeout(TIMEOUT)
            sock.connect(("127.0.0.1", port))


def test_private_keys_of_the_listeners_are_private(labs: dict[str, Lab]) -> None:
    keys = list((labs["B0"].directory / "private").rglob("*.key"))
    assert keys
    assert all((k.stat().st_mode & 0o077) == 0 for k in keys)
    for pem in (labs["B0"].directory / "private").rglob("*.pem"):
        assert b"PRIVATE KEY" not in pem.read_bytes()


def test_identity_helper_types(labs: dict[str, Lab]) -> None:
    ident: Issued = labs["B0"].material.node(PUB)[1].identities["tomcat-ECDSA"]
    assert is_ec(ident.cert) and not is_rsa(ident.cert)


# ------------------------------------------------------------------------ agreement with topology


@pytest.mark.parametrize("sid", [i.id for i in list_scenarios()])
def test_listeners_agree_with_the_leg_table(written: dict[str, Written], sid: str) -> None:
    # the lab serves exactly the legs the rules judge: same ports, identity, ECDSA, mutual TLS
    w = written[sid]
    expected = {}
    for leg in c2u_legs(load_inventory(w.inventory)):
        ecdsa = leg.ecdsa is EcdsaOffer.ALLOWED and leg.ecdsa_identity is not None
        expected[(leg.server.name, leg.port)] = (
            leg.rsa_identity,
            ecdsa and leg.node.identity(leg.ecdsa_identity or "") is not None,
            leg.mutual,
            leg.client_certificate_stores,
        )
    for edge in edge_legs(load_inventory(w.inventory)):
        if edge.row.tls:  # Expressway-E: traversal 7001/7400 and the edge 8443 (2222 is SSH)
            expected[(edge.server.name, edge.port)] = (
                edge.rsa_identity,
                False,
                edge.mutual,
                edge.row.server_stores,
            )
    served = {
        (p.node, p.role): (p.identity, p.ecdsa is not None, p.client_auth != "none", p.trust_stores)
        for p in plan_listeners(w.material)
    }
    assert served == expected
