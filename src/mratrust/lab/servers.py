"""Simulated UC nodes: real TLS servers (stdlib ``ssl``) on loopback, one per (node, port role).

Each listener presents the identity the real product presents on that port and checks client
certificates the way it does:

========  =========  ===================  ==================  ==========================
product   port role  identity             ECDSA offered when  client certificate
========  =========  ===================  ==================  ==========================
cucm      8443       tomcat               HTTPS ec-and-rsa    not requested
cucm      6972       tomcat               HTTPS ec-and-rsa    optional; tomcat-trust AND
                                                              CallManager-trust
cucm      5061       CallManager          always (mixed)      required; CallManager-trust
cucm      5091       tomcat               HTTPS ec-and-rsa    required; tomcat-trust
imp       8443       tomcat               HTTPS ec-and-rsa    not requested
imp       7400       cup-xmpp             HTTPS ec-and-rsa    required; cup-xmpp-trust
cuc       443        tomcat               HTTPS ec-and-rsa    not requested
exp-E     7001, 7400 server certificate   never               required; Expressway-E's
                                                              trusted CA list, clientAuth,
                                                              TLS verify subject name in SAN
exp-E     8443       server certificate   never               not requested (the edge)
========  =========  ===================  ==================  ==========================

The table is :mod:`mratrust.legs`' leg table seen from the server side. 5091 (SIP OAuth) is served
by the CallManager service with the tomcat certificate (knowledge base L6); whether EC is enabled
there is not documented, so the lab follows the leg table: tomcat-ECDSA only when HTTPS Ciphers
allows EC.

A context holds the ECDSA identity (a second ``load_cert_chain``) only where ECDSA is offered, so
neither TLS 1.2 cipher choice nor TLS 1.3 signature-algorithm choice can select it elsewhere.
Which side orders the choice: on SIP TLS 5061 CUCM's "TLS Ciphers" enterprise parameter (the
cluster's ``tls_ciphers``: "All Ciphers RSA Preferred" by default, so the server picks RSA first,
or EC preferred); on every other port the scenario's ``server_cipher_preference`` (default:
honour the client's order, as the tech note's capture shows CUCM doing; with server preference
the order is RSA first). The order applies to TLS 1.2 cipher suites and to TLS 1.3 signature
algorithms alike. A cluster with ``tls13`` off caps its listeners at TLS 1.2; with
``sends_intermediates`` off they send their certificate without its intermediates.

6972 must accept the client in both stores: it verifies against the certificates present in both
tomcat-trust and CallManager-trust (a chain valid with that intersection is valid with each).

When the peer certificate is rejected OpenSSL sends the alert its verify error maps to
(``unknown_ca`` for an unknown issuer, ``certificate_expired``, ``unsupported_certificate`` for a
missing clientAuth EKU, …), as CUCM's OpenSSL-based listeners do. The CA names of the verifying
store go into the CertificateRequest: stdlib ``ssl`` has no API for that, so a small shim calls
``SSL_CTX_set_client_CA_list`` of the very libssl the ``ssl`` module uses (checked before use;
without it the names are simply not sent, and the log says so).

Every connection is logged as one JSON line (node, role, outcome, version, cipher, client
certificate subject, alert) in the lab log.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mratrust.errors import LabError
from mratrust.lab.pkigen import Issued, certs_pem, write_certs, write_key
from mratrust.lab.scenarios import ClusterMaterial, ProbeAddress, ScenarioMaterial
from mratrust.topology import ClientAuth, EndpointKind, LegRow, Purpose, rows_to
from mratrust.values import frozen

Protocol = Literal["http", "tftp", "sip", "xmpp"]
Order = Literal["client", "rsa", "ecdsa"]
"""Who orders the certificate-type choice: the client's offer, or the server RSA / ECDSA first."""

HANDSHAKE_TIMEOUT = 5.0
LINGER_SECONDS = 1.0
MAX_CONNECTIONS = 64
WORKERS = 16
MAX_REQUEST = 16 * 1024

# TLS 1.2 order when the server chooses: RSA authentication first (CUCM "RSA preferred").
RSA_FIRST_CIPHERS = (
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:AES256-GCM-SHA384:AES128-GCM-SHA256"
)
RSA_FIRST_SIGALGS = (
    "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
    "rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512:"
    "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512:"
    "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:ed25519:ed448"
)

