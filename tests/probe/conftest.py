"""Real certificates and real TLS servers on 127.0.0.1 for the probe tests.

The PKI is generated once per session with ``cryptography``. Servers are ``openssl s_server``
processes (started on a free port, ready when they print ``ACCEPT``, always killed at teardown)
and small Python socket servers that misbehave on purpose (silent, garbage, reset, drip, huge).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mratrust.lab import pkigen as pg

LOOPBACK = "127.0.0.1"
NODE = "cucm-pub.example.com"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
READY_WAIT = 10.0

Key = pg.PrivateKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Pki:
    """Files and objects of the test PKI (all under one temporary folder)."""

    root: x509.Certificate
    inter: x509.Certificate
    rsa_leaf: x509.Certificate
    ec_leaf: x509.Certificate
    other_root: x509.Certificate
    expc: x509.Certificate
    rogue: x509.Certificate
    root_pem: Path
    inter_pem: Path
    other_root_pem: Path
    rsa_pem: Path
    rsa_key: Path
    ec_pem: Path
    ec_key: Path
    client_ca_pem: Path
    expc_pem: Path
    expc_key: Path
    rogue_pem: Path
    rogue_key: Path
    encrypted_key: Path
    ec_self_pem: Path
    ec_self: x509.Certificate
    expc_ec_pem: Path
    expc_ec_key: Path
    rogue_ec_pem: Path
    rogue_ec_key: Path
    expc_no_client_auth_pem: Path
    expc_expired_pem: Path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Enterprise root → intermediate → RSA and ECDSA identities of NODE; Expressway-C's
    certificate from a client CA, and a rogue one from a CA nobody trusts."""
    d = tmp_path_factory.mktemp("pki")
    pool = pg.KeyPool()
    org = "Example Corp"
    year = pg.Validity.around(NOW, days_before=1, days_after=365)

    def ca(cn: str, issuer: pg.Issued | None = None) -> pg.Issued:
        return pg.make_ca(cn, now=NOW, issuer=issuer, organization=org, pool=pool)

    def leaf(cn: str, issuer: pg.Issued, san: str, **kw: object) -> pg.Issued:
        return pg.make_leaf(
            cn,
            now=NOW,
            issuer=issuer,
            san=(san,),
            organization=org,
            validity=year,
            pool=pool,
            **kw,  # type: ignore[arg-type]
        )

    root_i, other_i, client_i = ca("ENT-ROOT"), ca("OTHER-ROOT"), ca("EXPC-CA")
    inter_i = ca("ENT-INT", root_i)
    rsa_i = leaf(NODE, inter_i, NODE)
    # one ECDSA key for the CA-issued and the self-signed tomcat-ECDSA (CUCM's default)
    ec_i = leaf(NODE + "-EC", inter_i, NODE, key_type=pg.KeyType.EC, key_slot="node-ec")
    ec_self_i = pg.make_cucm_self_signed(
        NODE,
        now=NOW,
        key_type=pg.KeyType.EC,
        common_name=NODE + "-EC",
        validity=year,
        key_slot="node-ec",
        pool=pool,
    )
    expc_i = leaf("expc.example.com", client_i, "expc.example.com", key_slot="expc")
    rogue_i = leaf("expc.example.com", other_i, "expc.example.com", key_slot="rogue")
    ec = pg.KeyType.EC
    expc_ec_i = leaf("expc.example.com", client_i, "expc.example.com", key_type=ec)
    rogue_ec_i = leaf("expc.example.com", other_i, "expc.example.com", key_type=ec)
    # same key as expc (key_slot), so expc_key goes with these too
    no_client_i = leaf(
        "expc.example.com", client_i, "expc.example.com", key_slot="expc", eku=(pg.Eku.SERVER_AUTH,)
    )
    expired_i = pg.make_leaf(
        "expc.example.com",
        now=NOW,
        issuer=client_i,
        san=("expc.example.com",),
        validity=pg.Validity.expired(NOW),
        key_slot="expc",
        pool=pool,
    )
    root, inter, other_root = root_i.cert, inter_i.cert, other_i.cert
    rsa_leaf, ec_leaf, ec_self = rsa_i.cert, ec_i.cert, ec_self_i.cert
    client_ca, expc, rogue = client_i.cert, expc_i.cert, rogue_i.cert
    rsa_key, ec_key, expc_key, rogue_key = rsa_i.key, ec_i.key, expc_i.key, rogue_i.key
    encrypted = d / "encrypted.key"
    encrypted.write_bytes(
        expc_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return Pki(
        root=root,
        inter=inter,
        rsa_leaf=rsa_leaf,
        ec_leaf=ec_leaf,
        other_root=other_root,
        expc=expc,
        rogue=rogue,
        root_pem=pg.write_certs(d / "root.pem", [root]),
        inter_pem=pg.write_certs(d / "inter.pem", [inter]),
        other_root_pem=pg.write_certs(d / "other-root.pem", [other_root]),
        rsa_pem=pg.write_certs(d / "rsa.pem", [rsa_leaf]),
        rsa_key=pg.write_key(d / "rsa.key", rsa_key),
        ec_pem=pg.write_certs(d / "ec.pem", [ec_leaf]),
        ec_key=pg.write_key(d / "ec.key", ec_key),
        client_ca_pem=pg.write_certs(d / "client-ca.pem", [client_ca]),
        expc_pem=pg.write_certs(d / "expc.pem", [expc]),
        expc_key=pg.write_key(d / "expc.key", expc_key),
        rogue_pem=pg.write_certs(d / "rogue.pem", [rogue]),
        rogue_key=pg.write_key(d / "rogue.key", rogue_key),
        encrypted_key=encrypted,
        ec_self_pem=pg.write_certs(d / "ec-self.pem", [ec_self]),
        ec_self=ec_self,
        expc_ec_pem=pg.write_certs(d / "expc-ec.pem", [expc_ec_i.cert]),
        expc_ec_key=pg.write_key(d / "expc-ec.key", expc_ec_i.key),
        rogue_ec_pem=pg.write_certs(d / "rogue-ec.pem", [rogue_ec_i.cert]),
        rogue_ec_key=pg.write_key(d / "rogue-ec.key", rogue_ec_i.key),
        expc_no_client_auth_pem=pg.write_certs(d / "expc-server-only.pem", [no_client_i.cert]),
        expc_expired_pem=pg.write_certs(d / "expc-expired.pem", [expired_i.cert]),
    )


# --------------------------------------------------------------------------- openssl s_server


def openssl_binary() -> str:
    """The openssl command, or skip the test saying why."""
    found = shutil.which("openssl")
    if found is None:
        pytest.skip("the openssl command-line binary is not installed (needed for s_server)")
    return found


def free_port() -> int:
    """A port nobody listens on right now (s_server cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass(slots=True)
class SServer:
    """A running ``openssl s_server``."""

    port: int
    proc: subprocess.Popen[bytes]
    args: tuple[str, ...]
    reader: threading.Thread

    @property
    def target(self) -> str:
        """``NODE:port{127.0.0.1}``: Expressway-C's name for it, connected on loopback."""
        return f"{NODE}:{self.port}{{{LOOPBACK}}}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start_s_server(*args: str) -> SServer:
    """Start ``openssl s_server -www`` with ``args`` on a free loopback port; wait for ACCEPT."""
    binary = openssl_binary()
    last = ""
    for _ in range(3):  # the free port may be taken between release and bind
        port = free_port()
        cmd = [binary, "s_server", "-accept", f"{LOOPBACK}:{port}", "-www", *args]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        ready = threading.Event()
        seen: list[bytes] = []

        def drain(
            p: subprocess.Popen[bytes] = proc,
            out: list[bytes] = seen,
            ready: threading.Event = ready,
        ) -> None:
            assert p.stdout is not None
            for line in p.stdout:  # keep reading so the pipe never fills
                if len(out) < 50:
                    out.append(line)
                if line.startswith(b"ACCEPT"):
                    ready.set()
            ready.set()

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        ready.wait(READY_WAIT)
        server = SServer(port=port, proc=proc, args=tuple(args), reader=reader)
        if proc.poll() is None and any(x.startswith(b"ACCEPT") for x in seen):
            return server
        last = b"".join(seen).decode(errors="replace")
        server.stop()
    raise RuntimeError(f"openssl s_server did not start: {last}")


@pytest.fixture(scope="session")
def servers(pki: Pki) -> Iterator[dict[str, SServer]]:
    """The s_server flavours the tests share (one process each, killed at the end)."""
    openssl_binary()
    dual = ("-cert", str(pki.rsa_pem), "-key", str(pki.rsa_key), "-cert_chain", str(pki.inter_pem))
    dual += (
        "-dcert",
        str(pki.ec_pem),
        "-dkey",
        str(pki.ec_key),
        "-dcert_chain",
        str(pki.inter_pem),
    )
    rsa_only = (
        "-cert",
        str(pki.rsa_pem),
        "-key",
        str(pki.rsa_key),
        "-cert_chain",
        str(pki.inter_pem),
    )
    mtls = ("-Verify", "1", "-verify_return_error", "-CAfile", str(pki.client_ca_pem))
    running: dict[str, SServer] = {}
    try:
        running["dual"] = start_s_server(*dual)
        running["rsa_only"] = start_s_server(*rsa_only)
        running["ec_self_signed"] = start_s_server(
            *rsa_only, "-dcert", str(pki.ec_self_pem), "-dkey", str(pki.ec_key)
        )
        running["leaf_only"] = start_s_server("-cert", str(pki.rsa_pem), "-key", str(pki.rsa_key))
        running["mtls"] = start_s_server(*dual, *mtls)
        running["mtls12"] = start_s_server(*dual, *mtls, "-no_tls1_3")
        # without -verify_return_error s_server logs a bad client chain and serves anyway
        lax = ("-Verify", "1", "-CAfile", str(pki.client_ca_pem))
        running["mtls_lax"] = start_s_server(*dual, *lax)
        yield running
    finally:
        for server in running.values():
            server.stop()


# --------------------------------------------------------------------------- hostile servers


class RawServer:
    """A loopback TCP server that runs ``behave(conn)`` for every connection, in threads."""

    def __init__(self, behave: Callable[[socket.socket, threading.Event], None]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.stop_event = threading.Event()
        self.behave = behave
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.conns.append(conn)
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.behave(conn, self.stop_event)

    def close(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)
        self.sock.close()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.close()


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept and never answer."""
    stop.wait(30)


def garbage(conn: socket.socket, stop: threading.Event) -> None:
    """Answer a ClientHello with plain HTTP."""
    conn.settimeout(5)
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    stop.wait(5)


def reset(conn: socket.socket, stop: threading.Event) -> None:
    """Read the ClientHello, then reset the connection (RST, SO_LINGER 0)."""
    conn.settimeout(5)
    conn.recv(4096)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def drip(conn: socket.socket, stop: threading.Event) -> None:
    """Start a TLS record and then send one byte every 100 ms, for ever."""
    conn.settimeout(5)
    conn.recv(4096)
    conn.sendall(b"\x16\x03\x03\x40\x00")
    while not stop.wait(0.1):
        conn.sendall(b"\x00")


def huge_chain(conn: socket.socket, stop: threading.Event) -> None:
    """A real TLS 1.2 ServerHello, then a Certificate message announcing 16 MB, then zeros."""
    conn.settimeout(5)
    conn.recv(4096)
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\xc0\x2f" + b"\x00"
    hello = b"\x02" + len(body).to_bytes(3, "big") + body
    certificate = b"\x0b" + (0xFFFFFF).to_bytes(3, "big") + (0xFFFFFC).to_bytes(3, "big")
    payload = hello + certificate
    conn.sendall(b"\x16\x03\x03" + len(payload).to_bytes(2, "big") + payload)
    chunk = b"\x16\x03\x03\x40\x00" + b"\x00" * 0x4000
    while not stop.is_set():
        conn.sendall(chunk)


@pytest.fixture
def raw_server() -> Iterator[
    Callable[[Callable[[socket.socket, threading.Event], None]], RawServer]
]:
    """Factory of misbehaving servers, all closed at teardown."""
    made: list[RawServer] = []

    def make(behave: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        server = RawServer(behave)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()
