"""Writing certificates and keys: PEM bytes and files, and safe file names.

The plan kit, the lab and ``collect`` all write certificates through here: PEM, one block per
certificate in the given order, never a key in a certificate file. Keys are written only by the
lab (its own generated keys), with mode 0600.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def certs_pem(certs: Iterable[x509.Certificate]) -> bytes:
    """Concatenated PEM blocks, in the given order."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key: PrivateKey) -> bytes:
    """A private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_certs(path: Path, certs: Iterable[x509.Certificate]) -> Path:
    """Write certificates (PEM, in order) to ``path``; never a key. Creates parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(certs_pem(certs))
    return path


def write_key(path: Path, key: PrivateKey) -> Path:
    """Write a private key (PKCS#8 PEM) to ``path`` with mode 0600. Creates parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem(key))
    path.chmod(0o600)
    return path


def safe_name(text: str, *, empty: str = "x") -> str:
    """``text`` as a file name: runs of anything but letters, digits, ``.``, ``_`` and ``-``
    become one ``-``, without one at either end (``empty`` when nothing is left)."""
    return _UNSAFE.sub("-", text).strip("-") or empty


__all__ = ["PrivateKey", "certs_pem", "key_pem", "safe_name", "write_certs", "write_key"]
