"""Read certificates from the files CUCM, Expressway and CAs hand out.

Accepted: PEM with one or many blocks and any text around them (CUCM and Expressway exports have
headers and descriptions), DER, PKCS#7 (``.p7b``, PEM or DER), PKCS#12 (with a password) and
folders (their files in name order). Every failure is an :class:`InputError` naming the file.
Private keys found in a file are skipped, never kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mratrust.errors import InputError, InputErrors
from mratrust.values import frozen

_BLOCK_RE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)(?:-----END \1-----|(?=-----BEGIN )|\Z)",
    re.DOTALL,
)
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_P7_LABELS = {b"PKCS7", b"CERTIFICATE CHAIN"}
MAX_FILE_BYTES = 16 * 1024 * 1024
_SHA256 = hashes.SHA256()
_UNREADABLE = (ValueError, x509.InvalidVersion)
"""What cryptography raises for bytes that are no certificate it can read: a version X.509 does
not have (``InvalidVersion``) is not a ``ValueError``."""


DerOf = dict[int, tuple[x509.Certificate, bytes]]
"""The DER of certificates read from plain PEM, by the certificate's id, with the certificate
(which keeps the id from being reused while the entry lives)."""


@frozen
class LoadedCert:
    """A certificate and where it came from (file and position in it)."""

    cert: x509.Certificate
    source: str
    index: int

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cert)


def fingerprint(cert: x509.Certificate) -> str:
    """``sha256:<hex>`` of the DER encoding."""
    return "sha256:" + cert.fingerprint(_SHA256).hex()


def der_fingerprint(der: bytes) -> str:
    """:func:`fingerprint` of the certificate whose ``public_bytes(Encoding.DER)`` is ``der``
    (cryptography's fingerprint hashes those very bytes), for a caller that has them already."""
    return "sha256:" + hashlib.sha256(der).hexdigest()


@frozen
class PemBlock:
    """One ``-----BEGIN label-----`` block: its label, body, and whether it was closed."""

    label: bytes
    body: bytes
    closed: bool
    offset: int


def scan_pem(data: bytes) -> list[PemBlock]:
    """Every PEM block in ``data``, in order, with the text around them ignored."""
    blocks: list[PemBlock] = []
    for match in _BLOCK_RE.finditer(data):
        label = match.group(1).strip()
        closed = match.group(0).rstrip().endswith(b"-----END " + match.group(1) + b"-----")
        blocks.append(
            PemBlock(label=label, body=match.group(2), closed=closed, offset=match.start())
        )
    return blocks


def _b64(body: bytes) -> bytes:
    lines = [ln.strip() for ln in body.splitlines()]
    # headers such as "Proc-Type:" inside the block are not base64
    text = b"".join(ln for ln in lines if ln and b":" not in ln)
    return base64.b64decode(text, validate=True)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


_SLOW_LABELS = (b"PKCS7", b"CERTIFICATE CHAIN", b"TRUSTED CERTIFICATE", b"X509 CERTIFICATE")


def _has_slow_label(data: bytes) -> bool:
    """``BEGIN `` followed by one of ``_SLOW_LABELS`` anywhere in ``data``.

    One pass over the places ``BEGIN `` occurs (a file has one or a few) instead of one search
    of the whole file per label.
    """
    at = data.find(b"BEGIN ")
    while at >= 0:
        if data.startswith(_SLOW_LABELS, at + 6):
            return True
        at = data.find(b"BEGIN ", at + 1)
    return False


_BEGIN_CERT = b"-----BEGIN CERTIFICATE-----"
_END_CERT = b"-----END CERTIFICATE-----"


def _plain_pem(data: bytes, ders: DerOf | None) -> list[x509.Certificate] | None:
    """The certificates of a file made of plain ``CERTIFICATE`` blocks (base64 lines and
    nothing else between BEGIN and END, any text around them, markers with their five dashes
    apart from anything else), decoded here; None for any other file, which the caller reads
    as it always has. It never reads a certificate the older reader would not.

    cryptography's PEM reader takes about 20 us a certificate; base64 decoded here and the DER
    read by cryptography take 12, and leave the DER at hand: ``public_bytes(DER)``, which the
    facts need, encodes the certificate anew (another 13 us). ``ders`` receives each
    certificate's DER by the certificate's id.
    """
    certs: list[x509.Certificate] = []
    read: list[bytes] = []
    at = data.find(_BEGIN_CERT)
    while at >= 0:
        if at and data[at - 1] == 0x2D:  # "------BEGIN": a marker cryptography's reader skips
            return None
        start = at + len(_BEGIN_CERT)
        end = data.find(_END_CERT, start)
        if end < 0:
            return None
        try:
            # only base64 is left once the line ends are gone, or strict decoding refuses it
            der = binascii.a2b_base64(data[start:end].translate(None, b"\r\n"), strict_mode=True)
            certs.append(x509.load_der_x509_certificate(der))
        except (binascii.Error, *_UNREADABLE):
            return None
        read.append(der)
        # past the whole END marker: a BEGIN sharing its dashes is no block to either reader
        at = data.find(_BEGIN_CERT, end + len(_END_CERT))
    # another kind of block anywhere (a key, a PKCS#7 chain): the file is read as before
    if not certs or data.count(b"-----BEGIN ") != len(certs):
        return None
    if ders is not None:
        for cert, der in zip(certs, read, strict=True):
            ders[id(cert)] = (cert, der)
    return certs


def _from_pem(
    data: bytes, source: str, password: bytes | None, ders: DerOf | None = None
) -> list[x509.Certificate]:
    if not _has_slow_label(data):
        plain = _plain_pem(data, ders)
        if plain is not None:
            return plain
        try:  # the common case, in one native call; the scanner below explains any failure
            return x509.load_pem_x509_certificates(data)
        except _UNREADABLE:
            pass
    certs: list[x509.Certificate] = []
    for block in scan_pem(data):
        line = _line_of(data, block.offset)
        if block.label in _CERT_LABELS or block.label in _P7_LABELS:
            if not block.closed:
                raise InputError(
                    f"the {block.label.decode()} block is truncated (no END line)",
                    file=source,
                    line=line,
                    hint="export the certificate again, or copy the whole block",
                )
            try:
                der = _b64(block.body)
            except (binascii.Error, ValueError) as exc:
                raise InputError(
                    f"the {block.label.decode()} block is not valid base64",
                    file=source,
                    line=line,
                    hint="export the certificate again",
                ) from exc
            if block.label in _P7_LABELS:
                certs.extend(_from_p7_der(der, source, line))
                continue
            try:
                certs.append(x509.load_der_x509_certificate(der))
            except _UNREADABLE as exc:
                raise InputError(
                    f"the certificate block is damaged or truncated ({exc})",
                    file=source,
                    line=line,
                    hint="export the certificate again",
                ) from exc
        # private keys, CSRs and anything else are skipped on purpose
    return certs


def _p7_certs(der: bytes) -> list[x509.Certificate]:
    """The certificates of a PKCS#7 structure (ValueError when it is not one).

    ``openssl crl2pkcs7`` writes the certificate SET in the order given, which strict DER forbids;
    cryptography then reads it as BER and says so with a UserWarning. The certificates are the
    same either way, so that warning is not passed on to the user.
    """
    from cryptography.hazmat.primitives.serialization import pkcs7  # rare: not at start-up

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PKCS#7 certificates could not be parsed as DER", category=UserWarning
        )
        return list(pkcs7.load_der_pkcs7_certificates(der))