# The same, ECDSA authentication first (CUCM "TLS Ciphers": EC preferred).
ECDSA_FIRST_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:AES256-GCM-SHA384:AES128-GCM-SHA256"
)
ECDSA_FIRST_SIGALGS = (
    "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512:"
    "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
    "rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512:"
    "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:ed25519:ed448"
)
SERVER_ORDERS: Mapping[str, tuple[str, str]] = {
    "rsa": (RSA_FIRST_CIPHERS, RSA_FIRST_SIGALGS),
    "ecdsa": (ECDSA_FIRST_CIPHERS, ECDSA_FIRST_SIGALGS),
}

# OpenSSL's verify error → the alert it sends (ssl/statem/statem_lib.c, ssl_x509err2alert)
VERIFY_ERROR_ALERTS: Mapping[int, str] = {
    2: "unknown_ca",  # unable to get issuer certificate
    7: "decrypt_error",  # certificate signature failure
    9: "bad_certificate",  # certificate is not yet valid
    10: "certificate_expired",
    18: "unknown_ca",  # self-signed certificate (depth 0)
    19: "unknown_ca",  # self-signed certificate in chain
    20: "unknown_ca",  # unable to get local issuer certificate
    21: "unknown_ca",  # unable to verify the first certificate
    22: "unknown_ca",  # certificate chain too long
    23: "certificate_revoked",
    24: "unknown_ca",  # invalid CA certificate
    26: "unsupported_certificate",  # unsupported certificate purpose (EKU)
    27: "bad_certificate",  # certificate not trusted
    28: "bad_certificate",  # certificate rejected
    62: "bad_certificate",  # hostname mismatch (the TLS verify subject name, Expressway-E)
}


@frozen
class ListenerPlan:
    """One simulated listener: which node and port role, what it presents, what it checks."""

    cluster: str
    node: str
    product: str
    role: int
    protocol: Protocol
    identity: str
    rsa: Issued
    ecdsa: Issued | None
    client_auth: ClientAuth
    trust_stores: tuple[str, ...]
    trusted: tuple[x509.Certificate, ...]
    version: str | None
    order: Order = "client"
    tls13: bool = True
    """The listener negotiates TLS 1.3 (off: TLS 1.2 at most)."""
    sends_intermediates: bool = True
    verify_name: str | None = None
    """A name the client certificate's SAN must hold (Expressway-E's TLS verify subject name)."""


def _ecdsa_name(identity: str) -> str:
    return f"{identity}-ECDSA"


def _trusted(cluster: ClusterMaterial, stores: Sequence[str]) -> tuple[x509.Certificate, ...]:
    """Certificates present in every one of ``stores`` (order of the first)."""
    if not stores:
        return ()
    first = cluster.store_certs(stores[0])
    others = [
        {c.public_bytes(serialization.Encoding.DER) for c in cluster.store_certs(s)}
        for s in stores[1:]
    ]
    return tuple(
        c for c in first if all(c.public_bytes(serialization.Encoding.DER) in o for o in others)
    )


_PROTOCOLS: dict[Purpose, Protocol] = {
    Purpose.HTTPS: "http",
    Purpose.TFTP: "tftp",
    Purpose.SIP: "sip",
    Purpose.SIP_OAUTH: "sip",
    Purpose.XMPP: "xmpp",
    Purpose.TRAVERSAL: "sip",
}
"""What a listener speaks after the handshake, per purpose of the leg."""


def _rows(cluster: ClusterMaterial) -> list[LegRow]:
    """The rows of the leg table a node of ``cluster`` serves to Expressway-C."""
    spec = cluster.spec
    return [
        r
        for r in rows_to(EndpointKind(spec.product), client=EndpointKind.EXPRESSWAY_C)
        if r.exists(mixed=spec.security_mode == "mixed", sip_oauth=spec.sip_oauth)
    ]


def _order(cluster: ClusterMaterial, row: LegRow, server_first: bool) -> Order:
    """Who orders the certificate-type choice on this listener (see the module docstring)."""
    if row.ecdsa_always:
        # CUCM's "TLS Ciphers" orders the types on SIP TLS
        return "rsa" if cluster.spec.tls_ciphers == "rsa-preferred" else "ecdsa"
    return "rsa" if server_first else "client"


