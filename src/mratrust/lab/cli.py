"""``mratrust lab up|down|list``: registered into the main parser by ``add_parser``.

Exit codes: 0 ok (also ``lab down`` on a lab that is already stopped), 2 for a
:class:`LabError` (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mratrust.errors import LabError

if TYPE_CHECKING:  # loaded when a lab command runs: ``mratrust --help`` and audits start fast
    from mratrust.lab.process import LabInfo
    from mratrust.lab.scenarios import ScenarioInfo

EXIT_OK = 0
EXIT_LAB = 2


def _ttl(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the TTL must be positive")
    return value


def add_parser(subparsers: Any) -> None:
    """Register ``lab`` and its sub-commands on an ``add_subparsers()`` object."""
    lab = subparsers.add_parser(
        "lab",
        help="simulated UC nodes on loopback (start, stop, list scenarios)",
        description="Start a simulated MRA deployment on 127.0.0.1, stop it, list scenarios.",
    )
    lab.set_defaults(func=run)
    sub = lab.add_subparsers(dest="lab_command", metavar="SUBCOMMAND")
    up = sub.add_parser("up", help="generate a scenario and start its nodes")
    up.add_argument("scenario", metavar="SCENARIO", help="scenario id (see `mratrust lab list`)")
    up.add_argument("--dir", required=True, type=Path, metavar="DIR", help="folder for the lab")
    up.add_argument(
        "--ttl",
        type=_ttl,
        default=3600.0,
        metavar="SECONDS",
        help="stop by itself after this long (default 3600)",
    )
    up.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    down = sub.add_parser("down", help="stop the lab in DIR")
    down.add_argument("directory", type=Path, metavar="DIR")
    lst = sub.add_parser("list", help="the scenario catalogue")
    lst.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _info_json(info: ScenarioInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "summary": info.summary,
        "version": info.version,
        "upgraded_from": info.upgraded_from,
        "versions": list(info.versions),
        "upgrade_to": info.upgrade_to,
        "expected": list(info.expected),
    }


def render_list(fmt: str) -> str:
    """The scenario catalogue as a text table or JSON."""
    from mratrust.lab.scenarios import list_scenarios

    infos = list_scenarios()
    if fmt == "json":
        import json  # not at start-up: building the parser imports this module

        return json.dumps([_info_json(i) for i in infos], indent=2)
    rows = [("ID", "VERSIONS", "TITLE")]
    for i in infos:
        versions = " -> ".join(i.versions) if i.upgrade_to else ", ".join(i.versions)
        rows.append((i.id, versions, i.title))
    widths = [max(len(r[c]) for r in rows) for c in range(2)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}" for r in rows)


def _lab_json(info: LabInfo, state: str) -> dict[str, Any]:
    return {
        "state": state,
        "scenario": info.scenario,
        "directory": str(info.directory),
        "pid": info.pid,
        "inventory": str(info.inventory),
        "log": str(info.log),
        "expires_at": info.expires_at.isoformat(),
        "ports": {n: {str(r): p for r, p in ports.items()} for n, ports in info.ports.items()},
    }


def _trust_file(info: LabInfo) -> Path | None:
    """Expressway-C's trusted CA list as the lab wrote it (first peer), if readable."""
    import yaml

    try:
        doc = yaml.safe_load(info.inventory.read_text(encoding="utf-8"))
        rel = doc["expressway"]["peers"][0]["trusted_cas"]
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return None
    return info.inventory.parent / str(rel) if isinstance(rel, str) else None


def hints(info: LabInfo) -> dict[str, str]:
    """The commands that show what the scenario is about, runnable as printed.

    The audit judges the version where the scenario's failure shows (its upgrade target, else the
    last version it lists), which is not always the inventory's running version (F01 runs X12.7
    and breaks on X14.0.2). The probe example uses the publisher's 8443 on the lab's port and the
    lab's own trusted CA list; ``--port-map`` keeps the leg's port, which decides the offer.
    """
    from mratrust.lab.scenarios import get_scenario

    scenario = get_scenario(info.scenario)
    exp = scenario.spec().expressway
    target = scenario.upgrade_to or scenario.versions[-1]
    version = f" --version {target}" if target != exp.version else ""
    out = {"audit": f"mratrust audit {info.inventory} --probe{version}"}
    if scenario.upgrade_to and scenario.upgrade_to != exp.version:
        out["upgrade_check"] = f"mratrust upgrade-check {info.inventory} --to {scenario.upgrade_to}"
    from mratrust.topology import CUCM_HTTPS_PORT

    trust = _trust_file(info)
    https = next(
        ((n, p[CUCM_HTTPS_PORT]) for n, p in info.ports.items() if CUCM_HTTPS_PORT in p), None
    )
    if trust is not None and https is not None:
        node, port = https
        # judging the target version means "after upgrading to it" from the running version
        origin = exp.version if version else exp.upgraded_from
        frm = f" --upgraded-from {origin}" if origin else ""
        out["probe"] = (
            f"mratrust probe '{node}:{CUCM_HTTPS_PORT}{{{info.host}}}' "
            f"--port-map {CUCM_HTTPS_PORT}={port} --as-version {target}{frm} --trust {trust}"
        )
    return out


_HINT_WORDS = {"audit": "audit it: ", "upgrade_check": "upgrade:  ", "probe": "probe it: "}


def render_up(info: LabInfo, fmt: str) -> str:
    """What ``lab up`` prints."""
    if fmt == "json":
        import json

        return json.dumps({**_lab_json(info, "running"), "commands": hints(info)}, indent=2)
    lines = [
        f"lab {info.scenario} running in {info.directory} (pid {info.pid}, "
        f"stops by itself at {info.expires_at.isoformat(timespec='seconds')})",
        f"inventory: {info.inventory}",
        f"log:       {info.log}",
    ]
    width = max(len(n) for n in info.ports) if info.ports else 0
    for node, ports in info.ports.items():
        listed = ", ".join(f"{role}->{info.host}:{port}" for role, port in ports.items())
        lines.append(f"  {node:<{width}}  {listed}")
    lines += [_HINT_WORDS[k] + command for k, command in hints(info).items()]
    lines.append(f"stop it:  mratrust lab down {info.directory}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``lab up|down|list``; 0 on success, 2 on a LabError (message on stderr)."""
    from mratrust.lab.process import lab_down, lab_up

    command = getattr(args, "lab_command", None)
    try:
        if command == "list":
            print(render_list(args.format))
        elif command == "up":
            info = lab_up(args.scenario, args.dir, ttl_seconds=args.ttl)
            print(render_up(info, args.format))
        elif command == "down":
            stopped = lab_down(args.directory)
            if stopped is None:
                print(f"no lab running in {args.directory}: it was already stopped")
            else:
                print(f"lab {stopped.scenario} in {stopped.directory} stopped; its ports are free")
        else:
            print(
                "mratrust lab: choose up, down or list (see mratrust lab --help)", file=sys.stderr
            )
            return EXIT_LAB
    except LabError as exc:
        print(f"mratrust lab: error: {exc}", file=sys.stderr)
        return EXIT_LAB
    return EXIT_OK
