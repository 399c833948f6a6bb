"""UDS ``GET https://PUB:8443/cucm-uds/servers`` (no account): the CUCM nodes running UDS.

Cisco documents the resource (developer.cisco.com/docs/user-data-services); the body shape
``<servers><server>FQDN</server>…</servers>`` is as public samples show it (an assumption the
README lists). Parsed with defusedxml.
"""

from __future__ import annotations

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from mratrust.collect.base import Collected, Context, Interface, NodeFact
from mratrust.collect.http import ApiError, require_ok
from mratrust.values import frozen

PATH = "/cucm-uds/servers"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_servers(body: bytes, where: str) -> list[str]:
    """The node names of a ``/cucm-uds/servers`` answer."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ApiError(f"{where}: the answer holds a DTD or entities; refused") from None
    except ParseError as exc:
        raise ApiError(f"{where}: the answer is not well-formed XML ({exc})") from None
    if _local(root.tag) != "servers":
        raise ApiError(f"{where}: expected <servers>, got <{_local(root.tag)[:40]}>")
    names = []
    for el in root:
        if _local(el.tag) != "server":
            continue
        text = (el.text or "").strip()
        if not text:  # <server><name>…</name></server>
            child = next((c for c in el if _local(c.tag) in ("name", "fqdn", "hostname")), None)
            text = (child.text or "").strip() if child is not None else ""
        if text:
            names.append(text)
    return names


@frozen
class UdsSource:
    cluster: str
    publisher: str
    port: int
    interface: Interface = Interface.UDS

    @property
    def system(self) -> str:
        return self.publisher

    def collect(self, ctx: Context) -> Collected:
        where = f"{self.publisher}:{self.port} UDS"
        try:
            answer = ctx.api.request(
                "GET", self.publisher, self.port, PATH, headers={"Accept": "application/xml"}
            )
            require_ok(answer, where=where, credentials=None, role="")
            names = parse_servers(answer.body, where)
        except ApiError as exc:
            return Collected.failed(self.system, self.interface, str(exc))
        nodes = tuple(
            NodeFact(
                cluster=self.cluster,
                name=n,
                role="publisher" if n.lower() == self.publisher.lower() else None,
                product="cucm",
                interface=self.interface,
                system=self.system,
            )
            for n in names
        )
        return Collected(nodes=nodes, reached=(f"{self.system} ({self.interface.value})",))


__all__ = ["PATH", "UdsSource", "parse_servers"]
