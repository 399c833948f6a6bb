"""What matters about one certificate for MRA, derived from a ``cryptography`` certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from enum import Enum
from typing import Any, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from mratrust.pki.load import der_fingerprint
from mratrust.values import frozen

try:  # the public module cryptography.hazmat.primitives.serialization imports SSH, PKCS#7 and more
    from cryptography.hazmat.primitives._serialization import Encoding
except ImportError:  # a release that moved it: the public name, at its import cost
    from cryptography.hazmat.primitives.serialization import Encoding

_DER = Encoding.DER


class KeyType(Enum):
    RSA = "rsa"
    ECDSA = "ecdsa"
    OTHER = "other"

    __hash__ = object.__hash__
    """By identity (members are singletons), in C: Enum's own hash runs Python code per look-up,
    and these members key the dictionaries of every handshake and verdict."""


@frozen
class KeyFacts:
    """A public key's type and size (and curve, for ECDSA)."""

    type: KeyType
    bits: int
    curve: str | None

    def describe(self) -> str:
        if self.type is KeyType.ECDSA:
            return f"ECDSA {self.curve} ({self.bits} bits)"
        if self.type is KeyType.RSA:
            return f"RSA {self.bits} bits"
        return f"{self.curve or 'other'} key"


@frozen
class CertFacts:
    """The facts mratrust looks at, computed once per certificate."""

    subject: str
    issuer: str
    common_name: str | None
    san_dns: tuple[str, ...]
    san_ip: tuple[str, ...]
    has_san: bool
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    key: KeyFacts
    signature_hash: str | None
    eku: tuple[str, ...]
    """Extended key usages by short name: serverAuth, clientAuth, … (empty: extension absent)."""
    has_eku: bool
    key_usage: tuple[str, ...]
    is_ca: bool | None
    """basicConstraints CA flag; None when the extension is absent."""
    basic_constraints_critical: bool
    self_signed: bool
    wildcard: bool
    fingerprint: str
    ski: bytes | None
    aki: bytes | None
    has_key_usage: bool = False
    malformed: str | None = None
    """Why the extensions could not be decoded (None: they could)."""
    name_constrained: bool = False
    """The certificate carries nameConstraints (a CA limiting the names below it)."""

    @property
    def names(self) -> tuple[str, ...]:
        return self.san_dns + self.san_ip

    @property
    def multi_server(self) -> bool:
        """CUCM multi-server (SAN): CN ends in ``-ms`` or the SAN lists several hosts."""
        cn = (self.common_name or "").split(".")[0]
        if cn.endswith("-ms"):
            return True
        if len(self.san_dns) < 2:  # one host at most: nothing more to look at
            return False
        # several hosts, not a host and its parent domain (which a single-server CSR may add)
        names = [n.lower().rstrip(".") for n in self.san_dns]
        hosts = [n for n in names if not any(o != n and o.endswith("." + n) for o in names)]
        return len(hosts) > 1

    @property
    def server_auth(self) -> bool:
        return not self.has_eku or "serverAuth" in self.eku

    @property
    def client_auth(self) -> bool:
        return not self.has_eku or "clientAuth" in self.eku

    def valid_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after


_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"): "ipsecEndSystem",
}

_KU_FIELDS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _key_facts(cert: x509.Certificate) -> KeyFacts:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return _known_key(KeyType.OTHER, 0, "undecodable")
    kind = type(key)
    branch = _KEY_BRANCH.get(kind)
    if branch is None:
        branch = _KEY_BRANCH[kind] = _key_branch(key)
    if branch == "rsa":
        return _known_key(KeyType.RSA, key.key_size, None)  # type: ignore[union-attr]
    if branch == "ec":
        curve = key.curve  # type: ignore[union-attr]
        return _known_key(KeyType.ECDSA, curve.key_size, curve.name)
    if branch == "dsa":
        return _known_key(KeyType.OTHER, key.key_size, "dsa")  # type: ignore[union-attr]
    if branch == "ed":
        return _known_key(KeyType.OTHER, 0, kind.__name__)
    return _known_key(KeyType.OTHER, 0, None)


_KEY_BRANCH: dict[type, str] = {}
"""Which kind of key a key class is (the abstract classes' ``isinstance`` asked once a class)."""