def plan_listeners(material: ScenarioMaterial) -> tuple[ListenerPlan, ...]:
    """Every listener the scenario's nodes need (see the module table)."""
    plans = []
    server_first = material.spec.server_cipher_preference
    for cluster in material.clusters:
        for node in cluster.nodes:
            for row in _rows(cluster):
                identity, stores = row.rsa_identity, row.server_stores
                rsa_ident = node.identities.get(identity)
                if rsa_ident is None:
                    continue
                # SIP TLS (CallManager) always allows EC; SIP OAuth and the HTTPS-like ports
                # follow HTTPS Ciphers, as the leg table says
                ec_enabled = row.ecdsa_always or cluster.spec.https_ciphers == "ec-and-rsa"
                ec_ident = (
                    node.identities.get(row.ecdsa_identity)
                    if ec_enabled and row.ecdsa_identity
                    else None
                )
                plans.append(
                    ListenerPlan(
                        cluster=cluster.name,
                        node=node.name,
                        product=cluster.spec.product,
                        role=row.port,
                        protocol=_PROTOCOLS[row.purpose],
                        identity=identity,
                        rsa=rsa_ident,
                        ecdsa=ec_ident,
                        client_auth=row.client_auth,
                        trust_stores=stores,
                        trusted=_trusted(cluster, stores),
                        version=cluster.spec.version,
                        order=_order(cluster, row, server_first),
                        tls13=cluster.spec.tls13,
                        sends_intermediates=cluster.spec.sends_intermediates,
                    )
                )
    plans.extend(_expressway_e_listeners(material))
    return tuple(plans)


EXPE_PRODUCT = EndpointKind.EXPRESSWAY_E.value


def _expressway_e_listeners(material: ScenarioMaterial) -> list[ListenerPlan]:
    """Expressway-E peers: the traversal rows (mutual TLS: Expressway-C's client certificate is
    checked against the peer's trusted CA list, for clientAuth, and for the TLS verify subject
    name in its SAN) and the edge row (8443), from the leg table. The SSH tunnel (2222) is not
    TLS and is not simulated."""
    exp_e = material.spec.expressway_e
    if exp_e is None:
        return []
    plans = []
    for peer in material.expe_peers:
        for row in rows_to(EndpointKind.EXPRESSWAY_E):
            if not row.tls:
                continue
            mutual = row.client is EndpointKind.EXPRESSWAY_C
            plans.append(
                ListenerPlan(
                    cluster=EXPE_PRODUCT,
                    node=peer.name,
                    product=EXPE_PRODUCT,
                    role=row.port,
                    protocol=_PROTOCOLS[row.purpose],
                    identity=row.rsa_identity,
                    rsa=peer.identity,
                    ecdsa=None,
                    client_auth=row.client_auth,
                    trust_stores=row.server_stores,
                    trusted=tuple(item.cert for item in peer.trusted) if mutual else (),
                    version=exp_e.version,
                    verify_name=exp_e.tls_verify_subject_name if mutual else None,
                    sends_intermediates=exp_e.sends_intermediates,
                )
            )
    return plans


# --------------------------------------------------------------------------- libssl shim


