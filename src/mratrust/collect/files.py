"""``files:`` of the sources file: what the user exported because no interface gives it.

``expressway_c_trusted_cas``: Maintenance > Security > Trusted CA certificate > Show all (PEM
file), one file for every peer or ``{peer: file}``; ``expressway_c_certificates``: ``{peer:
file}``, each peer's server certificate (with its chain) when the API cannot give it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mratrust.collect.base import Collected, Context, IdentityFact, Interface, StoreFact
from mratrust.errors import InputError
from mratrust.pki.load import load_path


@dataclass(frozen=True, slots=True, kw_only=True)
class FilesSource:
    peers: tuple[str, ...]
    """The Expressway-C peers a single trusted CA file applies to."""
    interface: Interface = Interface.FILES
    system: str = "files"

    def collect(self, ctx: Context) -> Collected:
        files = ctx.sources.model.files
        out = Collected()
        trusted = files.expressway_c_trusted_cas
        per_peer: dict[str, str] = {}
        if isinstance(trusted, str):
            per_peer = dict.fromkeys(self.peers, trusted)
        elif isinstance(trusted, dict):
            per_peer = dict(trusted)
        stores, idents = [], []
        for peer, ref in sorted(per_peer.items()):
            try:
                certs = tuple(c.cert for c in load_path(ctx.sources.resolve(ref)))
            except InputError as exc:
                out += Collected.failed(ref, self.interface, f"{exc.message}; export it again")
                continue
            stores.append(
                StoreFact(
                    cluster="",
                    node=peer,
                    name="trusted_cas",
                    certs=certs,
                    interface=self.interface,
                    system=ref,
                )
            )
        for peer, ref in sorted(files.expressway_c_certificates.items()):
            try:
                chain = tuple(c.cert for c in load_path(ctx.sources.resolve(ref)))
            except InputError as exc:
                out += Collected.failed(ref, self.interface, f"{exc.message}; export it again")
                continue
            idents.append(
                IdentityFact(
                    cluster="",
                    node=peer,
                    name="server",
                    chain=chain,
                    interface=self.interface,
                    system=ref,
                )
            )
        return out + Collected(stores=tuple(stores), identities=tuple(idents))


__all__ = ["FilesSource"]
