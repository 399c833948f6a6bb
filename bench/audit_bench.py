"""The offline audit as a user runs it, against the cryptographic floor, in fresh processes.

    python bench/audit_bench.py [--sizes 1000] [--repeat 5] [--stages] [--in-process]
    python bench/audit_bench.py --baseline OLD/.venv/bin/mratrust    # before/after, same rounds
    python bench/audit_bench.py --sizes 100,1000,10000 --repeat 3     # the growth curve

Generates (once, cached under bench/out/, which git ignores) an inventory of N nodes in CUCM
clusters of --nodes nodes each: per cluster one CA-signed multi-server tomcat (its SAN lists every
node; each node's file holds it), per node its own CA-signed CallManager and a self-signed
tomcat-ECDSA, every cluster in mixed mode, plus IM and Presence, Unity Connection and one
Expressway-C, all issued under a few intermediates.

Then, interleaved in one run, --repeat times each, every one a fresh process whose wall time and
peak memory (``os.wait4``'s ``ru_maxrss``) are measured:

- the floor (``bench/floor.py``): python parsing every file and path-validating every node
  identity chain (tomcat, CallManager) with cryptography's verifier;
- ``mratrust audit --format text -o FILE`` and ``mratrust audit --format json -o FILE``;
- ``mratrust --version`` and ``mratrust --help`` (start-up).

mratrust's bytecode is compiled first, as installing it does, and every command runs once unmeasured
(files in the page cache for all alike). It prints best and median wall time, best CPU time
(steadier on a busy machine), peak memory, the ratios to the floor (goal: <= 1.5 in time, <= 2 in
peak memory; also each round's own ratio, best and median, which a machine whose speed drifts
between rounds disturbs less) and the reports' sizes. --stages adds one fresh process that times
each stage (imports, inventory load, rules, text and JSON rendering); --in-process adds the older
in-process measurement (load_inventory + audit against the floor, best of --repeat, caches cleared),
labelled as such; --baseline times another build of mratrust (an older commit installed in its own
venv) in the same interleaved rounds, for a before/after table. The exit code is 0 when every goal
holds at every size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench_args import positive_count  # beside this script (its folder leads sys.path)

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "audit"
NOW_TEXT = "2026-11-29T12:00:00Z"
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
TIME_GOAL, MEMORY_GOAL, STARTUP_GOAL = 1.5, 2.0, 0.3
FORMATS = ("text", "json")


def generate(clusters: int, nodes: int, out: Path = OUT) -> Path:
    """Write the inventory and its certificates once; return the inventory path."""
    import yaml

    from mratrust.lab import pkigen as pg

    out = out / f"ms-{clusters}x{nodes}"
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

    def write(name: str, cert: object) -> str:
        return str(pg.write_certs(certs / name, [cert]).relative_to(out))  # type: ignore[list-item]

    uc: list[dict[str, object]] = []
    for c in range(clusters):
        inter = inters[c % len(inters)]
        names = [f"cucm{c:04d}-{n:02d}.example.com" for n in range(nodes)]
        tomcat = pg.make_multi_server(
            names, now=NOW, issuer=inter, key_slot=f"ms:{c % 8}", pool=pool
        )
        node_docs = []
        for n, name in enumerate(names):
            cm = pg.make_leaf(
                name, now=NOW, issuer=inter, san=(name,), key_slot=f"cm:{c % 8}", pool=pool
            )
            ec = pg.make_cucm_self_signed(
                name, now=NOW, key_type=pg.KeyType.EC, key_slot=f"ec:{c % 8}", pool=pool
            )
            node_docs.append(
                {
                    "name": name,
                    "role": "publisher" if n == 0 else "subscriber",
                    "certificates": {
                        "tomcat": write(f"{name}-tomcat.pem", tomcat.cert),
                        "CallManager": write(f"{name}-CallManager.pem", cm.cert),
                        "tomcat-ECDSA": write(f"{name}-tomcat-ec.pem", ec.cert),
                    },
                }
            )
        uc.append(
            {
                "name": f"cucm-{c:04d}",
                "product": "cucm",
                "version": "15.0.1.12900-234",
                "publisher": names[0],
                "security_mode": "mixed",
                "trust": {
                    "tomcat-trust": str(trust.relative_to(out)),
                    "CallManager-trust": str(trust.relative_to(out)),
                },
                "nodes": node_docs,
            }
        )
    for host, product, idents, stores, inter in (
        ("imp1", "imp", ("tomcat", "cup-xmpp"), ("tomcat-trust", "cup-xmpp-trust"), inters[1]),
        ("cuc1", "cuc", ("tomcat",), ("tomcat-trust",), inters[2]),
    ):
        fqdn = f"{host}.example.com"
        leaf = pg.make_leaf(fqdn, now=NOW, issuer=inter, san=(fqdn,), pool=pool)
        ref = write(f"{host}.pem", leaf.cert)
        cluster: dict[str, object] = {
            "name": f"{product}-main",
            "product": product,
            "publisher": fqdn,
            "trust": dict.fromkeys(stores, "certs/trust.pem"),
            "nodes": [
                {"name": fqdn, "role": "publisher", "certificates": dict.fromkeys(idents, ref)}
            ],
        }
        if product == "cuc":
            cluster["voicemail_host"] = fqdn
        uc.append(cluster)
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
    tmp = inventory.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    tmp.replace(inventory)  # written last: a cached inventory is always complete
    return inventory


# --------------------------------------------------------------------------- fresh processes


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_kb: int


def run(cmd: Sequence[str], *, ok: tuple[int, ...] = (0,)) -> Run:
    """Run ``cmd`` as a fresh process: its wall time and peak resident memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {err.strip()}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def mratrust_cmd() -> list[str]:
    """The installed console script beside this interpreter (what a user runs), else -m."""
    script = Path(sys.executable).parent / "mratrust"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mratrust"]


