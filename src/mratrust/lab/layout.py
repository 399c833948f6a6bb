"""The files a lab keeps in its folder (shared by the lab process and by ``lab up``/``down``)."""

from __future__ import annotations

LAB_JSON = "lab.json"
LAB_LOG = "lab.log"
LAB_SCHEMA = "mratrust.lab/1"
PRIVATE_DIR = ".lab"

__all__ = ["LAB_JSON", "LAB_LOG", "LAB_SCHEMA", "PRIVATE_DIR"]
