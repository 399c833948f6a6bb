"""Real handshakes against a JSSE server (Java's TLS, as in CUCM's Tomcat) on 127.0.0.1.

``jsse/Server.java`` runs with the JDK's single-file launcher. It holds an RSA and an ECDSA key
entry, each chained to the RSA-signed intermediate of the test PKI, loaded from PKCS#12 files
written here, and serves two ports: one without client authentication, one requiring a client
certificate from EXPC-CA. The JVM starts once for the module.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from mratrust.pki.facts import KeyType
from mratrust.pki.verify import TrustStore
from mratrust.probe.client import (
    ECDSA_SIGALGS,
    ClientIdentity,
    Offer,
    TlsVersion,
    Variant,
    _new_context,
    _set_sigalgs,
    client_profile,
    load_client_identity,
    sigalgs_supported,
)
from mratrust.probe.engine import (
    EndpointReport,
    ProbeTarget,
    exit_code,
    observe,
    probe_endpoints,
    refused_offer,
)
from mratrust.probe.handshake import Phase, Timeouts, handshake
from mratrust.probe.outcome import Outcome
from mratrust.probe.render import status
from mratrust.versions import Version

from .conftest import LOOPBACK, NODE, NOW, Pki, free_port

SERVER = Path(__file__).parent / "jsse" / "Server.java"
START_WAIT = 60.0
"""The single-file launcher compiles the server first: about 1-2 s, more on a loaded machine."""
TIMEOUTS = Timeouts(connect=3, handshake=10, read=3, overall=60)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sigalgs_supported(), reason="pyOpenSSL lacks SSL_CTX_set1_sigalgs_list"),
]


def _java() -> str:
    found = shutil.which("java")
    if found is None:
        pytest.skip("no java command (CI installs default-jdk-headless)")
    probe = subprocess.run([found, "-version"], capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        pytest.skip(f"java does not run: {probe.stderr.decode(errors='replace')[:200]}")
    return found


@dataclass(frozen=True, slots=True)
class Jsse:
    port: int
    mtls_port: int

    def target(self, port: int) -> str:
        return f"{NODE}:{port}{{{LOOPBACK}}}"


def _p12(
    path: Path,
    key_path: Path,
    leaf: x509.Certificate,
    chain: list[x509.Certificate],
    password: bytes,
) -> Path:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    data = pkcs12.serialize_key_and_certificates(
        b"identity",
        key,
        leaf,
        chain,
        serialization.BestAvailableEncryption(password),
    )
    path.write_bytes(data)
    return path


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], limit: float) -> None:
    """Poll the port until it accepts, the JVM dies, or ``limit`` seconds pass (bounded)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the JSSE server exited with {proc.returncode}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the JSSE server did not listen on {port} within {limit:g} s")


