"""``mratrust collect``: the inventory from the live systems, nothing exported by hand.

One module per management interface behind :class:`~mratrust.collect.base.Source`:
:mod:`certmgr` (CUCM/IM&P/Unity Connection 14+ certificate management REST), :mod:`axl` (AXL
``executeSQLQuery``), :mod:`uds`, :mod:`expressway` (Expressway REST), :mod:`tls` (handshakes
through :mod:`mratrust.probe`), :mod:`files` (exports). :mod:`sources` reads the sources file and
resolves credentials, :mod:`merge` builds the inventory with provenance, :mod:`write` writes it.
HTTP goes through httpx, XML through defusedxml. :func:`collect` runs it all.
"""

from __future__ import annotations

from mratrust.collect.run import CollectResult, collect

__all__ = ["CollectResult", "collect"]
