"""The trust graph: one leg table, typed endpoints and legs (SPEC §4, knowledge base §2)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from mratrust.audit import audit
from mratrust.model import Deployment
from mratrust.topology import (
    LEG_TABLE,
    EndpointKind,
    Purpose,
    c2u_legs,
    expressway_c,
    legs,
    row_for,
)

LoadDeployment = Callable[[str], Deployment]
SRC = Path(__file__).resolve().parents[2] / "src" / "mratrust"


def test_table_is_keyed_by_client_server_and_port() -> None:
    for key, r in LEG_TABLE.items():
        assert key == (r.client, r.server, r.port)
    back = LEG_TABLE[(EndpointKind.CUCM, EndpointKind.EXPRESSWAY_C, 5061)]
    assert back.client_identity == "CallManager" and back.client_store == "CallManager-trust"
    assert back.mutual and back.needs_mixed
    # the IM and Presence 8443 leg is not mutual TLS; XCP on 7400 is, and Cisco lists
    # tomcat-trust beside cup-xmpp-trust for it (knowledge base L8)
    assert not LEG_TABLE[(EndpointKind.EXPRESSWAY_C, EndpointKind.IMP, 8443)].mutual
    xmpp = row_for(EndpointKind.EXPRESSWAY_C, EndpointKind.IMP, Purpose.XMPP)
    assert xmpp.mutual and xmpp.also_required == ("tomcat-trust",)


def test_ids_are_stable_references(deployment: LoadDeployment) -> None:
    d = deployment("B0")
    all_legs = legs(d)
    assert len({leg.id for leg in all_legs}) == len(all_legs)
    pattern = re.compile(r"^expressway-c/[^/>]+>(cucm|imp|cuc)/[^/>]+/[^/>]+:\d+$")
    for leg in c2u_legs(d):
        assert pattern.match(leg.id), leg.id
        assert leg.client == expressway_c(d)[0]
        assert leg.server.id == f"{leg.server.kind.value}/{leg.cluster.name}/{leg.node.name}"


def test_cucm_connects_back_to_expressway_c_only_in_mixed_mode(
    deployment: LoadDeployment,
) -> None:
    def back(d: Deployment) -> list[str]:
        return [leg.id for leg in legs(d) if leg.client.kind is EndpointKind.CUCM]

    assert back(deployment("B0")) == []
    mixed = deployment("F08")
    found = back(mixed)
    cucm = next(c for c in mixed.uc_clusters if c.name == "cucm-main")
    assert len(found) == len(cucm.nodes) * len(mixed.expressway.peers)
    assert all(re.match(r"^cucm/cucm-main/[^>]+>expressway-c/[^/]+:5061$", i) for i in found)
    # the rules' C2U view never contains it
    assert all(leg.from_expressway_c for leg in c2u_legs(mixed))


def test_imp_trust_findings_name_the_xcp_leg(deployment: LoadDeployment) -> None:
    report = audit(deployment("B0"))
    found = report.by_rule("U2C-IMP-TRUST")
    assert {f.subject.certificate for f in found} == {"tomcat-trust", "cup-xmpp-trust"}
    assert {f.subject.leg for f in found} == {"expc->imp:7400"}


@pytest.mark.parametrize("port", sorted({r.port for r in LEG_TABLE.values()}))
def test_port_numbers_live_in_topology_only(port: int) -> None:
    # port literals in code (not in docstrings or comments) of src/, outside topology.py
    offenders = []
    literal = re.compile(rf"(?<![\w.\"'/]){port}(?![\w.])")
    for path in SRC.rglob("*.py"):
        if path.name == "topology.py":
            continue
        code = _code_only(path.read_text(encoding="utf-8"))
        if literal.search(code):
            offenders.append(path.relative_to(SRC).as_posix())
    assert offenders == []


def _code_only(text: str) -> str:
    """``text`` without comments and string literals (docstrings and messages)."""
    import io
    import tokenize

    out = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.COMMENT, tokenize.STRING) or tok.type == getattr(
            tokenize, "FSTRING_MIDDLE", -1
        ):
            continue
        out.append(tok.string)
    return " ".join(out)


def test_a_leg_between_expressways_needs_no_uc_side() -> None:
    # the traversal rows (C is the client) fit the same types: a plain Leg, no UC cluster or node
    from mratrust.topology import EcdsaOffer, Endpoint, Leg, LegRow, Transport, UcLeg

    traversal = LegRow(
        client=EndpointKind.EXPRESSWAY_C, server=EndpointKind.EXPRESSWAY_E, port=7001,
        purpose=Purpose.SIP, transport=Transport.SIP, rsa_identity="server",
        ecdsa_identity=None, client_identity="server", client_store="trusted_cas",
        client_auth="required", server_stores=("trusted_cas",),
    )  # fmt: skip
    c = Endpoint(kind=EndpointKind.EXPRESSWAY_C, cluster="expc.example.com", name="c1.example.com")
    e = Endpoint(kind=EndpointKind.EXPRESSWAY_E, cluster="expe.example.com", name="e1.example.com")
    leg = Leg(row=traversal, client=c, server=e, ecdsa=EcdsaOffer.NEVER)
    assert leg.id == "expressway-c/c1.example.com>expressway-e/e1.example.com:7001"
    assert leg.mutual and leg.expected_names() == ("e1.example.com",)
    assert not leg.from_expressway_c and not isinstance(leg, UcLeg)
