"""Sources file, credentials (environment, 0600 file, prompt), secrets, determinism."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mratrust.cli import main
from mratrust.collect import collect
from mratrust.collect.sources import env_names, load_credentials_file, load_sources
from mratrust.errors import InputError

from .conftest import Lab


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_lab_credentials_file_is_0600(lab: Lab) -> None:
    assert lab.credentials.stat().st_mode & 0o777 == 0o600
    assert set(load_credentials_file(lab.credentials)) == set(lab.mgmt.accounts)


def test_credentials_file_readable_by_others_is_refused(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab.credentials.chmod(0o644)
    with pytest.raises(InputError, match=r"readable by others \(mode 0644\); run: chmod 600"):
        collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
    code = main(
        [
            "collect",
            str(lab.sources),
            "--credentials",
            str(lab.credentials),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    assert "chmod 600" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_credentials_from_the_environment(lab: Lab, tmp_path: Path) -> None:
    env = {}
    for name in lab.mgmt.accounts:
        user_var, pass_var = env_names(name)
        env[user_var], env[pass_var] = lab.account(name)
    assert "MRATRUST_CUCM_AXL_PASSWORD" in env
    result = collect(lab.sources, tmp_path / "out", env=env)
    assert result.exit_code == 0, result.facts.failures


def test_credentials_from_the_prompt(lab: Lab, tmp_path: Path) -> None:
    asked: list[str] = []

    def prompt(name: str) -> tuple[str, str] | None:
        asked.append(name)
        return lab.account(name)

    result = collect(lab.sources, tmp_path / "out", env={}, prompt=prompt)
    assert result.exit_code == 0
    assert sorted(asked) == ["cuc-os", "cucm-axl", "cucm-os", "expc", "imp-os"]  # once each


def test_no_credentials_skips_each_source_and_says_so(lab: Lab, tmp_path: Path) -> None:
    result = collect(lab.sources, tmp_path / "out", env={})
    assert any(
        f.line().startswith("expc1.example.com (expressway): skipped: no credentials 'expc'")
        for f in result.facts.failures
    )
    assert result.exit_code == 2
    assert "declare `version:`" in (result.error or "")


def test_sources_file_errors_name_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text(
        "schema: 1\nname: x\nexpressway_c:\n  address: e.example.com\n  pasword: x\n",
        encoding="utf-8",
    )
    code = main(["collect", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}:5: expressway_c.pasword: unknown key 'pasword'" in err
    assert "Traceback" not in err


def test_fresh_install_and_upgraded_from_exclude_each_other(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text(
        "schema: 1\nname: x\nexpressway_c:\n  address: e.example.com\n  upgraded_from: X12.7\n"
        "  fresh_install: true\n",
        encoding="utf-8",
    )
    with pytest.raises(
        InputError, match="expressway_c: give either upgraded_from or fresh_install"
    ):
        collect(bad, tmp_path / "out")
    bad.write_text(bad.read_text().replace("  fresh_install: true\n", ""), encoding="utf-8")
    assert load_sources(bad).model.expressway_c.upgraded_from == "X12.7"  # the twin


def test_collect_never_writes_over_a_hand_written_folder(lab: Lab, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not empty and holds no earlier collect"):
        collect(lab.sources, lab.directory, credentials_file=lab.credentials)


def test_no_password_in_any_output_file_or_log(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [
        ["--format", "text"],
        ["--format", "json"],
        ["--format", "json", "--output", str(tmp_path / "summary.json")],
        ["--format", "text", "--insecure-api"],
    ]
    for n, extra in enumerate(runs):
        code = main(
            [
                "collect",
                str(lab.sources),
                "--credentials",
                str(lab.credentials),
                "--out",
                str(tmp_path / f"out{n}"),
                *extra,
            ]
        )
        assert code == 0
    assert '"exit_code": 0' in (tmp_path / "summary.json").read_text(encoding="utf-8")
    wrong = {name: lab.account(name) for name in lab.mgmt.accounts}
    wrong["expc"] = (wrong["expc"][0], wrong["cucm-os"][1])  # a real password, wrong account
    failing = lab.write_credentials(wrong, "wrong.yaml")
    assert (
        main(
            [
                "collect",
                str(lab.sources),
                "--credentials",
                str(failing),
                "--out",
                str(tmp_path / "out-fail"),
                "--debug",
            ]
        )
        == 2
    )  # 401 on Expressway-C: its version is unknown, nothing could be written
    captured = capsys.readouterr()
    texts = [captured.out, captured.err]
    assert "401 Unauthorized" in captured.out
    for p in (*tmp_path.rglob("*"), lab.directory / "lab.log", lab.directory / "mgmt.log"):
        if p.is_file() and p.name not in ("credentials.yaml", "wrong.yaml"):
            texts.append(p.read_text(encoding="utf-8", errors="replace"))
    secrets = lab.passwords()
    assert len(texts) > 20
    for secret in secrets:
        assert all(secret not in text for text in texts)
    # the twin: the same search finds them where they are
    assert all(s in lab.credentials.read_text(encoding="utf-8") for s in secrets)


def test_collect_twice_gives_byte_identical_files(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = collect(
        lab.sources,
        out,
        credentials_file=lab.credentials,
        now=dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC),
    )
    before = tree(out)
    again = collect(lab.sources, out, credentials_file=lab.credentials)  # later, same deployment
    assert first.exit_code == again.exit_code == 0
    assert tree(out) == before
    other = tmp_path / "other"
    collect(
        lab.sources,
        other,
        credentials_file=lab.credentials,
        now=dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC),
    )
    changed = tree(other)
    assert changed.keys() == before.keys()
    assert [k for k in before if before[k] != changed[k]] == ["inventory.yaml"]
    diff = [
        (a, b)
        for a, b in zip(
            before["inventory.yaml"].decode().splitlines(),
            changed["inventory.yaml"].decode().splitlines(),
            strict=True,
        )
        if a != b
    ]
    assert diff and all(
        "2026-12-01T10:00:00Z" in a and "2026-12-02T10:00:00Z" in b for a, b in diff
    )
