"""One TLS handshake with hard time limits, and everything it shows.

The socket is non-blocking and every wait is bounded by a deadline, so no server — silent,
dripping one byte at a time, sending garbage, resetting, or pushing an endless chain — holds the
caller longer than the connect, handshake and read limits. pyOpenSSL's ``WantRead`` /
``WantWrite`` are retried only after the socket is ready, and only until the deadline.

The handshake is written as steps (:func:`handshake_steps`, a generator): every time it must wait
for a socket it yields a :class:`Wait` and is resumed with whether the socket became ready. One
thread can so drive many handshakes at once (:mod:`mratrust.probe.scheduler` polls every socket of
a run together), and :func:`handshake` drives one alone with ``poll``.

What the server did is recorded from OpenSSL's info callback (alerts by number, whether a
CertificateRequest came) rather than parsed out of error strings; the error strings are kept for
the report and classified through the tables in :mod:`mratrust.probe.outcome`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import os
import select
import socket
import threading
import time
from collections.abc import Generator
from enum import Enum
from typing import Any, NamedTuple

from cryptography import x509
from OpenSSL import SSL
from OpenSSL._util import ffi as _ffi
from OpenSSL._util import lib as _lib

from mratrust.probe.client import Offer, TlsVersion, Variant
from mratrust.probe.outcome import Alert, Outcome, outcome_for_alert, outcome_for_reason
from mratrust.probe.target import plain_name
from mratrust.threads import leave_signals_to_main
from mratrust.values import frozen

_CB_ALERT, _CB_READ, _CB_LOOP = SSL.SSL_CB_ALERT, SSL.SSL_CB_READ, SSL.SSL_CB_LOOP

_MAX_STEPS = 100_000
"""A backstop on retries of one OpenSSL call; the deadline ends the loop long before."""


@frozen
class Timeouts:
    """Time limits in seconds: per operation, and for a whole run."""

    connect: float = 3.0
    """TCP connection (name resolution is bounded by ``overall`` only)."""
    handshake: float = 5.0
    """From the ClientHello to the end of the handshake."""
    read: float = 1.0
    """TLS 1.3 only: how long to wait after the handshake for the server's verdict on our client
    certificate (an alert, a session ticket or the first bytes of its answer)."""
    overall: float = 120.0
    """The whole run: every handshake still going then is reported as a timeout."""

    def __post_init__(self) -> None:
        for name in ("connect", "handshake", "read", "overall"):
            if not getattr(self, name) > 0:
                raise ValueError(f"timeout {name} must be positive")


class Phase(Enum):
    """Where a handshake stopped."""

    QUEUE = "queue"
    """Waiting for a connection slot to this host (per-host limit) or for the run's deadline."""
    CONNECT = "connect"
    HANDSHAKE = "handshake"
    POST_HANDSHAKE = "post-handshake"


@frozen
class Handshake:
    """What one connection saw, before any verdict on the certificates."""

    variant: Variant
    completed: bool
    failure: Outcome | None = None
    phase: Phase | None = None
    detail: str | None = None
    """OpenSSL's reason string or the socket error, as raised."""
    alert: Alert | None = None
    """The alert the server sent, if any."""
    tls_version: str | None = None
    cipher: str | None = None
    chain: tuple[x509.Certificate, ...] = ()
    """The certificates the server presented, in the order it sent them."""
    client_cert_requested: bool = False
    client_ca_names: tuple[x509.Name, ...] = ()
    client_cert_sent: bool = False
    client_verdict: str | None = None
    """TLS 1.3 with a CertificateRequest: what showed that the server accepted the client
    certificate (a session ticket, its answer, or nothing before the read limit)."""
    address: str | None = None
    """The address actually connected to."""
    elapsed: float = 0.0
    same_as: Variant | None = None
    """Set when this offer was not made again because another one (the default) already
    negotiated exactly it: same TLS version, same certificate type. Everything else is a copy."""


class _Expired(Exception):
    """A deadline passed while waiting for the socket."""


_REQUESTED, _WROTE_CERT, _TICKET = 1, 2, 3
"""What a handshake state means to :class:`_Watch` (0: nothing)."""

