"""Probe throughput against loopback TLS servers, compared in the same run with sslyze.

    python bench/probe_bench.py [--listeners 20] [--per-listener 5] [--repeat 3] [--no-sslyze]

Starts ``--listeners`` ``openssl s_server`` processes, each on its own loopback address
(127.0.0.1, 127.0.0.2, …) with an RSA and an ECDSA identity from one enterprise root, and probes
``listeners × per-listener`` targets (default 100: five names per listener, all in the SAN):

- mratrust: ``mratrust probe NAME:PORT{ADDRESS}... --trust root.pem --format json`` (the command
  installed beside this Python; ``python -m mratrust`` when there is none)
  (the default offer plus RSA/ECDSA forced under TLS 1.2 and 1.3, minus those the default
  handshake answered: four handshakes per target here, each chain validated against the trust
  store);
- sslyze 6.3.1: ``sslyze --certinfo --certinfo_ca_file root.pem NAME:PORT{ADDRESS}...``
  (connectivity test, then the certificate deployments with validation), installed on first
  use into ``bench/.venv-sslyze`` (it pins cryptography < 47: a comparator, never a dependency).

Both are timed end to end as processes (start-up included), best of ``--repeat``, and the
targets/second of each and the ratio are printed (goal: mratrust >= 5x sslyze), and each round's
own ratio (sslyze's run over mratrust's run of the same round), best and median. Beside the
time, the CPU seconds of each run: the client process (user + system) and the listeners'
``s_server`` processes (read from /proc on Linux), since the run is CPU-bound on a small
machine. Then start-up: ``mratrust --version`` against ``sslyze --help`` (goal
<= 0.3 s), median of 10.
If sslyze cannot be installed the script says so and still reports mratrust's numbers.

The listeners load no CA store (``-no-CAfile -no-CApath -no-CAstore``): with the default one,
``s_server`` reads every entry of the system's certificate directory on every handshake, looking
for an issuer to complete its chain (a third of its CPU per handshake here), which no UC node
does. ``--server-store default`` keeps that behaviour, for comparison with earlier runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench_args import positive_count  # beside this script (its folder leads sys.path)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
SSLYZE_VENV = HERE / ".venv-sslyze"
SSLYZE_PINS = ("sslyze==6.3.1", "cryptography<47")
NOW = dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- PKI


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _sign(
    subject: str,
    public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    san: Sequence[str] = (),
) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if not ca:
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        ).add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False)
    return b.sign(key, hashes.SHA256())


def _pem(
    path: Path, *items: x509.Certificate | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> Path:
    with path.open("wb") as fh:
        for item in items:
            if isinstance(item, x509.Certificate):
                fh.write(item.public_bytes(serialization.Encoding.PEM))
            else:
                fh.write(
                    item.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
    return path


# --------------------------------------------------------------------------- servers


class Listener:
    """One ``openssl s_server -www`` on ADDRESS:PORT, drained and killed at the end."""

    def __init__(self, address: str, port: int, args: Sequence[str]) -> None:
        self.address, self.port = address, port
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"{address}:{port}", "-www", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(b"ACCEPT"):
                self.ready.set()
        self.ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _free_port(address: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


NO_STORE = ("-no-CAfile", "-no-CApath", "-no-CAstore")
"""s_server options that keep it from searching the system's CA store on every handshake."""


