"""Offline audit of a large generated deployment, against cryptography alone on the same chains.

    python bench/audit_bench.py [--clusters 100] [--nodes 10] [--repeat 3]

Generates (once, under bench/out/) an inventory of N CUCM clusters of M nodes each (every node
with its own CA-signed tomcat and CallManager, a self-signed tomcat-ECDSA, half the clusters in
mixed mode), plus IM and Presence and Unity Connection, all issued under a few intermediates.
Then, in the same process, it times:

- mratrust: ``load_inventory`` + ``audit`` (every rule, every leg, every certificate);
- the baseline: cryptography parsing every certificate file and path-validating every node
  identity chain (tomcat, CallManager) against Expressway-C's trusted CA list with its verifier.

It prints both and the ratio (goal: audit / baseline <= 1.5). Best of --repeat runs each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import time
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.x509 import verification as xv

from mratrust.audit import audit
from mratrust.inventory import load_inventory
from mratrust.lab import pkigen as pg
from mratrust.pki.facts import clear_cache as clear_facts
from mratrust.pki.verify import _structure_check, issued_by
from mratrust.versions import behaviour

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
OUT = Path(__file__).resolve().parent / "out" / "audit"


def generate(clusters: int, nodes: int, out: Path) -> Path:
    """Write the inventory and its certificates; return the inventory path."""
    out = out / f"{clusters}x{nodes}"
    inventory = out / "inventory.yaml"
    if inventory.exists():
        return inventory
    pool = pg.KeyPool()
    root = pg.make_ca("BENCH-ROOT", now=NOW, pool=pool)
    inters = [pg.make_ca(f"BENCH-INT-{i}", now=NOW, issuer=root, pool=pool) for i in range(4)]
    certs = out / "certs"
    trust = pg.write_certs(certs / "trust.pem", [root.cert, *(i.cert for i in inters)])
    expc = pg.make_leaf(
        "expc1.example.com", now=NOW, issuer=inters[0], san=("expc1.example.com",), pool=pool
    )
    pg.write_certs(certs / "expc1.pem", expc.chain())
    uc: list[dict[str, object]] = []
    for c in range(clusters):
        inter = inters[c % len(inters)]
        names = [f"cucm{c:03d}-{n:02d}.example.com" for n in range(nodes)]
        node_docs = []
        for n, name in enumerate(names):
            idents = {}
            for purpose in ("tomcat", "CallManager"):
                leaf = pg.make_leaf(
                    name,
                    now=NOW,
                    issuer=inter,
                    san=(name,),
                    key_slot=f"{purpose}:{c % 8}",
                    pool=pool,
                )
                idents[purpose] = str(
                    pg.write_certs(certs / f"{name}-{purpose}.pem", [leaf.cert]).relative_to(out)
                )
            ec = pg.make_cucm_self_signed(
                name, now=NOW, key_type=pg.KeyType.EC, key_slot=f"ec:{c % 8}", pool=pool
            )
            idents["tomcat-ECDSA"] = str(
                pg.write_certs(certs / f"{name}-tomcat-ec.pem", [ec.cert]).relative_to(out)
            )
            node_docs.append(
                {
                    "name": name,
                    "role": "publisher" if n == 0 else "subscriber",
                    "certificates": idents,
                }
            )
        uc.append(
            {
                "name": f"cucm-{c:03d}",
                "product": "cucm",
                "version": "15.0.1.12900-234",
                "publisher": names[0],
                "security_mode": "mixed" if c % 2 else "non-secure",
                "trust": {
                    "tomcat-trust": str(trust.relative_to(out)),
                    "CallManager-trust": str(trust.relative_to(out)),
                },
                "nodes": node_docs,
            }
        )
    imp = pg.make_leaf(
        "imp1.example.com", now=NOW, issuer=inters[1], san=("imp1.example.com",), pool=pool
    )
    cuc = pg.make_leaf(
        "cuc1.example.com", now=NOW, issuer=inters[2], san=("cuc1.example.com",), pool=pool
    )
    pg.write_certs(certs / "imp1.pem", [imp.cert])
    pg.write_certs(certs / "cuc1.pem", [cuc.cert])
    uc.append(
        {
            "name": "imp-main",
            "product": "imp",
            "publisher": "imp1.example.com",
            "trust": {"tomcat-trust": "certs/trust.pem", "cup-xmpp-trust": "certs/trust.pem"},
            "nodes": [
                {
                    "name": "imp1.example.com",
                    "role": "publisher",
                    "certificates": {"tomcat": "certs/imp1.pem", "cup-xmpp": "certs/imp1.pem"},
                }
            ],
        }
    )
    uc.append(
        {
            "name": "cuc-main",
            "product": "cuc",
            "publisher": "cuc1.example.com",
            "voicemail_host": "cuc1.example.com",
            "trust": {"tomcat-trust": "certs/trust.pem"},
            "nodes": [
                {
                    "name": "cuc1.example.com",
                    "role": "publisher",
                    "certificates": {"tomcat": "certs/cuc1.pem"},
                }
            ],
        }
    )
    doc = {
        "schema": 1,
        "name": f"Bench {clusters}x{nodes}",
        "expressway": {
            "version": "X14.2.1",
            "upgraded_from": "X14.0.7",
            "peers": [
                {
                    "name": "expc1.example.com",
                    "certificate": "certs/expc1.pem",
                    "trusted_cas": "certs/trust.pem",
                }
            ],
        },
        "uc_clusters": uc,
    }
    inventory.write_text(yaml.safe_dump(doc, sort_keys=False))
    return inventory


def baseline(inventory: Path) -> tuple[float, float, int]:
    """cryptography alone: parse every file, path-validate every node identity chain."""
    start, cpu = time.perf_counter(), time.process_time()
    doc = yaml.safe_load(inventory.read_text())
    base = inventory.parent
    peer = doc["expressway"]["peers"][0]
    anchors = x509.load_pem_x509_certificates((base / peer["trusted_cas"]).read_bytes())
    roots = [c for c in anchors if c.issuer == c.subject]
    inters = [c for c in anchors if c.issuer != c.subject]
    x509.load_pem_x509_certificates((base / peer["certificate"]).read_bytes())
    store = xv.Store(roots)
    ca_policy = xv.ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, xv.Criticality.AGNOSTIC, None
    )
    verifier = (
        xv.PolicyBuilder()
        .store(store)
        .time(NOW)
        .extension_policies(ca_policy=ca_policy, ee_policy=xv.ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    checked = 0
    for cluster in doc["uc_clusters"]:
        for store_path in cluster.get("trust", {}).values():
            x509.load_pem_x509_certificates((base / store_path).read_bytes())
        for node in cluster["nodes"]:
            for purpose, path in node["certificates"].items():
                (leaf,) = x509.load_pem_x509_certificates((base / path).read_bytes())
                if purpose.endswith("ECDSA"):
                    continue
                verifier.verify(leaf, inters)
                checked += 1
    return time.perf_counter() - start, time.process_time() - cpu, checked


def clear_caches() -> None:
    """Forget every certificate-level cache, so each run starts cold like a fresh process."""
    clear_facts()
    issued_by.cache_clear()
    _structure_check.cache_clear()
    behaviour.cache_clear()


def run_audit(inventory: Path) -> tuple[float, float, int]:
    clear_caches()
    start, cpu = time.perf_counter(), time.process_time()
    report = audit(load_inventory(inventory), now=NOW)
    return time.perf_counter() - start, time.process_time() - cpu, len(report.findings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    inventory = generate(args.clusters, args.nodes, OUT)
    print(f"inventory: {inventory} (ready in {time.perf_counter() - t0:.1f} s)")
    best = {"base": float("inf"), "audit": float("inf"), "base_cpu": float("inf")}
    best["audit_cpu"] = float("inf")
    checked = findings = 0
    for _ in range(args.repeat):
        gc.collect()
        wall, cpu, checked = baseline(inventory)
        best["base"], best["base_cpu"] = min(best["base"], wall), min(best["base_cpu"], cpu)
        gc.collect()
        wall, cpu, findings = run_audit(inventory)
        best["audit"], best["audit_cpu"] = min(best["audit"], wall), min(best["audit_cpu"], cpu)
    ratio = best["audit"] / best["base"]
    cpu_ratio = best["audit_cpu"] / best["base_cpu"]
    print(
        f"baseline (cryptography parse + verify {checked} chains): {best['base']:.3f} s "
        f"(CPU {best['base_cpu']:.3f} s)"
    )
    print(
        f"mratrust load_inventory + audit ({findings} findings):  {best['audit']:.3f} s "
        f"(CPU {best['audit_cpu']:.3f} s)"
    )
    print(f"ratio audit/baseline: wall {ratio:.2f}, CPU {cpu_ratio:.2f} (goal <= 1.5)")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