def _from_p7_der(der: bytes, source: str, line: int | None = None) -> list[x509.Certificate]:
    try:
        return _p7_certs(der)
    except _UNREADABLE as exc:
        raise InputError(
            f"the PKCS#7 structure could not be read ({exc})",
            file=source,
            line=line,
            hint="export it again as .p7b or as PEM certificates",
        ) from exc


def _from_der(data: bytes, source: str, password: bytes | None) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        pass
    except x509.InvalidVersion as exc:  # a certificate, of a version X.509 does not have
        raise InputError(
            f"the certificate is damaged ({exc})", file=source, hint="export it again"
        ) from exc
    try:
        return _p7_certs(data)
    except ValueError:
        pass
    except x509.InvalidVersion as exc:
        raise InputError(
            f"the PKCS#7 structure could not be read ({exc})",
            file=source,
            hint="export it again as .p7b or as PEM certificates",
        ) from exc
    return _from_p12(data, source, password)


def _looks_like_p12(data: bytes) -> bool:
    # PFX: SEQUENCE { INTEGER 3, ContentInfo ... }
    return len(data) > 8 and data[0] == 0x30 and b"\x02\x01\x03" in data[:8]


def _from_p12(data: bytes, source: str, password: bytes | None) -> list[x509.Certificate]:
    if not _looks_like_p12(data):
        raise InputError(
            "not a certificate: no PEM block and not DER, PKCS#7 or PKCS#12",
            file=source,
            hint="give a certificate file (.pem, .cer, .der, .p7b, .p12/.pfx)",
        )
    from cryptography.hazmat.primitives.serialization import pkcs12  # rare: not at start-up

    try:
        loaded = pkcs12.load_pkcs12(data, password)
    except x509.InvalidVersion as exc:
        raise InputError(
            f"PKCS#12 file is damaged ({exc})", file=source, hint="export it again"
        ) from exc
    except ValueError as exc:
        message = str(exc).lower()
        if "password" in message or "mac" in message or password is None:
            what = "no password was given" if password is None else "the password is wrong"
            raise InputError(
                f"PKCS#12 file could not be opened: {what}",
                file=source,
                hint="give it with --password, --password-file or MRATRUST_P12_PASSWORD",
            ) from exc
        raise InputError(
            f"PKCS#12 file is damaged ({exc})", file=source, hint="export it again"
        ) from exc
    certs: list[x509.Certificate] = []
    if loaded.cert is not None:
        certs.append(loaded.cert.certificate)
    certs.extend(c.certificate for c in loaded.additional_certs)
    return certs