def _key_branch(key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec"
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa"
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return "ed"
    return "other"


_KEYS_LIMIT = 4096
_KEYS: dict[tuple[KeyType, int, str | None], KeyFacts] = {}
"""One :class:`KeyFacts` per value: a deployment has a few kinds of key (a frozen value)."""


def _known_key(kind: KeyType, bits: int, curve: str | None) -> KeyFacts:
    found = _KEYS.get((kind, bits, curve))
    if found is None:
        if len(_KEYS) >= _KEYS_LIMIT:  # bounded, as the other caches are
            _KEYS.clear()
        found = _KEYS[(kind, bits, curve)] = KeyFacts(type=kind, bits=bits, curve=curve)
    return found


_E = TypeVar("_E", bound=x509.ExtensionType)


class _Extensions:
    """A certificate's extension values by type, read once (a malformed set reads as empty)."""

    __slots__ = ("_values", "bc_critical", "error")

    def __init__(self, cert: x509.Certificate) -> None:
        values: dict[type[x509.ExtensionType], x509.ExtensionType] = {}
        self.bc_critical = False
        """basicConstraints is marked critical."""
        self.error: str | None = None
        try:
            for ext in cert.extensions:
                value = ext.value  # a property: read once
                kind = type(value)
                values[kind] = value
                if kind is x509.BasicConstraints:
                    self.bc_critical = ext.critical
        except (ValueError, TypeError, x509.DuplicateExtension) as exc:
            # OpenSSL rejects such a certificate; the path validation reports it as fatal
            values.clear()
            self.bc_critical = False
            self.error = str(exc) or type(exc).__name__
        self._values = values

    def get(self, kind: type[_E]) -> _E | None:
        return self._values.get(kind)  # type: ignore[return-value]

    def values(self) -> _ExtValues:
        """What the facts take from the extensions, read from cryptography's objects."""
        san = self.get(x509.SubjectAlternativeName)
        dns_names: list[str] = []
        ip_names: list[str] = []
        if san is not None:
            for entry in san:  # one pass over the names instead of one per type
                kind = type(entry)
                if kind is x509.DNSName:
                    dns_names.append(entry.value)
                elif kind is x509.IPAddress:
                    ip_names.append(str(entry.value))
        eku_ext = self.get(x509.ExtendedKeyUsage)
        eku_name = _EKU_NAMES.get
        eku = tuple([eku_name(oid) or oid.dotted_string for oid in eku_ext]) if eku_ext else ()
        usage = self.get(x509.KeyUsage)
        ku: tuple[str, ...] | None = None
        if usage is not None:
            agreement = usage.key_agreement
            flags = (
                usage.digital_signature,
                usage.content_commitment,
                usage.key_encipherment,
                usage.data_encipherment,
                agreement,
                usage.key_cert_sign,
                usage.crl_sign,
                agreement and usage.encipher_only,  # only defined with keyAgreement
                agreement and usage.decipher_only,
            )
            ku = tuple([name for name, on in zip(_KU_FIELDS, flags, strict=True) if on])
        bc = self.get(x509.BasicConstraints)
        ski = self.get(x509.SubjectKeyIdentifier)
        aki = self.get(x509.AuthorityKeyIdentifier)
        return (
            (tuple(dns_names), tuple(ip_names)) if san is not None else None,
            eku if eku_ext is not None else None,
            ku,
            bc.ca if bc is not None else None,
            self.bc_critical,
            ski.digest if ski is not None else None,
            aki.key_identifier if aki is not None else None,
            self.get(x509.NameConstraints) is not None,
            self.error,
        )


_ExtValues = tuple[
    tuple[tuple[str, ...], tuple[str, ...]] | None,
    tuple[str, ...] | None,
    tuple[str, ...] | None,
    bool | None,
    bool,
    bytes | None,
    bytes | None,
    bool,
    str | None,
]
"""What the facts take from a certificate's extensions: (the SAN's DNS names and addresses, the
EKU names, the key usages (each None: extension absent), basicConstraints' CA flag (None:
absent) and criticality, the SKI, the AKI's key identifier, nameConstraints present, why the
extensions could not be read)."""


def _self_signed(
    cert: x509.Certificate, ski: bytes | None, aki: bytes | None, same_name: bool
) -> bool:
    if not same_name:
        return False
    if ski is not None and aki is not None:
        # the key identifiers settle it without a signature check, as OpenSSL's issuer check
        # does: a certificate whose AKI is not its own SKI is not its own issuer
        return aki == ski
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


_CACHE_LIMIT = 262144
_BY_ID: dict[int, tuple[x509.Certificate, CertFacts]] = {}
_BY_DER: dict[x509.Certificate, CertFacts] = {}
"""By content: certificates hash and compare by their DER."""
_UNINDEXED: list[tuple[x509.Certificate, CertFacts]] = []
"""Primed since :data:`_BY_DER` was last asked: hashing a certificate means hashing its parsed
fields, and an audit asks for the objects it primed (found by identity) and no others."""


def _by_content() -> dict[x509.Certificate, CertFacts]:
    """:data:`_BY_DER`, with every certificate primed since the last call in it."""
    for cert, found in _UNINDEXED:
        _remember_content(cert, found)
    _UNINDEXED.clear()
    return _BY_DER


def facts(cert: x509.Certificate) -> CertFacts:
    """The facts of ``cert`` (cached: certificates are immutable).

    Looked up by object identity first (the audit asks for the same objects ~30 times each, and
    hashing a certificate means hashing its DER), then by content.
    """
    entry = _BY_ID.get(id(cert))
    if entry is not None and entry[0] is cert:
        return entry[1]
    found = _by_content().get(cert)
    if found is None:
        (found,) = _facts_of([cert], [cert.public_bytes(_DER)])
        _remember_content(cert, found)
    _remember(cert, found)
    return found


_CHUNK = 256
"""Certificates per :func:`prime` step: enough to keep each step's code hot, few enough that the
objects built on the way (their DER, and about 4 KB a certificate) stay small."""


def prime(
    certs: Iterable[x509.Certificate],
    *,
    ders: Mapping[int, tuple[x509.Certificate, bytes]] | None = None,
) -> None:
    """Compute the facts of many certificates at once (then :func:`facts` finds them).

    Each step runs over a batch of certificates before the next step (names, extensions, keys,
    ...): done one certificate at a time, the same work takes about half as long again, every
    step's code and data having left the CPU's caches by the time the next certificate needs it.
    Certificates with the same content share one computation.

    ``ders``: the DER of some of them by id (as read from their files, see
    :data:`mratrust.pki.load.DerOf`), which spares encoding them anew.
    """
    known = _by_content() if _BY_DER or _UNINDEXED else None
    groups: list[list[x509.Certificate]] = []  # certificates of one content each, first seen first
    by_signature: dict[bytes, list[list[x509.Certificate]]] = {}
    for cert in {id(c): c for c in certs}.values():
        entry = _BY_ID.get(id(cert))
        if entry is not None and entry[0] is cert:
            continue
        found = known.get(cert) if known else None
        if found is not None:  # known by its content already
            _remember(cert, found)
            continue
        # by content, once per DER: certificates with the same content have the same signature,
        # so only those are compared (hashing a certificate hashes all its fields)
        signature = cert.signature
        same_signature = by_signature.get(signature)
        if same_signature is None:
            group = [cert]
            by_signature[signature] = [group]
            groups.append(group)
            continue
        for group in same_signature:
            if group[0] == cert:
                group.append(cert)
                break
        else:  # another certificate under the same signature bytes
            group = [cert]
            same_signature.append(group)
            groups.append(group)
    for at in range(0, len(groups), _CHUNK):
        chunk = groups[at : at + _CHUNK]
        firsts = [same[0] for same in chunk]
        # a batch's only: memory stays flat
        blobs = (
            [_der_of(first, ders) for first in firsts]
            if ders
            else [first.public_bytes(_DER) for first in firsts]
        )
        for same, found in zip(chunk, _facts_of(firsts, blobs), strict=True):
            if len(_UNINDEXED) >= _CACHE_LIMIT:  # bounded as the index is
                _by_content()
            pair = (same[0], found)  # one tuple for both tables (1.3 MB at 10,000 nodes)
            _UNINDEXED.append(pair)
            _remember(same[0], found, pair)
            for cert in same[1:]:
                _remember(cert, found)


def _der_of(cert: x509.Certificate, read: Mapping[int, tuple[x509.Certificate, bytes]]) -> bytes:
    """``cert``'s DER as read from its file, else encoded anew."""
    entry = read.get(id(cert))
    return entry[1] if entry is not None and entry[0] is cert else cert.public_bytes(_DER)


def _remember(
    cert: x509.Certificate,
    found: CertFacts,
    pair: tuple[x509.Certificate, CertFacts] | None = None,
) -> None:
    """Remember ``found`` for ``cert`` by identity (``pair``: ``(cert, found)`` made already)."""
    if len(_BY_ID) >= _CACHE_LIMIT:
        _BY_ID.clear()
    # keeps ``cert`` alive, so its id is not reused
    _BY_ID[id(cert)] = (cert, found) if pair is None else pair


def _remember_content(cert: x509.Certificate, found: CertFacts) -> None:
    if len(_BY_DER) >= _CACHE_LIMIT:
        _BY_DER.clear()
    _BY_DER[cert] = found


def clear_cache() -> None:
    """Forget every computed fact (benchmarks start cold with it)."""
    _BY_ID.clear()
    _BY_DER.clear()
    _UNINDEXED.clear()


_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._*@()/:-]*[A-Za-z0-9.)*]$|^[A-Za-z0-9]$")