_STATE_KIND: dict[Any, int] = {}
"""OpenSSL's state names, by the address of the constant string it returns for each state: a
state is classified once per run, not once per callback."""


def _state_kind(name: bytes) -> int:
    if b"certificate request" in name and b"read" in name:
        return _REQUESTED
    if b"write client certificate" in name:
        return _WROTE_CERT
    if b"session ticket" in name:
        return _TICKET
    return 0


def _ssl_of(conn: SSL.Connection) -> Any:
    """The OpenSSL ``SSL *`` behind ``conn`` (pyOpenSSL keeps it as ``_ssl``; no public name)."""
    handle: Any = getattr(conn, "_ssl", None)
    if handle is None:
        raise RuntimeError("pyOpenSSL Connection has no _ssl handle")
    return handle


class _Watch:
    """Filled in by OpenSSL's info callback while the handshake runs.

    The callback goes to OpenSSL directly (``SSL_set_info_callback``), without pyOpenSSL's
    wrapper: it runs about 17 times per handshake, and the wrapper's look-up of the Connection
    and the copy of the state's name each time were a tenth of the client's CPU per handshake.
    """

    __slots__ = (
        "alert_in",
        "callback",
        "done",
        "failure",
        "requested",
        "ssl",
        "ticket_after",
        "wrote_cert",
    )

    def __init__(self, conn: SSL.Connection) -> None:
        self.alert_in: int | None = None
        self.requested = False
        self.wrote_cert = False
        self.done = False
        self.ticket_after = False
        self.failure: BaseException | None = None
        """What the callback raised (see :meth:`_on_error`), until :meth:`raise_failure`."""
        self.ssl: Any = _ssl_of(conn)
        self.callback: Any = _ffi.callback(
            "void (*)(const SSL *, int, int)", self._on_info, onerror=self._on_error
        )
        """Kept here while OpenSSL may call it: OpenSSL holds only its address."""
        _lib.SSL_set_info_callback(self.ssl, self.callback)

    def detach(self) -> None:
        """OpenSSL calls the callback no more, and the callback is let go (it holds this watch
        through its bound method: a cycle the garbage collector would otherwise have to find)."""
        _lib.SSL_set_info_callback(self.ssl, _ffi.NULL)
        self.callback = None

    def _on_error(self, kind: type[BaseException], value: BaseException, tb: Any) -> None:
        """cffi's hook for an exception the callback raised, which OpenSSL cannot take: it is
        kept and raised once OpenSSL has returned (:meth:`raise_failure`). A Ctrl-C that lands
        while the callback runs is one: left to cffi, it would be printed and dropped, and the
        probe would go on waiting for its handshake's time limit."""
        if self.failure is None:
            self.failure = value

    def raise_failure(self) -> None:
        """Raise what the callback raised, if anything (once)."""
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure

    def _on_info(self, ssl: Any, where: int, ret: int) -> None:
        if where & _CB_ALERT:
            if where & _CB_READ and self.alert_in is None:
                self.alert_in = ret & 0xFF
            return
        if not where & _CB_LOOP:
            return
        name = _lib.SSL_state_string_long(ssl)
        kind = _STATE_KIND.get(name)
        if kind is None:
            kind = _STATE_KIND[name] = _state_kind(_ffi.string(name))
        if kind == _REQUESTED:
            self.requested = True
        elif kind == _WROTE_CERT:
            self.wrote_cert = True
        elif kind == _TICKET and self.done:
            self.ticket_after = True


class Wait(NamedTuple):
    """What a handshake step waits for: file descriptor ``fd`` readable (or writable), at the
    latest until ``deadline`` (a :func:`time.monotonic` value). The step is resumed with True when
    the descriptor is ready, False when the deadline passed first."""

    fd: int
    write: bool
    deadline: float


Steps = Generator[Wait, bool, Any]
"""A generator of :class:`Wait` requests that returns its result when done."""


def _wait(sock: socket.socket, *, write: bool, deadline: float) -> Generator[Wait, bool, None]:
    if deadline - time.monotonic() <= 0:
        raise _Expired
    ready = yield Wait(sock.fileno(), write, deadline)
    if not ready and deadline <= time.monotonic():
        raise _Expired


