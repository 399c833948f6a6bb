"""The public-CA clientAuth EKU sunset: the cut-off date and which roots are "publicly trusted".

Public CAs stop putting clientAuth in TLS certificates (Chrome Root Program, knowledge base
R-CE-10 and §12 item 5): a certificate that must carry clientAuth and comes from a public CA will
lose it at its next renewal after the cut-off. Which roots are public is decided by Mozilla's root
store as the ``certifi`` package ships it, or by a file the user gives (``--public-roots``). The
sources disagree on the date (FN74362: March 2027 for leaf certificates; TN 225482 and Chrome's
policy v1.6: June 15, 2026; some CAs earlier), so it is a setting with the earliest plausible
date as the default.

Loading the roots is I/O: it happens here, at the edge, and the rules get a :class:`SunsetPolicy`.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import warnings
from functools import lru_cache
from pathlib import Path

from cryptography.utils import CryptographyDeprecationWarning

from mratrust.errors import InputError
from mratrust.pki.load import load_path
from mratrust.pki.verify import TrustStore
from mratrust.values import frozen

DEFAULT_CUTOFF = dt.date(2026, 6, 15)
"""Chrome Root Program policy v1.6's date for leaf certificates (TN 225482 uses June 2026)."""

KNOWN_CA_CUTOFFS: tuple[tuple[str, str], ...] = (
    ("digicert", "DigiCert dropped clientAuth from its TLS certificates on May 1, 2026"),
    ("let's encrypt", "Let's Encrypt dropped clientAuth on May 13, 2026"),
    ("sectigo", "Sectigo dropped clientAuth on May 15, 2026"),
)
"""Public CAs whose own schedule the knowledge base records (§12 item 5, third-party summaries)."""


@frozen
class SunsetPolicy:
    """The cut-off date and the roots that count as publicly trusted."""

    cutoff: dt.date
    roots: TrustStore
    roots_source: str
    """Where the roots came from: ``certifi <version>`` or the file given."""


def _certifi() -> tuple[str, str]:
    """Mozilla's roots as certifi ships them: the file's path, and a label with certifi's version.

    An installed certifi holds ``cacert.pem`` beside its ``__init__.py``, whose version is a
    literal line: both are read without importing certifi, whose import loads
    importlib.resources (with tempfile, shutil and the compression modules: about 8 ms, more
    than the file takes to read). Anything else (certifi imported already, or from a zip, or a
    version line of another shape) asks certifi itself.
    """
    if "certifi" not in sys.modules:
        from importlib.util import find_spec

        try:
            spec = find_spec("certifi")
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith("__init__.py"):
            init = Path(origin)
            beside = init.with_name("cacert.pem")
            try:
                found = _VERSION_LINE.search(init.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                found = None
            if found is not None and beside.is_file():
                return str(beside), _certifi_label(found.group(1))
    return _imported_certifi()


_VERSION_LINE = re.compile(r"""^__version__ = ["']([0-9][0-9A-Za-z.+-]*)["']\s*$""", re.MULTILINE)
"""certifi's version line (``__version__ = "2026.10.19"``)."""


def _certifi_label(version: str) -> str:
    return f"Mozilla's root store (certifi {version})"


def _imported_certifi() -> tuple[str, str]:
    try:
        import certifi
    except ImportError as exc:  # a dependency; only a broken install lacks it
        raise InputError(
            "the certifi package (Mozilla's root store) is not installed",
            hint="reinstall mratrust, or give --public-roots FILE",
        ) from exc
    # certifi.where() finds the file through importlib.resources, whose readers cost an audit
    # more to import than the file takes to read; an installed package holds it beside its code
    # (where() too returns that path then), and only an import from a zip needs where()
    beside = Path(certifi.__file__).with_name("cacert.pem")
    path = str(beside) if beside.is_file() else certifi.where()
    return path, _certifi_label(certifi.__version__)


@lru_cache(maxsize=8)
def _roots(path: str, label: str) -> TrustStore:
    with warnings.catch_warnings():
        # Mozilla's store still holds a root with a non-positive serial number: accepted here
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return TrustStore(load_path(Path(path)), label=label, bundle=True)


def policy(
    *, cutoff: dt.date | None = None, public_roots: str | Path | None = None
) -> SunsetPolicy:
    """The policy for ``--eku-sunset`` and ``--public-roots`` (defaults: 2026-06-15, certifi)."""
    if public_roots is None:
        path, label = _certifi()
    else:
        path, label = str(public_roots), str(public_roots)
        if not Path(path).exists():
            raise InputError(
                "public roots file not found",
                file=path,
                field="--public-roots",
                hint="give a PEM bundle (or a folder) of the root CAs to treat as publicly trusted",
            )
    return SunsetPolicy(
        cutoff=cutoff or DEFAULT_CUTOFF, roots=_roots(path, label), roots_source=label
    )


def known_ca_note(issuer_text: str) -> str | None:
    """What the knowledge base says of this public CA's own clientAuth schedule, if anything."""
    low = issuer_text.lower()
    return next((note for key, note in KNOWN_CA_CUTOFFS if key in low), None)
