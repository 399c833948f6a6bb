"""The sources file (SPEC §7) and where credentials come from.

A sources file names the systems and how to reach them, never a secret::

    schema: 1
    name: Example Corp
    expressway_c: {address: expc1.example.com, api_port: 443, credentials: expc}
    uc:
      - {product: cucm, publisher: cucm-pub.example.com, axl: cucm-axl, platform: cucm-os}
    files: {expressway_c_trusted_cas: exports/expc-trusted-cas.pem}
    api_trust: exports/mgmt-ca.pem
    addresses: {}

A credentials name resolves to ``MRATRUST_<NAME>_USER``/``MRATRUST_<NAME>_PASSWORD``, then to the
credentials file (``{name: {user, password}}``, refused unless only its owner can read it), then
to a prompt on a TTY; otherwise the source is skipped and the summary says so.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mratrust.errors import InputError, InputErrors
from mratrust.inventory import _compose, _field, _line_for
from mratrust.topology import CUCM_HTTPS_PORT, EXPRESSWAY_API_PORT
from mratrust.values import frozen
from mratrust.versions import Version

README_REF = "see 'Collect' in the README"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _version_or_none(value: object) -> object:
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str):
        try:
            Version.parse(value)
        except InputError:
            raise ValueError(f"{value!r} is not an Expressway version (e.g. X14.2.1)") from None
    return value


class ExpresswaySource(_Strict):
    """An Expressway cluster, reached through one of its peers."""

    address: str = Field(min_length=1)
    api_port: int = Field(default=EXPRESSWAY_API_PORT, gt=0, lt=65536)
    credentials: str | None = None
    version: str | None = None
    """Declared version, used when the API cannot be read (no account)."""
    upgraded_from: str | None = None
    """No interface tells the upgrade path: declare it (omit for unknown)."""
    fresh_install: bool = False
    """Declare a fresh install (upgraded_from null) instead of leaving it unknown."""
    peers: list[str] = Field(default_factory=list)
    """Peers to read when the API cannot list them."""

    _v = field_validator("version", "upgraded_from", mode="before")(
        classmethod(lambda cls, v: _version_or_none(v))
    )

    @model_validator(mode="after")
    def _one_upgrade_path(self) -> ExpresswaySource:
        if self.fresh_install and self.upgraded_from:
            raise ValueError(
                "give either upgraded_from or fresh_install: true, not both (fresh install means "
                "it was never upgraded)"
            )
        return self


class UcSource(_Strict):
    """A CUCM, IM&P or Unity Connection cluster, by its publisher."""

    product: Literal["cucm", "imp", "cuc"]
    publisher: str = Field(min_length=1)
    name: str | None = None
    """The cluster's name in the inventory (default: ``<product>-<publisher's first label>``)."""
    axl: str | None = None
    platform: str | None = None
    api_port: int = Field(default=CUCM_HTTPS_PORT, gt=0, lt=65536)
    axl_version: str = "12.5"
    nodes: list[str] = Field(default_factory=list)
    """Declared nodes, for a cluster no interface lists (Unity Connection, no AXL account)."""

    @property
    def cluster(self) -> str:
        """The cluster name written to the inventory."""
        return self.name or f"{self.product}-{self.publisher.split('.')[0]}"


class AddressIn(_Strict):
    host: str = Field(min_length=1)
    ports: dict[int, int] = Field(default_factory=dict)
    """Where the TLS handshakes go, by port (as ``probe:`` in the inventory)."""
    api_ports: dict[int, int] = Field(default_factory=dict)
    """Where the management interfaces are, by port, when not where ``ports`` says."""


class FilesIn(_Strict):
    expressway_c_trusted_cas: str | dict[str, str] | None = None
    """Maintenance > Security > Trusted CA certificate > Show all (PEM file): one file for every
    peer, or ``{peer: file}``."""
    expressway_c_certificates: dict[str, str] = Field(default_factory=dict)
    """``{peer: file}``: each peer's server certificate (Maintenance > Security > Server
    certificate), when the API cannot give it."""
    expressway_e_trusted_cas: str | dict[str, str] | None = None
    """Expressway-E's trusted CA list, exported the same way (one file or ``{peer: file}``)."""
    expressway_e_certificates: dict[str, str] = Field(default_factory=dict)
    """``{peer: file}``: each Expressway-E peer's server certificate, when neither the API nor a
    handshake gives it."""


class SourcesIn(_Strict):
    schema_: Literal[1] = Field(alias="schema")
    name: str = Field(min_length=1)
    expressway_c: ExpresswaySource
    expressway_e: ExpresswaySource | None = None
    uc: list[UcSource] = Field(default_factory=list)
    files: FilesIn = Field(default_factory=FilesIn)
    api_trust: str | None = None
    addresses: dict[str, str | AddressIn] = Field(default_factory=dict)


@frozen
class Address:
    """Where to connect for a host name (the name stays the TLS name and the Host header)."""

    host: str
    ports: Mapping[int, int] = field(default_factory=dict)
    api_ports: Mapping[int, int] = field(default_factory=dict)

    def port(self, port: int) -> int:
        """The port to connect to for a handshake to ``port``."""
        return self.ports.get(port, port)

    def api_port(self, port: int) -> int:
        """The port to connect to for a management request to ``port``."""
        return self.api_ports.get(port, self.port(port))


