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
    """The group headings of a report's findings."""

    def __init__(self, report: Report) -> None:
        graph = report.graph
        self._endpoints: dict[str, Endpoint] = (
            {e.id: e for e in graph.endpoints} if graph is not None else {}
        )
        self._legs: dict[str, Leg] = {g.leg.id: g.leg for g in graph.legs} if graph else {}

    def endpoint(self, f: Finding) -> Endpoint | None:
        """The endpoint ``f`` concerns, if the graph has it."""
        found = self._endpoints.get(f.subject.endpoint_id or "")
        if found is not None:
            return found
        leg = self._legs.get(f.subject.leg_id or "")
        if leg is None:
            return None
        if not isinstance(leg, UcLeg):
            return leg.server  # the traversal and the edge: grouped under Expressway-E
        return leg.client if leg.server.kind.expressway else leg.server

    def heading(self, f: Finding) -> str:
        """The heading of the group ``f`` belongs to (control characters escaped)."""
        return escape_control(self._heading(f))

    def _heading(self, f: Finding) -> str:
        end = self.endpoint(f)
        if end is not None:
            if end.kind is EndpointKind.EXPRESSWAY_C:
                return f"Expressway-C {end.name}"
            if end.kind.expressway:
                return f"Expressway-E {end.name}"
            if end.kind is EndpointKind.MRA_CLIENT:
                return "MRA clients"
            if f.subject.certificate in TRUST_NAMES[Product(end.kind.value)]:
                return f"{end.cluster} trust stores"
            return f"{end.cluster} / {end.name}"
        # not tied to one endpoint: every peer's list, a cluster's store, a CA of no endpoint
        s = f.subject
        if s.cluster is None:
            return "CA certificates"
        if s.cluster == EndpointKind.EXPRESSWAY_C.value:
            return "Expressway-C"
        return s.cluster