def start_lab(
    folder: Path, listeners: int, per: int, *, store: bool = False
) -> tuple[list[Listener], list[str], Path]:
    """Certificates, listeners, and the target list ``NAME:PORT{ADDRESS}``; ``store``: the
    listeners load the system's CA store (see the module's note)."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _sign("BENCH-ROOT", root_key.public_key(), _name("BENCH-ROOT"), root_key, ca=True)
    root_pem = _pem(folder / "root.pem", root)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key_pem = _pem(folder / "rsa.key", rsa_key)
    ec_key_pem = _pem(folder / "ec.key", ec_key)
    running: list[Listener] = []
    targets: list[str] = []
    try:
        for n in range(listeners):
            address = f"127.0.0.{n + 1}"
            names = [f"node{n:02d}-{k}.bench.example.com" for k in range(per)]
            rsa_pem = _pem(
                folder / f"rsa{n}.pem",
                _sign(names[0], rsa_key.public_key(), root.subject, root_key, ca=False, san=names),
            )
            ec_pem = _pem(
                folder / f"ec{n}.pem",
                _sign(names[0], ec_key.public_key(), root.subject, root_key, ca=False, san=names),
            )
            port = _free_port(address)
            running.append(
                Listener(
                    address,
                    port,
                    [
                        "-cert",
                        str(rsa_pem),
                        "-key",
                        str(rsa_key_pem),
                        "-dcert",
                        str(ec_pem),
                        "-dkey",
                        str(ec_key_pem),
                        *(() if store else NO_STORE),
                    ],
                )
            )
            targets += [f"{name}:{port}{{{address}}}" for name in names]
        for listener in running:
            if not listener.ready.wait(10) or listener.proc.poll() is not None:
                raise RuntimeError(f"s_server on {listener.address}:{listener.port} did not start")
    except BaseException:
        for listener in running:
            listener.stop()
        raise
    return running, targets, root_pem


# --------------------------------------------------------------------------- tools


def ensure_sslyze() -> tuple[Path | None, str]:
    """The sslyze executable in bench/.venv-sslyze (installed if missing), or why not."""
    exe = SSLYZE_VENV / "bin" / "sslyze"
    if exe.exists():
        return exe, "already installed"
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(SSLYZE_VENV)], check=True, capture_output=True
        )
        subprocess.run(
            [str(SSLYZE_VENV / "bin" / "pip"), "install", "-q", *SSLYZE_PINS],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        text = detail.decode(errors="replace").strip().splitlines()[-1:] if detail else [str(exc)]
        return None, f"could not install {' '.join(SSLYZE_PINS)}: {' '.join(text)}"
    return (exe if exe.exists() else None), "installed now"


def timed(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env, timeout=900)
    took = time.perf_counter() - start
    return took, done.returncode, done.stdout.decode(errors="replace")


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process this script has waited for."""
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def listeners_cpu(listeners: Sequence[Listener]) -> float | None:
    """CPU seconds the listeners have used so far (None where /proc does not tell)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for listener in listeners:
        try:
            stat = Path(f"/proc/{listener.proc.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / tick


@dataclass
class Runs:
    """Wall time, client CPU and listener CPU of each timed run of one tool."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    servers: list[float] = field(default_factory=list)

    def time(self, cmd: Sequence[str], listeners: Sequence[Listener]) -> tuple[int, str]:
        cpu, served = children_cpu(), listeners_cpu(listeners)
        took, code, out = timed(cmd)
        self.wall.append(took)
        self.cpu.append(children_cpu() - cpu)
        after = listeners_cpu(listeners)
        if served is not None and after is not None:
            self.servers.append(after - served)
        return code, out

    def cpu_line(self) -> str:
        line = f"client {min(self.cpu):.2f} s best, {statistics.median(self.cpu):.2f} median"
        if self.servers:
            line += f"; s_server processes {statistics.median(self.servers):.2f} s median"
        return line


def mratrust_exe() -> list[str]:
    """The ``mratrust`` command installed beside this Python, as a user types it (its script
    imports ``mratrust.cli`` directly: no ``runpy``, ~5 ms less than ``python -m``);
    ``python -m mratrust`` where there is none (a checkout on ``PYTHONPATH``)."""
    exe = Path(sys.executable).with_name("mratrust")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "mratrust"]


def mratrust_cmd(targets: Sequence[str], root: Path) -> list[str]:
    workers = os.environ.get("PROBE_WORKERS", "16")
    return [*mratrust_exe(), "probe", *targets, "--trust", str(root),
            "--format", "json", "--workers", workers]  # fmt: skip