@pytest.fixture(scope="module")
def jsse(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jsse]:
    java = _java()
    d = tmp_path_factory.mktemp("jsse")
    password = secrets.token_hex(16).encode()
    rsa = _p12(d / "rsa.p12", pki.rsa_key, pki.rsa_leaf, [pki.inter], password)
    ec = _p12(d / "ec.p12", pki.ec_key, pki.ec_leaf, [pki.inter], password)
    port, mtls_port = free_port(), free_port()
    env = {**os.environ, "MRATRUST_JSSE_PASSWORD": password.decode()}
    log = (d / "server.log").open("wb")
    proc = subprocess.Popen(
        [java, str(SERVER), str(rsa), str(ec), str(pki.client_ca_pem), str(port), str(mtls_port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        _wait_for_port(port, proc, START_WAIT)
        _wait_for_port(mtls_port, proc, START_WAIT)
        yield Jsse(port=port, mtls_port=mtls_port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _probe(target: str, identity: ClientIdentity | None, pki: Pki) -> EndpointReport:
    (report,) = probe_endpoints(
        [ProbeTarget.parse(target)],
        client_profile(Version.parse("X15.3"), identity=identity),
        trust=TrustStore([pki.root]),
        timeouts=TIMEOUTS,
    )
    return report


def test_forced_ecdsa_tls13_offer_gets_the_ecdsa_identity(jsse: Jsse, pki: Pki) -> None:
    report = _probe(jsse.target(jsse.port), None, pki)
    offers = {o.variant: o for o in report.observations}
    ec = offers[Variant.TLS13_ECDSA]
    assert ec.outcome is Outcome.OK, ec.message
    assert ec.handshake.tls_version == "TLSv1.3"
    assert ec.key_type is KeyType.ECDSA and ec.leaf == pki.ec_leaf
    assert offers[Variant.TLS12_ECDSA].key_type is KeyType.ECDSA
    # a port outside the leg table is taken as Traffic Server's: ECDSA first under TLS 1.3
    assert report.default.key_type is KeyType.ECDSA
    assert [i.key_type for i in report.identities] == [KeyType.ECDSA, KeyType.RSA]
    assert not report.incomplete and status(report) == "ok" and exit_code([report]) == 0


def test_an_ecdsa_only_offer_is_refused_and_stays_that_offers_outcome(jsse: Jsse, pki: Pki) -> None:
    # the old forced offer (ECDSA schemes only): JSSE finds no chain whose every signature the
    # client accepts and closes the connection without an alert
    ctx = _new_context((TlsVersion.TLS1_3,))
    _set_sigalgs(ctx, ECDSA_SIGALGS)
    offer = Offer(variant=Variant.TLS13_ECDSA, context=ctx, versions=(TlsVersion.TLS1_3,))
    deadline = time.monotonic() + 30
    refused = handshake(
        LOOPBACK, jsse.port, offer=offer, server_name=NODE, timeouts=TIMEOUTS, deadline=deadline
    )
    assert not refused.completed and refused.phase is Phase.HANDSHAKE
    assert refused.failure is Outcome.RESET and refused.alert is None
    # the endpoint answers Expressway-C's own offer: the refusal is that offer's outcome only
    report = _probe(jsse.target(jsse.port), None, pki)
    as_offer = refused_offer(refused, report.default.handshake)
    assert as_offer.failure is Outcome.OFFER_REFUSED
    target = ProbeTarget.parse(jsse.target(jsse.port))
    profile = client_profile(Version.parse("X15.3"))
    obs = observe(as_offer, target, profile, trust=TrustStore([pki.root]), now=NOW)
    assert "answers Expressway-C's own offer" in obs.message
    mixed = EndpointReport(
        target=report.target,
        default=report.default,
        observations=tuple(
            obs if o.variant is Variant.TLS13_ECDSA else o for o in report.observations
        ),
        identities=report.identities,
    )
    assert not mixed.incomplete and exit_code([mixed]) == 0
    # negative twin: when the default offer got no answer either, a reset stays a reset
    unanswered = refused_offer(refused, refused)
    assert unanswered.failure is Outcome.RESET


@pytest.mark.parametrize(
    ("client", "trusted"),
    [
        pytest.param("rsa-trusted", True, id="rsa-trusted"),
        pytest.param("ec-trusted", True, id="ec-trusted"),
        pytest.param("rsa-untrusted", False, id="rsa-untrusted"),
        pytest.param("absent", False, id="absent"),
    ],
)
def test_client_certificate_verdicts(jsse: Jsse, pki: Pki, client: str, trusted: bool) -> None:
    files = {
        "rsa-trusted": (pki.expc_pem, pki.expc_key),
        "ec-trusted": (pki.expc_ec_pem, pki.expc_ec_key),
        "rsa-untrusted": (pki.rogue_pem, pki.rogue_key),
    }
    identity = load_client_identity(*files[client]) if client in files else None
    report = _probe(jsse.target(jsse.mtls_port), identity, pki)
    for obs in report.observations:
        assert obs.handshake.client_cert_requested, obs.variant
        if trusted:
            assert obs.outcome is Outcome.OK, (obs.variant, obs.message)
        else:
            # JSSE's HttpsServer refuses by closing, without an alert
            assert obs.outcome is Outcome.CLIENT_REJECTED, (obs.variant, obs.message)
    offers = {o.variant: o for o in report.observations}
    assert offers[Variant.TLS13_ECDSA].key_type is KeyType.ECDSA
    if trusted:
        assert status(report) == "ok" and exit_code([report]) == 0
    else:
        assert status(report) == "fail" and exit_code([report]) == 1
        assert "no alert" in report.default.message