def dn(name: x509.Name) -> str:
    """RFC 4514 text of a name; the common single-CN case without cryptography's general path."""
    rdns = name.rdns
    if len(rdns) == 1:
        attrs = list(rdns[0])
        if len(attrs) == 1 and attrs[0].oid == NameOID.COMMON_NAME:
            value = attrs[0].value
            if isinstance(value, str) and _PLAIN.match(value):
                return "CN=" + value
    return name.rfc4514_string()


def _names_of(cert: x509.Certificate) -> tuple[str, str | None, str, bool]:
    """(subject text, subject CN, issuer text, subject and issuer are the same name).

    The same name as :class:`x509.Name` compares them, without comparing the objects where the
    texts settle it: the RFC 4514 text is an injective function of the attributes in order, so
    equal texts mean equal names, and different texts mean different names unless an RDN holds
    several attributes (a set, which the text lists in the certificate's order).
    """
    subject, issuer = cert.subject, cert.issuer  # both built, as cryptography builds them
    cns = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject_text, issuer_text = dn(subject), dn(issuer)
    if subject_text == issuer_text:
        same = True
    elif "+" in subject_text or "+" in issuer_text:  # "+" joins the attributes of one RDN
        same = subject == issuer
    else:
        same = False
    return subject_text, (str(cns[0].value) if cns else None), issuer_text, same


