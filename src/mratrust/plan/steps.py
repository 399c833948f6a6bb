"""Steps: a :class:`~mratrust.plan.draft._Draft` → the ordered steps of the kit.

Obtain-ca first, then uploads (issuers first), removals, settings, reissues with their
product recipes, restarts (from :mod:`mratrust.products`) and the refresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cryptography import x509

from mratrust.model import Deployment, Product
from mratrust.pki.facts import facts
from mratrust.plan.draft import (
    _chain_above,
    _cluster,
    _Draft,
    _expc_key,
    _expe_key,
    _known,
    _self_signed_owners,
)
from mratrust.plan.types import MissingCa, Step
from mratrust.products import (
    EXPRESSWAY_RESTART,
    identity_recipe,
    source_urls,
    trust_restarts,
    trust_sources,
)
from mratrust.products import info as product_info


def _issuers_first(certs: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """Roots, then what they sign, and so on (the order uploads must follow)."""
    pending = list(certs)
    ordered: list[x509.Certificate] = []
    while pending:
        subjects = {c.subject for c in pending}
        ready = [c for c in pending if c.issuer == c.subject or c.issuer not in subjects]
        ready = ready or pending[:1]  # a loop of names: keep the given order
        ordered.extend(ready)
        pending = [c for c in pending if c not in ready]
    return tuple(ordered)


ROLLING = (
    "in a maintenance window, node by node: the publisher first, then each subscriber once the "
    "one before is back (utils service list shows the services STARTED)"
)


def _steps(deployment: Deployment, draft: _Draft) -> list[Step]:
    steps: list[Step] = []

    def add(**kw: Any) -> None:
        steps.append(Step(order=len(steps) + 1, **kw))

    # CAs nobody holds: named first, so they can be fetched while the rest is prepared
    obtain_order: dict[MissingCa, int] = {}
    for missing in sorted(draft.waiting):
        subject, key_id = missing
        findings = draft.waiting[missing]
        where = sorted(
            {
                f"{f.subject.node or f.subject.cluster} presents"
                + (f" on {f.subject.leg}" if f.subject.leg else "")
                for f in findings
            }
        )
        add(
            action="obtain-ca",
            target=(("system", "ca"),),
            subject=subject,
            key_id=key_id,
            commands=(
                f"get the CA certificate {subject} from the CA's administrators or the "
                "company's CA bundle (the certificate only, PEM or DER)",
                f"check it: openssl x509 -in FILE -noout -subject -ext subjectKeyIdentifier "
                f"shows {subject} and key identifier {key_id}",
                "then upload it where the steps that list it under missing say, or run "
                "mratrust plan again with --ca FILE: the kit then holds it",
            ),
            fixes=tuple(sorted({f.rule for f in findings})),
            why=f"No file of the inventory (nor --ca) holds {subject}, the CA named as issuer "
            f"by the chain that {'; '.join(where)}; the uploads below need it to build a path "
            "to a root",
        )
        obtain_order[missing] = len(steps)

    def lacking(key: tuple[str, ...]) -> tuple[tuple[str, str, int], ...]:
        return tuple((m[0], m[1], obtain_order[m]) for m in draft.missing.get(key, []))

    def configure(on_expressway: bool) -> set[str]:
        """The configure steps of one side; returns the rules they fix."""
        fixed: set[str] = set()
        for _, (target, commands, fixes, why) in sorted(draft.configure.items()):
            if (target.get("system") == "expressway-c") is not on_expressway:
                continue
            add(
                action="configure",
                target=tuple((k, str(v)) for k, v in target.items()),
                commands=commands,
                fixes=tuple(sorted(fixes)),
                why=why,
            )
            fixed |= fixes
        return fixed

    touched_expc: dict[str, set[str]] = {}
    expc_settings = configure(on_expressway=True)  # before the restart that applies them
    if expc_settings:
        for p in deployment.expressway.peers:
            touched_expc.setdefault(p.name, set()).update(expc_settings)
    # Expressway-C trusted CA lists: removals first (the lookup stops at the first match)
    for peer in deployment.expressway.peers:
        pkey = _expc_key(peer.name)
        present = {facts(c.cert).fingerprint for c in peer.trusted_cas.certs}
        rm = {fp: c for fp, c in draft.removals.get(pkey, {}).items() if fp in present}
        if rm:
            fixes = draft.removal_fixes.get(pkey, set())
            add(
                action="remove-trust",
                target=(("system", "expressway-c"), ("peer", peer.name), ("store", "trusted_cas")),
                commands=tuple(
                    f"Maintenance > Security > Trusted CA certificate: delete {facts(c).subject} "
                    f"(SHA-256 {facts(c).fingerprint.removeprefix('sha256:')[:32]}…)"
                    for c in rm.values()
                ),
                fixes=tuple(sorted(fixes)),
                why="; ".join(draft.removal_why.get(pkey, [])),
                certificates=tuple(rm.values()),
            )
            touched_expc.setdefault(peer.name, set()).update(fixes)
        up = {fp: c for fp, c in draft.uploads.get(pkey, {}).items() if fp not in present}
        if up or lacking(pkey):
            fixes = draft.upload_fixes.get(pkey, set())
            why = "; ".join(draft.upload_why.get(pkey, [])[:1])
            commands: tuple[str, ...] = (
                "Maintenance > Security > Trusted CA certificate > Upload (one file at a "
                "time, CA certificates before the certificates they sign)",
            )
            owners = _self_signed_owners(deployment, up.values())
            if owners:
                # Cisco's recommendation first; the upload keeps MRA working until then
                why = (
                    "Cisco recommends CA-signed certificates for MRA (tech note 225476). The "
                    "lasting fix: have "
                    + ", ".join(owners)
                    + " certificates CA-signed (a multi-server CSR where the product offers "
                    "it) and upload that CA's root and intermediates here instead. Until then, "
                    "this step trusts the self-signed certificates themselves; each must be "
                    "uploaded again whenever it is regenerated. " + why
                )
                commands = (
                    "recommended instead: CA-sign "
                    + ", ".join(owners)
                    + " and upload the CA chain (then these files are not needed)",
                    "otherwise: " + commands[0],
                )
            add(
                action="upload-trust",
                target=(("system", "expressway-c"), ("peer", peer.name), ("store", "trusted_cas")),
                commands=commands,
                fixes=tuple(sorted(fixes)),
                why=why,
                certificates=_issuers_first(up.values()),
                missing=lacking(pkey),
            )
            touched_expc.setdefault(peer.name, set()).update(fixes)
    for peer_name, fixes in touched_expc.items():
        add(
            action="restart",
            target=(("system", "expressway-c"), ("peer", peer_name)),
            commands=(EXPRESSWAY_RESTART,),
            fixes=tuple(sorted(fixes)),
            why="Expressway applies trusted CA and cipher changes only after a restart",
        )
    for peer in deployment.expressway_e.peers if deployment.expressway_e else ():
        ekey = _expe_key(peer.name)
        present = {facts(c.cert).fingerprint for c in peer.trusted_cas.certs}
        up = {fp: c for fp, c in draft.uploads.get(ekey, {}).items() if fp not in present}
        if not up and not lacking(ekey):
            continue
        fixes = draft.upload_fixes.get(ekey, set())
        add(
            action="upload-trust",
            target=(("system", "expressway-e"), ("peer", peer.name), ("store", "trusted_cas")),
            commands=(
                "on Expressway-E: Maintenance > Security > Trusted CA certificate > Upload (one "
                "file at a time, CA certificates before the certificates they sign)",
            ),
            fixes=tuple(sorted(fixes)),
            why="; ".join(draft.upload_why.get(ekey, [])[:1]),
            certificates=_issuers_first(up.values()),
            missing=lacking(ekey),
        )
        add(
            action="restart",
            target=(("system", "expressway-e"), ("peer", peer.name)),
            commands=(EXPRESSWAY_RESTART,),
            fixes=tuple(sorted(fixes)),
            why="Expressway applies trusted CA changes only after a restart",
        )
    # UC clusters: every upload to a cluster, then its restarts once
    for cluster in deployment.uc_clusters:
        stores_done: list[str] = []
        cluster_fixes: set[str] = set()
        for store in cluster.trust:
            skey = (cluster.product.value, cluster.name, store.name)
            present = {facts(c.cert).fingerprint for c in store.certs}
            up = {fp: c for fp, c in draft.uploads.get(skey, {}).items() if fp not in present}
            if not up and not lacking(skey):
                continue
            fixes = draft.upload_fixes.get(skey, set())
            cluster_fixes |= fixes
            stores_done.append(store.name)
            add(
                action="upload-trust",
                target=(
                    ("system", cluster.product.value),
                    ("cluster", cluster.name),
                    ("store", store.name),
                ),
                commands=(
                    f"on the publisher ({cluster.publisher}) only: "
                    f"{product_info(cluster.product).os_admin} > Security > Certificate "
                    "Management > Upload Certificate/Certificate chain, "
                    f"purpose {store.name}, one file at a time, CA certificates first (the store "
                    "replicates from the publisher to every node)",
                ),
                fixes=tuple(sorted(fixes)),
                why="; ".join(draft.upload_why.get(skey, [])[:1]),
                certificates=_issuers_first(up.values()),
                missing=lacking(skey),
            )
        if stores_done:
            commands = tuple(
                dict.fromkeys(
                    cmd
                    for store_name in stores_done
                    for cmd in trust_restarts(
                        cluster.product, store_name, sip_oauth=cluster.sip_oauth
                    )
                )
            )
            oauth = (
                "; Cisco CallManager too: it serves SIP OAuth on 5090/5091 with tomcat-trust"
                if cluster.sip_oauth and "tomcat-trust" in stores_done
                else ""
            )
            add(
                action="restart",
                target=(
                    ("system", cluster.product.value),
                    ("cluster", cluster.name),
                    ("nodes", tuple(n.name for n in cluster.nodes)),
                ),
                commands=commands,
                fixes=tuple(sorted(cluster_fixes)),
                why=f"{', '.join(stores_done)} changes take effect after these restarts on each "
                f"node (Cisco Tomcat can only be restarted from the CLI){oauth}. Run them "
                f"{ROLLING}",
                sources=tuple(
                    dict.fromkeys(
                        url
                        for store_name in stores_done
                        for url in trust_sources(
                            cluster.product, store_name, sip_oauth=cluster.sip_oauth
                        )
                    )
                ),
            )
    configure(on_expressway=False)
    for _, (target, fixes, whys) in sorted(draft.reissue.items()):
        add(
            action="reissue",
            target=tuple(
                (k, tuple(str(x) for x in v) if isinstance(v, list) else str(v))
                for k, v in target.items()
            ),
            commands=_reissue_commands(deployment, draft, target),
            fixes=tuple(sorted(fixes)),
            why="; ".join(whys[:3]),
            sources=_reissue_sources(deployment, target),
        )
    if steps and any(
        (
            s.action in ("upload-trust", "remove-trust", "reissue")
            and s.target_dict().get("system") != "expressway-e"  # not discovered by C
        )
        or s.target_dict().get("setting") in ("server_names", "https_ciphers")
        for s in steps
    ):
        fixes = {fx for s in steps for fx in s.fixes}
        products = [c.product for c in deployment.uc_clusters]
        add(
            action="refresh",
            target=(("system", "expressway-c"),),
            commands=tuple(
                product_info(p).refresh_page for p in Product if p in products or not products
            ),
            fixes=tuple(sorted(fixes)),
            why="Expressway-C keeps what it discovered (names, certificates); refresh after "
            "certificate or server-name changes",
        )
    return steps


def _reissue_sources(deployment: Deployment, target: dict[str, Any]) -> tuple[str, ...]:
    cluster = _cluster(deployment, str(target.get("cluster")))
    if cluster is None:
        return ()
    recipe = identity_recipe(
        cluster.product,
        str(target.get("certificate", "")),
        mixed=cluster.mixed,
        sip_oauth=cluster.sip_oauth,
    )
    return source_urls(recipe.sources)


def _reissue_commands(
    deployment: Deployment, draft: _Draft, target: dict[str, Any]
) -> tuple[str, ...]:
    system = target.get("system")
    cert = str(target.get("certificate", ""))
    san = ", ".join(target.get("san", []))
    if system == "expressway-c" and cert == "client":
        return (
            f"Expressway-C {target.get('peer')} (X15.5): Maintenance > Security > Client "
            f"certificate: a certificate with EKU clientAuth from an enterprise CA (SAN: {san}; "
            f"key {target.get('key')}); public CAs no longer issue clientAuth",
            "its CA chain must be in the trusted CA lists of Expressway-E and of the UC nodes "
            "that ask for it (as for the server certificate); restart Expressway-C",
        )
    if system == "expressway-e":
        return (
            f"Expressway-E {target.get('peer')}: Maintenance > Security > Server certificate > "
            f"Generate CSR (SAN: {san}, Unified CM registration domains in CollabEdgeDNS or DNS "
            f"format; key {target.get('key')}; EKU {' + '.join(target.get('eku', []))})",
            "upload the CA certificates of the new chain to Expressway-E's trusted CA list first, "
            "and make sure every Expressway-C peer trusts that chain; then the signed "
            "certificate; restart Expressway-E",
        )
    if system == "expressway-c":
        return (
            f"Maintenance > Security > Server certificate > Generate CSR (SAN: {san}; key "
            f"{target.get('key')}; EKU serverAuth + clientAuth)",
            "upload the CA certificates of the new chain to the trusted CA list first, then the "
            "signed certificate; restart Expressway-C",
        )
    cluster = _cluster(deployment, str(target.get("cluster")))
    if cluster is None or system not in ("cucm", "imp", "cuc"):
        return (f"renew {cert} at its CA and replace it wherever it is trusted",)
    product = product_info(cluster.product)
    kind = "Multi-server (SAN)" if target.get("multi_server") else "Single-server"
    nodes = target.get("nodes") or [n.name for n in cluster.nodes]
    where = (
        f"on {nodes[0]}"
        if len(nodes) == 1 and not target.get("multi_server")
        else f"on the publisher ({cluster.publisher})"
    )
    out = [
        f"{where}: {product.os_admin} > Security > Certificate Management > Generate CSR: "
        f"purpose {cert}, distribution {kind}, SAN {san}, key {target.get('key')}, EKU "
        f"{' + '.join(target.get('eku', ['serverAuth', 'clientAuth']))}",
    ]
    issuer = target.get("issuer")
    if issuer:
        out.append(f"have it signed by {issuer}")
    store_name = cert.removesuffix("-ECDSA") + "-trust"
    trust = cluster.store(store_name)
    chain = _chain_above(str(issuer), _known(deployment)) if issuer else []
    if chain and trust is not None:
        lacking = [c for c in chain if not trust.trust.contains(c)]
        upload_key = (cluster.product.value, cluster.name, store_name)
        planned = {facts(c).fingerprint for c in draft.uploads.get(upload_key, {}).values()}
        names = ", ".join(facts(c).subject for c in chain)
        if not lacking:
            state = f"it holds them ({names})"
        elif all(facts(c).fingerprint in planned for c in lacking):
            state = "the upload-trust step above adds them"
        else:
            state = "upload " + ", ".join(facts(c).subject for c in lacking) + " there first"
        out.append(
            f"before uploading it: {store_name} must hold the CA chain that signs it: {state}"
        )
    elif trust is not None:
        out.append(
            f"before uploading it: upload the root and intermediates of the signing CA to "
            f"{store_name} on the publisher"
        )
    if chain:
        # Expressway-C must trust the new certificate too (not replicated between peers)
        todo: dict[str, list[x509.Certificate]] = {}
        planned_any = False
        for p in deployment.expressway.peers:
            planned = set(draft.uploads.get(_expc_key(p.name), {}))
            absent = [c for c in chain if not p.trusted_cas.trust.contains(c)]
            planned_any = planned_any or any(facts(c).fingerprint in planned for c in absent)
            rest = [c for c in absent if facts(c).fingerprint not in planned]
            if rest:
                todo[p.name] = rest
        if todo:
            for name, certs in todo.items():
                out.append(
                    "upload "
                    + ", ".join(facts(c).subject for c in certs)
                    + f" to the trusted CA list of Expressway-C {name} (then restart it) before "
                    "the new certificate is installed"
                    + (
                        "; the rest of the chain comes with the upload-trust above"
                        if planned_any
                        else ""
                    )
                )
        elif planned_any:
            out.append("Expressway-C's trusted CA list gets that chain in the upload-trust above")
        else:
            out.append("Expressway-C's trusted CA list holds that chain on every peer")
    out.append(
        f"{where}: Upload Certificate/Certificate chain, purpose {cert} (the signed certificate "
        "with its chain)"
    )
    recipe = identity_recipe(
        cluster.product, cert, mixed=cluster.mixed, sip_oauth=cluster.sip_oauth
    )
    out.extend(recipe.before)
    if recipe.restarts:
        out.append(f"{ROLLING}:")
        out.extend(recipe.restarts)
    out.extend(recipe.after)
    return tuple(out)
