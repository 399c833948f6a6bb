"""Command line: parsing, exit codes, output. No logic: every command calls the library.

Exit codes (SPEC §2): 0 nothing at or above --fail-on; 1 at least one finding at or above it;
2 usage or input error; 3 evaluation ran but some checks could not; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mratrust import __version__

if TYPE_CHECKING:
    from mratrust.audit import Report

from mratrust.cli_support import (
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    color_wanted,
    emit,
    parse_now,
    parse_seconds,
)


class UsageError(Exception):
    """Bad flags: one line on stderr, exit 2."""


def _columns() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` works it out (``COLUMNS``, then
    the terminal on standard output, else 80), without importing :mod:`shutil`."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, given the terminal's width: left to itself it imports
    :mod:`shutil` (with its compression modules, ~5 ms) to ask, on every command that declares an
    option, help or not."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # argparse's own exit code 2 with one clear line
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


# --------------------------------------------------------------------------- shared options


def _common(
    p: argparse.ArgumentParser, formats: Sequence[str] = ("text", "json", "markdown")
) -> None:
    p.add_argument("--format", choices=formats, default="text", help="output format")
    p.add_argument("--output", "-o", metavar="FILE", help="write the output to FILE")
    p.add_argument(
        "--now", type=parse_now, metavar="ISO8601", help="evaluation time (default: now, UTC)"
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal (nothing otherwise)."""
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)
        base = {"done": 0, "last": 0}

        def update(done: int, total: int) -> None:
            # handshakes run in groups (one per transport); keep one running count
            if done < base["last"]:
                base["done"] += base["last"]
            base["last"] = done
            bar.update(task, completed=base["done"] + done, total=base["done"] + total)

        yield update


def _password(args: argparse.Namespace) -> bytes | None:
    from mratrust.errors import InputError
    from mratrust.inventory import PASSWORD_ENV

    if getattr(args, "password", None):
        return str(args.password).encode()
    if getattr(args, "password_file", None):
        try:
            return Path(args.password_file).read_text(encoding="utf-8").rstrip("\r\n").encode()
        except OSError as exc:
            raise InputError(
                f"cannot read the password file ({exc.strerror})", file=args.password_file
            ) from exc
    env = os.environ.get(PASSWORD_ENV)
    return env.encode() if env else None


def _version_arg(text: str) -> Any:
    from mratrust.errors import InputError
    from mratrust.versions import Version

    try:
        return Version.parse(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.message + "; " + (exc.hint or "")) from None


def _date_arg(text: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-06-15"
        ) from None


def _sunset(args: argparse.Namespace) -> Any:
    """The EKU-SUNSET policy of ``--eku-sunset`` and ``--public-roots``."""
    from mratrust.sunset import policy

    return policy(cutoff=args.eku_sunset, public_roots=args.public_roots)


# --------------------------------------------------------------------------- audit & co


def _render(args: argparse.Namespace, report: Report, running: Report | None = None) -> str:
    """``report`` in the chosen format (JSON and plain text are streamed: see :func:`_output`);
    ``running`` (an upgrade check's report of the running version) gives the HTML matrix its
    column per version."""
    if args.format == "text":
        from mratrust.report import text

        return text.render(report, color=color_wanted(args), show_pass=args.show_pass)
    from mratrust.report import FORMATS

    if args.format == "html" and running is not None:
        from mratrust.report import html

        return html.render(report, running)
    return FORMATS[args.format](report)


def _output(args: argparse.Namespace, report: Report, running: Report | None = None) -> None:
    """Write ``report`` to --output or stdout, as :func:`emit` does. JSON and plain text are
    streamed as they are made: a large report is never held whole."""
    if args.format == "json":
        from mratrust.report import json as report_json

        _stream(args, lambda out: report_json.write(report, out), binary=True)
        return
    if args.format == "text" and not color_wanted(args):
        from mratrust.report import text

        _stream(args, lambda out: text.write(report, out, show_pass=args.show_pass), binary=False)
        return
    emit(args, _render(args, report, running))


