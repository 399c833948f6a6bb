"""HTTPS to the management interfaces: one httpx client, bounded in time and size.

Every request has a timeout, every run a deadline, every answer a size cap. The interfaces' own
certificates are verified (``api_trust`` or the system store) unless ``--insecure-api``. Host
names stay the TLS name (SNI, certificate check) and the Host header when ``addresses`` sends
the connection elsewhere. Errors become :class:`ApiError` with one line saying what to do; a
password never appears in one.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from pydantic import BaseModel, ConfigDict

from mratrust.collect.sources import Address
from mratrust.errors import InputError


class Loose(BaseModel):
    """The base of every response model: unknown fields are ignored (a newer release may add
    some), values are frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True)


DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


class ApiError(Exception):
    """A request that got no usable answer. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def tls_context(api_trust: Path | None, *, insecure: bool) -> ssl.SSLContext | bool:
    """What httpx verifies the management interfaces' certificates with."""
    if insecure:
        return False
    if api_trust is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(api_trust))
    except (OSError, ssl.SSLError) as exc:
        raise InputError(
            f"api_trust cannot be used as a CA file ({exc})",
            file=str(api_trust),
            hint="give the PEM file of the CA that issued the management interfaces' certificates",
        ) from None


class Api:
    """The one HTTP client of a collect run."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool,
        addresses: Callable[[str], Address],
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline if deadline is not None else time.monotonic() + 300.0
        self.max_bytes = max_bytes
        self.addresses = addresses
        # no keep-alive: a pooled connection is keyed by address, and two names may share one
        self.client = httpx.Client(
            verify=verify,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=0),
        )

    def close(self) -> None:
        self.client.close()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def request(
        self,
        method: str,
        host: str,
        port: int,
        path: str,
        *,
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Answer:
        """One request to ``https://host:port/path``; ApiError for anything but an answer."""
        budget = min(self.timeout, self.left())
        if budget <= 0:
            raise ApiError("the run's deadline passed before this request (raise --deadline)")
        address = self.addresses(host)
        target = address.api_port(port)
        where = f"{host}:{port}" + (
            f" (at {address.host}:{target})" if (address.host, target) != (host, port) else ""
        )
        url = f"https://{_bracket(address.host)}:{target}{path}"
        hdrs = {"Host": f"{host}:{port}", "Accept": "*/*", **(headers or {})}
        started = time.monotonic()
        try:
            with self.client.stream(
                method,
                url,
                headers=hdrs,
                content=content,
                auth=httpx.BasicAuth(*auth) if auth else None,
                timeout=httpx.Timeout(budget),
                extensions={"sni_hostname": host},
            ) as resp:
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise ApiError(
                        f"{where}{path}: the answer is {int(declared)} bytes, over the cap of "
                        f"{self.max_bytes}; not read"
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_raw():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ApiError(
                            f"{where}{path}: the answer is over the cap of {self.max_bytes} "
                            "bytes; not read"
                        )
                    if time.monotonic() - started > budget:
                        raise ApiError(
                            f"{where}{path}: the answer did not finish within {budget:.0f} s "
                            "(slow server); raise --deadline or check the system's load"
                        )
                    chunks.append(chunk)
                return Answer(
                    status=resp.status_code,
                    content_type=resp.headers.get("content-type", ""),
                    body=b"".join(chunks),
                )
        except ApiError:
            raise
        except httpx.ConnectError as exc:
            raise ApiError(_connect_words(exc, where)) from None
        except httpx.TimeoutException:
            raise ApiError(
                f"{where}: no answer within {budget:.0f} s; check that the interface runs and "
                "that a firewall lets this machine reach it"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(f"{where}{path}: {type(exc).__name__}: {_first_line(exc)}") from None


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]


def _connect_words(exc: httpx.ConnectError, where: str) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        reason = text.split("certificate verify failed:")[-1].strip(" )'\"") or "not trusted"
        return (
            f"{where}: the management interface's own TLS certificate did not verify "
            f"({reason[:200]}); put its CA in api_trust of the sources file (or run with "
            "--insecure-api, which turns checking off)"
        )
    if "SSL" in text or "TLS" in text or "handshake" in text.lower():
        return f"{where}: TLS with the management interface failed ({_first_line(exc)})"
    if "refused" in text.lower():
        return (
            f"{where}: connection refused; check the address and port, and that the "
            "interface is enabled"
        )
    return f"{where}: cannot connect ({_first_line(exc)}); check the address and port"


def require_ok(answer: Answer, *, where: str, credentials: str | None, role: str) -> None:
    """ApiError for an HTTP error status, in words that say what to do."""
    status = answer.status
    if status < 400:
        return
    who = f"the account of credentials {credentials!r}" if credentials else "the request"
    if status == 401:
        raise ApiError(
            f"{where}: {who} was refused (401 Unauthorized); check its user and password",
            status=status,
        )
    if status == 403:
        raise ApiError(
            f"{where}: {who} is not allowed (403 Forbidden); give that account {role}",
            status=status,
        )
    if status == 404:
        raise ApiError(
            f"{where}: not found (404); this system or version does not offer it", status=status
        )
    raise ApiError(f"{where}: HTTP {status}; see the system's logs", status=status)


def pem_certs(text: str | bytes) -> tuple[x509.Certificate, ...]:
    """Every certificate of a PEM text (ApiError when there is none or one is broken)."""
    data = text.encode() if isinstance(text, str) else text
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except (ValueError, x509.InvalidVersion) as exc:  # a version X.509 lacks is no ValueError
        raise ApiError(f"a certificate in the answer is not valid PEM ({exc})") from None


__all__ = ["Answer", "Api", "ApiError", "pem_certs", "require_ok", "tls_context"]
