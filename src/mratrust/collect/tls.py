"""TLS handshakes (no account): every identity each node presents, through the probe engine.

Each node is reached on the MRA ports of its product (CUCM 8443 and, in mixed mode, 5061; IM&P
8443 and 7400; Unity Connection 443) with Expressway-C's own offer and the forced RSA and ECDSA
variants, so both identities show where the node allows them. What a port presents names the
identity: tomcat on 8443/443, cup-xmpp on 7400, CallManager on 5061, ``-ECDSA`` for an EC key.
Expressway-E peers (product ``expressway-e``) are reached on every TLS row of the leg table whose
server is Expressway-E (the traversal ports and the edge), without a client certificate: the
server's certificate is read before the traversal ports ask for Expressway-C's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from mratrust.collect.base import Collected, Context, IdentityFact, Interface
from mratrust.errors import InputError
from mratrust.pki.facts import KeyType
from mratrust.topology import EXPRESSWAY_IDENTITY, EndpointKind, identity_ports, rows_to
from mratrust.values import frozen
from mratrust.versions import Version

EXPE = EndpointKind.EXPRESSWAY_E.value
_BY_PRODUCT = {p: identity_ports(EndpointKind(p)) for p in ("cucm", "imp", "cuc")}
_BY_PRODUCT[EXPE] = {
    r.port: (EXPRESSWAY_IDENTITY, False) for r in rows_to(EndpointKind.EXPRESSWAY_E) if r.tls
}
PORT_IDENTITY = {
    port: ident
    for product, ports in _BY_PRODUCT.items()
    if product != EXPE
    for port, (ident, _) in ports.items()
}
"""What each MRA port of a UC node presents (the leg table's RSA identity)."""
IDENTITY = {
    (product, port): ident
    for product, ports in _BY_PRODUCT.items()
    for port, (ident, _) in ports.items()
}
"""(product, port) → the identity presented there."""
PRODUCT_PORTS = {p: tuple(ports) for p, ports in _BY_PRODUCT.items()}
OPTIONAL_PORTS = {port for ports in _BY_PRODUCT.values() for port, (_, m) in ports.items() if m}
"""Ports only open in some modes: probed when the address map lists them or the mode says so."""


@frozen
class NodeTarget:
    cluster: str
    product: str
    node: str
    mixed: bool | None


@frozen
class TlsSource:
    """Handshakes to every node of every cluster (one bounded probe run)."""

    targets: tuple[NodeTarget, ...]
    version: str | None
    timeout: float = 5.0
    workers: int = 8
    interface: Interface = Interface.TLS
    system: str = "handshakes"

    def plan(self, ctx: Context) -> list[tuple[NodeTarget, int]]:
        out = []
        for t in self.targets:
            mapped = ctx.sources.address(t.node).ports if ctx.sources.has_address(t.node) else {}
            for port in PRODUCT_PORTS[t.product]:
                if port in OPTIONAL_PORTS and not (port in mapped or t.mixed):
                    continue
                if mapped and port not in mapped:
                    continue
                out.append((t, port))
        return out

    def collect(self, ctx: Context) -> Collected:
        from mratrust.probe import (
            ALL_VARIANTS,
            ProbeTarget,
            Service,
            Timeouts,
            client_profile,
            probe_endpoints,
        )

        plan = self.plan(ctx)
        if not plan:
            return Collected()
        left = ctx.api.left()
        if left <= 1:
            return Collected.failed(
                self.system, self.interface, "the run's deadline passed before the handshakes"
            )
        version = Version.parse(self.version or "X15.2")
        targets = []
        failures = Collected()
        usable: list[tuple[NodeTarget, int]] = []
        for t, port in plan:
            addr = ctx.sources.address(t.node)
            elsewhere = addr.host.lower() != t.node.lower()
            try:
                target = ProbeTarget(
                    host=t.node,
                    port=addr.port(port),
                    address=addr.host if elsewhere else None,
                    label=f"{t.node}:{port}",
                    service=Service.at_port(port),
                )
            except InputError as exc:  # a name no resolver or SNI can carry: that node only
                failures += Collected.failed(
                    f"{t.node}:{port}",
                    self.interface,
                    f"{exc.message}; what it presents stays unknown unless an account gives it",
                )
                continue
            targets.append(target)
            usable.append((t, port))
        if not targets:
            return failures
        timeouts = Timeouts(
            connect=min(3.0, self.timeout),
            handshake=self.timeout,
            overall=max(1.0, min(left, 120.0)),
        )
        reports = probe_endpoints(
            targets,
            client_profile(version),
            trust=None,
            now=dt.datetime.now(dt.UTC),
            timeouts=timeouts,
            variants=ALL_VARIANTS,
            workers=self.workers,
        )
        idents: list[IdentityFact] = []
        for (t, port), report in zip(usable, reports, strict=True):
            if not report.reachable:
                failures += Collected.failed(
                    f"{t.node}:{port}",
                    self.interface,
                    f"no TLS answer ({(report.default.message.splitlines() or ['-'])[0][:200]}); "
                    "what it presents stays "
                    "unknown unless an account gives it",
                )
                continue
            base = IDENTITY[(t.product, port)]
            for ident in report.identities:
                if ident.key_type is KeyType.OTHER:
                    continue
                name = f"{base}-ECDSA" if ident.key_type is KeyType.ECDSA else base
                idents.append(
                    IdentityFact(
                        cluster=t.cluster,
                        node=t.node,
                        name=name,
                        chain=ident.chain,
                        interface=self.interface,
                        system=f"{t.node}:{port}",
                    )
                )
        return failures + Collected(
            identities=_unique(idents), reached=(f"{self.system} ({self.interface.value})",)
        )


def _unique(idents: Sequence[IdentityFact]) -> tuple[IdentityFact, ...]:
    seen: dict[tuple[str, str, str], IdentityFact] = {}
    for i in idents:
        seen.setdefault((i.cluster, i.node, i.name), i)
    return tuple(seen.values())


__all__ = ["EXPE", "IDENTITY", "PORT_IDENTITY", "NodeTarget", "TlsSource"]
