"""Generate real X.509 material for lab scenarios and tests.

Everything here builds genuine certificates with ``cryptography``: certificate authorities (RSA or
ECDSA P-256, critical basicConstraints CA:TRUE, keyCertSign/cRLSign, SKI/AKI), leaves with any SAN
(DNS and IP), EKU and key usage, CUCM-style self-signed identities (CA:TRUE, keyCertSign, SAN =
the node, EKU serverAuth+clientAuth) and CUCM multi-server (SAN) certificates with the ``-ms``
common-name convention.

Key generation dominates the cost (RSA-2048 takes tens of milliseconds), so keys come from a
:class:`KeyPool` keyed by ``(key type, slot)``: two certificates share a key exactly when they ask
for the same slot. Give certificates that must differ (two CAs with the same name, a self-signed
identity) their own slot.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Sequence
from dataclasses import field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mratrust.pki.write import PrivateKey as PrivateKey
from mratrust.pki.write import certs_pem as certs_pem
from mratrust.pki.write import key_pem
from mratrust.pki.write import write_certs as write_certs
from mratrust.pki.write import write_key as write_key
from mratrust.values import frozen


class KeyType(StrEnum):
    """The two key types CUCM and Expressway use."""

    RSA = "rsa"
    EC = "ec"


class Eku(StrEnum):
    """Extended key usages that matter for MRA."""

    SERVER_AUTH = "serverAuth"
    CLIENT_AUTH = "clientAuth"

    @property
    def oid(self) -> x509.ObjectIdentifier:
        """The OID of this usage."""
        return _EKU_OIDS[self]


_EKU_OIDS: dict[Eku, x509.ObjectIdentifier] = {
    Eku.SERVER_AUTH: ExtendedKeyUsageOID.SERVER_AUTH,
    Eku.CLIENT_AUTH: ExtendedKeyUsageOID.CLIENT_AUTH,
}


class KeyUse(StrEnum):
    """Key usage bits, named as in :class:`cryptography.x509.KeyUsage`."""

    DIGITAL_SIGNATURE = "digital_signature"
    CONTENT_COMMITMENT = "content_commitment"
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"


BOTH_EKU: tuple[Eku, ...] = (Eku.SERVER_AUTH, Eku.CLIENT_AUTH)
"""serverAuth + clientAuth, what CUCM and Expressway certificates carry."""

CA_USAGE: frozenset[KeyUse] = frozenset({KeyUse.KEY_CERT_SIGN, KeyUse.CRL_SIGN})

# CUCM's CSR key usage (Digital Signature, Key Encipherment, Data Encipherment, Key Agreement)
RSA_LEAF_USAGE: frozenset[KeyUse] = frozenset(
    {
        KeyUse.DIGITAL_SIGNATURE,
        KeyUse.KEY_ENCIPHERMENT,
        KeyUse.DATA_ENCIPHERMENT,
        KeyUse.KEY_AGREEMENT,
    }
)
EC_LEAF_USAGE: frozenset[KeyUse] = frozenset({KeyUse.DIGITAL_SIGNATURE, KeyUse.KEY_AGREEMENT})


def default_leaf_usage(key_type: KeyType) -> frozenset[KeyUse]:
    """The key usage CUCM requests for a leaf of this key type."""
    return RSA_LEAF_USAGE if key_type is KeyType.RSA else EC_LEAF_USAGE


# --------------------------------------------------------------------------- keys


class KeyPool:
    """Private keys by ``(key type, slot)``, generated once and then reused (thread-safe)."""

    def __init__(self, *, rsa_bits: int = 2048) -> None:
        self.rsa_bits = rsa_bits
        self._keys: dict[tuple[KeyType, str], PrivateKey] = {}
        self._lock = threading.Lock()

    def get(self, key_type: KeyType, slot: str) -> PrivateKey:
        """The key of ``slot`` (same slot → same key; different slots → different keys)."""
        with self._lock:
            key = self._keys.get((key_type, slot))
            if key is None:
                key = generate_key(key_type, rsa_bits=self.rsa_bits)
                self._keys[(key_type, slot)] = key
            return key

    def __len__(self) -> int:
        return len(self._keys)


def generate_key(key_type: KeyType, *, rsa_bits: int = 2048) -> PrivateKey:
    """A fresh private key: RSA (``rsa_bits``) or ECDSA P-256."""
    if key_type is KeyType.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    return ec.generate_private_key(ec.SECP256R1())


DEFAULT_POOL = KeyPool()
"""The process-wide pool used when no pool is given."""


# --------------------------------------------------------------------------- validity


@frozen
class Validity:
    """A validity window (UTC, whole seconds)."""

    not_before: datetime
    not_after: datetime

    @classmethod
    def around(cls, now: datetime, *, days_before: int = 30, days_after: int = 730) -> Validity:
        """Valid from ``days_before`` days before ``now`` to ``days_after`` days after it."""
        now = utc_seconds(now)
        return cls(
            not_before=now - timedelta(days=days_before),
            not_after=now + timedelta(days=days_after),
        )

    @classmethod
    def expired(cls, now: datetime, *, days_ago: int = 1, lifetime_days: int = 365) -> Validity:
        """Expired ``days_ago`` days before ``now``."""
        now = utc_seconds(now)
        end = now - timedelta(days=days_ago)
        return cls(not_before=end - timedelta(days=lifetime_days), not_after=end)

    @classmethod
    def not_yet_valid(
        cls, now: datetime, *, days_ahead: int = 1, lifetime_days: int = 365
    ) -> Validity:
        """Becomes valid ``days_ahead`` days after ``now``."""
        now = utc_seconds(now)
        start = now + timedelta(days=days_ahead)
        return cls(not_before=start, not_after=start + timedelta(days=lifetime_days))


def utc_seconds(moment: datetime) -> datetime:
    """``moment`` in UTC without microseconds (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- issued objects


@frozen
class Issued:
    """A certificate, its private key and the authority that signed it (``None``: self-signed)."""

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)
    issuer: Issued | None = None

    @property
    def key_type(self) -> KeyType:
        """RSA or EC, from the key."""
        return KeyType.RSA if isinstance(self.key, rsa.RSAPrivateKey) else KeyType.EC

    @property
    def common_name(self) -> str | None:
        """The subject CN, if any."""
        attrs = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else None

    @property
    def is_self_signed(self) -> bool:
        """True when no other authority signed it."""
        return self.issuer is None

    def chain(self, *, include_root: bool = False) -> tuple[x509.Certificate, ...]:
        """This certificate and its issuers, leaf first; the self-signed top only if asked."""
        out = [self.cert]
        current = self.issuer
        while current is not None:
            if current.issuer is not None or include_root:
                out.append(current.cert)
            current = current.issuer
        return tuple(out)

    def root(self) -> Issued:
        """The self-signed top of this certificate's chain."""
        current = self
        while current.issuer is not None:
            current = current.issuer
        return current

    def cert_pem(self) -> bytes:
        """This certificate alone, PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def chain_pem(self, *, include_root: bool = False) -> bytes:
        """The chain (leaf first), PEM; never any key."""
        return certs_pem(self.chain(include_root=include_root))

    def key_pem(self) -> bytes:
        """The private key, unencrypted PKCS#8 PEM (ends with a newline)."""
        return key_pem(self.key)