def _stream(args: argparse.Namespace, write: Callable[[Any], None], *, binary: bool) -> None:
    """Hand ``write`` the output: stdout (its bytes when ``binary``, else its text layer), or
    --output opened for UTF-8 bytes or text. A failed write is one :class:`InputError`."""
    if not args.output:
        if binary:
            sys.stdout.flush()
            write(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            write(sys.stdout)
            sys.stdout.flush()
        return
    path = Path(args.output)
    # a regular file is written beside itself and renamed when complete, so an interrupted run
    # never leaves half a report under its name; a pipe or a device is streamed to directly
    regular = not path.exists() or path.is_file()
    target = path.with_name(f".{path.name}.partial-{os.getpid()}") if regular else path
    try:
        try:
            with target.open("wb") if binary else target.open("w", encoding="utf-8") as out:
                write(out)
            if regular:
                target.replace(path)
        except BaseException:
            if regular:
                target.unlink(missing_ok=True)
            raise
    except OSError as exc:
        from mratrust.errors import InputError

        raise InputError(f"cannot write ({exc.strerror})", file=path) from exc
    print(f"mratrust: wrote {path}", file=sys.stderr)


def _exit_for(report: Report, fail_on: str) -> int:
    from operator import attrgetter

    from mratrust.model import Status

    threshold = Status(fail_on).rank
    # the statuses found, by identity (an enum member is one object): no hash per finding
    failing = tuple(s for s in Status if s.rank <= threshold and s is not Status.ERROR)
    statuses = set(map(id, map(attrgetter("status"), report.findings)))
    if any(id(s) in statuses for s in failing):
        return EXIT_FINDINGS
    if id(Status.ERROR) in statuses:
        return EXIT_INCOMPLETE
    return EXIT_OK


def _note_version(*versions: Any) -> None:
    """Say so when a version is later than the behaviour table knows."""
    from mratrust.versions import LATEST

    for v in versions:
        if v is not None and v > LATEST:
            print(
                f"mratrust: note: {v} is later than {LATEST}, the last release whose "
                f"behaviour is modelled; it is judged as {LATEST}",
                file=sys.stderr,
            )


def cmd_audit(args: argparse.Namespace) -> int:
    from mratrust.audit import audit
    from mratrust.inventory import load_inventory

    deployment = load_inventory(args.inventory, password=_password(args))
    _note_version(args.version or deployment.expressway.version)
    if args.probe:
        from mratrust.probe_audit import audit_with_probe

        with _progress("probing") as progress:
            report = audit_with_probe(
                deployment,
                version=args.version,
                now=args.now,
                strict_from=args.strict_from,
                timeout=args.timeout,
                progress=progress,
                sunset=_sunset(args),
            )
    else:
        report = audit(
            deployment,
            version=args.version,
            now=args.now,
            strict_from=args.strict_from,
            sunset=_sunset(args),
        )
    _output(args, report)
    return _exit_for(report, args.fail_on)


def cmd_upgrade_check(args: argparse.Namespace) -> int:
    from mratrust.audit import upgrade_check
    from mratrust.inventory import load_inventory

    deployment = load_inventory(args.inventory, password=_password(args))
    _note_version(args.to)
    current, target = upgrade_check(
        deployment, args.to, now=args.now, strict_from=args.strict_from, sunset=_sunset(args)
    )
    _output(args, target, current)
    return _exit_for(target, args.fail_on)


def cmd_plan(args: argparse.Namespace) -> int:
    from mratrust.inventory import load_inventory
    from mratrust.plan import load_ca_sources, make_plan, write_kit

    deployment = load_inventory(args.inventory, password=_password(args))
    extra = load_ca_sources(args.ca or ())
    plan = make_plan(
        deployment,
        to=args.to,
        now=args.now,
        strict_from=args.strict_from,
        extra_cas=extra,
        sunset=_sunset(args),
    )
    text = write_kit(plan, Path(args.out), force=args.force, fmt=args.format)
    emit(args, text)
    return EXIT_FINDINGS if plan.remaining_failures else EXIT_OK


# --------------------------------------------------------------------------- certificates


def cmd_inspect(args: argparse.Namespace) -> int:
    from mratrust.pki.inspect import render_inspect
    from mratrust.pki.load import load_many

    certs = load_many([Path(f) for f in args.files], password=_password(args))
    emit(args, render_inspect(certs, fmt=args.format, now=args.now))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from mratrust.pki.inspect import render_verify
    from mratrust.pki.load import load_path
    from mratrust.pki.verify import Purpose, TrustStore, validate

    password = _password(args)
    chain = load_path(Path(args.chain), password=password)
    store_certs = load_path(Path(args.trust), password=password)
    now = args.now or dt.datetime.now(dt.UTC)
    result = validate(
        [c.cert for c in chain],
        TrustStore(store_certs, label=args.trust),
        now=now,
        name=args.name,
        purpose=Purpose(args.purpose),
        cn_fallback=not args.no_cn_fallback,
        known=[c.cert for c in store_certs],
    )
    emit(args, render_verify(result, fmt=args.format, chain_file=args.chain, store=args.trust))
    return EXIT_OK if result.ok else EXIT_FINDINGS


def cmd_ciphers(args: argparse.Namespace) -> int:
    from mratrust.ciphers import render_ciphers

    emit(
        args,
        render_ciphers(
            args.string,
            version=args.version,
            upgraded_from=args.upgraded_from,
            fresh=args.fresh,
            fmt=args.format,
        ),
    )
    return EXIT_OK


def cmd_versions(args: argparse.Namespace) -> int:
    from mratrust.versions import render_timeline

    emit(args, render_timeline(fmt=args.format))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from mratrust.demo import run_demo

    return run_demo(color=color_wanted(args), keep=args.keep)


# --------------------------------------------------------------------------- parser


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``command`` (one of :data:`_OWN_COMMANDS` or
    :data:`_ATTACHED`), only that command's parser: what parsing its arguments needs, without
    building every other command's options or importing the modules that register theirs."""
    parser = _Parser(
        prog="mratrust",
        description="Audit and fix the certificate trust matrix of Cisco Expressway MRA.",
    )
    parser.add_argument("--version", action="version", version=f"mratrust {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    def p12(p: argparse.ArgumentParser) -> None:
        p.add_argument("--password", help="PKCS#12 password (or MRATRUST_P12_PASSWORD)")
        p.add_argument("--password-file", metavar="FILE", help="file holding the PKCS#12 password")

    def sunset(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--eku-sunset",
            type=_date_arg,
            metavar="DATE",
            help="public-CA clientAuth cut-off for EKU-SUNSET (default 2026-06-15; sources "
            "disagree, see the README)",
        )
        p.add_argument(
            "--public-roots",
            metavar="FILE",
            help="roots treated as publicly trusted by EKU-SUNSET (PEM bundle or folder; "
            "default: Mozilla's root store from certifi)",
        )

    def judged(p: argparse.ArgumentParser) -> None:
        sunset(p)
        p.add_argument(
            "--strict-from",
            type=_version_arg,
            metavar="X14.0.8",
            help="treat Traffic Server verification as starting at this version (tech note 225476)",
        )
        p.add_argument(
            "--fail-on",
            choices=("fail", "risk", "warn"),
            default="fail",
            help="lowest status that makes the exit code 1 (default: fail)",
        )
        p.add_argument("--show-pass", action="store_true", help="list passed checks too (text)")

    if command in (None, "audit"):
        p = add(
            "audit", cmd_audit, "evaluate every rule for the running (or given) Expressway version"
        )
        p.add_argument("inventory", help="inventory YAML (schema 1)")
        p.add_argument("--version", type=_version_arg, metavar="X", help="judge at this version")
        p.add_argument("--probe", action="store_true", help="add live handshakes to the nodes")
        p.add_argument(
            "--timeout",
            type=parse_seconds,
            default=5.0,
            help="per-handshake timeout in seconds (probe)",
        )
        judged(p)
        p12(p)
        _common(p, ("text", "json", "markdown", "html"))

    if command in (None, "upgrade-check"):
        p = add("upgrade-check", cmd_upgrade_check, "what breaks if Expressway is upgraded")
        p.add_argument("inventory")
        p.add_argument("--to", type=_version_arg, required=True, metavar="VERSION")
        judged(p)
        p12(p)
        _common(p, ("text", "json", "markdown", "html"))

    if command in (None, "plan"):
        p = add(
            "plan", cmd_plan, "write the remediation kit: uploads, restarts, settings, refreshes"
        )
        p.add_argument("inventory")
        p.add_argument("--out", required=True, metavar="DIR", help="folder for the kit")
        p.add_argument("--to", type=_version_arg, metavar="VERSION", help="plan for this upgrade")
        p.add_argument("--force", action="store_true", help="overwrite a non-empty DIR")
        p.add_argument("--strict-from", type=_version_arg, metavar="X14.0.8", help="as for audit")
        sunset(p)
        p.add_argument(
            "--ca",
            action="append",
            metavar="PATH",
            help="CA certificates the kit may upload where the inventory lacks them (PEM bundle, "
            "folder or PKCS#7; repeatable); a CA found nowhere gets an obtain-ca step",
        )
        p12(p)
        _common(p)

    if command in (None, "inspect"):
        p = add("inspect", cmd_inspect, "decode certificate files (PEM, DER, PKCS#7, PKCS#12)")
        p.add_argument("files", nargs="+", metavar="FILE")
        p12(p)
        _common(p, ("text", "json"))

    if command in (None, "verify"):
        p = add("verify", cmd_verify, "path validation with Expressway semantics, every reason")
        p.add_argument("chain", metavar="CHAIN", help="presented certificate(s), any order")
        p.add_argument("--trust", required=True, metavar="STORE", help="trust store file or folder")
        p.add_argument("--name", metavar="NAME", help="expected name (SAN, CN as fallback)")
        p.add_argument("--purpose", choices=("server", "client"), default="server")
        p.add_argument("--no-cn-fallback", action="store_true", help="accept the SAN only")
        p12(p)
        _common(p, ("text", "json"))

    if command in (None, "ciphers"):
        p = add("ciphers", cmd_ciphers, "expand a cipher string; ECDSA vs RSA preference")
        p.add_argument("string", nargs="?", help="OpenSSL cipher string")
        p.add_argument(
            "--version", type=_version_arg, metavar="X", help="the default of this version"
        )
        grp = p.add_mutually_exclusive_group()
        grp.add_argument("--upgraded-from", type=_version_arg, metavar="Y")
        grp.add_argument("--fresh", action="store_true", help="fresh install (default)")
        _common(p, ("text", "json"))

    if command in (None, "versions"):
        p = add("versions", cmd_versions, "the Expressway behaviour timeline this tool models")
        _common(p, ("text", "json", "markdown"))

    if command in (None, "demo"):
        p = add(
            "demo", cmd_demo, "start a lab on loopback, audit a healthy and a broken deployment"
        )
        p.add_argument("--keep", action="store_true", help="leave the lab folders in place")

    for name, mod in _ATTACHED.items():
        if command in (None, name):
            _attach(sub, mod)
    return parser


def _attach(sub: Any, module: str) -> None:
    """Register the sub-commands a package provides (probe, lab) when it is installed."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        return
    before = set(sub.choices)
    mod.add_parser(sub)
    for name in set(sub.choices) - before:
        parser = sub.choices[name]
        if parser.get_default("func") is None and hasattr(mod, "run"):
            parser.set_defaults(func=mod.run)


def _shown(exc: BaseException) -> str:
    """An error's lines (several input errors are one per line) with control characters escaped:
    a message may quote a certificate's name or a file name."""
    from mratrust.textsafe import escape_control

    return "\n".join(escape_control(line) for line in str(exc).split("\n"))


def _exit_now(code: int) -> None:
    """End the program at once: after Ctrl-C, or when an offline evaluation is done.

    After an interrupt every ``finally`` has already run on its way here (lab servers stopped,
    temporary folders removed, sockets of this thread closed). What is left are collect's worker
    threads blocked in a request: a normal exit would wait for each one's timeout.
    """
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(code)


_BATCH = frozenset({"audit", "upgrade-check", "plan"})
_ENDS_AT_ONCE = _BATCH | {"probe"}
"""Commands whose process ends with :func:`_exit_now` once their report is written: nothing is
left to do, and the interpreter's own teardown (every module and object freed one by one, both
OpenSSL libraries' clean-up) costs 30-50 ms, a twentieth of a 100-target probe."""
_OWN_COMMANDS = frozenset(
    {"audit", "upgrade-check", "plan", "inspect", "verify", "ciphers", "versions", "demo"}
)
"""The commands :func:`build_parser` defines itself."""
_ATTACHED = {
    "probe": "mratrust.probe.cli",
    "lab": "mratrust.lab.cli",
    "collect": "mratrust.collect.cli",
}
"""The commands a module of their own registers, by name: ``mratrust probe`` imports neither the
lab's nor collect's command line (about 10 ms of parser building and imports)."""
_ONE_PARSER = _OWN_COMMANDS | frozenset(_ATTACHED)
"""The commands that parse with their own parser alone (:func:`build_parser`)."""


@contextlib.contextmanager
def _batch(args: argparse.Namespace) -> Iterator[None]:
    """No cyclic garbage collection during an offline evaluation.

    It builds tens of thousands of long-lived objects (certificates, facts, findings) and frees
    what it drops by reference counting; the collector would only walk them again and again
    (a fifth of the run). Live probes (threads, sockets) keep it.
    """
    if getattr(args, "command", None) not in _BATCH or getattr(args, "probe", False):
        yield
        return
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    from mratrust.errors import InputError, LabError, MratrustError

    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list == ["--version"]:  # answered before any heavy import
        print(f"mratrust {__version__}")
        return EXIT_OK
    debug = "--debug" in args_list
    if argv is None:
        # a command of its own: no pydantic plugins observe the inventory's validation, so
        # pydantic does not scan every installed package's entry points for them (a library
        # call, main(argv), leaves the caller's setting alone)
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        # a command parses with its own parser alone (the same parser, the same messages);
        # anything else (help, a typo) with the whole command line
        own = args_list[0] if args_list and args_list[0] in _ONE_PARSER else None
        parser = build_parser(own)
        args = parser.parse_args(args_list)
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return EXIT_INPUT
        with _batch(args):
            code = int(args.func(args))
            if argv is None and getattr(args, "command", None) in _ENDS_AT_ONCE:
                # the process ends here: freeing every certificate and finding one by one would
                # cost a tenth of the run, and the system takes the memory back at once. It ends
                # inside the batch: the collector, enabled again, would first walk every object
                # the evaluation made (2-3% of an audit) at its next allocation
                _exit_now(code)
        return code
    except UsageError as exc:
        print(_shown(exc), file=sys.stderr)
        return EXIT_INPUT
    except (InputError, LabError) as exc:
        if debug:
            raise
        print(f"mratrust: error: {_shown(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except MratrustError as exc:
        if debug:
            raise
        print(f"mratrust: error: {_shown(exc)}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except KeyboardInterrupt:
        print("mratrust: interrupted", file=sys.stderr)
        if argv is None:
            _exit_now(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: one line, the traceback with --debug
        if debug:
            raise
        print(
            f"mratrust: internal error: {type(exc).__name__}: {_shown(exc)} (nothing was "
            "evaluated; run again with --debug for the traceback and report it)",
            file=sys.stderr,
        )
        return EXIT_INPUT