def sslyze_cmd(exe: Path, targets: Sequence[str], root: Path) -> list[str]:
    return [str(exe), "--certinfo", "--certinfo_ca_file", str(root), *targets]


_SCAN_ONLY = """
import json, sys, time
from pathlib import Path
from mratrust.pki.load import load_path
from mratrust.pki.verify import TrustStore
from mratrust.probe import ProbeTarget, client_profile, probe_endpoints
from mratrust.versions import Version
root, listing = sys.argv[1], sys.argv[2]
targets = [ProbeTarget.parse(t) for t in Path(listing).read_text().split()]
trust = TrustStore(load_path(Path(root)))
profile = client_profile(Version.parse("X15.3"))
start = time.perf_counter()
reports = probe_endpoints(targets, profile, trust=trust, workers=16)
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "ok": sum(r.ok for r in reports)}))
"""


def check_mratrust(output: str, expected: int) -> str:
    doc = json.loads(output)
    endpoints = doc["endpoints"]
    ok = sum(1 for e in endpoints if e["status"] == "ok")
    both = sum(1 for e in endpoints if {i["key_type"] for i in e["identities"]} == {"rsa", "ecdsa"})
    made = sum(
        1
        for e in endpoints
        for o in e["observations"]
        if o["outcome"] != "skipped" and not o["same_as"]
    )
    if len(endpoints) != expected or ok != expected or both != expected:
        raise SystemExit(f"mratrust run is wrong: {ok}/{expected} ok, {both} with two identities")
    return (
        f"{ok}/{expected} verified, RSA+ECDSA found on {both}, "
        f"{made} handshakes ({made / expected:.1f} per target)"
    )


def sslyze_scan_seconds(stdout: str) -> float | None:
    found = re.search(r"SCANS COMPLETED IN ([0-9.]+) S", stdout)
    return float(found.group(1)) if found else None


def compile_sources() -> str:
    """Byte-compile mratrust's modules, as ``pip install`` does for a regular install (sslyze's
    venv has them): an editable checkout run with PYTHONDONTWRITEBYTECODE would otherwise compile
    every module again in every timed process."""
    import compileall

    import mratrust

    package = Path(mratrust.__file__).resolve().parent
    ok = compileall.compile_dir(str(package), quiet=1)
    return f"mratrust modules compiled ({'ok' if ok else 'with errors'})"