class _NotPlain(Exception):
    """What the DER readers below leave to cryptography: a length not in DER's one form, an
    element running past its parent, a shape they do not read."""


def _strict(der: bytes, at: int, end: int) -> tuple[int, int]:
    """Where the content of the DER element at ``at`` starts and ends, the element ending by
    ``end`` and its length in DER's one form (else :class:`_NotPlain` or IndexError)."""
    size = der[at + 1]
    if size < 0x80:
        start = at + 2
        stop = start + size
    elif size == 0x81 and der[at + 2] >= 0x80:
        start = at + 3
        stop = start + der[at + 2]
    elif size == 0x82 and der[at + 2]:
        start = at + 4
        stop = start + (der[at + 2] << 8 | der[at + 3])
    else:
        raise _NotPlain
    if stop > end:
        raise _NotPlain
    return start, stop


_Walk = tuple[tuple[bytes, bytes], int, int]
"""(the issuer's and the subject's DER, where the subject ends, where the TBS ends)."""


def _tbs_walk(der: bytes) -> _Walk | None:
    """Where a certificate's DER holds its names, and the fields after them (None: not so)."""
    try:
        if der[0] != 0x30:
            return None
        tbs, cert_end = _strict(der, 0, len(der))
        if der[tbs] != 0x30:
            return None
        at, tbs_end = _strict(der, tbs, cert_end)
        if der[at] == 0xA0:  # [0] version
            at = _strict(der, at, tbs_end)[1]
        if der[at] != 0x02:  # serialNumber
            return None
        at = _strict(der, at, tbs_end)[1]
        if der[at] != 0x30:  # signature algorithm
            return None
        issuer_at = _strict(der, at, tbs_end)[1]
        if der[issuer_at] != 0x30:
            return None
        validity_at = _strict(der, issuer_at, tbs_end)[1]
        if der[validity_at] != 0x30:
            return None
        subject_at = _strict(der, validity_at, tbs_end)[1]
        if der[subject_at] != 0x30:
            return None
        subject_end = _strict(der, subject_at, tbs_end)[1]
    except (_NotPlain, IndexError):
        return None
    names = (der[issuer_at:validity_at], der[subject_at:subject_end])
    return names, subject_end, tbs_end


# The attribute types a plain name may hold: the DER of each OID, and the RFC 4514 label
# cryptography gives it (asked, not copied: NameAttribute.rfc4514_attribute_name).
_LABELS = {
    bytes.fromhex(der): x509.NameAttribute(oid, "US").rfc4514_attribute_name
    for der, oid in (
        ("550403", NameOID.COMMON_NAME),
        ("550406", NameOID.COUNTRY_NAME),
        ("550407", NameOID.LOCALITY_NAME),
        ("550408", NameOID.STATE_OR_PROVINCE_NAME),
        ("550409", NameOID.STREET_ADDRESS),
        ("55040a", NameOID.ORGANIZATION_NAME),
        ("55040b", NameOID.ORGANIZATIONAL_UNIT_NAME),
        ("0992268993f22c640119", NameOID.DOMAIN_COMPONENT),
        ("0992268993f22c640101", NameOID.USER_ID),
    )
}
_CN_DER = bytes.fromhex("550403")
_LENGTHS = {_CN_DER: (1, 64), bytes.fromhex("550406"): (2, 2)}
"""The lengths cryptography accepts without a warning (other lengths: its own path warns)."""
_PLAIN_STRINGS = frozenset((0x0C, 0x13, 0x16))
"""UTF8String, PrintableString, IA5String: cryptography reads each as UTF-8."""
_PLAIN_VALUE = re.compile(rb"[A-Za-z0-9](?:[A-Za-z0-9 ._*@()/:-]*[A-Za-z0-9.)*])?")
"""ASCII that RFC 4514 writes as it is (nothing to escape, no space at either end)."""


