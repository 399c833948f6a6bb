"""``mratrust collect``: the inventory from the live systems, nothing exported by hand.

One module per management interface behind :class:`~mratrust.collect.base.Source`:
:mod:`certmgr` (CUCM/IM&P/Unity Connection 14+ certificate management REST), :mod:`axl` (AXL
``executeSQLQuery``), :mod:`uds`, :mod:`expressway` (Expressway REST), :mod:`tls` (handshakes
through :mod:`mratrust.probe`), :mod:`files` (exports). :mod:`sources` reads the sources file and
resolves credentials, :mod:`merge` builds the inventory with provenance, :mod:`write` writes it.
HTTP goes through httpx, XML through defusedxml. :func:`collect` runs it all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mratrust.collect.run import CollectResult, collect


def __getattr__(name: str) -> Any:
    """``collect`` and ``CollectResult`` are imported on first use: registering the command
    (``mratrust --help``, every other command) loads neither httpx nor the inventory schema."""
    if name not in ("CollectResult", "collect"):
        raise AttributeError(f"module 'mratrust.collect' has no attribute {name!r}")
    value = getattr(importlib.import_module("mratrust.collect.run"), name)
    globals()[name] = value
    return value


__all__ = ["CollectResult", "collect"]