class _LibSsl:
    """``SSL_CTX_set_client_CA_list`` and ``SSL_CTX_set1_sigalgs_list`` for stdlib contexts."""

    _SET_SIGALGS_LIST = 98  # SSL_CTRL_SET_SIGALGS_LIST

    def __init__(self) -> None:
        self.lib: ctypes.CDLL | None = None
        self.reason = ""
        try:
            path = self._libssl_path()
            lib = ctypes.CDLL(path)
            lib.SSL_CTX_get_options.restype = ctypes.c_uint64
            lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
            lib.SSL_load_client_CA_file.restype = ctypes.c_void_p
            lib.SSL_load_client_CA_file.argtypes = [ctypes.c_char_p]
            lib.SSL_CTX_set_client_CA_list.restype = None
            lib.SSL_CTX_set_client_CA_list.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            lib.SSL_CTX_ctrl.restype = ctypes.c_long
            lib.SSL_CTX_ctrl.argtypes = [
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_long,
                ctypes.c_void_p,
            ]
            self.lib = lib
        except (OSError, AttributeError, StopIteration) as exc:
            self.reason = f"libssl not usable through ctypes: {exc}"

    @staticmethod
    def _libssl_path() -> str:
        maps = Path("/proc/self/maps")
        if maps.exists():
            for line in maps.read_text().splitlines():
                part = line.split()[-1]
                if Path(part).name.startswith("libssl.so"):
                    return part
        raise OSError("the libssl used by the ssl module was not found in /proc/self/maps")

    def _ctx(self, ctx: ssl.SSLContext) -> int | None:
        if self.lib is None:
            return None
        ptr = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
        if not ptr:
            return None
        # sanity check: the pointer must be the context whose options Python reports
        if int(self.lib.SSL_CTX_get_options(ptr)) != int(ctx.options):
            self.reason = "SSL_CTX pointer check failed"
            return None
        return int(ptr)

    def set_client_ca_file(self, ctx: ssl.SSLContext, path: Path) -> bool:
        ptr = self._ctx(ctx)
        if ptr is None or self.lib is None:
            return False
        names = self.lib.SSL_load_client_CA_file(os.fsencode(path))
        if not names:
            return False
        self.lib.SSL_CTX_set_client_CA_list(ptr, names)
        return True

    _NO_WILDCARDS_NO_SUBJECT = 0x2 | 0x20
    """X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT: the SAN only."""

    def set_verify_host(self, ctx: ssl.SSLContext, name: str) -> bool:
        """Make the context's own certificate verification require ``name`` in the peer's SAN.

        On a server context that is the client certificate: OpenSSL then fails the handshake
        with verify error 62 (hostname mismatch) and sends its alert, as Expressway-E does when
        the TLS verify subject name is not in Expressway-C's SAN.
        """
        ptr = self._ctx(ctx)
        if ptr is None or self.lib is None:
            return False
        try:
            get0 = self.lib.SSL_CTX_get0_param
            get0.restype = ctypes.c_void_p
            get0.argtypes = [ctypes.c_void_p]
            set1 = self.lib.X509_VERIFY_PARAM_set1_host
            set1.restype = ctypes.c_int
            set1.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
            flags = self.lib.X509_VERIFY_PARAM_set_hostflags
            flags.restype = None
            flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        except AttributeError as exc:
            self.reason = f"host verification not available through ctypes: {exc}"
            return False
        param = get0(ptr)
        if not param:
            return False
        raw = name.encode("ascii", "replace")
        flags(param, self._NO_WILDCARDS_NO_SUBJECT)
        return bool(set1(param, raw, len(raw)))

    _CTRL_MODE = 33  # SSL_CTRL_MODE
    _MODE_NO_AUTO_CHAIN = 0x8  # SSL_MODE_NO_AUTO_CHAIN

    def no_auto_chain(self, ctx: ssl.SSLContext) -> bool:
        """Stop OpenSSL from completing the server's chain from the context's verify store (a
        listener that also checks client certificates would otherwise send the intermediates
        it trusts)."""
        ptr = self._ctx(ctx)
        if ptr is None or self.lib is None:
            return False
        mode = self.lib.SSL_CTX_ctrl(ptr, self._CTRL_MODE, self._MODE_NO_AUTO_CHAIN, None)
        return bool(int(mode) & self._MODE_NO_AUTO_CHAIN)

    def set_sigalgs(self, ctx: ssl.SSLContext, sigalgs: str) -> bool:
        ptr = self._ctx(ctx)
        if ptr is None or self.lib is None:
            return False
        text = ctypes.create_string_buffer(sigalgs.encode())
        ok = self.lib.SSL_CTX_ctrl(
            ptr, self._SET_SIGALGS_LIST, 0, ctypes.cast(text, ctypes.c_void_p)
        )
        return bool(ok)


_LIBSSL: _LibSsl | None = None
_LIBSSL_LOCK = threading.Lock()


def _libssl() -> _LibSsl:
    global _LIBSSL
    with _LIBSSL_LOCK:
        if _LIBSSL is None:
            _LIBSSL = _LibSsl()
        return _LIBSSL


# --------------------------------------------------------------------------- contexts


