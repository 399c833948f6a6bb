"""The cryptographic floor of an offline audit, run as its own fresh process.

    python bench/floor.py INVENTORY NOW

Parses the inventory (libyaml when PyYAML has it, as mratrust does), parses every certificate file
it names, and path-validates every node identity chain (tomcat, CallManager: every identity but the
self-signed ECDSA ones) against Expressway-C's trusted CA list with cryptography's verifier. Prints
the number of chains it validated. Nothing else is imported: this is what any tool doing the same
checks must at least spend.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.x509 import verification as xv

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def floor(inventory: Path, now: dt.datetime) -> int:
    doc = yaml.load(inventory.read_text(encoding="utf-8"), Loader=_LOADER)
    base = inventory.parent
    peer = doc["expressway"]["peers"][0]
    anchors = x509.load_pem_x509_certificates((base / peer["trusted_cas"]).read_bytes())
    roots = [c for c in anchors if c.issuer == c.subject]
    inters = [c for c in anchors if c.issuer != c.subject]
    x509.load_pem_x509_certificates((base / peer["certificate"]).read_bytes())
    ca_policy = xv.ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, xv.Criticality.AGNOSTIC, None
    )
    verifier = (
        xv.PolicyBuilder()
        .store(xv.Store(roots))
        .time(now)
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
    return checked


if __name__ == "__main__":
    when = dt.datetime.fromisoformat(sys.argv[2].replace("Z", "+00:00"))
    print(floor(Path(sys.argv[1]), when))
