"""The trust graph's drawing: columns by kind, rows by id, arrows from client to server."""

from __future__ import annotations

import re

from mratrust.model import Status
from mratrust.report import svg
from mratrust.topology import (
    EcdsaOffer,
    Endpoint,
    EndpointKind,
    Graph,
    GraphLeg,
    Leg,
    LegRow,
    Purpose,
    Transport,
)

C1 = Endpoint(kind=EndpointKind.EXPRESSWAY_C, cluster="expc", name="expc1.example.com")
C2 = Endpoint(kind=EndpointKind.EXPRESSWAY_C, cluster="expc", name="expc2.example.com")
E1 = Endpoint(kind=EndpointKind.EXPRESSWAY_E, cluster="expe", name="expe1.example.com")
PUB = Endpoint(kind=EndpointKind.CUCM, cluster="cucm-main", name="cucm-pub.example.com")
SUB = Endpoint(kind=EndpointKind.CUCM, cluster="cucm-main", name="<b>sub</b>.example.com")


def _row(client: EndpointKind, server: EndpointKind, port: int) -> LegRow:
    return LegRow(
        client=client, server=server, port=port, purpose=Purpose.SIP, transport=Transport.SIP,
        rsa_identity="server", ecdsa_identity=None, client_identity="server",
        client_store="trusted_cas",
    )  # fmt: skip


TRAVERSAL = _row(EndpointKind.EXPRESSWAY_C, EndpointKind.EXPRESSWAY_E, 7001)
HTTPS = _row(EndpointKind.EXPRESSWAY_C, EndpointKind.CUCM, 8443)
BACK = _row(EndpointKind.CUCM, EndpointKind.EXPRESSWAY_C, 5061)


def _leg(row: LegRow, client: Endpoint, server: Endpoint, status: Status | None) -> GraphLeg:
    return GraphLeg(
        leg=Leg(row=row, client=client, server=server, ecdsa=EcdsaOffer.NEVER), status=status
    )


def _graph(endpoints: tuple[Endpoint, ...]) -> Graph:
    return Graph(
        endpoints=endpoints,
        legs=(
            _leg(TRAVERSAL, C1, E1, Status.PASS),
            _leg(HTTPS, C1, PUB, Status.FAIL),
            _leg(HTTPS, C1, SUB, None),
            _leg(BACK, PUB, C2, Status.RISK),
        ),
    )


def _box(drawing: str, name: str) -> tuple[int, int]:
    m = re.search(rf'<title>{re.escape(name)}</title><rect x="(\d+)" y="(\d+)"', drawing)
    assert m is not None, name
    return int(m.group(1)), int(m.group(2))


def test_columns_by_kind_and_rows_by_id() -> None:
    drawing = str(svg.draw(_graph((PUB, SUB, C2, E1, C1))))
    e, c1, c2, pub = (_box(drawing, n.name) for n in (E1, C1, C2, PUB))
    sub = _box(drawing, "&lt;b&gt;sub&lt;/b&gt;.example.com")
    assert e[0] < c1[0] == c2[0] < pub[0] == sub[0]
    assert c1[1] < c2[1] and sub[1] < pub[1]  # "<b>sub…" sorts before "cucm-pub…"
    again = str(svg.draw(_graph((C1, E1, SUB, C2, PUB))))  # the order given is moot
    for name in (E1.name, C1.name, C2.name, PUB.name):
        assert _box(again, name) == _box(drawing, name)
    assert str(svg.draw(_graph((PUB, SUB, C2, E1, C1)))) == drawing


def test_without_expressway_e_the_c_column_comes_first() -> None:
    g = _graph((C1, PUB, SUB, C2, E1))
    drawing = str(svg.draw(Graph(endpoints=g.endpoints[:-1], legs=g.legs[1:])))
    assert _box(drawing, C1.name)[0] == svg.MARGIN and "Expressway-E" not in drawing


def test_arrows_run_from_client_to_server_coloured_by_status() -> None:
    drawing = str(svg.draw(_graph((C1, C2, E1, PUB, SUB))))
    arrows = dict(re.findall(r'class="leg (st-\w+)"[^>]*aria-label="([^"]+)"', drawing))
    assert arrows == {
        "st-pass": "expc1.example.com → expe1.example.com :7001 (sip): pass",
        "st-fail": "expc1.example.com → cucm-pub.example.com :8443 (sip): fail",
        "st-none": "expc1.example.com → &lt;b&gt;sub&lt;/b&gt;.example.com :8443 (sip): "
        "not checked",
        "st-risk": "cucm-pub.example.com → expc2.example.com :5061 (sip): risk",
    }
    paths = dict(
        re.findall(r'aria-label="([^":]+)[^"]*">.*?<path class="line" d="M(\d+) ', drawing)
    )
    c_x, e_x, pub_x = (_box(drawing, n)[0] for n in (C1.name, E1.name, PUB.name))
    assert int(paths["expc1.example.com → expe1.example.com "]) == c_x  # leaves C to the left
    assert int(paths["cucm-pub.example.com → expc2.example.com "]) == pub_x  # leaves the node
    assert int(paths["expc1.example.com → cucm-pub.example.com "]) == c_x + svg.NODE_W
    assert e_x < c_x
    # the worst is drawn last, on top
    assert drawing.rindex('class="leg st-fail"') > drawing.rindex('class="leg st-pass"')
    assert "<b>" not in drawing


def test_mra_clients_come_before_expressway_e() -> None:
    net = Endpoint(kind=EndpointKind.MRA_CLIENT, cluster="", name="internet")
    edge = _row(EndpointKind.MRA_CLIENT, EndpointKind.EXPRESSWAY_E, 8443)
    g = _graph((C1, C2, E1, PUB, SUB, net))
    drawing = str(svg.draw(Graph(endpoints=g.endpoints, legs=(*g.legs, _leg(edge, net, E1, None)))))
    assert _box(drawing, "internet")[0] == svg.MARGIN < _box(drawing, E1.name)[0]
    assert ">MRA clients</text>" in drawing and ">Clients</text>" in drawing
    assert "internet → expe1.example.com :8443 (sip): not checked" in drawing
