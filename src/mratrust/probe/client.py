"""Expressway-C as a TLS client: the offer its Traffic Server makes, for a given version.

A :class:`ClientProfile` is built from what the inventory says about Expressway-C — version,
upgrade path, configured cipher string, TLS versions, the TLS 1.3 RSA signature preference and,
optionally, its certificate and key — and turned into pyOpenSSL contexts, one per
:class:`Variant`: the default offer (what Expressway-C itself would send) and four offers that force
an RSA or an ECDSA identity out of the server under TLS 1.2 (by cipher suites) and TLS 1.3 (by
the order of the signature algorithms).

pyOpenSSL and ``cryptography`` share one OpenSSL build (the wheel's); the stdlib ``ssl`` module has
another (the system's). Nothing here hands an object from one to the other: certificates and keys
are ``cryptography`` objects, which pyOpenSSL 24.3+ accepts directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from OpenSSL import SSL

from mratrust.ciphers import Auth, effective
from mratrust.errors import InputError
from mratrust.pki.facts import KeyType
from mratrust.topology import Transport
from mratrust.values import frozen
from mratrust.versions import Version, behaviour

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class TlsVersion(Enum):
    """The TLS versions Expressway-C can offer to a UC node (``SipTlsVersions`` spelling)."""

    TLS1_2 = "TLSv1.2"
    TLS1_3 = "TLSv1.3"

    @property
    def openssl(self) -> int:
        """The OpenSSL protocol version constant."""
        return SSL.TLS1_3_VERSION if self is TlsVersion.TLS1_3 else SSL.TLS1_2_VERSION

    @classmethod
    def parse(cls, text: str) -> TlsVersion:
        """``TLSv1.2``, ``1.2``, ``tls1.3`` …; raises :class:`InputError` for anything else."""
        key = text.strip().lower().replace("_", ".").removeprefix("tls").removeprefix("v")
        found = {"1.2": cls.TLS1_2, "1.3": cls.TLS1_3}.get(key)
        if found is not None:
            return found
        raise InputError(
            f"{text!r} is not a TLS version this probe offers",
            field="TLS versions",
            hint="use TLSv1.2 and/or TLSv1.3 (TLS 1.0 and 1.1 are not probed)",
        )


class Variant(Enum):
    """One offer made to every endpoint (values are the JSON strings)."""

    DEFAULT = "default"
    """Exactly what Expressway-C offers: its versions, cipher order and signature algorithms."""
    TLS12_RSA = "tls1.2-rsa"
    TLS12_ECDSA = "tls1.2-ecdsa"
    TLS13_RSA = "tls1.3-rsa"
    TLS13_ECDSA = "tls1.3-ecdsa"

    __hash__ = object.__hash__
    """By identity (members are singletons), in C: Enum's own hash runs Python code per look-up,
    and these members key the dictionaries of every handshake and verdict."""

    @property
    def describe(self) -> str:
        """A few words for reports."""
        return _VARIANT_WORDS[self]

    @property
    def wanted(self) -> KeyType | None:
        """The certificate type this forced offer asks for (None: the default offer)."""
        return _VARIANT_WANTS.get(self)


_VARIANT_WORDS = {
    Variant.DEFAULT: "as Expressway-C",
    Variant.TLS12_RSA: "TLS 1.2, RSA suites only",
    Variant.TLS12_ECDSA: "TLS 1.2, ECDSA suites only",
    Variant.TLS13_RSA: "TLS 1.3, RSA signatures first",
    Variant.TLS13_ECDSA: "TLS 1.3, ECDSA signatures first",
}

_VARIANT_WANTS = {
    Variant.TLS12_RSA: KeyType.RSA,
    Variant.TLS12_ECDSA: KeyType.ECDSA,
    Variant.TLS13_RSA: KeyType.RSA,
    Variant.TLS13_ECDSA: KeyType.ECDSA,
}

ALL_VARIANTS: tuple[Variant, ...] = tuple(Variant)
FORCED_VARIANTS: tuple[Variant, ...] = tuple(v for v in Variant if v is not Variant.DEFAULT)

RSA_PSS_SIGALGS: tuple[str, ...] = (
    "rsa_pss_rsae_sha256",
    "rsa_pss_rsae_sha384",
    "rsa_pss_rsae_sha512",
    "rsa_pss_pss_sha256",
    "rsa_pss_pss_sha384",
    "rsa_pss_pss_sha512",
)
RSA_PKCS1_SIGALGS: tuple[str, ...] = ("rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512")
ECDSA_SIGALGS: tuple[str, ...] = (
    "ecdsa_secp256r1_sha256",
    "ecdsa_secp384r1_sha384",
    "ecdsa_secp521r1_sha512",
)
EDDSA_SIGALGS: tuple[str, ...] = ("ed25519", "ed448")

ECDSA_FIRST_SIGALGS: tuple[str, ...] = (
    ECDSA_SIGALGS + EDDSA_SIGALGS + RSA_PSS_SIGALGS[3:] + RSA_PSS_SIGALGS[:3] + RSA_PKCS1_SIGALGS
)
"""OpenSSL 1.1.1/3.0's default ``signature_algorithms`` order (ECDSA first): Expressway before
X15.2, and on X15.2+ with ``TlsSignatureAlgoPrefRsa: Off``."""

RSA_FIRST_SIGALGS: tuple[str, ...] = (
    RSA_PSS_SIGALGS + RSA_PKCS1_SIGALGS + ECDSA_SIGALGS + EDDSA_SIGALGS
)
"""X15.2+: "Expressway sends RSA as the default algorithm during TLS 1.3 negotiation"."""

TLS13_RSA_FIRST: tuple[str, ...] = RSA_PSS_SIGALGS + RSA_PKCS1_SIGALGS + ECDSA_SIGALGS
"""The forced TLS 1.3 RSA offer: every RSA scheme first, ECDSA after."""
TLS13_ECDSA_FIRST: tuple[str, ...] = ECDSA_SIGALGS + RSA_PSS_SIGALGS + RSA_PKCS1_SIGALGS
"""The forced TLS 1.3 ECDSA offer: every ECDSA scheme first, RSA after.