@dataclass(frozen=True)
class Stats:
    runs: tuple[Run, ...]

    @property
    def best(self) -> float:
        return min(r.wall for r in self.runs)

    @property
    def median(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        """Best CPU time (user + system): steadier than wall time on a busy machine."""
        return min(r.cpu for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(r.peak_kb for r in self.runs) / 1024


def compile_bytecode() -> None:
    """Compile mratrust's modules, as installing a wheel does: otherwise a process started with
    PYTHONDONTWRITEBYTECODE set would compile every module on every run, and the floor's
    libraries (installed, so compiled) would not."""
    import compileall

    import mratrust

    compileall.compile_dir(Path(mratrust.__file__).parent, quiet=1)


def audit_cmd(mratrust: Sequence[str], inventory: Path, fmt: str, report: Path) -> list[str]:
    return [
        *mratrust,
        "audit",
        str(inventory),
        "--format",
        fmt,
        "--now",
        NOW_TEXT,
        "-o",
        str(report),
    ]


def measure(inventory: Path, repeat: int, baseline: str | None = None) -> dict[str, object]:
    out = inventory.parent / "reports"
    out.mkdir(exist_ok=True)
    cmds = {
        "floor": [sys.executable, str(HERE / "floor.py"), str(inventory), NOW_TEXT],
        **{
            fmt: audit_cmd(mratrust_cmd(), inventory, fmt, out / f"report.{fmt}") for fmt in FORMATS
        },
    }
    if baseline:  # another build of mratrust (an older commit's venv), run in the same rounds
        python = Path(baseline).parent / "python"  # its venv's interpreter: compile it alike
        if python.exists():
            compile_with = "import compileall, mratrust, pathlib; compileall.compile_dir("
            compile_with += "pathlib.Path(mratrust.__file__).parent, quiet=1)"
            subprocess.run([str(python), "-c", compile_with], check=True)
        for fmt in FORMATS:
            cmds[f"baseline {fmt}"] = audit_cmd([baseline], inventory, fmt, out / f"base.{fmt}")
    runs: dict[str, list[Run]] = {k: [] for k in cmds}
    for name, cmd in cmds.items():  # once unmeasured: files in the page cache for every one
        run(cmd, ok=(0, 1) if name != "floor" else (0,))
    for _ in range(repeat):  # interleaved: the load of the machine hits every one alike
        for name, cmd in cmds.items():
            runs[name].append(run(cmd, ok=(0, 1) if name != "floor" else (0,)))
    stats = {k: Stats(tuple(v)) for k, v in runs.items()}
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {
        "stats": stats,
        "json_bytes": (out / "report.json").stat().st_size,
        "text_bytes": (out / "report.text").stat().st_size,
        "findings": len(doc["findings"]),
    }


def startup(repeat: int) -> dict[str, Stats]:
    cmds = {"--version": [*mratrust_cmd(), "--version"], "--help": [*mratrust_cmd(), "--help"]}
    return {k: Stats(tuple(run(c) for _ in range(repeat))) for k, c in cmds.items()}


STAGES = """
import gc, sys, time, json, datetime as dt
gc.disable()  # as the command line does for an offline audit
t0 = time.perf_counter()
from mratrust.cli import main
from mratrust.inventory import load_inventory
from mratrust.audit import audit
t1 = time.perf_counter()
from mratrust.report import json as rj, text as rt
t2 = time.perf_counter()
deployment = load_inventory(sys.argv[1])
t3 = time.perf_counter()
report = audit(deployment, now=dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC))
t4 = time.perf_counter()
rt.render(report)
t5 = time.perf_counter()
rj.render(report)
t6 = time.perf_counter()
print(json.dumps({"imports (cli, inventory, audit)": t1 - t0, "imports (text, json)": t2 - t1,
    "inventory load": t3 - t2, "rules": t4 - t3, "render text": t5 - t4, "render json": t6 - t5}))
"""


def stages(inventory: Path) -> dict[str, float]:
    """One fresh process timing each stage (not a profile: no tracing overhead)."""
    out = subprocess.run(
        [sys.executable, "-c", STAGES, str(inventory)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def in_process(inventory: Path, repeat: int) -> tuple[float, float, int]:
    """The older measurement, in this process: best floor and best load_inventory + audit."""
    sys.path.insert(0, str(HERE))
    from floor import floor

    from mratrust.audit import audit
    from mratrust.inventory import load_inventory
    from mratrust.pki.facts import clear_cache as clear_facts
    from mratrust.pki.verify import clear_caches as clear_verdicts
    from mratrust.versions import behaviour

    best_floor = best_audit = float("inf")
    findings = 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        floor(inventory, NOW)
        best_floor = min(best_floor, time.perf_counter() - start)
        clear_facts()
        clear_verdicts()
        behaviour.cache_clear()
        gc.collect()
        start = time.perf_counter()
        findings = len(audit(load_inventory(inventory), now=NOW).findings)
        best_audit = min(best_audit, time.perf_counter() - start)
    return best_floor, best_audit, findings


# --------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000", help="total UC nodes, comma-separated (default 1000)"
    )
    parser.add_argument("--nodes", type=positive_count, default=10, help="nodes per CUCM cluster")
    parser.add_argument("--repeat", type=positive_count, default=5)
    parser.add_argument("--stages", action="store_true", help="time each stage once")
    parser.add_argument("--in-process", action="store_true", help="the older in-process numbers")
    parser.add_argument(
        "--baseline",
        metavar="MRATRUST",
        help="another mratrust executable (say an older commit's venv/bin/mratrust), timed in the "
        "same interleaved rounds for a before/after table",
    )
    args = parser.parse_args(argv)
    try:
        sizes = [positive_count(s.strip()) for s in args.sizes.split(",")]
    except argparse.ArgumentTypeError as exc:
        parser.error(f"argument --sizes: {exc}")
    OUT.mkdir(parents=True, exist_ok=True)
    compile_bytecode()
    met = True
    curve: list[tuple[int, float, float, float, float]] = []
    for size in sizes:
        clusters = max(1, size // args.nodes)
        t0 = time.perf_counter()
        inventory = generate(clusters, args.nodes)
        print(
            f"\n== {clusters} clusters x {args.nodes} nodes: {inventory.relative_to(HERE)} "
            f"(ready in {time.perf_counter() - t0:.1f} s)"
        )
        m = measure(inventory, args.repeat, args.baseline)
        st: dict[str, Stats] = m["stats"]  # type: ignore[assignment]
        floor = st["floor"]
        print(
            f"fresh processes, {args.repeat} runs each: wall best / median, CPU best, peak memory"
        )
        print(
            f"  {'floor (parse + verify chains)':30} {floor.best:6.3f} / {floor.median:6.3f} s"
            f"  CPU {floor.cpu:6.3f} s  {floor.peak_mb:6.1f} MB"
        )
        for fmt in ("text", "json"):
            s = st[fmt]
            tr, tm, mr = s.best / floor.best, s.median / floor.median, s.peak_mb / floor.peak_mb
            size_note = (
                f"report {m['json_bytes'] / 1e6:.2f} MB"
                if fmt == "json"
                else f"report {m['text_bytes'] / 1e3:.0f} kB"
            )
            # each round's own ratio (the floor and the audit met the machine in one state)
            paired = [r.wall / f.wall for r, f in zip(s.runs, floor.runs, strict=True)]
            print(
                f"  {'mratrust audit --format ' + fmt:30} {s.best:6.3f} / {s.median:6.3f} s"
                f"  CPU {s.cpu:6.3f} s  {s.peak_mb:6.1f} MB  | ratio wall {tr:.2f} / {tm:.2f},"
                f" CPU {s.cpu / floor.cpu:.2f}, memory {mr:.2f}, {size_note}"
            )
            print(
                f"  {'':30} per round: {min(paired):.2f} in the best round, "
                f"{statistics.median(paired):.2f} in the median one"
            )
            met = met and tr <= TIME_GOAL and mr <= MEMORY_GOAL
        if args.baseline:
            for fmt in FORMATS:
                b, s = st[f"baseline {fmt}"], st[fmt]
                print(
                    f"  {'baseline audit --format ' + fmt:30} {b.best:6.3f} / {b.median:6.3f} s"
                    f"  CPU {b.cpu:6.3f} s  {b.peak_mb:6.1f} MB  | ratio to the floor: wall "
                    f"{b.best / floor.best:.2f}, CPU {b.cpu / floor.cpu:.2f}, memory "
                    f"{b.peak_mb / floor.peak_mb:.2f}; this build is {b.cpu / s.cpu:.2f}x faster "
                    f"(CPU), {b.peak_mb / s.peak_mb:.2f}x smaller"
                )
        print(
            f"  ({m['findings']} findings; goals: time <= {TIME_GOAL}x, memory <= "
            f"{MEMORY_GOAL}x the floor)"
        )
        curve.append((size, floor.best, st["text"].best, st["json"].best, st["json"].peak_mb))
        if args.stages:
            print(
                "  stages (one fresh process): "
                + ", ".join(f"{k} {v:.3f} s" for k, v in stages(inventory).items())
            )
        if args.in_process:
            fb, ab, n = in_process(inventory, args.repeat)
            print(
                f"  in-process (warm interpreter, best of {args.repeat}): floor {fb:.3f} s, "
                f"load_inventory + audit {ab:.3f} s ({n} findings), ratio {ab / fb:.2f}"
            )
    if len(curve) > 1:
        print("\ngrowth (best wall; per node):")
        for size, fl, tx, js, peak in curve:
            print(
                f"  {size:6d} nodes: floor {fl:7.3f} s, text {tx:7.3f} s "
                f"({tx / size * 1e3:.2f} ms/node), json {js:7.3f} s "
                f"({js / size * 1e3:.2f} ms/node), json peak {peak:.0f} MB"
            )
    print("\nstart-up (fresh processes):")
    for name, s in startup(args.repeat).items():
        print(f"  mratrust {name:10} {s.best:6.3f} / {s.median:6.3f} s (goal <= {STARTUP_GOAL})")
        met = met and s.best <= STARTUP_GOAL
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
