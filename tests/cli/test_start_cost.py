"""What an offline audit loads before it evaluates anything: no pydantic plugin scan when run as a
command, no JSON encoder for a text report, no class for live handshakes it does not make."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mratrust.cli import _ATTACHED, _OWN_COMMANDS, UsageError, build_parser, main
from tests.conftest import modules_after

Dir = Callable[[str], Path]

# runs the audit in a fresh interpreter, as a command (main()) or as a library call (main(argv)),
# and prints what pydantic's plugin loader did and which modules were loaded; a command ends
# with os._exit, so the report is printed from there
_SCRIPT = """
import os, sys
import mratrust.cli as cli

def report(code):
    from pydantic.plugin import _loader
    print("plugins", "scanned" if _loader._plugins is not None else "not-scanned")
    print("env", os.environ.get("PYDANTIC_DISABLE_PLUGINS"))
    print("modules", " ".join(sorted(sys.modules)))
    sys.stdout.flush()
    os._exit(code)

cli._exit_now = report
args = sys.argv[2:]
if sys.argv[1] == "command":
    sys.argv = ["mratrust", *args]
    cli.main()
else:
    report(cli.main(args))
"""


def _run(how: str, args: list[str], env_value: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if env_value is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = env_value
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, how, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def _audit(scenario_dir: Dir, tmp_path: Path, fmt: str, *, coerced: bool = False) -> list[str]:
    """The audit's arguments; ``coerced``: of B0 with a value only pydantic reads (``tls_verify:
    1``), written beside it, so the validation goes through pydantic and its plugin loader."""
    inv = scenario_dir("B0") / "inventory.yaml"
    if coerced:
        copy = tmp_path / "B0"
        shutil.copytree(inv.parent, copy)
        inv = copy / "inventory.yaml"
        text = inv.read_text(encoding="utf-8")
        assert "  tls_verify: true\n" in text
        inv.write_text(text.replace("  tls_verify: true\n", "  tls_verify: 1\n", 1))
    return ["audit", str(inv), "--format", fmt, "--now", "2026-11-29", "-o", str(tmp_path / "r")]


def test_a_command_skips_the_pydantic_plugin_scan(scenario_dir: Dir, tmp_path: Path) -> None:
    seen = _run("command", _audit(scenario_dir, tmp_path, "text", coerced=True))
    assert "mratrust.inventory_schema" in seen["modules"].split()  # validated by pydantic
    assert seen["plugins"] == "not-scanned"
    assert seen["env"] == "__all__"
    assert (
        (tmp_path / "r")
        .read_text(encoding="utf-8")
        .rstrip()
        .splitlines()[-1]
        .startswith("Summary: ")
    )


def test_a_library_call_leaves_pydantic_plugins_alone(scenario_dir: Dir, tmp_path: Path) -> None:
    seen = _run("library", _audit(scenario_dir, tmp_path, "text", coerced=True))
    assert seen["plugins"] == "scanned"
    assert seen["env"] == "None"


def test_a_users_own_plugin_setting_is_kept(scenario_dir: Dir, tmp_path: Path) -> None:
    args = _audit(scenario_dir, tmp_path, "text", coerced=True)
    seen = _run("command", args, env_value="some_plugin")
    assert seen["env"] == "some_plugin"
    assert seen["plugins"] == "scanned"  # a named plugin is disabled, the others are looked up


@pytest.mark.parametrize(("fmt", "loads_json"), [("text", False), ("json", True)])
def test_a_text_audit_loads_no_json_encoder(
    scenario_dir: Dir, tmp_path: Path, fmt: str, loads_json: bool
) -> None:
    modules = set(_run("command", _audit(scenario_dir, tmp_path, fmt))["modules"].split())
    assert "mratrust.audit" in modules
    assert ("json" in modules) is loads_json


def test_an_offline_audit_builds_no_class_for_live_handshakes(
    scenario_dir: Dir, tmp_path: Path
) -> None:
    offline = set(_run("command", _audit(scenario_dir, tmp_path, "text"))["modules"].split())
    assert "mratrust.rules.observed" in offline
    assert "mratrust.observation" not in offline
    from mratrust import probe_audit
    from mratrust.observation import Observed

    assert probe_audit.Observed is Observed  # what --probe records its handshakes with


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_a_command_parses_with_its_own_parser_alone() -> None:
    full = _subparsers(build_parser())
    assert set(full) == _OWN_COMMANDS | set(_ATTACHED)  # probe, lab and collect register theirs
    for name in sorted(full):
        alone = _subparsers(build_parser(name))
        assert list(alone) == [name]
        assert alone[name].prog == full[name].prog
        assert alone[name].format_help() == full[name].format_help()


def test_a_usage_error_reads_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "inv.yaml", "--format", "pdf"]) == 2
    alone = capsys.readouterr().err
    assert "mratrust audit: argument --format: invalid choice: 'pdf'" in alone
    with pytest.raises(UsageError) as full:
        build_parser().parse_args(["audit", "inv.yaml", "--format", "pdf"])
    assert alone.strip() == str(full.value)


_CLIS = ("mratrust.probe.cli", "mratrust.lab.cli", "mratrust.collect.cli")


@pytest.mark.parametrize(
    ("args", "loads"),
    [
        (["audit", "--help"], ()),
        (["probe", "--help"], ("mratrust.probe.cli",)),
        (["lab", "--help"], ("mratrust.lab.cli",)),
        (["collect", "--help"], ("mratrust.collect.cli",)),
        (["--help"], _CLIS),
    ],
)
def test_a_command_loads_its_own_command_line_and_no_other(
    args: list[str], loads: tuple[str, ...]
) -> None:
    code = f"from mratrust.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"
    loaded = modules_after(code)
    assert {m for m in _CLIS if m in loaded} == set(loads)


@pytest.mark.parametrize(("sid", "has_fixes"), [("B0", False), ("F03", True)])
def test_the_fixes_load_with_the_first_finding_that_has_one(
    scenario_dir: Dir, sid: str, has_fixes: bool
) -> None:
    from mratrust.audit import audit
    from mratrust.inventory import load_inventory
    from tests.conftest import NOW

    inv = scenario_dir(sid) / "inventory.yaml"
    report = audit(load_inventory(inv), now=NOW)
    assert any(f.fixes for f in report.findings) is has_fixes
    run = f"from mratrust.cli import main\nmain(['audit', {str(inv)!r}, '-o', '/dev/null'])"
    loaded = modules_after(run)
    assert "mratrust.rules.c2u" in loaded
    assert ("mratrust.fixes" in loaded) is has_fixes


def test_an_audit_reads_mozillas_roots_without_importlib_resources_readers(
    scenario_dir: Dir, tmp_path: Path
) -> None:
    modules = modules_after(
        f"from mratrust.cli import main\nmain({_audit(scenario_dir, tmp_path, 'text')!r})"
    )
    assert "mratrust.sunset" in modules
    # the file and certifi's version are read beside certifi's code, without importing it
    assert not {"certifi", "importlib.resources", "importlib.readers", "zipfile"} & modules
    import certifi

    from mratrust.sunset import _certifi

    assert _certifi() == (
        certifi.where(),
        f"Mozilla's root store (certifi {certifi.__version__})",
    )


def _fake_certifi(root: Path, init: str) -> Path:
    """A certifi package under ``root`` with its own ``__init__.py`` and the real roots."""
    import certifi

    package = root / "certifi"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(init, encoding="utf-8")
    pem = Path(certifi.__file__).with_name("cacert.pem")
    (package / "cacert.pem").write_bytes(pem.read_bytes())
    return package


@pytest.mark.parametrize(
    ("init", "imported"),
    [
        ('__version__ = "2031.01.02"\nraise SystemExit("imported")\n', False),
        ("__version__ = '2031.01.02'\n", False),
        # a version line of another shape: certifi itself is asked (imported)
        ('__version__ = ".".join(["2031", "01", "02"])\n', True),
        ("from ._version import __version__\n", True),
    ],
)
def test_certifis_version_line_is_read_or_certifi_is_asked(
    tmp_path: Path, init: str, imported: bool
) -> None:
    package = _fake_certifi(tmp_path, init)
    if "_version" in init:
        (package / "_version.py").write_text('__version__ = "2031.01.02"\n', encoding="utf-8")
    code = (
        f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\n"
        "from mratrust.sunset import _certifi\n"
        "print(*_certifi(), sep='|')\nprint('certifi' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    answer, was_imported = done.stdout.splitlines()
    path, label = answer.split("|")
    assert Path(path) == package / "cacert.pem"
    assert label == "Mozilla's root store (certifi 2031.01.02)"
    assert was_imported == str(imported)


def test_an_imported_certifi_is_asked_itself(tmp_path: Path) -> None:
    """certifi imported already (from wherever): its own module answers, not a path search."""
    package = _fake_certifi(tmp_path / "first", '__version__ = "2031.01.02"\n')
    _fake_certifi(tmp_path / "second", '__version__ = "1999.01.01"\n')
    code = (
        f"import sys\nsys.path.insert(0, {str(tmp_path / 'first')!r})\nimport certifi\n"
        f"sys.path.insert(0, {str(tmp_path / 'second')!r})\n"
        "from mratrust.sunset import _certifi\nprint(*_certifi(), sep='|')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert (
        done.stdout.strip() == f"{package / 'cacert.pem'}|Mozilla's root store (certifi 2031.01.02)"
    )


def test_certifi_imported_from_a_zip_still_gives_its_roots(tmp_path: Path) -> None:
    """Where the file is not beside certifi's code, ``certifi.where()`` finds it (extracting it
    from the zip): the same roots, through importlib.resources' readers."""
    import zipfile

    import certifi

    package = Path(certifi.__file__).parent
    archive = tmp_path / "certifi.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(package.iterdir()):
            if f.is_file() and f.suffix in (".py", ".pem", ".typed"):
                z.write(f, f"certifi/{f.name}")
    code = (
        f"import sys\nsys.path.insert(0, {str(archive)!r})\n"
        "import certifi\nfrom mratrust.sunset import policy\n"
        "p = policy()\nassert certifi.__file__.startswith(sys.path[0]), certifi.__file__\n"
        "print(len(p.roots.certs), p.roots_source)"
    )
    zipped = modules_after(code)
    assert "importlib.readers" in zipped
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    from mratrust.sunset import policy

    here = policy()
    assert done.stdout.split(" ", 1) == [str(len(here.roots.certs)), here.roots_source + "\n"]
    assert len(here.roots.certs) > 100