def _plain_name(der: bytes) -> tuple[str, str | None] | None:
    """(RFC 4514 text, first CN) of an encoded name, read from its DER when the name is plain.

    Plain: one attribute per RDN, each of a type in ``_LABELS``, its value an ASCII string of a
    type cryptography reads as UTF-8 whose RFC 4514 form is the value itself, of a length
    cryptography takes without a warning. Then the text is what ``Name.rfc4514_string`` writes
    (the RDNs in reverse order, ``label=value`` joined by commas) and building the name's objects
    can neither fail nor warn. Anything else: None, and cryptography's objects say it.
    """
    try:
        at, end = _strict(der, 0, len(der))
        if at == end:
            return None
        pieces: list[str] = []
        cn: str | None = None
        while at < end:
            if der[at] != 0x31:  # SET: one RDN
                return None
            atv, rdn_end = _strict(der, at, end)
            if der[atv] != 0x30:
                return None
            oid, atv_end = _strict(der, atv, rdn_end)
            if atv_end != rdn_end or der[oid] != 0x06:  # several attributes in one RDN
                return None
            oid_start, value_at = _strict(der, oid, atv_end)
            kind = der[oid_start:value_at]
            label = _LABELS.get(kind)
            if label is None or der[value_at] not in _PLAIN_STRINGS:
                return None
            value_start, value_end = _strict(der, value_at, atv_end)
            if value_end != atv_end:
                return None
            raw = der[value_start:value_end]
            lengths = _LENGTHS.get(kind)
            if lengths is not None and not lengths[0] <= len(raw) <= lengths[1]:
                return None
            if _PLAIN_VALUE.fullmatch(raw) is None:
                return None
            value = raw.decode("ascii")
            if cn is None and kind == _CN_DER:
                cn = value
            pieces.append(label + "=" + value)
            at = rdn_end
    except (_NotPlain, IndexError):
        return None
    pieces.reverse()
    return ",".join(pieces), cn


def index_key(cert: x509.Certificate) -> tuple[str, str]:
    """(subject, fingerprint) as :func:`facts` writes them, without the rest of the facts and,
    where the subject is plain (:func:`_plain_name`), without building the subject's objects:
    the key of an entry of a large bundle (Mozilla's roots), of which paths reach a few at most.
    """
    der = cert.public_bytes(_DER)
    walk = _tbs_walk(der)
    plain = None if walk is None else _plain_name(walk[0][1])
    return (plain[0] if plain is not None else dn(cert.subject)), der_fingerprint(der)


def _walked_names(
    cert: x509.Certificate, walk: _Walk | None, plain: dict[bytes, tuple[str, str | None] | None]
) -> tuple[str, str | None, str, bool]:
    """What :func:`_names_of` says, read from the DER where the names are plain (``walk``: the
    :func:`_tbs_walk` of the certificate's DER).

    A subject that is not plain takes :func:`_names_of` whole. ``plain``: issuers read so far
    (certificates share a few issuers).
    """
    encoded = None if walk is None else walk[0]
    subject = None if encoded is None else _plain_name(encoded[1])
    if subject is None or encoded is None:
        return _names_of(cert)
    issuer_der, subject_der = encoded
    subject_text, cn = subject
    if issuer_der == subject_der:  # the same bytes: the same name
        return subject_text, cn, subject_text, True
    if issuer_der in plain:
        issuer = plain[issuer_der]
    else:
        issuer = plain[issuer_der] = _plain_name(issuer_der)
    if issuer is not None:  # no "+" in a plain text: the texts settle it
        return subject_text, cn, issuer[0], subject_text == issuer[0]
    issuer_name = cert.issuer
    issuer_text = dn(issuer_name)
    if subject_text == issuer_text:
        same = True
    elif "+" in issuer_text:
        same = cert.subject == issuer_name
    else:
        same = False
    return subject_text, cn, issuer_text, same


def _oid_content(dotted: str) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (X.690 8.19)."""
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        piece = [arc & 0x7F]
        arc >>= 7
        while arc:
            piece.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(piece))
    return bytes(out)


_BC, _KU, _EKU, _SAN, _SKI, _AKI = (
    _oid_content(oid.dotted_string)
    for oid in (
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    )
)
_EKU_BY_DER = {_oid_content(oid.dotted_string): name for oid, name in _EKU_NAMES.items()}
_KU_BITS = tuple(zip((0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02), _KU_FIELDS, strict=False))
"""keyUsage's first seven bits (the eighth, encipherOnly, is left to cryptography)."""
_DNS_TEXT = re.compile(rb"[!-~]+")
"""A dNSName of printable ASCII without spaces: cryptography gives it as it is."""


_Read = tuple[int, Any] | None
"""One extension read from its DER: (its place in :data:`_ExtValues`' first seven, what the value
there is made of), or None: left to cryptography. Lists stand for the tuples each certificate
gets of its own (see :func:`_der_extensions`)."""
_SAN_AT, _EKU_AT, _KU_AT, _BC_AT, _SKI_AT, _AKI_AT = 0, 1, 2, 3, 5, 6


