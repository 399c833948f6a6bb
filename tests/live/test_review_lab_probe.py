"""Regressions from review: the lab never writes over a user's folder; the probe says when an
offer got no answer; bad numbers are usage errors."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from pathlib import Path

import pytest

from mratrust.cli import main
from mratrust.errors import LabError
from mratrust.lab import pkigen as pg
from mratrust.lab.process import lab_up
from mratrust.probe.engine import ProbeTarget

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def test_lab_refuses_a_folder_with_the_users_files(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text("mine\n")
    with pytest.raises(LabError, match="not empty and holds no lab"):
        lab_up("B0", tmp_path)
    assert (tmp_path / "inventory.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml"]


def test_lab_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(LabError, match=r"cannot write the lab folder|is not a folder"):
        lab_up("B0", blocker / "lab")


def test_bracketed_ipv6_address() -> None:
    t = ProbeTarget.parse("cucm-pub.example.com:8443{[::1]}")
    assert t.address == "::1" and t.host == "cucm-pub.example.com"


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1", "1e300"])
def test_timeouts_must_be_finite_and_positive(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "x.yaml", "--probe", "--timeout", value]) == 2
    err = capsys.readouterr().err
    assert "must be more than 0" in err and "internal error" not in err


class _OneShotServer:
    """Answers the first TLS connection, then accepts nothing more (later handshakes stall)."""

    def __init__(self, tmp: Path) -> None:
        leaf = pg.make_leaf("one.example.com", now=NOW, issuer=None, san=("one.example.com",))
        cert = pg.write_certs(tmp / "one.pem", [leaf.cert])
        key = pg.write_key(tmp / "one.key", leaf.key)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(10)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(2)
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def test_probe_exit_3_when_forced_offers_get_no_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = _OneShotServer(tmp_path)
    try:
        code = main(
            [
                "probe",
                f"one.example.com:{server.port}{{127.0.0.1}}",
                "--timeout",
                "1",
            ]
        )
    finally:
        server.close()
    out = capsys.readouterr().out
    assert code == 3, out
    assert "incomplete" in out and "timeout" in out


def test_damaged_lab_json_does_not_start_a_second_lab(tmp_path: Path) -> None:
    from mratrust.lab.process import lab_down

    info = lab_up("B0", tmp_path, ttl_seconds=120)
    good = (tmp_path / "lab.json").read_text()
    try:
        (tmp_path / "lab.json").write_text("{")
        with pytest.raises(LabError, match=f"lab process {info.pid} still serves this folder"):
            lab_up("B0", tmp_path)
    finally:
        (tmp_path / "lab.json").write_text(good)
        lab_down(tmp_path)
