"""The lab as a background process (lab_up/lab_down) and the ``lab`` sub-commands."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mratrust.cli import main
from mratrust.errors import LabError
from mratrust.inventory import load_inventory
from mratrust.lab.cli import add_parser, run
from mratrust.lab.process import LabInfo, lab_down, lab_status, lab_up

pytestmark = pytest.mark.slow

TIMEOUT = 5.0


def refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(TIMEOUT)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def https_get(port: int) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock,
        ctx.wrap_socket(sock) as tls,
    ):
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := tls.recv(4096):
            data += chunk
        return data


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabInfo]:
    directory = tmp_path_factory.mktemp("lab-up")
    info = lab_up("F01", directory, ttl_seconds=300)
    try:
        yield info
    finally:
        if (directory / "lab.json").exists():
            lab_down(directory)


def test_lab_up_writes_lab_json_and_a_probe_inventory(running: LabInfo) -> None:
    data = json.loads((running.directory / "lab.json").read_text())
    assert data["scenario"] == "F01" and data["pid"] == running.pid
    assert running.expires_at > running.started_at
    assert set(running.ports) == {
        "cucm-pub.example.com",
        "cucm-sub1.example.com",
        "imp1.example.com",
        "cuc1.example.com",
    }
    deployment = load_inventory(running.inventory)
    probes = {n.name: n.probe for c in deployment.uc_clusters for n in c.nodes}
    for node, ports in running.ports.items():
        probe = probes[node]
        assert probe is not None and probe.host == "127.0.0.1"
        for role, port in ports.items():
            assert probe.port_for(role) == port


def test_lab_up_serves_every_port(running: LabInfo) -> None:
    for node, role, port in running.endpoints():
        if role in (8443, 443):
            assert node.encode() in https_get(port)
        else:
            assert not refused(port)


def test_second_lab_in_the_same_folder_is_refused(running: LabInfo) -> None:
    with pytest.raises(LabError, match=r"already holds a running lab .*lab down"):
        lab_up("B0", running.directory)
    info, alive = lab_status(running.directory)
    assert alive and info.scenario == "F01"


def test_unknown_scenario_starts_nothing(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="unknown scenario 'F77'; valid scenarios: B0"):
        lab_up("F77", tmp_path / "lab")
    assert not (tmp_path / "lab").exists()


def test_bad_ttl(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="positive"):
        lab_up("B0", tmp_path, ttl_seconds=0)


def test_lab_down_without_a_lab(tmp_path: Path) -> None:
    with pytest.raises(LabError, match=r"holds no lab \(lab\.json not found\)"):
        lab_down(tmp_path)


def test_lab_down_stops_the_process_and_frees_the_ports(tmp_path: Path) -> None:
    info = lab_up("B0", tmp_path / "lab", ttl_seconds=300)
    ports = [p for _, _, p in info.endpoints()]
    assert not any(refused(p) for p in ports)
    stopped = lab_down(tmp_path / "lab")
    assert stopped.pid == info.pid
    assert process_gone(info.pid)
    assert all(refused(p) for p in ports)
    assert not (tmp_path / "lab" / "lab.json").exists()
    assert (tmp_path / "lab" / "inventory.yaml").exists()
    assert lab_down(tmp_path / "lab") is None  # stopping twice is harmless


def test_the_lab_stops_by_itself_after_its_ttl(tmp_path: Path) -> None:
    info = lab_up("B0", tmp_path, ttl_seconds=1)
    deadline = time.monotonic() + 20
    while not process_gone(info.pid) and time.monotonic() < deadline:
        _, alive = lab_status(tmp_path)  # also reaps the exited child
        if not alive:
            break
        time.sleep(0.1)
    assert not lab_status(tmp_path)[1]
    assert all(refused(p) for _, _, p in info.endpoints())
    lab_down(tmp_path)  # cleans up a lab that already ended
    assert not (tmp_path / "lab.json").exists()


# --------------------------------------------------------------------------- CLI


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mratrust")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    return parser.parse_args(argv)


def test_cli_list_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(parse(["lab", "list"])) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["ID", "VERSIONS", "TITLE"]
    assert "F05" in text and "X14.0.7 -> X14.2.1" in text
    assert run(parse(["lab", "list", "--format", "json"])) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in data][:3] == ["B0", "F01", "F03"]
    assert data[1]["version"] == "X12.7" and data[1]["upgrade_to"] == "X14.0.2"


def test_cli_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(parse(["lab", "down", str(tmp_path)])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no lab" in err
    assert run(parse(["lab", "up", "nope", "--dir", str(tmp_path / "x")])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown scenario 'nope'" in err


def test_cli_ttl_must_be_positive() -> None:
    with pytest.raises(SystemExit):
        parse(["lab", "up", "B0", "--dir", "x", "--ttl", "-1"])


def test_cli_up_and_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "lab"
    assert run(parse(["lab", "up", "B0", "--dir", str(directory), "--format", "json"])) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "running" and data["scenario"] == "B0"
    port = data["ports"]["cuc1.example.com"]["443"]
    assert b"<product>cuc</product>" in https_get(port)
    assert run(parse(["lab", "down", str(directory)])) == 0
    assert "stopped; its ports are free" in capsys.readouterr().out
    assert refused(port) and process_gone(data["pid"])


def test_cli_down_twice_says_already_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "lab"
    lab_up("B0", directory, ttl_seconds=300)
    assert run(parse(["lab", "down", str(directory)])) == 0
    assert "stopped; its ports are free" in capsys.readouterr().out
    assert run(parse(["lab", "down", str(directory)])) == 0
    out = capsys.readouterr()
    assert f"no lab running in {directory}: it was already stopped" in out.out and not out.err
    # a folder that never held a lab is still an error (a typo, not a stopped lab)
    assert run(parse(["lab", "down", str(tmp_path)])) == 2
    assert "holds no lab" in capsys.readouterr().err


def _hint(text: str, label: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if ln.startswith(label))
    argv = shlex.split(line.removeprefix(label))
    assert argv[0] == "mratrust"
    return argv[1:]


def test_up_prints_commands_that_show_the_scenarios_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # F01 runs X12.7 and breaks on X14.0.2: the audit hint must judge X14.0.2
    directory = tmp_path / "f01"
    try:
        assert run(parse(["lab", "up", "F01", "--dir", str(directory)])) == 0
        text = capsys.readouterr().out
        audit_argv = _hint(text, "audit it: ")
        assert audit_argv[-2:] == ["--version", "X14.0.2"] and "--probe" in audit_argv
        assert main(audit_argv) == 1
        assert re.search(r"FAIL\s+U2C-TRUST", capsys.readouterr().out)
        # negative twin: the running version alone shows nothing failing (the old hint)
        assert main(audit_argv[:-2]) == 0
        capsys.readouterr()
        upgrade_argv = _hint(text, "upgrade:  ")
        assert upgrade_argv[0] == "upgrade-check" and upgrade_argv[-2:] == ["--to", "X14.0.2"]
        assert main(upgrade_argv) == 1
        capsys.readouterr()
        probe_argv = _hint(text, "probe it: ")
        assert probe_argv[4:8] == ["--as-version", "X14.0.2", "--upgraded-from", "X12.7"]
    finally:
        lab_down(directory)


def test_up_prints_a_probe_command_that_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # F11: fresh X14.2.1, CUCM allows EC; the lab's port and the lab's trusted CA list
    directory = tmp_path / "f11"
    try:
        assert run(parse(["lab", "up", "F11", "--dir", str(directory), "--format", "json"])) == 0
        data = json.loads(capsys.readouterr().out)
        port = data["ports"]["cucm-pub.example.com"]["8443"]
        argv = shlex.split(data["commands"]["probe"])[1:]
        assert argv[1:4] == ["cucm-pub.example.com:8443{127.0.0.1}", "--port-map", f"8443={port}"]
        assert main(argv) == 1
        out = capsys.readouterr().out
        assert "FAIL (untrusted)" in out and "ECDSA certificate CN=cucm-pub-EC.example.com" in out
        # negative twin: the same endpoint judged without the lab's trusted CA list
        assert main(argv[: argv.index("--trust")]) != 1
    finally:
        lab_down(directory)