def _drive(sock: socket.socket, op: Any, deadline: float, watch: _Watch | None = None) -> Steps:
    """Call ``op`` until it neither wants to read nor to write, waiting for the socket between
    calls; after each call, what ``watch``'s callback raised meanwhile is raised in its place."""
    for _ in range(_MAX_STEPS):
        try:
            try:
                return op()
            finally:
                if watch is not None and watch.failure is not None:
                    watch.raise_failure()
        except SSL.WantReadError:
            yield from _wait(sock, write=False, deadline=deadline)
        except SSL.WantWriteError:
            yield from _wait(sock, write=True, deadline=deadline)
    raise _Expired


def poll_one(wait: Wait) -> bool:
    """Block until ``wait.fd`` is ready or ``wait.deadline`` passes; True when it is ready."""
    remaining = max(wait.deadline - time.monotonic(), 0.0)
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(wait.fd, select.POLLOUT if wait.write else select.POLLIN)
        return bool(poller.poll(remaining * 1000))
    # pragma: no cover - Windows
    fds = [wait.fd]
    r, w, _ = select.select([] if wait.write else fds, fds if wait.write else [], [], remaining)
    return bool(r or w)


def run_steps(steps: Steps) -> Any:
    """Drive ``steps`` alone to the end, waiting with :func:`poll_one`; returns its result."""
    try:
        wait = next(steps)
        while True:
            wait = steps.send(poll_one(wait))
    except StopIteration as stop:
        return stop.value


_ERRNO_OUTCOME: dict[int, Outcome] = {
    errno.ECONNREFUSED: Outcome.REFUSED,
    errno.ETIMEDOUT: Outcome.TIMEOUT,
    errno.EHOSTUNREACH: Outcome.UNREACHABLE,
    errno.ENETUNREACH: Outcome.UNREACHABLE,
    errno.EADDRNOTAVAIL: Outcome.UNREACHABLE,
    errno.ECONNRESET: Outcome.RESET,
    errno.ECONNABORTED: Outcome.RESET,
    errno.EPIPE: Outcome.RESET,
}
"""Socket errors by errno; anything else while connecting is UNREACHABLE, later RESET."""


