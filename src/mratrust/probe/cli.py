"""``mratrust probe HOST[:PORT]...``: handshakes as Expressway-C makes them, and the verdict.

The main command line registers this module with :func:`add_parser` and calls :func:`run`.
Importing it loads nothing heavy (no OpenSSL), so ``mratrust --version`` stays fast.

Exit codes (SPEC §2): 0 every handshake verifies; 1 a verdict fails (Expressway-C's own handshake
fails, or an identity the server may present does not verify); 3 an endpoint could not be probed
(timeout, refused, not TLS …) and nothing failed; 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mratrust.cli_support import EXIT_INPUT, color_wanted, emit, parse_now, parse_seconds
from mratrust.topology import CUCM_HTTPS_PORT as DEFAULT_PORT
from mratrust.topology import Transport, ports_by_transport
from mratrust.versions import PROBE_DEFAULT, X15_2

if TYPE_CHECKING:
    from mratrust.pki.verify import TrustStore
    from mratrust.probe.client import ClientProfile

DEFAULT_VERSION = str(PROBE_DEFAULT)
"""The Expressway release emulated when ``--as-version`` is not given (the version table's
:data:`~mratrust.versions.PROBE_DEFAULT`, fresh install). Give the running version: the offer
depends on it."""


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number, at least 1")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port")
    return int(text)


def _port_pair(text: str) -> tuple[int, int]:
    real, sep, mapped = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not PORT=CONNECT, e.g. 5061=15061")
    return _port(real.strip()), _port(mapped.strip())


def _ports(transport: Transport) -> str:
    return "/".join(str(p) for p in ports_by_transport().get(transport, ()))


def _legs_text() -> str:
    """``8443/6972/443 Traffic Server, 5061/5091 SIP, 7400 XCP`` from the leg table."""
    return ", ".join(f"{_ports(t)} {t.component}" for t in ports_by_transport())


def add_parser(subparsers: Any) -> None:
    """Register ``probe`` on the main parser's sub-commands."""
    help_text = "handshakes as Expressway-C makes them: chains, identities, client CAs, verdict"
    p: argparse.ArgumentParser = subparsers.add_parser(
        "probe",
        help=help_text,
        description=help_text
        + ". Per endpoint: Expressway-C's own offer, then RSA and ECDSA forced under TLS 1.2 and "
        "1.3 to find every certificate the server holds.",
        epilog="Exit codes: 0 every handshake verifies, 1 a verdict fails, 2 bad input, "
        "3 an endpoint could not be probed. Targets: HOST[:PORT] (default port 8443), "
        "[IPv6]:PORT, or NAME:PORT{ADDRESS} to connect to ADDRESS with NAME as SNI and identity. "
        f"The port says which leg the target is ({_legs_text()}) and so which offer "
        "Expressway-C makes; --port-map connects elsewhere.",
    )
    p.add_argument("targets", nargs="+", metavar="HOST[:PORT]", help="endpoints to probe")
    who = p.add_argument_group("Expressway-C to emulate")
    who.add_argument(
        "--as-version",
        default=DEFAULT_VERSION,
        metavar="X",
        help=f"Expressway version whose offer to make (default {DEFAULT_VERSION})",
    )
    who.add_argument(
        "--upgraded-from",
        metavar="Y",
        help="version it was upgraded from (decides the default cipher order); "
        "default: fresh install",
    )
    who.add_argument(
        "--ciphers", metavar="STRING", help="configured cipher string (default: the version's)"
    )
    who.add_argument(
        "--tls-versions",
        metavar="LIST",
        help="comma-separated, e.g. TLSv1.2,TLSv1.3 (default: both from X14.2, else TLSv1.2)",
    )
    who.add_argument(
        "--signature-pref-rsa",
        choices=("on", "off"),
        help="TlsSignatureAlgoPrefRsa: RSA first in TLS 1.3 signature algorithms on SIP targets "
        f"({_ports(Transport.SIP)}; default: on from {X15_2}); Traffic Server and XCP targets "
        "always offer ECDSA first",
    )
    who.add_argument(
        "--client-cert",
        metavar="FILE",
        help="Expressway-C certificate (+ chain) to present when asked",
    )
    who.add_argument(
        "--client-key", metavar="FILE", help="its private key (default: in --client-cert)"
    )
    judge = p.add_argument_group("verdict")
    judge.add_argument(
        "--trust",
        metavar="FILE",
        help="Expressway-C's trusted CA list (file or folder); without it chains are not judged",
    )
    judge.add_argument("--name", help="expected identity (default: the host)")
    judge.add_argument("--sni", help="server name to send (default: the host)")
    run_opts = p.add_argument_group("limits")
    run_opts.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port for targets without one (default {DEFAULT_PORT})",
    )
    run_opts.add_argument(
        "--port-map",
        type=_port_pair,
        action="append",
        default=[],
        metavar="PORT=CONNECT",
        help="connect to CONNECT for targets on PORT, which still decides the leg and the offer "
        f"(lab, NAT; repeatable), e.g. {_ports(Transport.SIP).split('/')[0]}=15061",
    )
    run_opts.add_argument(
        "--timeout",
        type=parse_seconds,
        default=5.0,
        metavar="SECONDS",
        help="per connect and per handshake (default 5)",
    )
    run_opts.add_argument(
        "--read-timeout",
        type=parse_seconds,
        default=1.0,
        metavar="SECONDS",
        help="TLS 1.3: wait after the handshake for the server's verdict on the client "
        "certificate (default 1)",
    )
    run_opts.add_argument(
        "--deadline",
        type=parse_seconds,
        default=120.0,
        metavar="SECONDS",
        help="the whole run (default 120)",
    )
    run_opts.add_argument(
        "--workers", type=_count, default=16, help="handshakes at once (default 16)"
    )
    run_opts.add_argument(
        "--per-host", type=_count, default=4, help="handshakes at once to one address (default 4)"
    )
    run_opts.add_argument(
        "--default-only",
        action="store_true",
        help="only Expressway-C's own offer (no forced RSA/ECDSA offers)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--output", "-o", metavar="FILE", help="write the output to FILE")
    p.add_argument(
        "--now", type=parse_now, metavar="ISO8601", help="evaluation time (default: now, UTC)"
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=run)