def _der_extensions(
    der: bytes, walk: _Walk | None, seen: dict[bytes, _Read] | None = None
) -> _ExtValues | None:
    """What :meth:`_Extensions.values` says, read from the DER (``walk``: where the fields are).

    Only for the extensions certificates of MRA deployments carry, each in the one shape
    :func:`_read_extension` reads, each once: what cryptography reads without error, into the
    same values. Anything else (another extension, another shape, a length not in DER's form, an
    extension twice) returns None, and cryptography's objects say it. ``seen``: extensions read
    before, by their DER (certificates of one issuer share most of theirs).
    """
    if walk is None:
        return None
    at, end = walk[1], walk[2]
    try:
        if der[at] != 0x30:  # subjectPublicKeyInfo
            return None
        at = _strict(der, at, end)[1]
        while at < end and der[at] in (0x81, 0x82):  # issuerUniqueID, subjectUniqueID
            at = _strict(der, at, end)[1]
        if at >= end or der[at] != 0xA3:
            return None
        outer, outer_end = _strict(der, at, end)
        if outer_end != end or der[outer] != 0x30:
            return None
        at, end = _strict(der, outer, outer_end)
        if end != outer_end or at == end:
            return None
        values: list[object] = [None, None, None, None, False, None, None]
        found: set[int] = set()
        while at < end:
            if der[at] != 0x30:
                return None
            size = der[at + 1]
            if size < 0x80:  # most extensions: the short form, read here
                ext_end = at + 2 + size
                if ext_end > end:
                    return None
            else:
                ext_end = _strict(der, at, end)[1]
            raw = der[at:ext_end]
            if seen is None:
                read = _read_extension(raw)
            elif raw in seen:
                read = seen[raw]
            else:
                read = seen[raw] = _read_extension(raw)
            if read is None:
                return None
            place, value = read
            if place in found:
                return None  # cryptography: DuplicateExtension (an extension we read, twice)
            found.add(place)
            # a tuple of its own for each certificate, as cryptography gives it: facts sharing
            # them made the audit's peak memory vary from run to run (later steps key some of
            # their caches by object identity); bytes and bools are shared
            if place in (_KU_AT, _EKU_AT):
                values[place] = tuple(value)
            elif place == _SAN_AT:
                values[_SAN_AT] = (tuple(value[0]), tuple(value[1]))
            elif place == _BC_AT:
                values[_BC_AT], values[_BC_AT + 1] = value
            else:
                values[place] = value
            at = ext_end
    except (_NotPlain, IndexError):
        return None
    return (*values, False, None)  # type: ignore[return-value]


def _read_extension(raw: bytes) -> _Read:
    """One Extension (its whole DER, ``raw``) in the shape MRA certificates write it, or None.

    basicConstraints (CA:TRUE with a path length up to 127, or not); keyUsage of the first seven
    bits; extendedKeyUsage of the usages in ``_EKU_NAMES``; a SAN of printable DNS names and
    addresses; a subject key identifier; an authority key identifier of the key identifier
    alone. Strict DER: each length in its one form, nothing after a value, critical written only
    when TRUE.
    """
    try:
        field, end = _strict(raw, 0, len(raw))
        if end != len(raw) or raw[field] != 0x06:
            return None
        oid_at, field = _strict(raw, field, end)
        oid = raw[oid_at:field]
        critical = False
        if raw[field] == 0x01:  # DER writes critical only when TRUE, as 0xFF
            if raw[field + 1] != 1 or raw[field + 2] != 0xFF:
                return None
            critical = True
            field += 3
        if raw[field] != 0x04:
            return None
        value, value_end = _strict(raw, field, end)
        if value_end != end or value == value_end:
            return None
        kind = raw[value]
        inner, inner_end = _strict(raw, value, value_end)
        if inner_end != value_end:
            return None
        content = raw[inner:inner_end]
        if oid == _BC:
            if kind != 0x30:
                return None
            if not content:
                return _BC_AT, (False, critical)
            if content == b"\x01\x01\xff" or (
                len(content) == 6 and content[:5] == b"\x01\x01\xff\x02\x01" and content[5] < 0x80
            ):
                return _BC_AT, (True, critical)
            return None
        if oid == _KU:
            # one octet of bits, its unused bits zero, the last bit used set (DER's form)
            if kind != 0x03 or len(content) != 2:
                return None
            unused, bits = content
            if unused > 7 or not bits or bits & ((1 << unused) - 1) or bits & 0x01:
                return None
            return _KU_AT, [name for bit, name in _KU_BITS if bits & bit]
        if oid == _EKU:
            if kind != 0x30 or not content:
                return None
            names: list[str] = []
            at = inner
            while at < inner_end:
                if raw[at] != 0x06:
                    return None
                start, stop = _strict(raw, at, inner_end)
                usage = _EKU_BY_DER.get(raw[start:stop])
                if usage is None:
                    return None
                names.append(usage)
                at = stop
            return _EKU_AT, names
        if oid == _SAN:
            if kind != 0x30 or not content:
                return None
            dns: list[str] = []
            ips: list[str] = []
            at = inner
            while at < inner_end:
                tag = raw[at]
                start, stop = _strict(raw, at, inner_end)
                name = raw[start:stop]
                if tag == 0x82 and _DNS_TEXT.fullmatch(name) is not None:
                    dns.append(name.decode("ascii"))
                elif tag == 0x87 and len(name) in (4, 16):
                    ips.append(str(ipaddress.ip_address(name)))
                else:
                    return None
                at = stop
            return _SAN_AT, (dns, ips)
        if oid == _SKI:
            if kind != 0x04 or not content:
                return None
            return _SKI_AT, content
        if oid == _AKI:
            # the key identifier alone ([0]), as CAs write it
            if kind != 0x30 or not content or raw[inner] != 0x80:
                return None
            start, stop = _strict(raw, inner, inner_end)
            if stop != inner_end or start == stop:
                return None
            return _AKI_AT, raw[start:stop]
    except (_NotPlain, IndexError):
        return None
    return None