@frozen
class Sources:
    """A loaded sources file: paths resolved against its folder."""

    path: Path
    model: SourcesIn

    @property
    def base(self) -> Path:
        return self.path.parent

    def resolve(self, ref: str) -> Path:
        """A path of the sources file, relative to its folder."""
        p = Path(ref).expanduser()
        return p if p.is_absolute() else self.base / p

    def address(self, name: str) -> Address:
        """Where to connect for ``name`` (itself when ``addresses`` says nothing)."""
        for key, value in self.model.addresses.items():
            if key.lower() == name.lower():
                if isinstance(value, str):
                    return Address(host=value)
                return Address(
                    host=value.host, ports=dict(value.ports), api_ports=dict(value.api_ports)
                )
        return Address(host=name)

    def has_address(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k in self.model.addresses)


def load_sources(path: str | Path) -> Sources:
    """Read and validate a sources file (InputError naming file, line and field)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("sources file not found", file=source, hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the sources file ({exc})", file=source) from None
    data, lines = _compose(text, source)
    if not isinstance(data, dict):
        raise InputError(
            "a sources file is a YAML mapping (schema: 1, name: …, expressway_c: …)",
            file=source,
            line=1,
            hint=README_REF,
        )
    try:
        model = SourcesIn.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple("schema" if p == "schema_" else p for p in err["loc"])
            loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
            kind = err["type"]
            if kind == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r}"
            elif kind == "missing":
                msg = "required field is missing"
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
            errors.append(
                InputError(
                    msg, file=source, line=_line_for(lines, loc), field=_field(loc), hint=README_REF
                )
            )
        raise (errors[0] if len(errors) == 1 else InputErrors(errors)) from None
    names = [u.cluster for u in model.uc]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            f"two uc entries give the cluster name {dupes[0]!r}",
            file=source,
            field="uc",
            hint="give each entry its own `name:`",
        )
    return Sources(path=path, model=model)


# --------------------------------------------------------------------------- credentials


def env_names(name: str) -> tuple[str, str]:
    """``MRATRUST_<NAME>_USER`` and ``MRATRUST_<NAME>_PASSWORD`` for a credentials name."""
    key = name.upper().replace("-", "_")
    return f"MRATRUST_{key}_USER", f"MRATRUST_{key}_PASSWORD"


def load_credentials_file(path: str | Path) -> dict[str, tuple[str, str]]:
    """Read a credentials file; refused unless only its owner can read and write it.

    Errors name the file and the entry, never a value.
    """
    path = Path(path)
    source = str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError("credentials file not found", file=source, hint="check the path") from None
    except OSError as exc:
        raise InputError(
            f"cannot read the credentials file ({exc.strerror})", file=source
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            f"credentials file is readable by others (mode {stat.S_IMODE(mode):04o})",
            file=source,
            hint=f"run: chmod 600 {source}",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the credentials file ({type(exc).__name__})", file=source
        ) from None
    try:
        data, lines = _compose(text, source)
    except InputError as exc:  # never echo the text of a secrets file
        raise InputError(
            "the credentials file is not valid YAML",
            file=source,
            line=exc.line,
            hint="write one entry per name: {name: {user: USER, password: PASSWORD}}",
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            "the credentials file is a mapping {name: {user, password}}", file=source, line=1
        )
    out: dict[str, tuple[str, str]] = {}
    for name, entry in data.items():
        ok = (
            isinstance(entry, dict)
            and set(entry) == {"user", "password"}
            and all(isinstance(entry[k], str) and entry[k] for k in ("user", "password"))
        )
        if not ok:
            raise InputError(
                "an entry needs exactly user and password, both text",
                file=source,
                line=_line_for(lines, (name,)),
                field=str(name),
            )
        out[str(name)] = (entry["user"], entry["password"])
    return out


@dataclass
class Credentials:
    """Resolves credentials names (environment → file → prompt), once per name."""

    file: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    prompt: Callable[[str], tuple[str, str] | None] | None = None
    _cache: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, name: str) -> tuple[str, str] | None:
        with self._lock:  # one prompt at a time, and once per name
            if name not in self._cache:
                self._cache[name] = self._find(name)
            return self._cache[name]

    def _find(self, name: str) -> tuple[str, str] | None:
        user_var, pass_var = env_names(name)
        user, password = self.env.get(user_var), self.env.get(pass_var)
        if user and password:
            return user, password
        if name in self.file:
            return self.file[name]
        if self.prompt is not None:
            return self.prompt(name)
        return None


def tty_prompt(name: str) -> tuple[str, str] | None:
    """Ask on the terminal (only when stdin and stderr are terminals)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    try:
        print(f"credentials {name!r} (Enter to skip):", file=sys.stderr)
        user = input("  user: ").strip()
        if not user:
            return None
        password = getpass.getpass("  password: ")
    except EOFError:
        return None
    return (user, password) if password else None


__all__ = [
    "Address",
    "Credentials",
    "ExpresswaySource",
    "Sources",
    "SourcesIn",
    "UcSource",
    "env_names",
    "load_credentials_file",
    "load_sources",
    "tty_prompt",
]
