"""OpenSSL cipher strings as Expressway uses them: expand in order, tell RSA from ECDSA.

The expansion is done by the OpenSSL that Python's ``ssl`` module is linked against; the result
names it, since Expressway's own OpenSSL may order a few suites differently.
"""

from __future__ import annotations

import ssl
from enum import Enum

from mratrust.errors import InputError
from mratrust.values import frozen
from mratrust.versions import (
    BASE_CIPHERS,
    RSA_PREFIX,
    CipherPath,
    Version,
    cipher_path,
    default_cipher_basis,
    default_cipher_string,
)


class Auth(Enum):
    """The certificate type a suite authenticates with."""

    RSA = "rsa"
    ECDSA = "ecdsa"
    ANY = "any"  # TLS 1.3: the certificate type is chosen by signature algorithms
    OTHER = "other"


_AUTH = {"auth-rsa": Auth.RSA, "auth-ecdsa": Auth.ECDSA, "auth-any": Auth.ANY}


@frozen
class Suite:
    """One cipher suite of an expanded string."""

    name: str
    protocol: str
    auth: Auth
    kx: str
    code: int


@frozen
class Expansion:
    """A cipher string expanded in order by OpenSSL."""

    string: str
    suites: tuple[Suite, ...]
    openssl: str

    @property
    def first_rsa(self) -> int | None:
        """Position of the first RSA-authenticated TLS 1.2 suite."""
        return next((i for i, s in enumerate(self.suites) if s.auth is Auth.RSA), None)

    @property
    def first_ecdsa(self) -> int | None:
        """Position of the first ECDSA-authenticated TLS 1.2 suite."""
        return next((i for i, s in enumerate(self.suites) if s.auth is Auth.ECDSA), None)

    @property
    def prefers_ecdsa(self) -> bool:
        """True when an ECDSA suite is offered before every RSA suite (TLS 1.2 offers)."""
        ecdsa, rsa = self.first_ecdsa, self.first_rsa
        if ecdsa is None:
            return False
        return rsa is None or ecdsa < rsa

    @property
    def offers_ecdsa(self) -> bool:
        return self.first_ecdsa is not None


