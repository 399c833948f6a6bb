"""How the text and Markdown reports group findings: by the endpoint of the trust graph.

A finding names its leg (``subject.leg_id``) or its endpoint (``subject.endpoint_id``); the group
is the endpoint it concerns (the UC node of a leg, or the Expressway-C peer), read from the
report's graph rather than from the subject's text fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mratrust.model import TRUST_NAMES, Finding, Product
from mratrust.textsafe import escape_control
from mratrust.topology import Endpoint, EndpointKind, Leg, UcLeg

if TYPE_CHECKING:
    from mratrust.audit import Report


class Grouping:
    """The group headings of a report's findings.

    A heading depends on four fields of a finding's subject; it is worked out once per distinct
    four and remembered (tens of thousands of findings share a few thousand).
    """

    def __init__(self, report: Report) -> None:
        graph = report.graph
        self._endpoints: dict[str, Endpoint] = (
            {e.id: e for e in graph.endpoints} if graph is not None else {}
        )
        self._legs: dict[str, Leg] = {g.leg.id: g.leg for g in graph.legs} if graph else {}
        self._headings: dict[tuple[str | None, ...], str] = {}
        self._of_endpoint: dict[int, tuple[str, str, frozenset[str]]] = {}

    def endpoint(self, f: Finding) -> Endpoint | None:
        """The endpoint ``f`` concerns, if the graph has it."""
        return self._endpoint(f.subject.endpoint_id, f.subject.leg_id)

    def _endpoint(self, endpoint_id: str | None, leg_id: str | None) -> Endpoint | None:
        found = self._endpoints.get(endpoint_id or "")
        if found is not None:
            return found
        leg = self._legs.get(leg_id or "")
        if leg is None:
            return None
        if not isinstance(leg, UcLeg):
            return leg.server  # the traversal and the edge: grouped under Expressway-E
        return leg.client if leg.server.kind.expressway else leg.server

    def heading(self, f: Finding) -> str:
        """The heading of the group ``f`` belongs to (control characters escaped).

        The subject's fields are read with their control characters escaped, as every renderer
        shows them, so ``f`` may be the finding as the rules wrote it or as
        :func:`~mratrust.report.safe.displayable_finding` made it: the heading is the same.
        """
        s = f.subject
        key = (s.endpoint_id, s.leg_id, s.certificate, s.cluster)
        found = self._headings.get(key)
        if found is None:
            shown = [None if x is None else escape_control(x) for x in key]
            found = self._headings[key] = escape_control(self._heading(*shown))
        return found

    def _heading(
        self,
        endpoint_id: str | None,
        leg_id: str | None,
        certificate: str | None,
        cluster: str | None,
    ) -> str:
        end = self._endpoint(endpoint_id, leg_id)
        if end is not None:
            found = self._of_endpoint.get(id(end))  # the graph holds ``end``: its id stays its own
            if found is None:
                found = self._of_endpoint[id(end)] = _endpoint_headings(end)
            node, stores, names = found
            return stores if certificate in names else node
        # not tied to one endpoint: every peer's list, a cluster's store, a CA of no endpoint
        if cluster is None:
            return "CA certificates"
        if cluster == EndpointKind.EXPRESSWAY_C.value:
            return "Expressway-C"
        return cluster


def _endpoint_headings(end: Endpoint) -> tuple[str, str, frozenset[str]]:
    """The heading of what concerns ``end``; that of its trust stores, and their names."""
    if end.kind is EndpointKind.EXPRESSWAY_C:
        return f"Expressway-C {end.name}", "", frozenset()
    if end.kind.expressway:
        return f"Expressway-E {end.name}", "", frozenset()
    if end.kind is EndpointKind.MRA_CLIENT:
        return "MRA clients", "", frozenset()
    stores = frozenset(TRUST_NAMES[Product(end.kind.value)])
    return f"{end.cluster} / {end.name}", f"{end.cluster} trust stores", stores
