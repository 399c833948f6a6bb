"""The key-exchange groups in Expressway-C's ClientHello, read off the wire.

A raw loopback listener keeps the first flight every offer sends, and the test decodes its
``supported_groups`` and ``key_share`` extensions. Real servers then show what the list means:
a server that only takes P-384 still gets a handshake (after a HelloRetryRequest), one that only
takes finite-field groups does not.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

import pytest
from OpenSSL import SSL

from mratrust.probe.client import (
    EXPRESSWAY_GROUPS,
    TlsVersion,
    Variant,
    build_offers,
    client_profile,
)
from mratrust.probe.engine import ProbeTarget, probe_endpoints
from mratrust.probe.handshake import Timeouts, handshake
from mratrust.probe.outcome import Outcome
from mratrust.versions import Version

from .conftest import LOOPBACK, NODE, Pki, RawServer, SServer, start_s_server

GROUP_IDS = {0x001D: "X25519", 0x0017: "P-256", 0x001E: "X448", 0x0019: "P-521", 0x0018: "P-384"}
MLKEM_HYBRID = 0x11EC
"""X25519MLKEM768, which the OpenSSL inside pyOpenSSL offers by default."""

FAST = Timeouts(connect=2.0, handshake=2.0, read=0.5, overall=10.0)


def _extensions(hello: bytes) -> dict[int, bytes]:
    """The extensions of the ClientHello at the start of ``hello`` (one TLS record)."""
    assert hello[0] == 0x16, "not a handshake record"
    body = hello[5 : 5 + struct.unpack(">H", hello[3:5])[0]]
    assert body[0] == 0x01, "not a ClientHello"
    at = 4 + 2 + 32  # handshake header, legacy version, random
    at += 1 + body[at]  # session id
    at += 2 + struct.unpack(">H", body[at : at + 2])[0]  # cipher suites
    at += 1 + body[at]  # compression methods
    end = at + 2 + struct.unpack(">H", body[at : at + 2])[0]
    at += 2
    found: dict[int, bytes] = {}
    while at < end:
        kind, size = struct.unpack(">HH", body[at : at + 4])
        found[kind] = body[at + 4 : at + 4 + size]
        at += 4 + size
    return found


def _groups(ext: bytes) -> list[int]:
    size = struct.unpack(">H", ext[:2])[0]
    return [struct.unpack(">H", ext[2 + i : 4 + i])[0] for i in range(0, size, 2)]


def _key_shares(ext: bytes) -> list[int]:
    at, end, shares = 2, 2 + struct.unpack(">H", ext[:2])[0], []
    while at < end:
        group, size = struct.unpack(">HH", ext[at : at + 4])
        shares.append(group)
        at += 4 + size
    return shares


class _Recorder:
    """Keeps the first bytes of every connection, then closes it."""

    def __init__(self) -> None:
        self.hellos: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(2)
        data = b""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) >= 5 and len(data) >= 5 + struct.unpack(">H", data[3:5])[0]:
                break
        with self.lock:
            self.hellos.append(data)
        conn.close()


def _hello_of(context: SSL.Context) -> bytes:
    recorder = _Recorder()
    server = RawServer(recorder)
    try:
        sock = socket.create_connection((LOOPBACK, server.port), timeout=2)
        with sock:
            conn = SSL.Connection(context, sock)
            conn.set_tlsext_host_name(NODE.encode())
            conn.set_connect_state()
            with contextlib.suppress(SSL.Error, OSError):  # the recorder hangs up
                conn.do_handshake()
        for _ in range(200):  # bounded: the recorder closes within its own 2 s
            if recorder.hellos:
                break
            time.sleep(0.01)
    finally:
        server.close()
    assert recorder.hellos, "no ClientHello arrived"
    return recorder.hellos[0]


@pytest.mark.parametrize("variant", list(Variant), ids=lambda v: v.value)
def test_every_offer_lists_expressways_groups_with_one_x25519_share(variant: Variant) -> None:
    offer = build_offers(client_profile(Version.parse("X15.3")))[variant]
    assert offer.context is not None
    ext = _extensions(_hello_of(offer.context))
    names = [GROUP_IDS.get(g, hex(g)) for g in _groups(ext[10])]
    assert names == EXPRESSWAY_GROUPS.split(":")
    if TlsVersion.TLS1_3 in offer.versions:
        assert _key_shares(ext[51]) == [0x001D]
    else:
        assert 51 not in ext  # a TLS 1.2-only offer sends no key share


def test_negative_twin_the_librarys_own_list_carries_the_hybrid() -> None:
    # the same parse on a context left at the library's default finds the post-quantum hybrid,
    # which the offers above do not send
    plain = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ext = _extensions(_hello_of(plain))
    assert MLKEM_HYBRID in _groups(ext[10])
    assert MLKEM_HYBRID in _key_shares(ext[51])


def _default_handshake(server: SServer) -> tuple[bool, str | None, str | None]:
    offer = build_offers(client_profile(Version.parse("X15.3")))[Variant.DEFAULT]
    hs = handshake(
        LOOPBACK,
        server.port,
        offer=offer,
        server_name=NODE,
        timeouts=FAST,
        deadline=time.monotonic() + 10,
    )
    return hs.completed, hs.tls_version, hs.failure.value if hs.failure else None


def test_a_server_that_wants_a_listed_group_gets_a_handshake(pki: Pki) -> None:
    server = start_s_server("-cert", str(pki.rsa_pem), "-key", str(pki.rsa_key), "-groups", "P-384")
    try:
        completed, version, failure = _default_handshake(server)
    finally:
        server.stop()
    assert (completed, version, failure) == (True, "TLSv1.3", None)


def test_negative_twin_a_server_of_unlisted_groups_refuses(pki: Pki) -> None:
    server = start_s_server(
        "-cert", str(pki.rsa_pem), "-key", str(pki.rsa_key), "-groups", "ffdhe2048", "-no_tls1_2"
    )
    try:
        completed, _, failure = _default_handshake(server)
        report = probe_endpoints(
            [ProbeTarget.parse(server.target)],
            client_profile(Version.parse("X15.3")),
            trust=None,
            timeouts=FAST,
        )[0]
    finally:
        server.stop()
    assert not completed
    assert failure == Outcome.NO_SHARED_CIPHER.value
    assert not report.ok


def test_a_group_this_openssl_lacks_is_left_out_and_the_rest_kept_in_order() -> None:
    from mratrust.probe.client import _set_groups

    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    _set_groups(ctx, "P-384:NO-SUCH-GROUP:X25519")
    ext = _extensions(_hello_of(ctx))
    assert [GROUP_IDS.get(g, hex(g)) for g in _groups(ext[10])] == ["P-384", "X25519"]


def test_negative_twin_a_list_of_unknown_groups_keeps_the_librarys_own() -> None:
    from mratrust.probe.client import _set_groups

    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    _set_groups(ctx, "NO-SUCH-GROUP")
    assert MLKEM_HYBRID in _groups(_extensions(_hello_of(ctx))[10])