def expand(string: str) -> Expansion:
    """Expand ``string`` in order; raise :class:`InputError` if OpenSSL matches no suite."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.set_ciphers(string)
    except ssl.SSLError as exc:
        raise InputError(
            f"OpenSSL matches no cipher suite in {string!r}",
            field="cipher string",
            hint="check the spelling against `openssl ciphers -V`",
        ) from exc
    suites = tuple(
        Suite(
            name=str(c["name"]),
            protocol=str(c["protocol"]),
            auth=_AUTH.get(str(c.get("auth")), Auth.OTHER),
            kx=str(c.get("kea", "")),
            code=int(c["id"]) & 0xFFFF,
        )
        for c in ctx.get_ciphers()
    )
    return Expansion(string=string, suites=suites, openssl=ssl.OPENSSL_VERSION)


@frozen
class Suggestion:
    """A string that prefers RSA, with the expansion that proves it."""

    string: str
    expansion: Expansion
    how: str


def suggest_rsa_first(string: str) -> tuple[Suggestion, ...]:
    """Strings that keep ``string``'s suites but prefer RSA, each verified by expanding it.

    Two forms, both documented by Cisco: the ``ECDHE-RSA-AES256-GCM-SHA384:`` prefix that an
    upgrade from X14.0+ adds, and ``:+ECDSA`` which moves every ECDSA suite to the end.
    """
    candidates: list[tuple[str, str]] = []
    if not string.startswith(RSA_PREFIX):
        candidates.append((RSA_PREFIX + string, "prefix ECDHE-RSA-AES256-GCM-SHA384"))
    if not string.rstrip().endswith("+ECDSA"):
        candidates.append((string + ":+ECDSA", "append +ECDSA (ECDSA suites last)"))
    out: list[Suggestion] = []
    for candidate, how in candidates:
        expansion = expand(candidate)
        if not expansion.prefers_ecdsa and expansion.first_rsa is not None:
            out.append(Suggestion(string=candidate, expansion=expansion, how=how))
    return tuple(out)


@frozen
class EffectiveCiphers:
    """The cipher string a protocol uses on a version, and which way it leans."""

    string: str
    configured: bool
    path: CipherPath
    expansion: Expansion

    @property
    def prefers_ecdsa(self) -> bool | None:
        """True/False when known; None when the upgrade path leaves it open."""
        if self.configured or self.path is not CipherPath.UNKNOWN:
            return self.expansion.prefers_ecdsa
        return None


_EXPANSIONS: dict[str, Expansion] = {}


def expand_cached(string: str) -> Expansion:
    """:func:`expand`, remembered per string (audits ask for the same few strings often)."""
    found = _EXPANSIONS.get(string)
    if found is None:
        found = _EXPANSIONS[string] = expand(string)
    return found


def effective(
    configured: str | None,
    version: Version,
    upgraded_from: Version | None,
    *,
    path: CipherPath | None = None,
) -> EffectiveCiphers:
    """The configured string, else the default this version and upgrade path produce.

    ``path`` is the cipher path of a longer recorded upgrade history
    (:meth:`mratrust.versions.UpgradePath.cipher_path`); by default the one hop from
    ``upgraded_from`` decides.
    """
    path = path or cipher_path(version, upgraded_from)
    if configured:
        return EffectiveCiphers(
            string=configured,
            configured=True,
            path=path,
            expansion=expand_cached(configured),
        )
    string = default_cipher_string(version, upgraded_from, path=path)
    return EffectiveCiphers(
        string=string,
        configured=False,
        path=path,
        expansion=expand_cached(string),
    )


__all__ = [
    "BASE_CIPHERS",
    "RSA_PREFIX",
    "Auth",
    "EffectiveCiphers",
    "Expansion",
    "Suggestion",
    "Suite",
    "effective",
    "expand",
    "expand_cached",
    "suggest_rsa_first",
]


def render_ciphers(
    string: str | None,
    *,
    version: Version | None = None,
    upgraded_from: Version | None = None,
    fresh: bool = False,
    fmt: str = "text",
) -> str:
    """The ``mratrust ciphers`` view: expansion, ECDSA-vs-RSA verdict, RSA-first suggestions."""
    import json

    source = "given"
    documented: bool | None = None
    basis: str | None = None
    if string is None:
        if version is None:
            raise InputError(
                "give a cipher string or --version",
                hint='e.g. mratrust ciphers "EECDH:EDH:HIGH" or mratrust ciphers --version X14.2.1',
            )
        frm = None if fresh else upgraded_from
        string = default_cipher_string(version, frm)
        path = cipher_path(version, frm)
        documented, basis = default_cipher_basis(version, path)
        where = f"{version} " + (f"upgraded from {frm}" if frm is not None else "(fresh install)")
        source = ("documented default of " if documented else "modelled default of ") + where
    exp = expand(string)
    suggestions = suggest_rsa_first(string) if exp.prefers_ecdsa else ()
    if fmt == "json":
        return (
            json.dumps(
                {
                    "string": string,
                    "source": source,
                    "documented": documented,
                    "basis": basis,
                    "openssl": exp.openssl,
                    "prefers_ecdsa": exp.prefers_ecdsa,
                    "first_rsa": exp.first_rsa,
                    "first_ecdsa": exp.first_ecdsa,
                    "suites": [
                        {"name": s.name, "protocol": s.protocol, "auth": s.auth.value}
                        for s in exp.suites
                    ],
                    "suggestions": [
                        {
                            "string": s.string,
                            "how": s.how,
                            "prefers_ecdsa": s.expansion.prefers_ecdsa,
                        }
                        for s in suggestions
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    lines = [f"Cipher string ({source}):", f"  {string}"]
    if basis:
        lines.append(f"  ({basis})")
    lines.append(f"Expanded by {exp.openssl}: {len(exp.suites)} suites")
    for i, s in enumerate(exp.suites):
        mark = ""
        if i == exp.first_ecdsa:
            mark = "  <- first ECDSA"
        elif i == exp.first_rsa:
            mark = "  <- first RSA"
        lines.append(f"  {i + 1:3}. {s.name:<40} {s.protocol:<8} {s.auth.value}{mark}")
    if exp.prefers_ecdsa:
        lines.append(
            "Verdict: ECDSA is preferred over RSA under TLS 1.2: a UC node that allows ECDSA may "
            "present its tomcat-ECDSA / CallManager-ECDSA certificate (self-signed by default)."
        )
        for g in suggestions:
            first = (g.expansion.first_rsa or 0) + 1
            lines.append(
                f"To prefer RSA under TLS 1.2 only ({g.how}; verified: first RSA suite now "
                f"#{first}):"
            )
            lines.append(f"  {g.string}")
    elif exp.first_rsa is not None:
        lines.append(
            "Verdict: RSA is preferred over ECDSA under TLS 1.2. Under TLS 1.3 the cipher string "
            "does not choose the certificate type (the signature algorithms do): a node that "
            "allows EC and negotiates TLS 1.3 may still present its ECDSA certificate."
        )
    else:
        lines.append("Verdict: no RSA-authenticated suite is offered.")
    return "\n".join(lines) + "\n"