@pytest.mark.parametrize(
    ("text", "wraps"), [(("a plain message " * 20).strip(), False), ("a  b " * 60, True)]
)
def test_the_text_report_imports_textwrap_only_for_text_it_cannot_lay_out(
    text: str, wraps: bool
) -> None:
    code = f"from mratrust.report.text import _wrap\n_wrap({text!r}, 80, '  ', '  ')"
    assert ("textwrap" in modules_after(code)) is wraps


def test_a_text_audit_imports_no_textwrap(scenario_dir: Dir, tmp_path: Path) -> None:
    modules = modules_after(
        f"from mratrust.cli import main\nmain({_audit(scenario_dir, tmp_path, 'text')!r})"
    )
    assert "mratrust.report.text" in modules
    assert "textwrap" not in modules


@pytest.mark.parametrize(("sid", "restarts"), [("B0", False), ("F03", True)])
def test_the_restart_tables_load_with_the_first_finding_that_asks_for_a_restart(
    scenario_dir: Dir, tmp_path: Path, sid: str, restarts: bool
) -> None:
    inv = scenario_dir(sid) / "inventory.yaml"
    out = tmp_path / "r"
    args = ["audit", str(inv), "--now", "2026-11-29", "-o", str(out)]
    loaded = modules_after(f"from mratrust.cli import main\nmain({args!r})")
    assert "mratrust.rules.u2c" in loaded
    assert ("mratrust.products" in loaded) is restarts
    report = out.read_text(encoding="utf-8")
    assert ("utils service restart Cisco CallManager" in report) is restarts