def _write_identity(
    folder: Path, name: str, ident: Issued, *, intermediates: bool = True
) -> tuple[Path, Path]:
    cert = write_certs(folder / f"{name}.pem", ident.chain() if intermediates else (ident.cert,))
    key = write_key(folder / f"{name}.key", ident.key)
    return cert, key


def build_context(plan: ListenerPlan, folder: Path) -> tuple[ssl.SSLContext, list[str]]:
    """The server context of one listener; files (keys mode 0600) go to ``folder``.

    Returns the context and notes (what could not be configured).
    """
    notes: list[str] = []
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if plan.tls13 else ssl.TLSVersion.TLSv1_2
    chains = plan.sends_intermediates
    cert, key = _write_identity(folder, plan.identity, plan.rsa, intermediates=chains)
    ctx.load_cert_chain(cert, key)
    if plan.ecdsa is not None:
        name = _ecdsa_name(plan.identity)
        cert, key = _write_identity(folder, name, plan.ecdsa, intermediates=chains)
        ctx.load_cert_chain(cert, key)
    server_order = SERVER_ORDERS.get(plan.order)
    if server_order is not None:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        ctx.set_ciphers(server_order[0])
        if not _libssl().set_sigalgs(ctx, server_order[1]):
            notes.append("TLS 1.3 signature-algorithm order not set: " + _libssl().reason)
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if plan.client_auth != "none":
        ctx.verify_mode = ssl.CERT_REQUIRED if plan.client_auth == "required" else ssl.CERT_OPTIONAL
        if plan.trusted:
            ctx.load_verify_locations(cadata=certs_pem(plan.trusted).decode("ascii"))
            ca_file = write_certs(folder / f"client-cas-{plan.role}.pem", plan.trusted)
            if not _libssl().set_client_ca_file(ctx, ca_file):
                notes.append("client CA names not sent: " + (_libssl().reason or "unknown"))
        if not chains and not _libssl().no_auto_chain(ctx):
            raise LabError(
                "cannot make the lab's listener send its certificate alone: "
                + (_libssl().reason or "libssl not usable")
            )
        if plan.verify_name and not _libssl().set_verify_host(ctx, plan.verify_name):
            raise LabError(
                "cannot make the lab's Expressway-E check the TLS verify subject name: "
                + (_libssl().reason or "libssl not usable")
            )
    return ctx, notes


# --------------------------------------------------------------------------- log