class MissingFile(InputError):
    """A certificate file that does not exist (the caller may say where relative paths start)."""


class _IsAFolder(InputError):
    """load_file was given a folder (load_path then reads its files)."""


def _read_bounded(fd: int) -> bytes:
    """At most ``MAX_FILE_BYTES + 1`` bytes: a pipe or a device has no size to trust.

    Read in pieces the size of the file (or 64 KiB): one ``read(MAX_FILE_BYTES + 1)`` would
    allocate 16 MiB for every certificate file of an inventory.
    """
    info = os.fstat(fd)
    size = info.st_size
    regular = stat.S_ISREG(info.st_mode)
    piece = size + 1 if 0 < size <= MAX_FILE_BYTES else 65536
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_FILE_BYTES:
        want = min(piece, MAX_FILE_BYTES + 1 - total)
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if regular and len(chunk) < want:
            break  # a regular file's short read is its end: no second read to find it
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


Parsed = dict[bytes, tuple[x509.Certificate, ...]]
"""Certificates already read, by the SHA-256 digest of their file's bytes (see :func:`load_file`).

By the digest, not by the bytes themselves: holding every file's bytes until the inventory is
loaded (27 MB at 10,000 nodes) left that much memory free but scattered between the
certificates when it was let go, too fragmented for anything later to reuse. Two files with one
digest have the same bytes (no SHA-256 collision is known), so they still share their objects.
"""


def file_key(data: bytes) -> bytes:
    """What :data:`Parsed` files ``data`` under: the SHA-256 digest of the bytes."""
    return hashlib.sha256(data).digest()


def load_file(
    path: str | os.PathLike[str], *, password: bytes | None = None, parsed: Parsed | None = None
) -> tuple[LoadedCert, ...]:
    """All certificates in one file, in file order. Never returns an empty tuple.

    ``parsed``: files read before (:data:`Parsed`); a file with the same bytes gets the same
    certificate objects (certificates are immutable), and one read here is added to it.
    """
    source = os.fspath(path)
    return _loaded(_read_file(source), source, password, parsed)


_READ_ONLY = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def _read_file(source: str) -> bytes:
    try:
        # the descriptor itself: one system call per piece, none of a file object's set-up
        fd = os.open(source, _READ_ONLY)
        try:
            data = _read_bounded(fd)  # a folder opens, and fails here with IsADirectoryError
        finally:
            os.close(fd)
        if len(data) > MAX_FILE_BYTES:
            raise InputError(
                f"file is larger than {MAX_FILE_BYTES} bytes, too large for a certificate file",
                file=source,
                hint="point at the certificate, not at a backup, archive or device",
            )
    except FileNotFoundError as exc:
        raise MissingFile(
            "file not found",
            file=source,
            hint="check the path (a relative path starts from the current folder)",
        ) from exc
    except IsADirectoryError as exc:
        raise _IsAFolder(f"{source} is a folder", file=source) from exc
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=source) from exc
    return data