def test_parsing_a_command_line_imports_no_shutil(scenario_dir: Dir, tmp_path: Path) -> None:
    loaded = modules_after(
        "from mratrust.cli import build_parser\n"
        f"build_parser('audit').parse_args({_audit(scenario_dir, tmp_path, 'text')!r})"
    )
    assert "argparse" in loaded
    assert "shutil" not in loaded
    # the twin: argparse's own formatter asks shutil for the width
    plain = modules_after(
        "import argparse\np = argparse.ArgumentParser()\np.add_argument('--x')\np.parse_args([])"
    )
    assert "shutil" in plain


def _audit_help(formatter: type[argparse.HelpFormatter] | None = None) -> str:
    parser = _subparsers(build_parser("audit"))["audit"]
    if formatter is not None:
        parser.formatter_class = formatter
    return parser.format_help()


@pytest.mark.parametrize("columns", ["50", "120", "", "junk", "-3"])
def test_help_is_laid_out_to_the_width_shutil_would_give(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert _audit_help() == _audit_help(argparse.HelpFormatter)  # which asks shutil


def test_help_follows_the_terminals_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    narrow = _audit_help()
    monkeypatch.setenv("COLUMNS", "160")
    wide = _audit_help()
    assert narrow != wide
    assert max(map(len, narrow.splitlines())) < max(map(len, wide.splitlines()))
