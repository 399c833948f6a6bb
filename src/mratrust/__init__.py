"""mratrust: the certificate trust matrix of Cisco Expressway MRA, audited and fixed."""

from __future__ import annotations

__version__ = "1.0.0"

__all__ = ["__version__"]