# --------------------------------------------------------------------------- building


def _name(common_name: str | None, organization: str | None) -> x509.Name:
    attrs: list[x509.NameAttribute[str]] = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if common_name:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def general_name(value: str) -> x509.GeneralName:
    """An ``iPAddress`` entry for an IP literal, else a ``dNSName``."""
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def _key_usage(uses: frozenset[KeyUse]) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=KeyUse.DIGITAL_SIGNATURE in uses,
        content_commitment=KeyUse.CONTENT_COMMITMENT in uses,
        key_encipherment=KeyUse.KEY_ENCIPHERMENT in uses,
        data_encipherment=KeyUse.DATA_ENCIPHERMENT in uses,
        key_agreement=KeyUse.KEY_AGREEMENT in uses,
        key_cert_sign=KeyUse.KEY_CERT_SIGN in uses,
        crl_sign=KeyUse.CRL_SIGN in uses,
        encipher_only=False,
        decipher_only=False,
    )


def _build(
    *,
    subject: x509.Name,
    key: PrivateKey,
    issuer: Issued | None,
    validity: Validity,
    ca: bool,
    critical_bc: bool,
    path_length: int | None,
    key_usage: frozenset[KeyUse] | None,
    eku: Sequence[Eku],
    san: Sequence[str],
) -> Issued:
    if validity.not_after <= validity.not_before:
        raise ValueError("validity: not_after must be later than not_before")
    signer_key = issuer.key if issuer is not None else key
    issuer_name = issuer.cert.subject if issuer is not None else subject
    public = key.public_key()
    signer_public = signer_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc_seconds(validity.not_before))
        .not_valid_after(utc_seconds(validity.not_after))
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
            critical=critical_bc,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_public), critical=False
        )
    )
    if key_usage:
        builder = builder.add_extension(_key_usage(key_usage), critical=True)
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([e.oid for e in dict.fromkeys(eku)]), critical=False
        )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([general_name(s) for s in san]), critical=False
        )
    cert = builder.sign(signer_key, hashes.SHA256())
    return Issued(cert=cert, key=key, issuer=issuer)


