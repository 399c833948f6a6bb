"""``mratrust demo``: a healthy and a broken deployment on loopback, audited live, with the fix.

Starts the lab's B0 (healthy) and F01 (CUCM's trust stores lack Expressway-C's CA, harmless on
X12.7, broken from X14.0.2), audits B0 with live handshakes, audits F01 live as after the upgrade
to X14.0.2 (CUCM answers Expressway-C's certificate with ``unknown_ca`` on 6972), writes and shows
the remediation kit for F01, and stops both labs. F01's inventory is not read from the lab's
files: ``collect`` builds it from the lab's management interfaces. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from mratrust.errors import LabError, MratrustError
from mratrust.inventory import load_inventory
from mratrust.lab.layout import LAB_JSON
from mratrust.lab.process import lab_down, lab_up
from mratrust.model import ChangeKind, Deployment, Status
from mratrust.plan import make_plan, write_kit
from mratrust.probe_audit import audit_with_probe
from mratrust.report import text
from mratrust.versions import Version

HEALTHY, BROKEN, TARGET = "B0", "F01", Version.parse("X14.0.2")


def _say(out: TextIO, line: str = "") -> None:
    out.write(line + "\n")
    out.flush()


def _rule(out: TextIO, title: str) -> None:
    _say(out)
    _say(out, f"=== {title} " + "=" * max(0, 96 - len(title)))


def _collected(out: TextIO, lab: Path, into: Path) -> Deployment:
    """Collect the broken lab through its management interfaces instead of reading its files.

    collect never reads a private key: the lab lends Expressway-C's, so that the live audit can
    present Expressway-C's certificate where CUCM asks for one (6972).
    """
    from mratrust.collect import collect
    from mratrust.collect.cli import render_text

    _say(out, f"  mratrust collect {lab / 'sources.yaml'} --credentials ... --out {into}")
    result = collect(lab / "sources.yaml", into, credentials_file=lab / "credentials.yaml")
    for line in render_text(result).splitlines():
        _say(out, f"    {line}")
    if result.inventory is None:
        raise LabError(f"collect could not write the inventory: {result.error}")
    deployment = load_inventory(result.inventory)
    keys = {p.name: p.key for p in load_inventory(lab / "inventory.yaml").expressway.peers}
    peers = tuple(dataclasses.replace(p, key=keys.get(p.name)) for p in deployment.expressway.peers)
    return dataclasses.replace(
        deployment, expressway=dataclasses.replace(deployment.expressway, peers=peers)
    )


def run_demo(*, color: bool = False, keep: bool = False, out: TextIO | None = None) -> int:
    """Run the demo; 0 when every step showed what it should."""
    out = out or sys.stdout
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="mratrust-demo-"))
    labs: list[Path] = []
    ok = True
    try:
        _rule(out, "1/4  starting two simulated deployments on 127.0.0.1")
        for sid in (HEALTHY, BROKEN):
            folder = work / sid
            labs.append(folder)  # before starting: an interrupt must still stop it
            info = lab_up(sid, folder, ttl_seconds=600)
            ports = sum(len(p) for p in info.ports.values())
            _say(
                out, f"  {sid}: {ports} TLS listeners (pid {info.pid}), inventory {info.inventory}"
            )

        _rule(out, f"2/4  {HEALTHY}: healthy baseline, audited with live handshakes")
        healthy = load_inventory(work / HEALTHY / "inventory.yaml")
        report = audit_with_probe(healthy)
        out.write(text.render(report, color=color))
        bad = report.at_or_above(Status.RISK)
        ok &= not bad
        _say(out, f"  -> {'clean, as expected' if not bad else 'UNEXPECTED findings above'}")

        _rule(
            out,
            f"3/4  {BROKEN}: collected from its management interfaces, then audited with live "
            f"handshakes as after the upgrade to {TARGET}",
        )
        broken = _collected(out, work / BROKEN, work / f"collected-{BROKEN}")
        report = audit_with_probe(broken, version=TARGET)
        out.write(text.render(report, color=color))
        live = [
            f
            for f in report.by_rule("PROBE-HANDSHAKE")
            if f.status is Status.FAIL and f.evidence_dict().get("alert") == "unknown_ca"
        ]
        offline = [f for f in report.by_rule("U2C-TRUST") if f.status is Status.FAIL]
        ok &= bool(live) and bool(offline)
        _say(
            out,
            f"  -> the wire agrees with the files: CUCM sent unknown_ca on {len(live)} handshakes, "
            f"U2C-TRUST fails for {len(offline)} stores",
        )

        _rule(out, f"4/4  {BROKEN}: the remediation kit to apply before upgrading to {TARGET}")
        plan = make_plan(broken, to=TARGET)
        kit = work / "kit-F01"
        write_kit(plan, kit)
        _say(out, (kit / "steps.md").read_text(encoding="utf-8"))
        new = [f for f in plan.before.findings if f.change is ChangeKind.NEW]
        ok &= bool(plan.fixed) and not plan.remaining_failures and bool(new)
        _say(
            out,
            f"  -> the kit fixes {len(plan.fixed)} of the {len(new)} new failures, "
            f"{len(plan.remaining_failures)} left"
            + (f" (kept in {kit})" if keep else " (run with --keep to keep its files)"),
        )
    except MratrustError as exc:
        _say(out, f"mratrust: demo failed: {exc}")
        ok = False
    finally:
        stopped = True
        for folder in labs:
            if not (folder / LAB_JSON).exists():
                continue  # it never came up (lab_up stops what it started)
            try:
                lab_down(folder)
            except MratrustError as exc:  # keep stopping the others
                _say(out, f"mratrust: could not stop the lab in {folder}: {exc}")
                ok = stopped = False
        if not keep and stopped:
            shutil.rmtree(work, ignore_errors=True)
    _rule(out, "done")
    elapsed = time.monotonic() - started
    where = f"; files kept in {work}" if keep else ""
    _say(out, f"  labs stopped, {elapsed:.1f} s{where}. Try it on your own exports:")
    _say(out, "  mratrust audit inventory.yaml   (see README.md for the inventory format)")
    return 0 if ok else 1
