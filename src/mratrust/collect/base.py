"""What every management interface hands back, and the one small interface they share.

A source reads one interface of one system (:class:`Source`) and returns :class:`Collected`:
typed facts (identities, trust stores, nodes, settings, what the wire presented) and its
failures, each one line naming the system and what to do. Sources never raise for a problem of
the remote system; :mod:`mratrust.collect.merge` turns the facts into an inventory with
provenance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import field
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from cryptography import x509

from mratrust.values import frozen

if TYPE_CHECKING:
    from mratrust.collect.http import Api
    from mratrust.collect.sources import Sources


class Interface(Enum):
    """The interface a fact came from (the JSON/YAML string is the value)."""

    CERTMGR = "certmgr"
    AXL = "axl"
    UDS = "uds"
    EXPRESSWAY = "expressway"
    TLS = "tls"
    FILES = "files"
    SOURCES = "sources"


SettingValue = str | bool | int | tuple[str, ...] | None

EXPRESSWAY_E = "expressway_e"
"""The ``cluster`` of Expressway-E's identity and store facts (``""`` is Expressway-C's) and the
prefix of its settings (``expressway_e.version``, …)."""


@frozen
class NodeFact:
    """A node of a UC cluster as the cluster itself defines it (System > Server)."""

    cluster: str
    name: str
    role: str | None  # publisher | subscriber | None (not said)
    product: str | None = None  # cucm | imp (AXL processnode role)
    interface: Interface
    system: str


@frozen
class IdentityFact:
    """An identity certificate of a node (``name`` by the product's own name: tomcat, …)."""

    cluster: str
    node: str
    name: str
    chain: tuple[x509.Certificate, ...]
    interface: Interface
    system: str


@frozen
class StoreFact:
    """A trust store, in the order the system gave it (``cluster`` ``""`` = Expressway-C)."""

    cluster: str
    node: str
    name: str
    certs: tuple[x509.Certificate, ...]
    interface: Interface
    system: str


@frozen
class SettingFact:
    """One setting: ``path`` is the inventory field (``expressway.version``, …)."""

    path: str
    value: SettingValue
    interface: Interface
    system: str


@frozen
class Failure:
    """One source that could not be read: one line naming the system and what to do."""

    system: str
    interface: Interface
    message: str

    def line(self) -> str:
        """``system (interface): message``."""
        return f"{self.system} ({self.interface.value}): {self.message}"


@frozen
class Collected:
    """Everything one or more sources found."""

    nodes: tuple[NodeFact, ...] = ()
    identities: tuple[IdentityFact, ...] = ()
    stores: tuple[StoreFact, ...] = ()
    settings: tuple[SettingFact, ...] = ()
    failures: tuple[Failure, ...] = ()
    notes: tuple[str, ...] = ()
    reached: tuple[str, ...] = field(default=())
    """``system (interface)`` of every source that answered."""

    def __add__(self, other: Collected) -> Collected:
        return Collected(
            nodes=self.nodes + other.nodes,
            identities=self.identities + other.identities,
            stores=self.stores + other.stores,
            settings=self.settings + other.settings,
            failures=self.failures + other.failures,
            notes=self.notes + other.notes,
            reached=self.reached + other.reached,
        )

    @staticmethod
    def failed(system: str, interface: Interface, message: str) -> Collected:
        """A result holding only one failure."""
        return Collected(failures=(Failure(system=system, interface=interface, message=message),))

    @staticmethod
    def no_credentials(system: str, interface: Interface, name: str) -> Collected:
        """The failure of a source whose credentials ``name`` could not be found."""
        return Collected.failed(
            system,
            interface,
            f"skipped: no credentials {name!r} (set the MRATRUST_… variables, "
            "give --credentials FILE, or run on a terminal to be asked)",
        )


@frozen
class Context:
    """What a source needs: the sources file, the HTTP client, the credentials, the clock."""

    sources: Sources
    api: Api
    credentials: Callable[[str], tuple[str, str] | None]
    """Credentials name → (user, password), or None when none could be found."""


class Source(Protocol):
    """One interface of one system. ``collect`` never raises for a remote problem."""

    @property
    def system(self) -> str:
        """The system it reads (host name, file)."""
        ...

    @property
    def interface(self) -> Interface:
        """The interface it reads."""
        ...

    def collect(self, ctx: Context) -> Collected:
        """Read the interface and return what it gave (and its failures)."""
        ...


def run_all(
    sources: Sequence[Source],
    ctx: Context,
    *,
    workers: int,
    done: Callable[[Source], None] | None = None,
) -> list[Collected]:
    """Run ``sources`` with at most ``workers`` at once; results in the order of ``sources``.

    A source that raises (a bug, not the network) becomes a failure line; the others go on.
    """
    from concurrent.futures import ThreadPoolExecutor

    from mratrust.threads import leave_signals_to_main

    def one(source: Source) -> Collected:
        try:
            return source.collect(ctx)
        except Exception as exc:
            return Collected.failed(
                source.system,
                source.interface,
                f"internal error {type(exc).__name__} (report it; run with --debug for more)",
            )
        finally:
            if done is not None:
                done(source)

    if not sources:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(sources))), initializer=leave_signals_to_main
    ) as pool:
        return list(pool.map(one, sources))


__all__ = [
    "EXPRESSWAY_E",
    "Collected",
    "Context",
    "Failure",
    "IdentityFact",
    "Interface",
    "NodeFact",
    "SettingFact",
    "Source",
    "StoreFact",
    "run_all",
]
