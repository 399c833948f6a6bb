"""What every command line of mratrust shares: exit codes, option parsers, output.

The main CLI (:mod:`mratrust.cli`) and the sub-commands packages register (``probe``, ``lab``)
import from here, so none of them imports another's command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3
EXIT_INTERRUPTED = 130


def parse_now(text: str) -> dt.datetime:
    """``--now``: an ISO 8601 time, in UTC (naive times are taken as UTC)."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-29T00:00:00Z)"
        ) from None
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


MAX_SECONDS = 86400.0


def parse_seconds(text: str) -> float:
    """A duration option: a finite number of seconds, more than 0 and at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_SECONDS:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"{text!r} must be more than 0 and at most {MAX_SECONDS:g} seconds"
        )
    return value


def color_wanted(args: argparse.Namespace) -> bool:
    """Colour on stdout: no --output, a terminal, and neither NO_COLOR nor TERM=dumb."""
    return (
        getattr(args, "output", None) is None
        and "NO_COLOR" not in os.environ
        and sys.stdout.isatty()
        and os.environ.get("TERM") != "dumb"
    )


def emit(args: argparse.Namespace, text: str | bytes) -> None:
    """Write to --output (saying so on stderr) or to stdout; ``bytes`` are UTF-8 already."""
    if args.output:
        path = Path(args.output)
        try:
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
        except OSError as exc:
            from mratrust.errors import InputError

            raise InputError(f"cannot write ({exc.strerror})", file=path) from exc
        print(f"mratrust: wrote {path}", file=sys.stderr)
    elif isinstance(text, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
