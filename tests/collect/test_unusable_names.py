"""A node name no resolver or SNI can carry (a mistyped ``cucm-sub1..example.com`` from a system's
answer) is a failure line for that node's handshakes; the other nodes' handshakes are made.
B0's lab servers on 127.0.0.1, real handshakes."""

from __future__ import annotations

import time

from mratrust.collect.base import Collected, Context
from mratrust.collect.http import Api
from mratrust.collect.sources import load_sources
from mratrust.collect.tls import NodeTarget, TlsSource

from .conftest import Lab

PUB = "cucm-pub.example.com"
BAD = "cucm-sub1..example.com"


def _handshakes(lab: Lab, *nodes: str) -> Collected:
    sources = load_sources(lab.sources)
    ctx = Context(
        sources=sources,
        api=Api(verify=False, addresses=sources.address, deadline=time.monotonic() + 60),
        credentials=lambda _name: None,
    )
    targets = tuple(
        NodeTarget(cluster="cucm-main", product="cucm", node=n, mixed=False) for n in nodes
    )
    return TlsSource(targets=targets, version="X15.2").collect(ctx)


def test_an_unusable_node_name_is_a_failure_and_the_others_are_handshaken(lab: Lab) -> None:
    got = _handshakes(lab, PUB, BAD)
    bad = [f for f in got.failures if f.system.startswith(BAD)]
    assert bad and all("is not a usable DNS name" in f.message for f in bad)
    assert {i.node for i in got.identities} == {PUB}


def test_negative_twin_usable_names_only(lab: Lab) -> None:
    got = _handshakes(lab, PUB)
    assert not [f for f in got.failures if "usable DNS name" in f.message]
    assert {i.node for i in got.identities} == {PUB}
