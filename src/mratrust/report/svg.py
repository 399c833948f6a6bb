"""The trust graph drawn as inline SVG, with a deterministic layout (no script, no font, no URL).

Columns by kind: the MRA clients and Expressway-E (when the graph has them), the Expressway-C
peers, then the UC nodes cluster by cluster; rows sorted by endpoint id. One arrow per TLS leg,
from the side that connects to the side that serves, coloured by the leg's worst status
(``st-none`` when nothing judged it). Arrows and nodes are links to ``#leg-N`` and ``#ep-N``
(N: their index in the graph), so the drawing works without script; the page's CSS gives the
classes their colours.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from mratrust.model import Status
from mratrust.textsafe import escape_control
from mratrust.topology import Endpoint, EndpointKind, Graph, GraphLeg

NODE_W = 230
"""Width of an endpoint box."""
GAP = 180
"""Horizontal room between two columns (where the arrows run)."""
SLOT = 15
"""Vertical room per arrow end on a box."""
MARGIN = 16
KIND_LABEL = {
    EndpointKind.MRA_CLIENT: "MRA clients",
    EndpointKind.EXPRESSWAY_E: "Expressway-E",
    EndpointKind.EXPRESSWAY_C: "Expressway-C",
    EndpointKind.CUCM: "CUCM",
    EndpointKind.IMP: "IM and Presence",
    EndpointKind.CUC: "Unity Connection",
}
STATUSES = ("fail", "error", "risk", "warn", "info", "pass", "none")
"""Every status class an arrow or box may carry (``none``: not checked)."""


def status_class(status: Status | None) -> str:
    return f"st-{status.value if status is not None else 'none'}"


def leg_route(leg: GraphLeg) -> str:
    """``expc1.example.com → cucm-pub.example.com`` (control characters escaped)."""
    return escape_control(f"{leg.leg.client.name} → {leg.leg.server.name}")


def leg_detail(leg: GraphLeg) -> str:
    """``:8443 (https)``, ``:6972 (tftp, mutual TLS)``."""
    mutual = ", mutual TLS" if leg.leg.mutual else ""
    return f":{leg.leg.port} ({leg.leg.purpose.value}{mutual})"


def leg_label(leg: GraphLeg) -> str:
    """``expc1.example.com → cucm-pub.example.com :8443 (https)`` (control characters escaped)."""
    return f"{leg_route(leg)} {leg_detail(leg)}"


def _short(text: str, limit: int = 32) -> str:
    text = escape_control(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Box:
    index: int
    endpoint: Endpoint
    x: int
    y: int
    h: int


def kind_label(e: Endpoint) -> str:
    """``CUCM · cucm-main``, ``Expressway-C``, ``MRA clients`` (control characters escaped)."""
    if e.kind.unclustered:
        return KIND_LABEL[e.kind]
    return escape_control(f"{KIND_LABEL[e.kind]} · {e.cluster}")


def _column(kind: EndpointKind) -> int:
    if kind is EndpointKind.MRA_CLIENT:
        return -1
    if kind is EndpointKind.EXPRESSWAY_E:
        return 0
    if kind is EndpointKind.EXPRESSWAY_C:
        return 1
    return 2


def draw(
    graph: Graph,
    *,
    endpoint_status: Mapping[str, Status | None] | None = None,
    marked: Collection[str] = (),
    mark_label: str = "fixed by the kit",
) -> Markup:
    """The SVG of ``graph``. ``endpoint_status``: endpoint id -> worst status of its findings
    (the box's colour); ``marked``: leg ids drawn with a halo and ``mark_label`` in their title."""
    endpoint_status = endpoint_status or {}
    index = {e.id: i for i, e in enumerate(graph.endpoints)}
    ends: dict[str, int] = {}
    for g in graph.legs:
        for e in (g.leg.client, g.leg.server):
            ends[e.id] = ends.get(e.id, 0) + 1
    used = sorted({_column(e.kind) for e in graph.endpoints})
    col_x = {c: MARGIN + i * (NODE_W + GAP) for i, c in enumerate(used)}
    # the UC column first: its height decides where the others are centred
    boxes: dict[str, _Box] = {}
    clusters: list[tuple[str, str, int, int]] = []  # (kind label, cluster, top, bottom)
    columns: dict[int, list[Endpoint]] = {}
    kinds = list(KIND_LABEL)
    for e in sorted(graph.endpoints, key=lambda e: (kinds.index(e.kind), e.id)):
        columns.setdefault(_column(e.kind), []).append(e)
    heights: dict[int, int] = {}
    top0 = MARGIN + 22  # room for the column titles
    for c, members in columns.items():
        y = top0
        current: tuple[EndpointKind, str] | None = None
        start = y
        for e in members:
            if c == 2 and current != (e.kind, e.cluster):
                if current is not None:
                    clusters.append((KIND_LABEL[current[0]], current[1], start, y - 6))
                    y += 10
                current = (e.kind, e.cluster)
                start = y
                y += 24  # the cluster's title
            h = max(44, SLOT * ends.get(e.id, 0) + 14)
            if c != 2:  # many arrows meet here: their ends share a box of bounded height
                h = max(60, min(h, 44 + SLOT * 10))
            boxes[e.id] = _Box(index[e.id], e, col_x[c], y, h)
            y += h + 12
        if current is not None:
            clusters.append((KIND_LABEL[current[0]], current[1], start, y - 6))
        heights[c] = y - top0
    tallest = max(heights.values(), default=0)
    for c, members in columns.items():  # centre the shorter columns
        shift = (tallest - heights[c]) // 2
        if shift > 0:
            for e in members:
                b = boxes[e.id]
                boxes[e.id] = _Box(b.index, b.endpoint, b.x, b.y + shift, b.h)
    width = MARGIN * 2 + len(used) * NODE_W + (len(used) - 1) * GAP
    height = top0 + tallest + MARGIN + 8

    out: list[str] = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="group" aria-label="Trust graph">',
        "<defs>",
        *(
            f'<marker id="ah-{s}" class="ah st-{s}" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M0 0L10 5L0 10z"/></marker>'
            for s in STATUSES
        ),
        "</defs>",
    ]
    for c in used:
        title = {-1: "Clients", 0: "Expressway-E", 1: "Expressway-C", 2: "UC clusters"}[c]
        out.append(
            f'<text class="coltitle" x="{col_x[c] + NODE_W // 2}" y="{MARGIN + 8}">{title}</text>'
        )
    for kind, name, top, bottom in clusters:
        x = col_x[2] - 8
        out.append(
            f'<rect class="cluster" x="{x}" y="{top}" width="{NODE_W + 16}" '
            f'height="{bottom - top}" rx="8"/>'
            f'<text class="clustertitle" x="{x + 10}" y="{top + 16}">'
            f"{escape(_short(f'{kind} · {name}', 38))}</text>"
        )

    # arrow ends: a box hands out its slots top to bottom in the order of the other ends' height,
    # so arrows from one box do not cross each other
    attached: dict[str, list[tuple[int, int, int]]] = {}
    for i, g in enumerate(graph.legs):
        client, server = boxes.get(g.leg.client.id), boxes.get(g.leg.server.id)
        if client is None or server is None:
            continue
        attached.setdefault(client.endpoint.id, []).append((server.y, g.leg.port, i))
        attached.setdefault(server.endpoint.id, []).append((client.y, g.leg.port, i))
    at: dict[tuple[str, int], int] = {}
    for eid, items in attached.items():
        b = boxes[eid]
        for n, (_, _, i) in enumerate(sorted(items)):
            at[(eid, i)] = b.y + (b.h * (2 * n + 1)) // (2 * len(items))

    # the worst legs last, so that they are drawn (and clicked) on top
    def depth(i: int) -> tuple[int, int]:
        status = graph.legs[i].status
        return (-(status.rank if status is not None else 6), i)

    order = sorted(range(len(graph.legs)), key=depth)
    for i in order:
        g = graph.legs[i]
        client, server = boxes.get(g.leg.client.id), boxes.get(g.leg.server.id)
        if client is None or server is None:
            continue
        cy, sy = at[(client.endpoint.id, i)], at[(server.endpoint.id, i)]
        left_to_right = client.x < server.x
        if left_to_right:
            x1, x2 = client.x + NODE_W, server.x - 2
        else:
            x1, x2 = client.x, server.x + NODE_W + 2
        mid = (x1 + x2) // 2
        d = f"M{x1} {cy}C{mid} {cy} {mid} {sy} {x2} {sy}"
        cls = status_class(g.status)
        state = g.status.value if g.status is not None else "not checked"
        mark = g.leg.id in marked
        title = leg_label(g) + f": {state}" + (f", {mark_label}" if mark else "")
        out.append(
            f'<a href="#leg-{i}" class="leg {cls}{" marked" if mark else ""}" '
            f'data-leg="{i}" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>"
            + (f'<path class="halo" d="{d}"/>' if mark else "")
            + f'<path class="hit" d="{d}"/>'
            f'<path class="line" d="{d}" marker-end="url(#ah-{cls[3:]})"/>'
            f'<text class="port" x="{x2 - 12 if left_to_right else x1 - 6}" '
            f'y="{(sy if left_to_right else cy) - 4}">{g.leg.port}</text>'
            "</a>"
        )
    for b in sorted(boxes.values(), key=lambda b: b.index):
        e = b.endpoint
        cls = status_class(endpoint_status.get(e.id))
        sub = kind_label(e)
        out.append(
            f'<a href="#ep-{b.index}" class="node {cls}" data-ep="{b.index}" '
            f'aria-label="{escape(escape_control(e.name))} ({escape(sub)})">'
            f"<title>{escape(escape_control(e.name))}</title>"
            f'<rect x="{b.x}" y="{b.y}" width="{NODE_W}" height="{b.h}" rx="6"/>'
            f'<text class="name" x="{b.x + 10}" y="{b.y + 18}">{escape(_short(e.name))}</text>'
            f'<text class="sub" x="{b.x + 10}" y="{b.y + 33}">{escape(_short(sub, 38))}</text>'
            "</a>"
        )
    out.append("</svg>")
    return Markup("".join(out))