def make_ca(
    common_name: str,
    *,
    now: datetime,
    issuer: Issued | None = None,
    key_type: KeyType = KeyType.RSA,
    validity: Validity | None = None,
    critical_basic_constraints: bool = True,
    path_length: int | None = None,
    organization: str | None = None,
    key_slot: str | None = None,
    pool: KeyPool | None = None,
) -> Issued:
    """A root (``issuer=None``) or intermediate CA.

    CA:TRUE in basicConstraints (critical unless ``critical_basic_constraints`` is False, as some
    enterprise CAs issue them), keyCertSign and cRLSign, SKI and AKI. The key comes from
    ``pool`` under ``key_slot`` (default ``"ca:<CN>"``): give an old and a renewed CA with the same
    name different slots so that their keys differ.
    """
    pool = pool if pool is not None else DEFAULT_POOL
    key = pool.get(key_type, key_slot or f"ca:{common_name}")
    if validity is None:
        validity = (
            Validity.around(now, days_before=3650, days_after=7300)
            if issuer is None
            else Validity.around(now, days_before=1825, days_after=3650)
        )
    return _build(
        subject=_name(common_name, organization),
        key=key,
        issuer=issuer,
        validity=validity,
        ca=True,
        critical_bc=critical_basic_constraints,
        path_length=path_length,
        key_usage=CA_USAGE,
        eku=(),
        san=(),
    )


def make_leaf(
    common_name: str | None,
    *,
    now: datetime,
    issuer: Issued | None,
    san: Sequence[str] = (),
    eku: Sequence[Eku] = BOTH_EKU,
    key_usage: frozenset[KeyUse] | None = None,
    key_type: KeyType = KeyType.RSA,
    validity: Validity | None = None,
    ca: bool = False,
    organization: str | None = None,
    key_slot: str | None = None,
    pool: KeyPool | None = None,
) -> Issued:
    """An end-entity certificate (or a self-signed one with ``issuer=None``).

    ``san`` entries that parse as IP addresses become ``iPAddress``, the rest ``dNSName``;
    an empty ``san`` leaves the extension out (CN-only certificate). An empty ``eku`` leaves the
    EKU extension out. ``key_usage=None`` means CUCM's usual set for the key type. ``common_name``
    may be ``None`` (no CN). The key comes from ``pool`` under ``key_slot`` (default: a slot per
    CN and key type).
    """
    pool = pool if pool is not None else DEFAULT_POOL
    if not common_name and not san:
        raise ValueError("a certificate needs a common name or at least one SAN entry")
    slot = key_slot or f"leaf:{common_name or san[0]}"
    key = pool.get(key_type, slot)
    uses = default_leaf_usage(key_type) if key_usage is None else key_usage
    return _build(
        subject=_name(common_name, organization),
        key=key,
        issuer=issuer,
        validity=validity or Validity.around(now),
        ca=ca,
        critical_bc=True,
        path_length=None,
        key_usage=uses,
        eku=eku,
        san=san,
    )


