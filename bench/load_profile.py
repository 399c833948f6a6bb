"""Where the start of an audit goes: the imports and the inventory load, in one fresh process.

    python bench/load_profile.py [INVENTORY] [--sort tottime] [--top 30]

Without INVENTORY it uses the benchmark's (100 clusters x 10 nodes, generated once by
``bench/audit_bench.py`` under bench/out/). It prints the CPU and wall time and the peak memory
after the imports the audit needs and after ``load_inventory`` (the garbage collector off, as the
command line runs), then loads the inventory again under cProfile, every cache cleared, and prints
the top functions. For the imports alone, ``python -X importtime -m mratrust audit ...`` says more.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("inventory", nargs="?", type=Path)
    parser.add_argument("--sort", default="cumulative", help="a pstats sort key (tottime, ...)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    inventory: Path = args.inventory
    if inventory is None:
        sys.path.insert(0, str(HERE))
        from audit_bench import generate

        inventory = generate(100, 10)

    gc.disable()  # as the command line does for an offline audit
    cpu, wall = time.process_time(), time.perf_counter()
    import mratrust.audit
    import mratrust.cli
    from mratrust.inventory import load_inventory
    from mratrust.pki.facts import clear_cache

    del mratrust
    cpu_imports, wall_imports = time.process_time() - cpu, time.perf_counter() - wall
    peak_imports = _peak_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    deployment = load_inventory(inventory)
    cpu_load, wall_load = time.process_time() - cpu, time.perf_counter() - wall
    nodes = sum(len(c.nodes) for c in deployment.uc_clusters)
    print(f"{inventory}: {nodes} nodes")
    print(f"  imports (cli, inventory, audit)  CPU {cpu_imports:.3f} s  wall {wall_imports:.3f} s")
    print(f"    peak memory {peak_imports:.1f} MB")
    print(f"  inventory load                   CPU {cpu_load:.3f} s  wall {wall_load:.3f} s")
    print(f"    peak memory {_peak_mb():.1f} MB")

    del deployment
    clear_cache()
    profile = cProfile.Profile()
    profile.enable()
    load_inventory(inventory)
    profile.disable()
    print(f"\ninventory load under cProfile (slower than above), by {args.sort}:")
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
