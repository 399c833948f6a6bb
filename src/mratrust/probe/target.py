"""What the probe connects to: a :class:`ProbeTarget` (``host[:port][{address}]``) and the
:class:`Service` the leg table says it is at that port."""

from __future__ import annotations

import functools

from mratrust.errors import InputError
from mratrust.pki.facts import is_ip
from mratrust.topology import CUCM_HTTPS_PORT, EndpointKind, LegRow, Transport, rows_at
from mratrust.values import frozen

DEFAULT_PORT = CUCM_HTTPS_PORT


@frozen
class Service:
    """What an endpoint is in the leg table: the port Expressway-C connects to, the Expressway
    component that connects there (it decides the offer) and the product, when the port says."""

    port: int
    """The leg's port, as Expressway-C uses it (before any lab or NAT port mapping)."""
    transport: Transport
    server: EndpointKind | None = None
    """The product serving the port (None: the port is shared, e.g. 8443 on CUCM and IM&P)."""
    listed: bool = True
    """The leg table has a leg from Expressway-C on this port."""

    @classmethod
    def of_row(cls, row: LegRow) -> Service:
        """The service of a leg table row."""
        return cls(port=row.port, transport=row.transport, server=row.server)

    @classmethod
    def at_port(cls, port: int) -> Service:
        """The service on ``port`` from the leg table's rows from Expressway-C.

        A port the table does not list is taken as Traffic Server's (HTTPS), the component
        that makes every connection Expressway-C opens besides SIP and XCP.
        """
        return _service_at(port)


@functools.lru_cache(maxsize=1024)
def _service_at(port: int) -> Service:
    """:meth:`Service.at_port`, once per port (the leg table is constant; a probe run asks for
    the leg of each target at every offer)."""
    found = rows_at(port)
    transports = {r.transport for r in found}
    servers = {r.server for r in found}
    return Service(
        port=port,
        transport=transports.pop() if len(transports) == 1 else Transport.ATS,
        server=servers.pop() if len(servers) == 1 else None,
        listed=bool(found),
    )


def plain_name(name: str) -> bytes | None:
    """``name`` as bytes when it is its own IDNA form: ASCII, with labels of 1 to 63 characters
    (the IDNA codec's own shortcut, taken without loading the codec and its Unicode tables).
    None when only the codec can say."""
    if name.isascii():
        labels = name.split(".")
        if all(0 < len(label) < 64 for label in labels[:-1]) and len(labels[-1]) < 64:
            return name.encode("ascii")
    return None


def _check_name(name: str | None, what: str) -> None:
    """Refuse a name that no resolver and no SNI can carry (an empty or over-long label)."""
    if not name or is_ip(name) or plain_name(name) is not None:
        return
    try:
        name.encode("idna")
    except UnicodeError as exc:
        raise InputError(
            f"{what} {name!r} is not a usable DNS name ({exc.__cause__ or exc})",
            field="target",
            hint="every dot-separated part of a name needs 1 to 63 characters",
        ) from None


@frozen
class ProbeTarget:
    """One endpoint: the node name Expressway-C uses, the port, and where to connect."""

    host: str
    """The name typed on Expressway-C (or found at discovery): SNI and expected identity."""
    port: int = DEFAULT_PORT
    address: str | None = None
    """Connect here instead of resolving ``host`` (lab, NAT); the name stays ``host``."""
    sni: str | None = None
    """Override the SNI (default: ``host``, none when ``host`` is an IP address)."""
    name: str | None = None
    """Override the expected identity (default: ``host``)."""
    label: str | None = None
    """Free text the caller wants back (e.g. ``cucm-pub tomcat``)."""
    service: Service | None = None
    """What the endpoint is on the leg table (default: what :attr:`port` is there). Give it when
    :attr:`port` is mapped elsewhere (lab, NAT): the offer follows the real leg."""

    def __post_init__(self) -> None:
        if not self.host:
            raise InputError("empty host name", field="target")
        _check_name(self.host, "host name")
        _check_name(self.address, "address")
        _check_name(self.sni, "SNI")
        if not 0 < self.port < 65536:
            raise InputError(f"port {self.port} is out of range", field="target")

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        default_port: int = DEFAULT_PORT,
        sni: str | None = None,
        name: str | None = None,
    ) -> ProbeTarget:
        """``HOST[:PORT][{ADDRESS}]``, ``[IPv6]:PORT``; ``{ADDRESS}`` as in sslyze."""
        rest = text.strip()
        address = None
        if rest.endswith("}") and "{" in rest:
            rest, _, tail = rest.partition("{")
            address = tail[:-1].strip().removeprefix("[").removesuffix("]") or None
        host, port_text = rest, ""
        if rest.startswith("["):
            host, _, after = rest[1:].partition("]")
            port_text = after.removeprefix(":")
        elif rest.count(":") == 1:
            host, _, port_text = rest.partition(":")
        port = default_port
        if port_text:
            if not port_text.isdigit():
                raise InputError(
                    f"{text!r}: {port_text!r} is not a port number",
                    field="target",
                    hint="write HOST[:PORT], e.g. cucm-pub.example.com:8443",
                )
            port = int(port_text)
        if not host:
            raise InputError(f"{text!r} names no host", field="target")
        return cls(host=host, port=port, address=address, sni=sni, name=name)

    @property
    def connect_host(self) -> str:
        """Where the TCP connection goes."""
        return self.address or self.host

    @property
    def server_name(self) -> str | None:
        """The SNI Expressway-C sends: the node name (no SNI for an IP address)."""
        if self.sni is not None:
            return self.sni or None
        return None if is_ip(self.host) else self.host

    @property
    def expected_name(self) -> str:
        """The name that must be in the certificate's SAN."""
        return self.name or self.host

    @property
    def leg(self) -> Service:
        """What the endpoint is on the leg table: :attr:`service`, else what :attr:`port` is."""
        return self.service if self.service is not None else Service.at_port(self.port)

    @property
    def display(self) -> str:
        """``host:port`` (with ``{address}`` when connecting elsewhere, ``{address:port}`` when
        the leg's port is mapped to another one)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        real = self.leg.port
        if real != self.port:
            to = self.connect_host
            to = f"[{to}]" if ":" in to else to
            return f"{host}:{real}{{{to}:{self.port}}}"
        where = f"{{{self.address}}}" if self.address else ""
        return f"{host}:{self.port}{where}"
