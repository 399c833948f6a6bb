"""What a live handshake showed: the values ``audit --probe`` adds to an audit.

Apart from :mod:`mratrust.model` so that an offline audit, which has none, does not build the class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mratrust.values import frozen

if TYPE_CHECKING:
    from cryptography import x509


@frozen
class Observed:
    """What a live handshake to one leg showed (filled in by ``audit --probe``)."""

    cluster: str
    node: str
    port: int
    leg: str
    address: str
    leg_id: str = ""
    """The leg of the trust graph the handshake was made on."""
    reachable: bool
    ok: bool
    """Expressway-C's own offer completed and the chain it got verifies."""
    outcome: str
    message: str
    log_lines: tuple[str, ...] = ()
    alert: str | None = None
    tls_version: str | None = None
    cipher: str | None = None
    presented: tuple[x509.Certificate, ...] = ()
    """The chain the default offer got."""
    identities: tuple[tuple[str, x509.Certificate], ...] = ()
    """Every distinct leaf found (key type, certificate)."""
    client_cert_requested: bool = False
    ca_names: tuple[str, ...] = ()
    chains: tuple[tuple[str, tuple[x509.Certificate, ...]], ...] = ()
    """Every distinct identity found with the chain the node sent for it (key type, chain)."""