def _load_trust(path_text: str) -> TrustStore:
    from mratrust.errors import InputError
    from mratrust.pki.load import load_path
    from mratrust.pki.verify import TrustStore

    path = Path(path_text)
    if not path.exists():
        raise InputError("no such file or folder", file=path, field="--trust")
    certs = load_path(path)
    if not certs:
        raise InputError("holds no certificate", file=path, field="--trust")
    return TrustStore(certs, label=str(path))


def _profile(args: argparse.Namespace) -> ClientProfile:
    from mratrust.errors import InputError
    from mratrust.probe.client import TlsVersion, client_profile, load_client_identity
    from mratrust.versions import Version

    version = Version.parse(args.as_version, field="--as-version")
    upgraded = (
        Version.parse(args.upgraded_from, field="--upgraded-from") if args.upgraded_from else None
    )
    versions = (
        tuple(TlsVersion.parse(v) for v in args.tls_versions.split(",") if v.strip())
        if args.tls_versions
        else None
    )
    if args.client_key and not args.client_cert:
        raise InputError("--client-key needs --client-cert", field="--client-key")
    identity = load_client_identity(args.client_cert, args.client_key) if args.client_cert else None
    rsa_first = None if args.signature_pref_rsa is None else args.signature_pref_rsa == "on"
    return client_profile(
        version,
        upgraded_from=upgraded,
        ciphers=args.ciphers,
        tls_versions=versions,
        rsa_signature_first=rsa_first,
        identity=identity,
    )


def _progress_bar(total: int) -> tuple[Any, Any]:
    """A rich progress bar on stderr when it is a terminal; else nothing."""
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("probing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("probe", total=total)

    def update(done: int, _total: int) -> None:
        bar.update(task, completed=done)

    return bar, update


def run(args: argparse.Namespace) -> int:
    """Carry out ``mratrust probe``; returns the exit code."""
    from mratrust.errors import InputError

    try:
        return _run(args)
    except InputError as exc:
        if getattr(args, "debug", False):
            raise
        from mratrust.textsafe import escape_control

        print(f"mratrust: error: {escape_control(str(exc))}", file=sys.stderr)
        return EXIT_INPUT


def _run(args: argparse.Namespace) -> int:
    from mratrust.probe.client import ALL_VARIANTS, Variant
    from mratrust.probe.engine import ProbeTarget, Service, exit_code, probe_endpoints
    from mratrust.probe.handshake import Timeouts
    from mratrust.probe.render import to_json, to_text

    mapped = dict(args.port_map)
    targets = []
    for text in args.targets:
        t = ProbeTarget.parse(text, default_port=args.port, sni=args.sni, name=args.name)
        if t.port in mapped:
            t = replace(t, port=mapped[t.port], service=Service.at_port(t.port))
        targets.append(t)
    profile = _profile(args)
    trust = _load_trust(args.trust) if args.trust else None
    now = args.now or dt.datetime.now(dt.UTC)
    timeouts = Timeouts(
        connect=args.timeout,
        handshake=args.timeout,
        read=args.read_timeout,
        overall=args.deadline,
    )
    variants = (Variant.DEFAULT,) if args.default_only else ALL_VARIANTS
    bar, update = _progress_bar(len(targets) * len(variants))
    if bar is not None:
        bar.start()
    try:
        reports = probe_endpoints(
            targets,
            profile,
            trust=trust,
            now=now,
            timeouts=timeouts,
            variants=variants,
            workers=args.workers,
            per_host=args.per_host,
            progress=update,
        )
    finally:
        if bar is not None:
            bar.stop()
    if args.format == "json":
        text = to_json(reports, profile, trust=trust, now=now)
    else:
        color = color_wanted(args)
        text = to_text(reports, profile, trust=trust, color=color)
    emit(args, text)
    return exit_code(reports)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (tests, or before the main CLI registers ``probe``)."""
    parser = argparse.ArgumentParser(prog="mratrust")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


__all__ = ["DEFAULT_VERSION", "add_parser", "main", "run"]
