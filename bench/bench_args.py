"""What the benchmark scripts share on their command lines."""

from __future__ import annotations

import argparse


def positive_count(text: str) -> int:
    """A whole number of at least 1 (an argument type: anything else is a usage error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value