Forcing is by order, as Expressway's own ``TlsSignatureAlgoPrefRsa`` does, never by leaving the
other type out, for two reasons:

- TLS 1.3 servers pick the certificate whose scheme comes first in the client's list, but JSSE
  (CUCM's Tomcat) also requires the *chain's* signature algorithm (RSA+SHA256 for a tomcat-ECDSA
  issued by an RSA CA) among ``signature_algorithms``, because OpenSSL sends no
  ``signature_algorithms_cert``. An ECDSA-only list leaves JSSE no certificate to send and it
  closes the connection.
- The same list says what the client may sign its CertificateVerify with. OpenSSL keeps a separate
  list for that (``SSL_CTX_set1_client_sigalgs_list``), but the OpenSSL inside pyOpenSSL
  (``cryptography``'s, linked statically) exposes neither it nor ``SSL_CTX_ctrl``. With both key
  types in the list, an RSA client key still signs with ``rsa_pss_rsae_*`` on the ECDSA-first
  offer, and an ECDSA key with ``ecdsa_*`` on the RSA-first one.

A server that has no certificate of the asked-for type answers with the other one: the engine
judges the type that came back (:attr:`Variant.wanted`).
"""

EXPRESSWAY_GROUPS = "X25519:P-256:X448:P-521:P-384"
"""The ``supported_groups`` every offer lists, in order, with a key share for the first only:
OpenSSL 1.1.1's default, as on Expressway. Cisco documents no group list; this is the library's
default that the other parts of the offer (signature algorithms, renegotiation) already follow.
The OpenSSL inside pyOpenSSL would otherwise add post-quantum hybrids (X25519MLKEM768, a 1,184-byte
key share) that Expressway-C's OpenSSL does not send."""

TLS12_RSA_CIPHERS = "aRSA:!aNULL:!eNULL:@SECLEVEL=0"
TLS12_ECDSA_CIPHERS = "aECDSA:!aNULL:!eNULL:@SECLEVEL=0"


def sigalgs_supported() -> bool:
    """Whether these pyOpenSSL bindings expose ``SSL_CTX_set1_sigalgs_list``.

    Without it the TLS 1.3 offers cannot choose between RSA and ECDSA: the default offer then uses
    the library's own order and the two forced TLS 1.3 offers are skipped (and say so).
    """
    from OpenSSL import _util

    lib: Any = getattr(_util, "lib", None)
    return lib is not None and hasattr(lib, "SSL_CTX_set1_sigalgs_list")


def _context_handle(ctx: SSL.Context) -> Any:
    """The OpenSSL ``SSL_CTX *`` behind ``ctx`` (pyOpenSSL keeps it as ``_context``)."""
    handle: Any = getattr(ctx, "_context", None)
    if handle is None:
        raise RuntimeError("pyOpenSSL Context has no _context handle")
    return handle


def _set_sigalgs(ctx: SSL.Context, sigalgs: Sequence[str]) -> None:
    from OpenSSL import _util

    lib: Any = _util.lib
    handle = _context_handle(ctx)
    if lib.SSL_CTX_set1_sigalgs_list(handle, ":".join(sigalgs).encode()) != 1:
        lib.ERR_clear_error()
        raise InputError(
            f"OpenSSL rejects the signature algorithm list {':'.join(sigalgs)!r}",
            field="signature algorithms",
        )


@frozen
class ClientIdentity:
    """Expressway-C's certificate chain and key, presented when a server asks for one.

    The key is never printed: it is left out of ``repr`` and of every report.
    """

    chain: tuple[x509.Certificate, ...]
    key: PrivateKey = field(repr=False, compare=False)
    source: str = ""

    @property
    def leaf(self) -> x509.Certificate:
        """The certificate itself (the chain is leaf first)."""
        return self.chain[0]


def _load_key(path: Path) -> PrivateKey:
    from cryptography.hazmat.primitives import serialization  # a client identity only

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the private key ({exc.strerror})", file=path) from exc
    loaded: object
    try:
        if b"-----BEGIN" in data:
            loaded = serialization.load_pem_private_key(data, password=None)
        else:
            loaded = serialization.load_der_private_key(data, password=None)
    except TypeError as exc:
        raise InputError(
            "the private key is encrypted",
            file=path,
            hint="export it without a pass phrase (e.g. openssl pkey -in KEY -out plain.key)",
        ) from exc
    except ValueError as exc:
        raise InputError(
            "no private key could be read from this file",
            file=path,
            hint="give a PEM or DER RSA/ECDSA private key with --client-key",
        ) from exc
    if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InputError(
            f"the private key is a {type(loaded).__name__}; Expressway uses RSA or ECDSA",
            file=path,
        )
    return loaded


def load_client_identity(cert: str | Path, key: str | Path | None = None) -> ClientIdentity:
    """Load Expressway-C's certificate (with its chain) and private key.

    ``cert`` may be any format :func:`mratrust.pki.load.load_path` reads; ``key`` defaults to the
    certificate file (a PEM holding both). The key must match the certificate.
    """
    from cryptography.hazmat.primitives import serialization  # a client identity only

    from mratrust.pki.load import load_path
    from mratrust.pki.verify import order_chain

    cert_path = Path(cert)
    key_path = Path(key) if key is not None else cert_path
    loaded = load_path(cert_path)
    if not loaded:
        raise InputError("no certificate found", file=cert_path)
    chain = order_chain([c.cert for c in loaded])
    private = _load_key(key_path)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if private.public_key().public_bytes(der, spki) != chain[0].public_key().public_bytes(
        der, spki
    ):
        raise InputError(
            "the private key does not belong to the certificate "
            f"{chain[0].subject.rfc4514_string()}",
            file=key_path,
            hint="give the key that was generated with this certificate's CSR",
        )
    return ClientIdentity(chain=chain, key=private, source=str(cert_path))


@frozen
class ClientProfile:
    """How Expressway-C's Traffic Server connects to a UC node, for one version and setup."""

    version: Version
    upgraded_from: Version | None
    cipher_string: str
    """The OpenSSL cipher string for TLS 1.2 (configured, or the default of this upgrade path)."""
    ciphers_configured: bool
    cipher_order: tuple[str, ...]
    """The TLS 1.2 suites in the order they are offered (expanded by the system OpenSSL)."""
    prefers_ecdsa: bool | None
    """An ECDSA suite comes before every RSA suite (None: the upgrade path leaves it open)."""
    tls_versions: tuple[TlsVersion, ...]
    rsa_signature_first: bool
    """``TlsSignatureAlgoPrefRsa`` in effect: RSA first in the signature algorithms of SIP TLS.

    It is a SIP setting: Traffic Server (HTTPS, TFTP) and XCP keep OpenSSL's order, ECDSA first,
    whatever the version (knowledge base §6.1, §5 X15.2); see :meth:`rsa_first_on`."""
    signature_algorithms: tuple[str, ...]
    """The ``signature_algorithms`` of a SIP offer, in order (TLS 1.3 picks the certificate type by
    them); :meth:`signature_algorithms_on` gives them for any transport."""
    identity: ClientIdentity | None = None

    def rsa_first_on(self, transport: Transport) -> bool:
        """Does the offer on ``transport`` list RSA signature algorithms first?"""
        return self.rsa_signature_first if transport is Transport.SIP else False

    def signature_algorithms_on(self, transport: Transport) -> tuple[str, ...]:
        """The ``signature_algorithms`` Expressway-C sends on ``transport``, in order."""
        return RSA_FIRST_SIGALGS if self.rsa_first_on(transport) else ECDSA_FIRST_SIGALGS

    @property
    def min_version(self) -> TlsVersion:
        """The lowest version offered."""
        return min(self.tls_versions, key=lambda v: v.openssl)

    @property
    def max_version(self) -> TlsVersion:
        """The highest version offered."""
        return max(self.tls_versions, key=lambda v: v.openssl)

    def describe(self) -> str:
        """One line: version, upgrade path, TLS versions, cipher lean, signature preference."""
        path = f"upgraded from {self.upgraded_from}" if self.upgraded_from else "fresh install"
        lean = {True: "ECDSA first", False: "RSA first", None: "order unknown"}[self.prefers_ecdsa]
        source = "configured" if self.ciphers_configured else "default"
        versions = "+".join(v.value for v in self.tls_versions)
        sip = "RSA" if self.rsa_signature_first else "ECDSA"
        sig = f"{sip} first on SIP, ECDSA first on Traffic Server and XCP"
        who = (
            f"; presents {self.identity.leaf.subject.rfc4514_string()}"
            if self.identity
            else "; no client certificate"
        )
        return (
            f"Expressway-C {self.version} ({path}): {versions}, {source} ciphers ({lean}), "
            f"TLS 1.3 signatures {sig}{who}"
        )


def client_profile(
    version: Version,
    *,
    upgraded_from: Version | None = None,
    ciphers: str | None = None,
    tls_versions: Sequence[TlsVersion] | None = None,
    rsa_signature_first: bool | None = None,
    identity: ClientIdentity | None = None,
) -> ClientProfile:
    """The profile of Expressway-C ``version``.

    ``ciphers`` is the configured string (None: the default this version and upgrade path
    produce, see :func:`mratrust.versions.default_cipher_string`). ``tls_versions`` defaults to
    TLS 1.2 and 1.3 from X14.2 (TLS 1.3 arrived there) and TLS 1.2 before. ``rsa_signature_first``
    is ``xConfiguration SIP Advanced TlsSignatureAlgoPrefRsa`` (None: the version default, RSA
    first from X15.2, else OpenSSL's order with ECDSA first); it orders SIP offers only.
    """
    eff = effective(ciphers, version, upgraded_from)
    beh = behaviour(version)
    if tls_versions is None:
        tls_versions = (
            (TlsVersion.TLS1_2, TlsVersion.TLS1_3) if beh.sip_tls13 else (TlsVersion.TLS1_2,)
        )
    if not tls_versions:
        raise InputError("at least one TLS version must be offered", field="TLS versions")
    if rsa_signature_first is None:
        rsa_signature_first = beh.tls13_rsa_signature_default
    order = tuple(s.name for s in eff.expansion.suites if s.auth is not Auth.ANY)
    return ClientProfile(
        version=version,
        upgraded_from=upgraded_from,
        cipher_string=eff.string,
        ciphers_configured=eff.configured,
        cipher_order=order,
        prefers_ecdsa=eff.prefers_ecdsa,
        tls_versions=tuple(sorted(set(tls_versions), key=lambda v: v.openssl)),
        rsa_signature_first=rsa_signature_first,
        signature_algorithms=RSA_FIRST_SIGALGS if rsa_signature_first else ECDSA_FIRST_SIGALGS,
        identity=identity,
    )


@frozen
class Offer:
    """A ready-made pyOpenSSL context for one variant, or why it cannot be made."""

    variant: Variant
    context: SSL.Context | None = field(repr=False, compare=False)
    skipped: str | None = None
    note: str | None = None
    versions: tuple[TlsVersion, ...] = ()
    sigalgs: tuple[str, ...] = ()
    """The ``signature_algorithms`` set on the context, in order (empty: the library's own)."""


def _new_context(versions: Sequence[TlsVersion]) -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_min_proto_version(min(v.openssl for v in versions))
    ctx.set_max_proto_version(max(v.openssl for v in versions))
    ctx.set_verify(SSL.VERIFY_NONE)  # the chain is judged by mratrust.pki.verify, every reason
    # OpenSSL 1.1.1 (as on Expressway) still connects to servers without RFC 5746; 3.x does not
    ctx.set_options(getattr(SSL, "OP_LEGACY_SERVER_CONNECT", 0x4))
    _set_groups(ctx, EXPRESSWAY_GROUPS)
    return ctx


def _set_groups(ctx: SSL.Context, groups: str) -> None:
    """Offer ``groups`` (see :data:`EXPRESSWAY_GROUPS`), in order, leaving out any this OpenSSL
    does not have (a FIPS build has neither X25519 nor X448); bindings without
    ``SSL_CTX_set1_curves_list``, or an OpenSSL with none of them, keep the library's list."""
    from OpenSSL import _util

    lib: Any = getattr(_util, "lib", None)
    setter = getattr(lib, "SSL_CTX_set1_curves_list", None)
    if setter is None:
        return
    handle = _context_handle(ctx)
    if setter(handle, groups.encode()) == 1:
        return
    lib.ERR_clear_error()
    known = [g for g in groups.split(":") if setter(handle, g.encode()) == 1]
    lib.ERR_clear_error()
    if known and setter(handle, ":".join(known).encode()) != 1:  # pragma: no cover - each passed
        lib.ERR_clear_error()


def _set_ciphers(ctx: SSL.Context, string: str) -> None:
    try:
        ctx.set_cipher_list(string.encode())
    except SSL.Error as exc:
        raise InputError(
            f"OpenSSL matches no cipher suite in {string!r}",
            field="cipher string",
            hint="check the spelling against `openssl ciphers -V`",
        ) from exc


def _present(context: SSL.Context, identity: ClientIdentity) -> None:
    # pyOpenSSL >= 24.3 takes cryptography objects (same OpenSSL build); older stubs say X509/PKey
    ctx: Any = context
    ctx.use_certificate(identity.leaf)
    for extra in identity.chain[1:]:
        ctx.add_extra_chain_cert(extra)
    ctx.use_privatekey(identity.key)
    try:
        context.check_privatekey()
    except SSL.Error as exc:
        raise InputError(
            "the client key does not match the client certificate", file=identity.source
        ) from exc


def build_offers(
    profile: ClientProfile,
    variants: Sequence[Variant] = ALL_VARIANTS,
    *,
    transport: Transport = Transport.SIP,
) -> dict[Variant, Offer]:
    """One context per variant, configured once and shared by every handshake of a run.

    The default offer lists the signature algorithms Expressway-C sends on ``transport``
    (:meth:`ClientProfile.signature_algorithms_on`). Raises :class:`InputError` when the cipher
    string or the client identity cannot be used.
    """
    offers: dict[Variant, Offer] = {}
    can_sigalgs = sigalgs_supported()
    for variant in variants:
        note: str | None = None
        sigalgs: tuple[str, ...] = ()
        if variant is Variant.DEFAULT:
            versions = profile.tls_versions
            ctx = _new_context(versions)
            _set_ciphers(ctx, profile.cipher_string)
            if can_sigalgs:
                sigalgs = profile.signature_algorithms_on(transport)
                _set_sigalgs(ctx, sigalgs)
            else:
                note = (
                    "this pyOpenSSL cannot set signature algorithms "
                    "(no SSL_CTX_set1_sigalgs_list): the library's default order is offered"
                )
        elif variant in (Variant.TLS12_RSA, Variant.TLS12_ECDSA):
            versions = (TlsVersion.TLS1_2,)
            ctx = _new_context(versions)
            _set_ciphers(
                ctx, TLS12_RSA_CIPHERS if variant is Variant.TLS12_RSA else TLS12_ECDSA_CIPHERS
            )
        else:
            versions = (TlsVersion.TLS1_3,)
            if not can_sigalgs:
                offers[variant] = Offer(
                    variant=variant,
                    context=None,
                    skipped="this pyOpenSSL cannot set TLS 1.3 signature algorithms "
                    "(SSL_CTX_set1_sigalgs_list is not in its bindings), so it cannot ask for an "
                    "RSA or an ECDSA certificate under TLS 1.3",
                    versions=versions,
                )
                continue
            ctx = _new_context(versions)
            sigalgs = TLS13_RSA_FIRST if variant is Variant.TLS13_RSA else TLS13_ECDSA_FIRST
            _set_sigalgs(ctx, sigalgs)
        if profile.identity is not None:
            _present(ctx, profile.identity)
        offers[variant] = Offer(
            variant=variant, context=ctx, note=note, versions=versions, sigalgs=sigalgs
        )
    return offers


__all__ = [
    "ALL_VARIANTS",
    "ECDSA_FIRST_SIGALGS",
    "EXPRESSWAY_GROUPS",
    "FORCED_VARIANTS",
    "RSA_FIRST_SIGALGS",
    "TLS13_ECDSA_FIRST",
    "TLS13_RSA_FIRST",
    "ClientIdentity",
    "ClientProfile",
    "Offer",
    "TlsVersion",
    "Variant",
    "build_offers",
    "client_profile",
    "load_client_identity",
    "sigalgs_supported",
]
