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

    A heading depends on the endpoint a finding's subject names (by its endpoint or leg id),
    worked out once per distinct pair and remembered, and on the certificate (one of the
    endpoint's trust stores or not) or, with no endpoint, on the cluster.
    """

    def __init__(self, report: Report) -> None:
        graph = report.graph
        self._endpoints: dict[str, Endpoint] = (
            {e.id: e for e in graph.endpoints} if graph is not None else {}
        )
        self._legs: dict[str, Leg] = {g.leg.id: g.leg for g in graph.legs} if graph else {}
        self._places: dict[tuple[str | None, str | None], Headings] = {}
        self._of_endpoint: dict[int, Headings] = {}

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
        key = (s.endpoint_id, s.leg_id)
        found = self._places.get(key)
        if found is None:
            found = self._places[key] = self._place(*key)
        if found is not _NOWHERE:
            node, stores, names = found
            # the store names have no control character and no backslash: the certificate's
            # name is one of them escaped or not alike
            return stores if s.certificate in names else node
        # not tied to one endpoint: every peer's list, a cluster's store, a CA of no endpoint
        cluster = s.cluster
        if cluster is None:
            return "CA certificates"
        if cluster == EndpointKind.EXPRESSWAY_C.value:
            return "Expressway-C"
        return escape_control(cluster)

    def _place(self, endpoint_id: str | None, leg_id: str | None) -> Headings:
        """The headings of the endpoint a subject names (escaped), or :data:`_NOWHERE`."""
        if not ((endpoint_id or "").isprintable() and (leg_id or "").isprintable()):
            endpoint_id = None if endpoint_id is None else escape_control(endpoint_id)
            leg_id = None if leg_id is None else escape_control(leg_id)
        end = self._endpoint(endpoint_id, leg_id)
        if end is None:
            return _NOWHERE
        found = self._of_endpoint.get(id(end))  # the graph holds ``end``: its id stays its own
        if found is None:
            node, stores, names = _endpoint_headings(end)
            found = self._of_endpoint[id(end)] = (
                escape_control(node),
                escape_control(stores),
                names,
            )
        return found


Headings = tuple[str, str, frozenset[str]]
"""An endpoint's heading, that of its trust stores, and their names."""

_NOWHERE: Headings = ("", "", frozenset())
"""What a subject that names no endpoint of the graph is grouped by: not its endpoint."""


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