def _twin(cert: x509.Certificate, der: bytes) -> x509.Certificate:
    """A second object for the same certificate (``der``: its DER), to read the facts from.

    cryptography keeps every object it builds for a certificate's names, extensions and key on
    the certificate (about 4 KB); the deployment keeps its certificates to the end of the audit,
    and nothing else reads those objects.
    """
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return cert


def _facts_of(originals: list[x509.Certificate], ders: list[bytes]) -> list[CertFacts]:
    """The facts of each certificate, computed step by step over all of them (see :func:`prime`).

    ``ders``: their DER encodings (as read, or as ``public_bytes`` gives them): the twins are
    parsed from them and the fingerprints hashed from them, so each is serialised once at most.
    """
    twins = [_twin(c, der) for c, der in zip(originals, ders, strict=True)]
    walks = [_tbs_walk(der) for der in ders]
    plain: dict[bytes, tuple[str, str | None] | None] = {}
    names = [_walked_names(c, walk, plain) for c, walk in zip(twins, walks, strict=True)]
    seen: dict[bytes, _Read] = {}
    extensions = [
        _der_extensions(der, walk, seen) or _Extensions(c).values()
        for c, der, walk in zip(twins, ders, walks, strict=True)
    ]
    keys = [_key_facts(c) for c in twins]
    fingerprints = [der_fingerprint(der) for der in ders]
    return [
        _build(*each) for each in zip(twins, names, extensions, keys, fingerprints, strict=True)
    ]


def _build(
    cert: x509.Certificate,
    names_: tuple[str, str | None, str, bool],
    exts: _ExtValues,
    key: KeyFacts,
    fp: str,
) -> CertFacts:
    subject, cn, issuer, same_name = names_
    san, eku, ku, is_ca, bc_critical, ski, aki, name_constrained, malformed = exts
    dns, ips = san if san is not None else ((), ())
    try:
        algo = cert.signature_hash_algorithm
        signature_hash = algo.name if algo is not None else None
    except UnsupportedAlgorithm:
        signature_hash = f"unsupported ({cert.signature_algorithm_oid.dotted_string})"
        malformed = malformed or f"signature algorithm {signature_hash} is not supported"
    wildcard = (cn or "").startswith("*") or any(n.startswith("*") for n in dns)
    return _new_facts(
        subject,
        issuer,
        cn,
        dns,
        ips,
        san is not None,
        cert.serial_number,
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
        key,
        signature_hash,
        eku or (),
        eku is not None,
        ku or (),
        is_ca,
        bc_critical,
        _self_signed(cert, ski, aki, same_name),
        wildcard,
        fp,
        ski,
        aki,
        ku is not None,
        malformed,
        name_constrained,
    )


_FACT_FIELDS = (
    "subject",
    "issuer",
    "common_name",
    "san_dns",
    "san_ip",
    "has_san",
    "serial",
    "not_before",
    "not_after",
    "key",
    "signature_hash",
    "eku",
    "has_eku",
    "key_usage",
    "is_ca",
    "basic_constraints_critical",
    "self_signed",
    "wildcard",
    "fingerprint",
    "ski",
    "aki",
    "has_key_usage",
    "malformed",
    "name_constrained",
)