def ecdsa_common_name(fqdn: str) -> str:
    """CUCM's CN for a self-signed ECDSA identity: ``host-EC.domain``."""
    host, sep, domain = fqdn.partition(".")
    return f"{host}-EC{sep}{domain}"


def multi_server_common_name(publisher: str) -> str:
    """CUCM's CN for a multi-server (SAN) certificate: ``host-ms.domain`` of the publisher."""
    host, sep, domain = publisher.partition(".")
    return f"{host}-ms{sep}{domain}"


def make_cucm_self_signed(
    node: str,
    *,
    now: datetime,
    key_type: KeyType = KeyType.RSA,
    common_name: str | None = None,
    san: Sequence[str] | None = None,
    validity: Validity | None = None,
    eku: Sequence[Eku] = BOTH_EKU,
    key_slot: str | None = None,
    pool: KeyPool | None = None,
) -> Issued:
    """A self-signed identity as CUCM/IM&P/CUC generate them.

    CA:TRUE (critical) with keyCertSign next to the leaf usages, SAN = the node (unless ``san``
    says otherwise; ``()`` for none), EKU serverAuth + clientAuth. The CN is the node (RSA) or
    ``host-EC.domain`` (ECDSA) unless given. Each call should use its own ``key_slot`` (default:
    one per CN and key type) so that two self-signed certificates with the same CN differ in key.
    """
    cn = common_name or (node if key_type is KeyType.RSA else ecdsa_common_name(node))
    uses = default_leaf_usage(key_type) | {KeyUse.KEY_CERT_SIGN}
    return make_leaf(
        cn,
        now=now,
        issuer=None,
        san=(node,) if san is None else tuple(san),
        eku=eku,
        key_usage=uses,
        key_type=key_type,
        validity=validity,
        ca=True,
        key_slot=key_slot or f"self:{key_type}:{cn}",
        pool=pool,
    )


def make_multi_server(
    nodes: Sequence[str],
    *,
    now: datetime,
    issuer: Issued | None,
    key_type: KeyType = KeyType.RSA,
    common_name: str | None = None,
    validity: Validity | None = None,
    eku: Sequence[Eku] = BOTH_EKU,
    key_slot: str | None = None,
    pool: KeyPool | None = None,
) -> Issued:
    """A CUCM multi-server (SAN) certificate: CN ``<publisher-host>-ms.<domain>``, SAN every node.

    ``nodes[0]`` is the publisher. ``issuer=None`` makes the self-signed multi-server variant
    (CA:TRUE with keyCertSign, as CUCM does).
    """
    if not nodes:
        raise ValueError("a multi-server certificate needs at least one node")
    cn = common_name or multi_server_common_name(nodes[0])
    uses = default_leaf_usage(key_type)
    if issuer is None:
        uses = uses | {KeyUse.KEY_CERT_SIGN}
    return make_leaf(
        cn,
        now=now,
        issuer=issuer,
        san=tuple(nodes),
        eku=eku,
        key_usage=uses,
        key_type=key_type,
        validity=validity,
        ca=issuer is None,
        key_slot=key_slot or f"ms:{key_type}:{cn}",
        pool=pool,
    )


# --------------------------------------------------------------------------- files


# write_certs and write_key: mratrust.pki.write (imported above), one writer for every module
