"""``files:`` of the sources file: what the user exported because no interface gives it.

``expressway_c_trusted_cas``: Maintenance > Security > Trusted CA certificate > Show all (PEM
file), one file for every peer or ``{peer: file}``; ``expressway_c_certificates``: ``{peer:
file}``, each peer's server certificate (with its chain) when the API cannot give it. The
``expressway_e_…`` pair does the same for Expressway-E (facts under :data:`EXPRESSWAY_E`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mratrust.collect.base import (
    EXPRESSWAY_E,
    Collected,
    Context,
    IdentityFact,
    Interface,
    StoreFact,
)
from mratrust.errors import InputError
from mratrust.pki.load import load_path
from mratrust.values import frozen

if TYPE_CHECKING:
    from cryptography import x509


@frozen
class FilesSource:
    peers: tuple[str, ...]
    """The Expressway-C peers a single trusted CA file applies to."""
    e_peers: tuple[str, ...] = ()
    """The Expressway-E peers a single trusted CA file applies to."""
    interface: Interface = Interface.FILES
    system: str = "files"

    def collect(self, ctx: Context) -> Collected:
        files = ctx.sources.model.files
        return self._side(
            ctx, "", self.peers, files.expressway_c_trusted_cas, files.expressway_c_certificates
        ) + self._side(
            ctx,
            EXPRESSWAY_E,
            self.e_peers,
            files.expressway_e_trusted_cas,
            files.expressway_e_certificates,
        )

    def _side(
        self,
        ctx: Context,
        cluster: str,
        peers: tuple[str, ...],
        trusted: str | dict[str, str] | None,
        certificates: dict[str, str],
    ) -> Collected:
        out = Collected()
        per_peer: dict[str, str] = {}
        if isinstance(trusted, str):
            per_peer = dict.fromkeys(peers, trusted)
        elif isinstance(trusted, dict):
            per_peer = dict(trusted)
        stores, idents = [], []
        failed: list[Collected] = []
        for peer, ref in sorted(per_peer.items()):
            certs = self._load(ctx, ref, failed)
            if certs is None:
                continue
            stores.append(
                StoreFact(
                    cluster=cluster,
                    node=peer,
                    name="trusted_cas",
                    certs=certs,
                    interface=self.interface,
                    system=ref,
                )
            )
        for peer, ref in sorted(certificates.items()):
            chain = self._load(ctx, ref, failed)
            if chain is None:
                continue
            idents.append(
                IdentityFact(
                    cluster=cluster,
                    node=peer,
                    name="server",
                    chain=chain,
                    interface=self.interface,
                    system=ref,
                )
            )
        for failure in failed:
            out += failure
        return out + Collected(stores=tuple(stores), identities=tuple(idents))

    def _load(
        self, ctx: Context, ref: str, failed: list[Collected]
    ) -> tuple[x509.Certificate, ...] | None:
        """The certificates of file ``ref``, or None with the failure added to ``failed``."""
        try:
            return tuple(c.cert for c in load_path(ctx.sources.resolve(ref)))
        except InputError as exc:
            failed.append(Collected.failed(ref, self.interface, f"{exc.message}; export it again"))
            return None


__all__ = ["FilesSource"]
