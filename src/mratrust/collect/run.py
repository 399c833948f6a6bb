"""``collect``: read every source in two bounded stages, merge, write, and say what happened.

Stage 1 reads what needs nothing else (Expressway-C and -E REST, AXL, UDS, the declared values);
stage 2 what needs the node list and the Expressway version (certificate management on each
node, the handshakes, the exported files). Each stage runs its sources concurrently, at most
``workers`` at once, every request bounded by ``timeout`` and the whole run by ``deadline``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import field
from pathlib import Path

from mratrust import __version__
from mratrust.collect.axl import AxlSource, major
from mratrust.collect.base import (
    EXPRESSWAY_E,
    Collected,
    Context,
    Interface,
    NodeFact,
    SettingFact,
    Source,
    run_all,
)
from mratrust.collect.certmgr import CertMgrSource
from mratrust.collect.expressway import ExpresswaySource
from mratrust.collect.files import FilesSource
from mratrust.collect.http import Api, tls_context
from mratrust.collect.merge import (
    CannotWrite,
    cluster_nodes,
    discovered_uc,
    merge,
    setting_fact,
)
from mratrust.collect.sources import Credentials, Sources, load_credentials_file, load_sources
from mratrust.collect.tls import EXPE, NodeTarget, TlsSource
from mratrust.collect.write import check_out_dir, write
from mratrust.values import frozen

EXIT_OK, EXIT_NOTHING, EXIT_UNKNOWN = 0, 2, 3


@frozen
class CollectResult:
    """What a run did: the inventory (None when none could be written) and why."""

    inventory: Path | None
    facts: Collected
    unknown: tuple[str, ...] = ()
    drift: tuple[dict[str, str], ...] = ()
    error: str | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        """SPEC §7: 2 nothing could be collected, 3 something is unknown, else 0."""
        if self.inventory is None:
            return EXIT_NOTHING
        return EXIT_UNKNOWN if self.unknown else EXIT_OK


def _declared(sources: Sources) -> Collected:
    name = sources.path.name
    facts = []
    sides = [("expressway", sources.model.expressway_c)]
    if sources.model.expressway_e is not None:
        sides.append((EXPRESSWAY_E, sources.model.expressway_e))
    for prefix, src in sides:
        for key, value in (("version", src.version), ("upgraded_from", src.upgraded_from)):
            if value:
                facts.append(
                    SettingFact(
                        path=f"{prefix}.{key}",
                        value=value,
                        interface=Interface.SOURCES,
                        system=name,
                    )
                )
    nodes = tuple(
        NodeFact(
            cluster=u.cluster,
            name=n,
            role=None,
            product=u.product,
            interface=Interface.SOURCES,
            system=name,
        )
        for u in sources.model.uc
        for n in u.nodes
    )
    return Collected(settings=tuple(facts), nodes=nodes)


def _setting(facts: Collected, path: str) -> object:
    fact = setting_fact(facts, path)
    return fact.value if fact is not None else None


def collect(
    sources_path: str | Path,
    out: str | Path,
    *,
    credentials_file: str | Path | None = None,
    insecure_api: bool = False,
    deadline: float = 120.0,
    timeout: float = 10.0,
    workers: int = 8,
    now: dt.datetime | None = None,
    env: dict[str, str] | None = None,
    prompt: Callable[[str], tuple[str, str] | None] | None = None,
    max_bytes: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> CollectResult:
    """Collect the deployment the sources file names into ``out``.

    Raises InputError (exit 2) for a bad sources or credentials file or ``out`` folder; every
    problem of a remote system is a failure line in the result instead.
    """
    started = time.monotonic()
    sources = load_sources(sources_path)
    out = Path(out)
    check_out_dir(out)
    creds = Credentials(
        file=load_credentials_file(credentials_file) if credentials_file else {},
        prompt=prompt,
    )
    if env is not None:
        creds.env = env
    api_trust = sources.resolve(sources.model.api_trust) if sources.model.api_trust else None
    api = Api(
        verify=tls_context(api_trust, insecure=insecure_api),
        addresses=sources.address,
        timeout=timeout,
        deadline=started + deadline,
        **({"max_bytes": max_bytes} if max_bytes else {}),
    )
    warnings = []
    if insecure_api:
        warnings.append(
            "--insecure-api: the management interfaces' certificates are NOT checked; anyone "
            "on the path could pose as them and read the credentials sent"
        )
    try:
        ctx = Context(sources=sources, api=api, credentials=creds)
        facts = _declared(sources)
        stage1: list[Source] = []
        exp = sources.model.expressway_c
        stage1.append(
            ExpresswaySource(
                address=exp.address,
                port=exp.api_port,
                credentials=exp.credentials,
                declared_peers=tuple(exp.peers),
            )
        )
        exp_e = sources.model.expressway_e
        if exp_e is not None:
            stage1.append(
                ExpresswaySource(
                    address=exp_e.address,
                    port=exp_e.api_port,
                    credentials=exp_e.credentials,
                    declared_peers=tuple(exp_e.peers),
                    side="e",
                )
            )
        for entry in sources.model.uc:
            if entry.product != "cucm":
                continue
            if entry.axl:
                stage1.append(
                    AxlSource(
                        cluster=entry.cluster,
                        publisher=entry.publisher,
                        port=entry.api_port,
                        credentials=entry.axl,
                        version=entry.axl_version,
                    )
                )
            stage1.append(_uds(entry.cluster, entry.publisher, entry.api_port))
        total = [len(stage1)]
        finished = [0]

        def done(source: Source) -> None:
            finished[0] += 1
            if progress is not None:
                progress(f"{source.system} ({source.interface.value})", finished[0], total[0])

        for found in run_all(stage1, ctx, workers=workers, done=done):
            facts += found
        stage2: list[Source] = []
        targets = []
        entries = discovered_uc(sources, facts)
        for entry in entries:
            nodes = cluster_nodes(entry, facts)
            version = _setting(facts, f"uc.{entry.cluster}.version")
            old = entry.product == "cucm" and (major(str(version)) or 99) < 14
            mixed = _setting(facts, f"uc.{entry.cluster}.security_mode")
            for name, _ in nodes:
                if entry.platform and not old:
                    stage2.append(
                        CertMgrSource(
                            cluster=entry.cluster,
                            node=name,
                            port=entry.api_port,
                            credentials=entry.platform,
                        )
                    )
                targets.append(
                    NodeTarget(
                        cluster=entry.cluster,
                        product=entry.product,
                        node=name,
                        mixed=None if mixed is None else mixed == "mixed",
                    )
                )
        e_peers: tuple[str, ...] = ()
        if exp_e is not None:
            listed = _setting(facts, f"{EXPRESSWAY_E}.peers")
            e_peers = (
                tuple(listed)
                if isinstance(listed, tuple)
                else (tuple(exp_e.peers) or (exp_e.address,))
            )
        targets.extend(
            NodeTarget(cluster=EXPRESSWAY_E, product=EXPE, node=peer, mixed=None)
            for peer in e_peers
        )
        exp_version = _setting(facts, "expressway.version")
        stage2.append(
            TlsSource(
                targets=tuple(targets),
                version=str(exp_version) if exp_version else None,
                timeout=min(timeout, 5.0),
            )
        )
        peers = _setting(facts, "expressway.peers")
        stage2.append(
            FilesSource(
                peers=tuple(peers)
                if isinstance(peers, tuple)
                else (tuple(exp.peers) or (exp.address,)),
                e_peers=e_peers,
            )
        )
        total[0] += len(stage2)
        for found in run_all(stage2, ctx, workers=workers, done=done):
            facts += found
    finally:
        api.close()
    seconds = time.monotonic() - started
    if not facts.reached and not facts.stores and not facts.identities:
        return CollectResult(
            inventory=None,
            facts=facts,
            seconds=seconds,
            warnings=tuple(warnings),
            error="nothing could be collected: no system answered",
        )
    try:
        merged = merge(sources, facts)
    except CannotWrite as exc:
        return CollectResult(
            inventory=None, facts=facts, seconds=seconds, warnings=tuple(warnings), error=str(exc)
        )
    at = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    inventory = write(out, merged, at=at, tool=f"mratrust {__version__}")
    return CollectResult(
        inventory=inventory,
        facts=facts,
        unknown=tuple(merged.unknown),
        drift=tuple(merged.drift),
        seconds=time.monotonic() - started,
        warnings=tuple(warnings),
    )


def _uds(cluster: str, publisher: str, port: int) -> Source:
    from mratrust.collect.uds import UdsSource

    return UdsSource(cluster=cluster, publisher=publisher, port=port)


__all__ = ["EXIT_NOTHING", "EXIT_OK", "EXIT_UNKNOWN", "CollectResult", "collect"]
