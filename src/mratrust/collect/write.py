"""Write ``DIR/inventory.yaml`` and ``DIR/certs/…`` deterministically, then load it back.

Same facts, same bytes: keys in a fixed order, lists sorted where order carries no meaning,
certificates in the order the system gave them, stable file names
(``certs/<cluster>/<node>/<identity>.pem``). ``collected.at`` is the collection time; when a
rerun finds nothing changed, the earlier time is kept, so the files stay byte-identical.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mratrust.collect.merge import Merged
from mratrust.errors import InputError
from mratrust.inventory import load_inventory
from mratrust.inventory_schema import InventoryIn
from mratrust.pki.write import certs_pem

INVENTORY = "inventory.yaml"
HEADER = (
    "# written by `mratrust collect`: every value's source is under `collected`;\n"
    "# what no source could give is listed in collected.unknown (the audit reports it as error)\n"
)


def _atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def check_out_dir(out: Path) -> None:
    """Refuse a non-empty folder that does not hold an earlier collect."""
    if out.exists() and not out.is_dir():
        raise InputError("is not a folder", file=str(out), hint="give a folder for --out")
    if not out.is_dir() or not any(out.iterdir()):
        return
    inv = out / INVENTORY
    try:
        earlier = inv.is_file() and "\ncollected:\n" in inv.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        earlier = False
    if not earlier:
        raise InputError(
            "the folder is not empty and holds no earlier collect",
            file=str(out),
            hint="give a new or empty folder for --out (collect never overwrites a hand-written "
            "inventory)",
        )


def _dump(doc: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(
        doc, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
    )


def _bug(what: str, *, file: str | Path | None = None) -> InputError:
    return InputError(
        f"{what}; this is a bug of collect: please report it with the sources file "
        "(no credentials)",
        file=file,
    )


def _through_schema(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` built into the inventory's schema models and dumped back (schema field order, the
    fields given): collect writes what the lab writes and the loader reads.

    A document the models refuse is a bug of collect, said as such (an :class:`InputError`).
    """
    try:
        return InventoryIn.model_validate(doc).dump()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise _bug(f"collect built an inventory its schema refuses ({problems})") from None


def render(merged: Merged, *, at: dt.datetime, tool: str) -> dict[str, Any]:
    """The inventory mapping with its ``collected`` block, written through the inventory's schema
    (:func:`_through_schema`)."""
    sources = []
    for key in sorted(merged.provenance):
        entry = dict(merged.provenance[key])
        entry["time"] = at.isoformat(timespec="seconds").replace("+00:00", "Z")
        entry["fields"] = sorted(set(entry["fields"]))
        entry["certificates"] = sorted(entry["certificates"], key=lambda c: c["field"])
        if not entry["fields"]:
            del entry["fields"]
        if not entry["certificates"]:
            del entry["certificates"]
        sources.append(entry)
    collected: dict[str, Any] = {
        "at": at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "tool": tool,
        "sources": sources,
        "unknown": list(merged.unknown),
    }
    if merged.drift:
        collected["drift"] = sorted(merged.drift, key=lambda d: d["field"])
    return _through_schema({**merged.doc, "collected": collected})


def write(out: Path, merged: Merged, *, at: dt.datetime, tool: str) -> Path:
    """Write the certificate files and the inventory under ``out``; return the inventory path.

    The written inventory is loaded with :func:`mratrust.inventory.load_inventory` before this
    returns (an InputError then is a bug of collect, said as such).
    """
    out.mkdir(parents=True, exist_ok=True)
    inv = out / INVENTORY
    text = _dump(render(merged, at=at, tool=tool))
    if inv.is_file():  # nothing changed but the time: keep the earlier file as it is
        with contextlib.suppress(OSError, UnicodeDecodeError, yaml.YAMLError):
            old_text = inv.read_text(encoding="utf-8")
            old = yaml.safe_load(old_text)
            if isinstance(old, dict) and isinstance(old.get("collected"), dict):
                earlier = old["collected"].get("at")
                if isinstance(earlier, str):
                    again = _dump(render(merged, at=_parse(earlier), tool=tool))
                    if again == old_text:
                        text = again
    for rel, certs in sorted(merged.files.items()):
        _atomic(out / rel, certs_pem(certs))
    _prune(out / "certs", {out / rel for rel in merged.files})
    _atomic(inv, text.encode("utf-8"))
    try:
        load_inventory(inv)
    except InputError as exc:
        raise _bug(f"collect wrote an inventory that does not load ({exc})", file=inv) from None
    return inv


def _parse(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _prune(root: Path, keep: set[Path]) -> None:
    """Remove certificate files of an earlier collect that this one did not write."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path.suffix == ".pem" and path not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            with contextlib.suppress(OSError):
                path.rmdir()


__all__ = ["INVENTORY", "check_out_dir", "render", "write"]
