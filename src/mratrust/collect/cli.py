"""``mratrust collect SOURCES --out DIR``: registered into the main parser by ``add_parser``.

Exit codes (SPEC §7): 0 everything was collected, 3 something is unknown (listed, and the audit
reports it as error), 2 nothing could be collected or bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mratrust.errors import InputError
from mratrust.textsafe import escape_control


def add_parser(subparsers: Any) -> None:
    """Register ``collect`` on an ``add_subparsers()`` object."""
    from mratrust.cli_support import parse_now, parse_seconds

    p = subparsers.add_parser(
        "collect",
        help="build the inventory from the live systems (REST, AXL, UDS, handshakes)",
        description="Read Expressway-C, CUCM, IM&P and Unity Connection through their "
        "management interfaces and TLS handshakes, and write DIR/inventory.yaml with its "
        "certificate files; then run `mratrust audit DIR/inventory.yaml`.",
    )
    p.set_defaults(func=run)
    p.add_argument("sources", metavar="SOURCES", help="sources YAML (see 'Collect' in the README)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write")
    p.add_argument(
        "--credentials", metavar="FILE", help="credentials YAML {name: {user, password}}, mode 0600"
    )
    p.add_argument(
        "--insecure-api",
        action="store_true",
        help="do not check the management interfaces' TLS certificates (warns)",
    )
    p.add_argument(
        "--deadline",
        type=parse_seconds,
        default=120.0,
        metavar="SECONDS",
        help="time limit of the whole run (default 120)",
    )
    p.add_argument(
        "--timeout",
        type=parse_seconds,
        default=10.0,
        metavar="SECONDS",
        help="time limit of each request (default 10)",
    )
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="format of the summary"
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write the summary to FILE")
    p.add_argument(
        "--now",
        type=parse_now,
        metavar="ISO8601",
        help="the time written as collected.at (default: now)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")


@contextlib.contextmanager
def _progress() -> Iterator[Any]:
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("collect"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=1)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=escape_control(what))

        yield update


def run(args: argparse.Namespace) -> int:
    from mratrust.collect.run import collect
    from mratrust.collect.sources import tty_prompt

    with _progress() as update:
        result = collect(
            args.sources,
            args.out,
            credentials_file=args.credentials,
            insecure_api=args.insecure_api,
            deadline=args.deadline,
            timeout=args.timeout,
            now=args.now,
            prompt=tty_prompt,
            progress=update,
        )
    for warning in result.warnings:
        print(f"mratrust collect: warning: {warning}", file=sys.stderr)
    if args.format == "json":
        import json  # not at start-up: building the parser imports this module

        shown = json.dumps(summary(result), indent=2)
    else:
        shown = render_text(result)
    if args.output:
        try:
            Path(args.output).write_text(shown + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"cannot write the summary ({exc.strerror})", file=args.output
            ) from None
    else:
        print(shown)
    if result.inventory is None:
        print(f"mratrust collect: error: {escape_control(result.error or '')}", file=sys.stderr)
    return result.exit_code


def summary(result: Any) -> dict[str, Any]:
    """The JSON summary of a run (no secret is ever part of a result)."""
    facts = result.facts
    return {
        "inventory": str(result.inventory) if result.inventory else None,
        "exit_code": result.exit_code,
        "error": result.error,
        "seconds": round(result.seconds, 2),
        "reached": sorted(set(facts.reached)),
        "failures": [
            {"system": f.system, "interface": f.interface.value, "message": f.message}
            for f in facts.failures
        ],
        "unknown": list(result.unknown),
        "drift": list(result.drift),
        "notes": sorted(set(facts.notes)),
        "warnings": list(result.warnings),
    }


def render_text(result: Any) -> str:
    """The summary for people: what was read, what failed and what to do, what is unknown."""
    facts = result.facts
    e = escape_control
    lines = []
    if result.inventory is not None:
        lines.append(f"collected {e(str(result.inventory))} in {result.seconds:.1f} s")
    else:
        lines.append(f"nothing written ({result.seconds:.1f} s)")
    reached = sorted(set(facts.reached))
    lines.append(f"  read ({len(reached)}): {', '.join(e(r) for r in reached) or 'nothing'}")
    if facts.failures:
        lines.append(f"  failed ({len(facts.failures)}):")
        lines.extend(f"    {e(f.line())}" for f in facts.failures)
    if result.unknown:
        lines.append(
            f"  unknown ({len(result.unknown)}), left out of the inventory (a check that "
            "needs one reports error and says what to export):"
        )
        lines.extend(f"    {e(u)}" for u in result.unknown)
    for d in result.drift:
        lines.append(
            f"  drift: {e(d['field'])}: {e(d['system'])} presents {d['wire'][:19]}… but its "
            f"certificate management holds {d['management'][:19]}… (service not restarted?); "
            "`audit --probe` reports it as PROBE-DRIFT"
        )
    for note in sorted(set(facts.notes)):
        lines.append(f"  note: {e(note)}")
    if result.inventory is not None:
        lines.append(f"next: mratrust audit {e(str(result.inventory))}")
    return "\n".join(lines)


__all__ = ["add_parser", "render_text", "run", "summary"]