class HandshakeLog:
    """Thread-safe JSON-lines log of every connection."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle = path.open("a", encoding="utf-8") if path is not None else None

    def write(self, **entry: Any) -> None:
        """Append one entry (with the time)."""
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        line = json.dumps(entry, sort_keys=False, default=str)
        with self._lock:
            if self._handle is not None:
                self._handle.write(line + "\n")
                self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every entry of a lab log."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# --------------------------------------------------------------------------- answers


def _http_answer(plan: ListenerPlan, request: bytes) -> bytes:
    line = request.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    parts = line.split()
    method, target = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
    status, ctype, body = "404 Not Found", "text/plain", f"not found: {target}\n"
    if method not in ("GET", "HEAD"):
        status, body = "405 Method Not Allowed", "only GET\n"
    elif plan.protocol == "tftp":
        name = target.rsplit("/", 1)[-1]
        if name.startswith("CSF") and name.endswith(".cnf.xml"):
            device = name.removesuffix(".cnf.xml")
            status, ctype = "200 OK", "application/xml"
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<device><deviceProtocol>SIP'
                f"</deviceProtocol><name>{device}</name><callManagerGroup><members><member>"
                f"<callManager><name>{plan.node}</name></callManager></member></members>"
                "</callManagerGroup></device>\n"
            )
    else:
        status, ctype = "200 OK", "application/xml"
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<versionInformation><product>'
            f"{plan.product}</product><version>{plan.version or 'unknown'}</version>"
            f"<node>{plan.node}</node><port>{plan.role}</port></versionInformation>\n"
        )
    data = body.encode()
    head = (
        f"HTTP/1.1 {status}\r\nServer: mratrust-lab\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head if method == "HEAD" else head + data


def _sip_answer(request: bytes) -> bytes:
    lines = request.decode("latin-1", "replace").split("\r\n")
    keep = [
        ln
        for ln in lines[1:]
        if ln.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")
    ]
    return ("\r\n".join(["SIP/2.0 200 OK", *keep, "Content-Length: 0", "", ""])).encode()


def _read_request(sock: ssl.SSLSocket, protocol: Protocol) -> bytes:
    data = b""
    while len(data) < MAX_REQUEST:
        try:
            chunk = sock.recv(4096)
        except (TimeoutError, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
        if protocol == "xmpp" or b"\r\n\r\n" in data:
            break
    return data


# --------------------------------------------------------------------------- servers


def _subject(der: bytes | None) -> str | None:
    if not der:
        return None
    try:
        return x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except ValueError:
        return "(unparsable certificate)"


def _failure(exc: ssl.SSLError) -> dict[str, Any]:
    """Classify a failed handshake: what we sent or received."""
    reason = str(getattr(exc, "reason", "") or "")
    out: dict[str, Any] = {"error": str(exc), "reason": reason or None}
    if isinstance(exc, ssl.SSLCertVerificationError):
        out["alert_sent"] = VERIFY_ERROR_ALERTS.get(exc.verify_code, "bad_certificate")
        out["verify_code"] = exc.verify_code
        out["verify_message"] = exc.verify_message
    elif reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE":
        out["alert_sent"] = "certificate_required (TLS 1.3) / handshake_failure (TLS 1.2)"
    elif reason == "NO_SHARED_CIPHER":
        out["alert_sent"] = "handshake_failure"
    elif reason.startswith(("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_")):
        out["alert_received"] = reason.split("_ALERT_", 1)[1].lower()
    return out


def _linger(tls: ssl.SSLSocket) -> None:
    """After a failed handshake: stop sending, drain what the client still sends, close.

    The fatal alert is already on the wire; closing with unread data would make the kernel send
    a reset, and a TLS 1.3 client that wrote its first request before reading would see a reset
    or EOF instead of the alert. Bounded by LINGER_SECONDS.
    """
    try:
        tls.shutdown(socket.SHUT_WR)  # drops the TLS layer; plain socket from here on
        tls.settimeout(LINGER_SECONDS)
        deadline = time.monotonic() + LINGER_SECONDS
        while time.monotonic() < deadline:
            if not tls.recv(4096):
                break
    except OSError:
        pass
    finally:
        tls.close()


@frozen
class Listener:
    """A running listener: its plan, context and bound socket."""

    plan: ListenerPlan
    context: ssl.SSLContext
    sock: socket.socket
    notes: tuple[str, ...]

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.sock.getsockname()[1])


class LabServers:
    """All listeners of a scenario on ``host``: start, serve (one selector thread), close.

    Connections are handled by a bounded thread pool; beyond ``MAX_CONNECTIONS`` in flight new
    ones are closed at once. ``close`` stops accepting, closes the sockets and waits for the
    handlers (each bounded by ``HANDSHAKE_TIMEOUT``).
    """

    def __init__(
        self,
        material: ScenarioMaterial,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
    ) -> None:
        self.material = material
        self.workdir = Path(workdir)
        self.host = host
        self.log = HandshakeLog(log_path)
        self.listeners: list[Listener] = []
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="lab-conn")
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def start(self) -> LabServers:
        """Bind every listener (ephemeral ports) and start serving."""
        if self._thread is not None:
            raise LabError("the lab servers are already started")
        try:
            for plan in plan_listeners(self.material):
                folder = self.workdir / _safe(plan.node) / str(plan.role)
                ctx, notes = build_context(plan, folder)
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.host, 0))
                sock.listen(32)
                sock.setblocking(False)
                listener = Listener(plan=plan, context=ctx, sock=sock, notes=tuple(notes))
                self.listeners.append(listener)
                self._selector.register(sock, selectors.EVENT_READ, listener)
                for note in notes:
                    self.log.write(node=plan.node, role=plan.role, outcome="note", note=note)
        except (OSError, ssl.SSLError) as exc:
            self.close()
            raise LabError(f"cannot start the lab listeners: {exc}") from exc
        self._thread = threading.Thread(target=self._serve, name="lab-accept", daemon=True)
        self._thread.start()
        return self

    @property
    def ports(self) -> dict[str, dict[int, int]]:
        """``{node: {port role: bound port}}``."""
        out: dict[str, dict[int, int]] = {}
        for lst in self.listeners:
            out.setdefault(lst.plan.node, {})[lst.plan.role] = lst.port
        return out

    def probe_targets(self) -> dict[str, ProbeAddress]:
        """``probe:`` entries for the inventory: every node on ``host`` with its ports."""
        return {
            node: ProbeAddress(host=self.host, ports=ports) for node, ports in self.ports.items()
        }

    def listener(self, node: str, role: int) -> Listener:
        """The listener of ``node`` on port role ``role``."""
        for lst in self.listeners:
            if lst.plan.node == node and lst.plan.role == role:
                return lst
        raise LabError(f"no listener for {node}:{role}")

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                events = self._selector.select(timeout=0.2)
            except (OSError, ValueError):
                break
            for key, _ in events:
                listener: Listener = key.data
                try:
                    conn, addr = listener.sock.accept()
                except (BlockingIOError, OSError):
                    continue
                if not self._slots.acquire(blocking=False):
                    conn.close()
                    self.log.write(
                        node=listener.plan.node, role=listener.plan.role, outcome="refused-busy"
                    )
                    continue
                try:
                    self._pool.submit(self._handle, listener, conn, addr)
                except RuntimeError:  # pool shut down
                    conn.close()
                    self._slots.release()

    def _handle(self, listener: Listener, conn: socket.socket, addr: Any) -> None:
        plan = listener.plan
        entry: dict[str, Any] = {
            "node": plan.node,
            "role": plan.role,
            "peer": f"{addr[0]}:{addr[1]}",
        }
        try:
            conn.setblocking(True)
            conn.settimeout(HANDSHAKE_TIMEOUT)
            tls = listener.context.wrap_socket(
                conn, server_side=True, do_handshake_on_connect=False
            )
            try:
                tls.do_handshake()
            except ssl.SSLEOFError as exc:
                entry.update(outcome="closed-by-client", error=str(exc))
                self.log.write(**entry)
                _linger(tls)
                return
            except ssl.SSLError as exc:
                entry.update(outcome="handshake-failed", **_failure(exc))
                self.log.write(**entry)
                _linger(tls)
                return
            except (OSError, TimeoutError) as exc:
                entry.update(outcome="no-handshake", error=str(exc) or type(exc).__name__)
                self.log.write(**entry)
                _linger(tls)
                return
            with tls:
                cipher = tls.cipher()
                entry.update(
                    outcome="ok",
                    version=tls.version(),
                    cipher=cipher[0] if cipher else None,
                    client_certificate=_subject(tls.getpeercert(binary_form=True)),
                )
                request = _read_request(tls, plan.protocol)
                entry["request"] = request.split(b"\r\n", 1)[0].decode("latin-1")[:200] or None
                try:
                    if plan.protocol in ("http", "tftp") and request:
                        tls.sendall(_http_answer(plan, request))
                    elif plan.protocol == "sip" and request:
                        tls.sendall(_sip_answer(request))
                    elif plan.protocol == "xmpp" and request:
                        tls.sendall(
                            b"<?xml version='1.0'?><stream:stream "
                            b"xmlns:stream='http://etherx.jabber.org/streams' from='"
                            + plan.node.encode()
                            + b"' version='1.0'>"
                        )
                except ssl.SSLError as exc:
                    entry.update(outcome="failed-after-handshake", **_failure(exc))
                except OSError as exc:
                    entry["send_error"] = str(exc)
                self.log.write(**entry)
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            self._slots.release()

    def close(self) -> None:
        """Stop accepting, close every socket and wait for the handlers (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for lst in self.listeners:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(lst.sock)
            with contextlib.suppress(OSError):
                lst.sock.close()
        with contextlib.suppress(OSError):
            self._selector.close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.log.close()

    def __enter__(self) -> LabServers:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in text) or "x"


@contextlib.contextmanager
def running(
    material: ScenarioMaterial, workdir: Path, *, log_path: Path | None = None
) -> Iterator[LabServers]:
    """Start the scenario's listeners for the duration of a ``with`` block."""
    servers = LabServers(material, workdir, log_path=log_path)
    servers.start()
    try:
        yield servers
    finally:
        servers.close()