def _loaded(
    data: bytes,
    source: str,
    password: bytes | None,
    parsed: Parsed | None,
    ders: DerOf | None = None,
) -> tuple[LoadedCert, ...]:
    if parsed is None:
        certs = _certificates(data, source, password, ders)
    else:
        key = file_key(data)
        known = parsed.get(key)
        certs = known if known is not None else _certificates(data, source, password, ders)
        parsed[key] = certs
    if len(certs) == 1:  # most files
        return (LoadedCert(cert=certs[0], source=source, index=0),)
    return tuple(LoadedCert(cert=c, source=source, index=i) for i, c in enumerate(certs))


def _certificates(
    data: bytes, source: str, password: bytes | None, ders: DerOf | None = None
) -> tuple[x509.Certificate, ...]:
    if not data or data.isspace():
        raise InputError("file is empty", file=source, hint="export the certificate again")
    if b"-----BEGIN " in data:
        certs = _from_pem(data, source, password, ders)
        if not certs:
            raise InputError(
                "no certificate in this PEM file (only keys or other blocks)",
                file=source,
                hint="give the certificate file, not the key or the CSR",
            )
    else:
        certs = _from_der(data, source, password)
        if not certs:
            raise InputError("no certificate in this file", file=source)
    return tuple(certs)


def load_path(
    path: str | os.PathLike[str], *, password: bytes | None = None, parsed: Parsed | None = None
) -> tuple[LoadedCert, ...]:
    """A file, or every file of a folder in name order (hidden files skipped)."""
    try:
        # the common case, without a stat first
        return load_file(path, password=password, parsed=parsed)
    except _IsAFolder:
        pass
    folder = Path(path)
    if folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise InputError(
                "folder holds no certificate files",
                file=str(folder),
                hint="put the exported PEM/DER files in it",
            )
        out: list[LoadedCert] = []
        for f in files:
            out.extend(load_file(f, password=password, parsed=parsed))
        return tuple(out)
    return load_file(path, password=password, parsed=parsed)


_BATCH = 256
"""Files per :func:`load_paths` step (see there)."""


def load_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    password: bytes | None = None,
    parsed: Parsed | None = None,
    ders: DerOf | None = None,
) -> list[tuple[LoadedCert, ...] | InputError]:
    """:func:`load_path` of each path, or the error it raises, in order.

    A batch of files is read before any is parsed: reading and parsing in turn, one file at a
    time, takes about half as long again (each step's code leaves the CPU's caches).
    ``ders`` receives the DER of each certificate read from plain PEM (see :data:`DerOf`).
    """
    out: list[tuple[LoadedCert, ...] | InputError] = []
    for at in range(0, len(paths), _BATCH):
        batch = paths[at : at + _BATCH]
        read: list[bytes | tuple[LoadedCert, ...] | InputError] = []
        for path in batch:
            try:
                read.append(_read_file(os.fspath(path)))
            except _IsAFolder:
                try:
                    read.append(load_path(path, password=password, parsed=parsed))
                except InputError as exc:
                    read.append(exc)
            except InputError as exc:
                read.append(exc)
        for path, got in zip(batch, read, strict=True):
            if isinstance(got, bytes):
                try:
                    got = _loaded(got, os.fspath(path), password, parsed, ders)
                except InputError as exc:
                    got = exc
            out.append(got)
    return out


def load_many(paths: Iterable[Path], *, password: bytes | None = None) -> tuple[LoadedCert, ...]:
    """Load several paths; report every failing file together."""
    out: list[LoadedCert] = []
    errors: list[InputError] = []
    for p in paths:
        try:
            out.extend(load_path(p, password=password))
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else InputErrors(errors)
    return tuple(out)


def unique(certs: Sequence[LoadedCert]) -> tuple[LoadedCert, ...]:
    """Drop repeats by fingerprint, keeping the first occurrence (and so the order)."""
    seen: set[str] = set()
    out: list[LoadedCert] = []
    for c in certs:
        fp = c.fingerprint
        if fp not in seen:
            seen.add(fp)
            out.append(c)
    return tuple(out)