def _facts_maker() -> Callable[..., CertFacts]:
    """A function making the :class:`CertFacts` of its arguments (:data:`_FACT_FIELDS` in order).

    The dataclass's ``__init__`` sets each of the 24 fields through the frozen class's
    ``object.__setattr__``, with keywords; this sets the slots directly (the same value, in about
    half the time). Should the class have other fields, or work of its own at creation, its
    ``__init__`` is used instead.
    """
    shape = (
        tuple(f.name for f in fields(CertFacts)) == _FACT_FIELDS
        and tuple(getattr(CertFacts, "__slots__", ())) == _FACT_FIELDS
        and not hasattr(CertFacts, "__post_init__")
    )
    if not shape:

        def plain(*values: object) -> CertFacts:
            return CertFacts(**dict(zip(_FACT_FIELDS, values, strict=True)))  # type: ignore[arg-type]

        return plain
    new = object.__new__
    members = CertFacts.__dict__
    (
        set_subject,
        set_issuer,
        set_common_name,
        set_san_dns,
        set_san_ip,
        set_has_san,
        set_serial,
        set_not_before,
        set_not_after,
        set_key,
        set_signature_hash,
        set_eku,
        set_has_eku,
        set_key_usage,
        set_is_ca,
        set_basic_constraints_critical,
        set_self_signed,
        set_wildcard,
        set_fingerprint,
        set_ski,
        set_aki,
        set_has_key_usage,
        set_malformed,
        set_name_constrained,
    ) = (members[name].__set__ for name in _FACT_FIELDS)

    def direct(
        subject: str,
        issuer: str,
        common_name: str | None,
        san_dns: tuple[str, ...],
        san_ip: tuple[str, ...],
        has_san: bool,
        serial: int,
        not_before: dt.datetime,
        not_after: dt.datetime,
        key: KeyFacts,
        signature_hash: str | None,
        eku: tuple[str, ...],
        has_eku: bool,
        key_usage: tuple[str, ...],
        is_ca: bool | None,
        basic_constraints_critical: bool,
        self_signed: bool,
        wildcard: bool,
        fingerprint: str,
        ski: bytes | None,
        aki: bytes | None,
        has_key_usage: bool,
        malformed: str | None,
        name_constrained: bool,
    ) -> CertFacts:
        made: CertFacts = new(CertFacts)
        set_subject(made, subject)
        set_issuer(made, issuer)
        set_common_name(made, common_name)
        set_san_dns(made, san_dns)
        set_san_ip(made, san_ip)
        set_has_san(made, has_san)
        set_serial(made, serial)
        set_not_before(made, not_before)
        set_not_after(made, not_after)
        set_key(made, key)
        set_signature_hash(made, signature_hash)
        set_eku(made, eku)
        set_has_eku(made, has_eku)
        set_key_usage(made, key_usage)
        set_is_ca(made, is_ca)
        set_basic_constraints_critical(made, basic_constraints_critical)
        set_self_signed(made, self_signed)
        set_wildcard(made, wildcard)
        set_fingerprint(made, fingerprint)
        set_ski(made, ski)
        set_aki(made, aki)
        set_has_key_usage(made, has_key_usage)
        set_malformed(made, malformed)
        set_name_constrained(made, name_constrained)
        return made

    return direct


_new_facts = _facts_maker()


def is_ip(name: str) -> bool:
    if not name or (not name[0].isdigit() and ":" not in name):
        return False  # a host name: no need to let ipaddress raise
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_fqdn(name: str) -> bool:
    """A dotted host name (not an IP address, not a short host name) that DNS can carry: no
    empty label (``cucm..example.com``), none longer than 63 characters, 253 at most in all
    (RFC 1035 2.3.4; one final dot allowed)."""
    if is_ip(name):
        return False
    bare = name[:-1] if name.endswith(".") else name
    labels = bare.split(".")
    return len(labels) > 1 and len(bare) <= 253 and all(0 < len(label) <= 63 for label in labels)


def _dns_match(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    if pattern.startswith("*.") and "." in pattern[2:] and "." in name:
        # one label only, and never a wildcard over a top-level domain alone ("*.com")
        return name.split(".", 1)[1] == pattern[2:]
    return False


class NameMatch(Enum):
    SAN = "san"
    CN_FALLBACK = "cn-fallback"
    NONE = "none"


def match_name(f: CertFacts, name: str, *, cn_fallback: bool = True) -> NameMatch:
    """Does ``name`` appear in the SAN (dNSName or iPAddress), or, failing that, in the CN?

    As Expressway's Traffic Server does for UC nodes, the CN is only looked at when the name is not
    in the SAN; a match there is accepted but reported as a fallback.
    """
    if is_ip(name):
        # an address is matched against iPAddress entries only, never the CN (as OpenSSL does)
        target = str(ipaddress.ip_address(name))
        return NameMatch.SAN if target in f.san_ip else NameMatch.NONE
    if name in f.san_dns or any(_dns_match(p, name) for p in f.san_dns):  # exact: no lowering
        return NameMatch.SAN
    if cn_fallback and f.common_name is not None and _dns_match(f.common_name, name):
        return NameMatch.CN_FALLBACK
    return NameMatch.NONE
