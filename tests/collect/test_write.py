"""collect writes its inventory through the inventory's schema models (as the lab does)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mratrust.collect.merge import Merged
from mratrust.collect.write import INVENTORY, render, write
from mratrust.errors import InputError

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _doc() -> dict[str, Any]:
    # keys deliberately out of schema order: the schema's order wins in what is written
    return {
        "uc_clusters": [
            {
                "nodes": [{"role": "publisher", "name": "cucm1.example.com"}],
                "publisher": "cucm1.example.com",
                "product": "cucm",
                "name": "cucm",
                "version": "15.0",
            }
        ],
        "expressway": {
            "peers": [
                {"name": "expc1", "certificate": "certs/expc1.pem", "trusted_cas": "certs/ca.pem"}
            ],
            "version": "X15.2",
        },
        "name": "site",
        "schema": 1,
    }


def _merged(doc: dict[str, Any]) -> Merged:
    prov = {
        ("expc1", "api"): {
            "host": "expc1",
            "via": "api",
            "fields": ["b", "a", "a"],
            "certificates": [],
        }
    }
    return Merged(
        doc=doc,
        files={},
        unknown=["cucm/tls_verify"],
        drift=[{"field": "z", "api": "1", "wire": "2"}],
        provenance=prov,
    )


def test_render_goes_through_the_schema_in_its_order_keeping_the_collected_block() -> None:
    out = render(_merged(_doc()), at=AT, tool="mratrust 0")
    assert list(out) == ["schema", "name", "expressway", "collected", "uc_clusters"]
    assert list(out["expressway"]) == ["version", "peers"]  # unset defaults stay out
    assert list(out["uc_clusters"][0]) == ["name", "product", "version", "publisher", "nodes"]
    assert out["collected"] == {
        "at": "2026-01-02T03:04:05Z",
        "tool": "mratrust 0",
        "sources": [
            {"host": "expc1", "via": "api", "fields": ["a", "b"], "time": "2026-01-02T03:04:05Z"}
        ],
        "unknown": ["cucm/tls_verify"],
        "drift": [{"field": "z", "api": "1", "wire": "2"}],
    }
    assert render(_merged(_doc()), at=AT, tool="mratrust 0") == out


@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        (lambda d: d["uc_clusters"][0].update(product="cucx"), "uc_clusters.0.product"),
        (lambda d: d["expressway"].update(version="fifteen"), "expressway.version"),
        (lambda d: d.update(extra=True), "extra"),
    ],
)
def test_a_document_the_schema_refuses_is_a_bug_of_collect_not_a_traceback(
    tmp_path: Path, breakage: Any, where: str
) -> None:
    doc = _doc()
    breakage(doc)
    with pytest.raises(InputError, match="this is a bug of collect") as info:
        render(_merged(doc), at=AT, tool="mratrust 0")
    assert f"its schema refuses ({where}: " in str(info.value)
    with pytest.raises(InputError, match=rf"refuses \({where}: .*this is a bug of collect"):
        write(tmp_path, _merged(doc), at=AT, tool="mratrust 0")
    assert not (tmp_path / INVENTORY).exists()  # nothing half-written