def _resolve(host: str, port: int, deadline: float) -> Steps:
    """``getaddrinfo`` bounded by ``deadline``: it runs in a daemon thread (which leaves Ctrl-C to
    the main thread), so a resolver that never answers neither holds the caller nor keeps the
    process alive at exit. The thread says it is done by writing to a socket pair, which the
    step waits on like any other socket.

    A name goes to the resolver as bytes when it is plain ASCII (:func:`.target.plain_name`):
    given a string, ``getaddrinfo`` would load the IDNA codec to encode it, to the same bytes."""
    wire = plain_name(host) or host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:  # a literal address needs no resolver
        return socket.getaddrinfo(wire, port, type=socket.SOCK_STREAM)
    box: dict[str, Any] = {}
    done, signal_done = socket.socketpair()

    def run() -> None:
        leave_signals_to_main()
        try:
            box["infos"] = socket.getaddrinfo(wire, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc
        finally:
            with contextlib.suppress(OSError):  # the caller gave up and closed its end
                signal_done.send(b".")
            signal_done.close()

    try:
        threading.Thread(target=run, name="mratrust-resolve", daemon=True).start()
        if deadline - time.monotonic() > 0:
            yield Wait(done.fileno(), False, deadline)
        if "infos" not in box and "error" not in box:
            raise TimeoutError(f"{host} did not resolve in time")
    finally:
        done.close()
    if "error" in box:
        raise box["error"]
    infos: list[Any] = box["infos"]
    return infos


Resolved = dict[tuple[str, int], list[Any]]
"""Addresses already resolved in a run, by (host, port): one lookup per endpoint, not per offer."""


def _connect(host: str, port: int, deadline: float, resolved: Resolved | None = None) -> Steps:
    """A connected non-blocking socket to the first address of ``host`` that answers."""
    infos = resolved.get((host, port)) if resolved is not None else None
    if infos is None:
        infos = yield from _resolve(host, port, deadline)
        if resolved is not None:
            resolved[(host, port)] = infos
    last: OSError = OSError(errno.EHOSTUNREACH, "no address")
    for family, kind, proto, _, addr in infos:
        if deadline - time.monotonic() <= 0:
            raise TimeoutError("connect timed out")
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(addr)
            if code in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
                try:
                    yield from _wait(sock, write=True, deadline=deadline)
                except _Expired:
                    raise TimeoutError("connect timed out") from None
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
        except OSError as exc:
            sock.close()
            last = exc
            if isinstance(exc, TimeoutError):
                raise
            continue
        except BaseException:  # closed by the caller (deadline) or interrupted
            sock.close()
            raise
        return sock
    raise last


@functools.lru_cache(maxsize=4096)
def _sni(name: str) -> bytes:
    """``name`` as the SNI extension carries it (IDNA): once per name, not once per offer.

    A plain ASCII name (:func:`.target.plain_name`) is encoded without loading the codec (with
    its Unicode tables, ~4 ms); anything else goes through the codec, which also raises for an
    empty or over-long label.
    """
    plain = plain_name(name)
    return plain if plain is not None else name.encode("idna")


Seen = dict[bytes, x509.Certificate]
"""Certificates already received in a run, by their DER: a server sends the same ones to every
offer, and each is parsed once (one object, whose facts are computed once)."""


def _peer_chain(conn: SSL.Connection, seen: Seen | None = None) -> tuple[x509.Certificate, ...]:
    """The certificates the server sent, in its order (read straight from OpenSSL's stack)."""
    stack = _lib.SSL_get_peer_cert_chain(_ssl_of(conn))
    if stack == _ffi.NULL:
        return ()
    chain: list[x509.Certificate] = []
    for i in range(_lib.sk_X509_num(stack)):
        der = _der_of(_lib.sk_X509_value(stack, i))
        cert = seen.get(der) if seen is not None else None
        if cert is None:
            cert = x509.load_der_x509_certificate(der)
            if seen is not None:
                seen[der] = cert
        chain.append(cert)
    return tuple(chain)


def _der_of(cert: Any) -> bytes:
    """The DER of an OpenSSL ``X509 *``."""
    bio = _lib.BIO_new(_lib.BIO_s_mem())
    if bio == _ffi.NULL:
        raise MemoryError("OpenSSL could not allocate a memory BIO")
    try:
        if _lib.i2d_X509_bio(bio, cert) != 1:
            _lib.ERR_clear_error()
            raise ValueError("OpenSSL could not encode a received certificate")
        data = _ffi.new("char **")
        size = _lib.BIO_get_mem_data(bio, data)
        return bytes(_ffi.buffer(data[0], size))
    finally:
        _lib.BIO_free(bio)


def _ca_names(conn: SSL.Connection) -> tuple[x509.Name, ...]:
    get: Any = conn.get_client_ca_list
    return tuple(get(as_cryptography=True) or ())


def _reason(exc: SSL.Error) -> str:
    errors = exc.args[0] if exc.args else None
    if isinstance(errors, list) and errors:
        last = errors[-1]
        if isinstance(last, tuple) and last:
            return str(last[-1])
    return str(exc) or type(exc).__name__


def handshake(
    host: str,
    port: int,
    *,
    offer: Offer,
    server_name: str | None,
    timeouts: Timeouts,
    deadline: float,
    check_client_rejection: bool = True,
    resolved: Resolved | None = None,
    seen: Seen | None = None,
) -> Handshake:
    """Connect to ``host:port`` and make the handshake of ``offer``; never raises for I/O.

    The blocking form of :func:`handshake_steps`: it waits for its own socket alone.
    """
    result: Handshake = run_steps(
        handshake_steps(
            host,
            port,
            offer=offer,
            server_name=server_name,
            timeouts=timeouts,
            deadline=deadline,
            check_client_rejection=check_client_rejection,
            resolved=resolved,
            seen=seen,
        )
    )
    return result


def handshake_steps(
    host: str,
    port: int,
    *,
    offer: Offer,
    server_name: str | None,
    timeouts: Timeouts,
    deadline: float,
    check_client_rejection: bool = True,
    resolved: Resolved | None = None,
    seen: Seen | None = None,
) -> Steps:
    """The steps of one handshake (see :func:`handshake`): a generator that yields a
    :class:`Wait` whenever it needs a socket ready and returns the :class:`Handshake`.

    ``resolved`` (shared by the handshakes of a run) keeps the addresses a name resolved to, so
    the other offers to the same endpoint connect to them without asking the resolver again;
    ``seen`` (shared too) the certificates received, so each is parsed once.

    ``deadline`` (a :func:`time.monotonic` value) caps every per-operation limit. With TLS 1.3 and
    a CertificateRequest, one read after the handshake (at most ``timeouts.read``) tells whether
    the server rejected the client certificate: it sends its alert after the handshake, and a
    session ticket when it accepted.
    """
    start = time.monotonic()
    if offer.context is None:
        return Handshake(
            variant=offer.variant,
            completed=False,
            failure=Outcome.SKIPPED,
            detail=offer.skipped,
        )

    def done(**kw: Any) -> Handshake:
        return Handshake(variant=offer.variant, elapsed=time.monotonic() - start, **kw)

    try:
        sock = yield from _connect(host, port, min(start + timeouts.connect, deadline), resolved)
    except TimeoutError:
        return done(
            completed=False,
            failure=Outcome.TIMEOUT,
            phase=Phase.CONNECT,
            detail=f"no TCP answer within {timeouts.connect:g} s",
        )
    except socket.gaierror as exc:
        return done(
            completed=False,
            failure=Outcome.UNREACHABLE,
            phase=Phase.CONNECT,
            detail=f"{host} does not resolve ({exc.strerror})",
        )
    except OSError as exc:
        outcome = _ERRNO_OUTCOME.get(exc.errno or 0, Outcome.UNREACHABLE)
        return done(
            completed=False,
            failure=outcome,
            phase=Phase.CONNECT,
            detail=exc.strerror or str(exc),
        )
    address = None
    watch: _Watch | None = None
    try:
        peer = sock.getpeername()
        address = str(peer[0])
        conn = SSL.Connection(offer.context, sock)
        watch = _Watch(conn)
        if server_name:
            conn.set_tlsext_host_name(_sni(server_name))
        conn.set_connect_state()
        return (
            yield from _run(
                conn,
                sock,
                offer,
                watch,
                timeouts,
                deadline,
                address,
                server_name or address,
                done,
                check_client_rejection,
                seen,
            )
        )
    finally:
        if watch is not None:
            watch.detach()
        sock.close()
        if watch is not None:  # a Ctrl-C in the callback during the closing alert, say
            watch.raise_failure()


def _run(
    conn: SSL.Connection,
    sock: socket.socket,
    offer: Offer,
    watch: _Watch,
    timeouts: Timeouts,
    deadline: float,
    address: str,
    host: str,
    done: Any,
    check_client_rejection: bool,
    seen: Seen | None,
) -> Steps:
    hs_deadline = min(time.monotonic() + timeouts.handshake, deadline)
    failure: Outcome | None = None
    phase: Phase | None = None
    detail: str | None = None
    completed = False
    try:
        yield from _drive(sock, conn.do_handshake, hs_deadline, watch)
        completed = True
        watch.done = True
    except _Expired:
        failure, phase = Outcome.TIMEOUT, Phase.HANDSHAKE
        detail = f"no complete handshake within {timeouts.handshake:g} s"
    except SSL.ZeroReturnError:
        failure, phase, detail = Outcome.RESET, Phase.HANDSHAKE, "closed with close_notify"
    except SSL.SysCallError as exc:
        failure, phase = Outcome.RESET, Phase.HANDSHAKE
        detail = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    except SSL.Error as exc:
        phase, detail = Phase.HANDSHAKE, _reason(exc)
        failure = _classify(detail, watch)
    except OSError as exc:
        failure, phase = _ERRNO_OUTCOME.get(exc.errno or 0, Outcome.RESET), Phase.HANDSHAKE
        detail = exc.strerror or str(exc)

    if failure is Outcome.RESET and watch.requested and watch.wrote_cert and watch.alert_in is None:
        failure = Outcome.CLIENT_REJECTED
        detail = f"closed without an alert after the client certificate ({detail})"
    version = conn.get_protocol_version_name() if completed else None
    accepted_by: str | None = None
    if (
        completed
        and check_client_rejection
        and watch.requested
        and version == TlsVersion.TLS1_3.value
    ):
        failure, phase, detail, accepted_by = yield from _after_handshake(
            conn, sock, watch, timeouts, deadline, host
        )

    chain = _peer_chain(conn, seen)
    alert = Alert.from_code(watch.alert_in) if watch.alert_in is not None else None
    sent = watch.wrote_cert and offer.context is not None and _has_cert(conn)
    result: Handshake = done(
        completed=completed,
        failure=failure,
        phase=phase,
        detail=detail,
        alert=alert,
        tls_version=version,
        cipher=conn.get_cipher_name() if completed else None,
        chain=chain,
        client_cert_requested=watch.requested,
        client_ca_names=_ca_names(conn) if watch.requested else (),
        client_cert_sent=sent,
        client_verdict=accepted_by,
        address=address,
    )
    if completed and failure is None:
        with contextlib.suppress(SSL.Error, OSError):
            conn.shutdown()  # one close_notify, no wait for the answer
    return result


def _has_cert(conn: SSL.Connection) -> bool:
    return conn.get_certificate() is not None


def _classify(reason: str, watch: _Watch) -> Outcome:
    if watch.alert_in is not None:
        return outcome_for_alert(
            Alert.from_code(watch.alert_in), client_cert_requested=watch.requested
        )
    return outcome_for_reason(reason)


def _request(host: str) -> bytes:
    """A minimal HTTP request: servers that send no session ticket answer it (Tomcat, JSSE,
    ``openssl s_server -www``); a rejecting server has sent its alert before it reads it."""
    return f"GET / HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


def _after_handshake(
    conn: SSL.Connection,
    sock: socket.socket,
    watch: _Watch,
    timeouts: Timeouts,
    deadline: float,
    host: str,
) -> Generator[Wait, bool, tuple[Outcome | None, Phase | None, str | None, str | None]]:
    """Wait for the server's verdict on the client certificate after a TLS 1.3 handshake.

    Under TLS 1.3 the client's Finished ends the handshake before the server has judged the
    certificate: the verdict comes after. An alert means it was refused; a session ticket or the
    first bytes of the answer to a minimal request mean it was accepted; nothing within
    ``timeouts.read`` is taken as accepted, and said so. Returns (failure, phase, detail,
    how it was accepted).
    """
    read_deadline = min(time.monotonic() + timeouts.read, deadline)
    with contextlib.suppress(_Expired, SSL.Error, OSError):
        yield from _drive(sock, lambda: conn.sendall(_request(host)), read_deadline, watch)

    def read_once() -> bytes:
        while True:
            try:
                return conn.recv(1)
            except SSL.WantReadError:
                if watch.ticket_after:  # a session ticket: the server accepted us
                    return b""
                raise

    try:
        got = yield from _drive(sock, read_once, read_deadline, watch)
    except _Expired:
        return (
            None,
            None,
            None,
            f"no alert within {timeouts.read:g} s after the handshake (taken as accepted)",
        )
    except SSL.ZeroReturnError:
        return (
            Outcome.CLIENT_REJECTED,
            Phase.POST_HANDSHAKE,
            "closed right after the handshake without an answer (close_notify, no alert)",
            None,
        )
    except SSL.SysCallError as exc:
        detail = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        if watch.alert_in is not None:
            alert = Alert.from_code(watch.alert_in)
            outcome = outcome_for_alert(alert, client_cert_requested=True)
            return outcome, Phase.POST_HANDSHAKE, detail, None
        # JSSE (Tomcat, HttpsServer) refuses a client certificate by closing, without an alert
        return (
            Outcome.CLIENT_REJECTED,
            Phase.POST_HANDSHAKE,
            f"closed right after the handshake without an alert and without an answer ({detail})",
            None,
        )
    except SSL.Error as exc:
        reason = _reason(exc)
        return _classify(reason, watch), Phase.POST_HANDSHAKE, reason, None
    except OSError as exc:
        return Outcome.RESET, Phase.POST_HANDSHAKE, exc.strerror or str(exc), None
    how = "it answered the request" if got else "it sent a session ticket"
    return None, None, None, how


__all__ = [
    "Handshake",
    "Phase",
    "Steps",
    "Timeouts",
    "Wait",
    "handshake",
    "handshake_steps",
    "poll_one",
    "run_steps",
]