def median_of(cmd: Sequence[str], runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        took, _, _ = timed(cmd)
        times.append(took)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=positive_count, default=20)
    parser.add_argument("--per-listener", type=positive_count, default=5)
    parser.add_argument("--repeat", type=positive_count, default=3)
    parser.add_argument("--no-sslyze", action="store_true", help="mratrust numbers only")
    parser.add_argument(
        "--server-store",
        choices=("none", "default"),
        default="none",
        help="the listeners' CA store: none (default), or OpenSSL's default, which s_server "
        "searches on every handshake",
    )
    args = parser.parse_args(argv)
    if args.listeners > 254:  # one loopback address each, 127.0.0.1 to 127.0.0.254
        parser.error(f"argument --listeners: at most 254, not {args.listeners}")
    if shutil.which("openssl") is None:
        print("openssl binary not found: the benchmark needs openssl s_server", file=sys.stderr)
        return 2

    exe: Path | None = None
    note = "skipped (--no-sslyze)"
    if not args.no_sslyze:
        exe, note = ensure_sslyze()
    print(f"sslyze: {note}")

    count = args.listeners * args.per_listener
    print(f"bytecode: {compile_sources()}")
    m_runs = Runs()
    m_scan: list[float] = []
    s_runs = Runs()
    s_scan: list[float] = []
    summary = ""
    with tempfile.TemporaryDirectory(prefix="mratrust-probe-bench-") as tmp:
        listeners, targets, root = start_lab(
            Path(tmp), args.listeners, args.per_listener, store=args.server_store == "default"
        )
        listing = Path(tmp) / "targets.txt"
        listing.write_text("\n".join(targets))
        try:
            print(
                f"{count} targets on {args.listeners} openssl s_server listeners "
                f"(127.0.0.1-{args.listeners}), {args.per_listener} names each; "
                f"best and median of {args.repeat}, runs interleaved; "
                f"listeners' CA store: {args.server_store}"
            )
            for _ in range(args.repeat):
                code, out = m_runs.time(mratrust_cmd(targets, root), listeners)
                if code != 0:
                    raise SystemExit(f"mratrust probe exited {code}")
                summary = check_mratrust(out, count)
                _, code, out = timed([sys.executable, "-c", _SCAN_ONLY, str(root), str(listing)])
                scan = json.loads(out)
                if code != 0 or scan["ok"] != count:
                    raise SystemExit(f"mratrust scan-only run is wrong: {out}")
                m_scan.append(scan["seconds"])
                if exe is not None:
                    code, out = s_runs.time(sslyze_cmd(exe, targets, root), listeners)
                    if code != 0:
                        print(f"sslyze exited {code}", file=sys.stderr)
                    s_scan.append(sslyze_scan_seconds(out) or float("inf"))
        finally:
            for listener in listeners:
                listener.stop()

    def rate(runs: list[float]) -> str:
        best, median = min(runs), statistics.median(runs)
        return f"{best:5.2f} s {count / best:6.1f}/s (median {median:5.2f} s)"

    def ratio(theirs: list[float], ours: list[float]) -> str:
        best = min(theirs) / min(ours)
        median = statistics.median(theirs) / statistics.median(ours)
        return f"{best:.1f}x (median {median:.1f}x)"

    print(f"  ({summary})")
    print("                    end to end (process)             scan only (in process)")
    print(f"mratrust probe    : {rate(m_runs.wall)}    {rate(m_scan)}")
    print("  every run       : " + ", ".join(f"{t:.2f}" for t in m_runs.wall))
    print(f"  CPU per run     : {m_runs.cpu_line()}")
    if exe is not None:
        print(f"sslyze --certinfo : {rate(s_runs.wall)}    {rate(s_scan)}")
        print("  every run       : " + ", ".join(f"{t:.2f}" for t in s_runs.wall))
        print(f"  CPU per run     : {s_runs.cpu_line()}")
        print(
            f"throughput ratio mratrust/sslyze: end to end {ratio(s_runs.wall, m_runs.wall)}, "
            f"scan only {ratio(s_scan, m_scan)} (goal >= 5x)"
        )
        # each round's own ratio: both tools met the machine in the same state (robust to a
        # machine whose speed drifts between rounds, which best-of-each is not)
        paired = [s / m for s, m in zip(s_runs.wall, m_runs.wall, strict=True)]
        print(
            f"  per round       : end to end {max(paired):.1f}x in the best round, "
            f"{statistics.median(paired):.1f}x in the median one"
        )
    if m_runs.servers:
        cores = os.cpu_count() or 1
        need = min(m_runs.cpu) + min(m_runs.servers)
        print(
            f"floor: mratrust's client + servers use {need:.2f} CPU-s per run (best of each): "
            f">= {need / cores:.2f} s of wall time on {cores} idle cores; "
            f"load average now {os.getloadavg()[0]:.1f}"
        )

    version_time = median_of([*mratrust_exe(), "--version"])
    import_time = median_of([sys.executable, "-c", "import mratrust.probe.engine"])
    print(f"start-up: mratrust --version            {version_time:.3f} s (goal <= 0.3 s)")
    print(f"          import mratrust.probe.engine  {import_time:.3f} s")
    if exe is not None:
        help_time = median_of([str(exe), "--help"])
        print(f"          sslyze --help                 {help_time:.3f} s")
        print(f"start-up ratio sslyze/mratrust: {help_time / version_time:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
