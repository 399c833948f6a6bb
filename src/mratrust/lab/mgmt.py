"""The management interfaces ``collect`` reads, simulated on loopback from a scenario.

One HTTPS server on 127.0.0.1 answers for every system of the scenario, told apart by the Host
header (as name-based virtual hosts are): Expressway-C and Expressway-E REST
(``/api/provisioning/…``, each peer answering for its own cluster), and on
each UC node UDS (``/cucm-uds/servers``, no account), AXL ``executeSQLQuery`` (``/axl/``) and the
certificate management snapshot (``/platformcom/api/v1/certmgr/config/snapshot/server``, from
version 14). Answers come from the scenario's own certificates and settings.

HTTP Basic authentication as the products do it: 401 for a missing or wrong password, 403 for an
account without the role. The AXL simulator answers exactly the queries ``collect`` sends
(:data:`mratrust.collect.axl.QUERIES`) and a SOAP fault (axlcode -201, as Informix reports a
syntax error) for any other SQL. Hostile variants per host (``faults``): ``slow`` (the body
trickles), ``oversized`` (a body without end), ``malformed`` (broken JSON/XML), ``entities`` (an
XML entity bomb), ``sql-fault`` (every query faults), ``hang`` (never answers), ``legacy``
(an Expressway build without the resources whose path is assumed: 404).

The server's own certificate comes from a management CA of its own (``mgmt-ca.pem``), which the
lab's sources file names as ``api_trust``.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.serialization import Encoding
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from mratrust.lab.pkigen import Validity, make_ca, make_leaf, write_certs, write_key
from mratrust.lab.scenarios import ClusterMaterial, ScenarioMaterial
from mratrust.topology import CUCM_HTTPS_PORT as UC_API
from mratrust.topology import EXPRESSWAY_API_PORT as API
from mratrust.versions import Version, behaviour

MGMT_CA = "mgmt-ca.pem"
MGMT_LOG = "mgmt.log"
MAX_BODY = 1024 * 1024
SLOW_SECONDS = 60.0
OVERSIZED_BYTES = 64 * 1024 * 1024
MAX_CONNECTIONS = 32

ASSUMED_EXPRESSWAY = frozenset(
    {
        "/api/provisioning/common/cluster",
        "/api/provisioning/common/ciphers",
        "/api/provisioning/edgeconfigserver",
        "/api/provisioning/controller/server/unityconnection",
        "/api/provisioning/certs/client",
        "/api/provisioning/zone/traversalclient",
        "/api/provisioning/zone/traversalserver",
        "/api/provisioning/common/domain",
        "/api/provisioning/certs/configuration",
    }
)
"""Resources whose path this tool assumed: the ``legacy`` fault answers 404 for them."""

ROLE_EXPRESSWAY, ROLE_AXL, ROLE_PLATFORM = "expressway-api", "axl-read", "platform"


@dataclass(frozen=True, slots=True)
class Account:
    """A lab account: its user, random password and roles."""

    user: str
    password: str = field(repr=False)
    roles: frozenset[str]


def lab_accounts() -> dict[str, Account]:
    """Credentials name → account, each with its own random password."""

    def pw() -> str:
        return secrets.token_urlsafe(18)

    return {
        "expc": Account("mratrust-api", pw(), frozenset({ROLE_EXPRESSWAY})),
        "expe": Account("mratrust-api-e", pw(), frozenset({ROLE_EXPRESSWAY})),
        "cucm-axl": Account("axl-readonly", pw(), frozenset({ROLE_AXL})),
        "cucm-os": Account("cucm-platform", pw(), frozenset({ROLE_PLATFORM})),
        "imp-os": Account("imp-platform", pw(), frozenset({ROLE_PLATFORM})),
        "cuc-os": Account("cuc-platform", pw(), frozenset({ROLE_PLATFORM})),
        "norole": Account("no-role", pw(), frozenset()),
    }


def _on(value: bool | None) -> str | None:
    return None if value is None else ("On" if value else "Off")


def _pem(certs: Any) -> str:
    return "".join(c.public_bytes(_PEM).decode() for c in certs)


_PEM = Encoding.PEM


def _major(version: str | None) -> int:
    head = (version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else 99


class _Answers:
    """What each system answers, from the scenario."""

    def __init__(self, material: ScenarioMaterial) -> None:
        from mratrust.collect import axl

        self.m = material
        self.axl = axl
        self.c_peers = {p.name.lower(): p for p in material.peers}
        self.e_peers = {p.name.lower(): p for p in material.expe_peers}
        self.peers = {**self.c_peers, **self.e_peers}
        self.nodes: dict[str, tuple[ClusterMaterial, Any]] = {}
        for c in material.clusters:
            for n in c.nodes:
                self.nodes[n.name.lower()] = (c, n)
                self.nodes.setdefault(n.fqdn.lower(), (c, n))

    def names(self) -> list[str]:
        return sorted({*self.peers, *self.nodes})

    # Expressway-C and Expressway-E REST
    def expressway(self, host: str, path: str) -> Any:
        path = path.rstrip("/")
        peer = self.peers[host]
        exp_e = self.m.spec.expressway_e
        if host in self.e_peers and exp_e is not None:
            common = self._expressway_common(
                path, peer, exp_e.version, exp_e.cluster_name, exp_e.cluster_tls_mode, "e"
            )
            if common is not None:
                return common
            if path == "/api/provisioning/zone/traversalserver":
                return [
                    {
                        "Name": "UC traversal",
                        "TlsVerifySubjectName": exp_e.tls_verify_subject_name,
                        "Port": exp_e.traversal_port,
                    }
                ]
            if path == "/api/provisioning/common/domain":
                return [{"Name": d} for d in exp_e.edge_domains]
            if path == "/api/provisioning/certs/configuration":
                return {"EnableServerEkuUpload": _on(exp_e.enable_server_eku_upload)}
            return None
        exp = self.m.spec.expressway
        common = self._expressway_common(
            path, peer, exp.version, exp.cluster_name, exp.cluster_tls_mode, "c"
        )
        if common is not None:
            return common
        products = {"cucm": "cucm", "imp": "imp", "unityconnection": "cuc"}
        prefix = "/api/provisioning/controller/server/"
        if path.startswith(prefix) and path[len(prefix) :] in products:
            product = products[path[len(prefix) :]]
            return [
                {"Address": c.spec.publisher, "TlsVerifyMode": _on(c.spec.tls_verify)}
                for c in self.m.clusters
                if c.spec.product == product
            ]
        if path == "/api/provisioning/common/protocol/sip/configuration":
            return {
                "SipTlsVersions": list(exp.sip_tls_versions),
                "TlsSignatureAlgoPrefRsa": _on(exp.sip_signature_pref_rsa),
            }
        if path == "/api/provisioning/common/ciphers":
            return {
                "UcServerDiscovery": exp.ciphers.uc_server_discovery,
                "Sip": exp.ciphers.sip,
                "Https": exp.ciphers.https,
            }
        if path == "/api/provisioning/edgeconfigserver":
            return {"VerifyOriginServer": _on(exp.verify_origin_server)}
        if path == "/api/provisioning/zone/traversalclient":
            if exp_e is None:
                return []
            return [
                {
                    "Name": "UC traversal",
                    "PeerAddresses": list(exp_e.peer_addresses),
                    "Port": exp_e.traversal_port,
                }
            ]
        return None

    def _expressway_common(
        self,
        path: str,
        peer: Any,
        version: str,
        cluster_name: str | None,
        tls_mode: str,
        side: str,
    ) -> Any:
        """What both Expressways answer alike (None: not one of those resources)."""
        if path == "/api/provisioning/sysinfo":
            return {"Version": version}
        if path == "/api/provisioning/common/cluster":
            peers = self.m.peers if side == "c" else self.m.expe_peers
            return {
                "ClusterName": cluster_name,
                "Peers": [{"Address": p.name} for p in peers],
                "TlsVerificationMode": tls_mode.capitalize(),
            }
        if path == "/api/provisioning/certs/server":
            return {"Certificate": _pem(peer.identity.chain())}
        if path == "/api/provisioning/certs/client":
            if not behaviour(Version.parse(version)).separate_client_certificate:
                return None  # the resource exists from X15.5
            client = peer.client
            return {"Certificate": _pem(client.chain()) if client is not None else None}
        return None

    # UDS
    def uds(self, host: str) -> bytes | None:
        cluster, _ = self.nodes[host]
        if cluster.spec.product != "cucm":
            return None
        body = "".join(f"<server>{escape(n.name)}</server>" for n in cluster.nodes)
        return f'<?xml version="1.0" encoding="UTF-8"?><servers>{body}</servers>'.encode()

    # certificate management snapshot
    def snapshot(self, host: str) -> Any:
        cluster, node = self.nodes[host]
        if _major(cluster.spec.version) < 14:
            return None
        return {
            "trackingId": "lab",
            "server": node.name,
            "identities": [  # as the scenario's export: the certificate with its intermediates
                {"service": name, "certificate": _pem(ident.chain()), "csr": None}
                for name, ident in node.identities.items()
            ],
            "trusts": [
                {
                    "service": store,
                    "certificate_data": [
                        {"filename": f"{item.label}.pem", "certificate": _pem([item.cert])}
                        for item in items
                    ],
                }
                for store, items in cluster.stores.items()
            ],
            "revokedCertificates": [],
        }

    # AXL SQL
    def sql(self, host: str, sql: str) -> list[dict[str, str]] | None:
        a = self.axl
        cluster, _ = self.nodes[host]
        spec = cluster.spec
        norm = " ".join(sql.split())
        if norm == a.SQL_VERSION:
            return [{"version": spec.version or ""}]
        if norm == a.SQL_NODES:
            rows = [
                {
                    "name": n.name,
                    "tknodeusage": "0" if n.role == "publisher" else "1",
                    "tkprocessnoderole": "1",
                }
                for n in cluster.nodes
            ]
            for other in self.m.clusters:
                if other.spec.product == "imp":
                    rows += [
                        {
                            "name": n.name,
                            "tknodeusage": "0" if n.role == "publisher" else "1",
                            "tkprocessnoderole": "2",
                        }
                        for n in other.nodes
                    ]
            return sorted(rows, key=lambda r: r["name"])
        if norm == a.SQL_PARAMS:
            return [
                {
                    "paramname": "ClusterSecurityMode",
                    "paramvalue": "1" if spec.security_mode == "mixed" else "0",
                },
                {
                    "paramname": "HTTPSCiphers",
                    "paramvalue": "1" if spec.https_ciphers == "ec-and-rsa" else "0",
                },
                {"paramname": "ClusterSIPOAuthMode", "paramvalue": "1" if spec.sip_oauth else "0"},
            ]
        if norm == a.SQL_PROFILES:
            return [{"name": p} for p in sorted(spec.secure_profiles)]
        if norm == a.SQL_VOICEMAIL:
            hosts = sorted(
                {
                    c.spec.voicemail_host
                    for c in self.m.clusters
                    if c.spec.product == "cuc" and c.spec.voicemail_host
                }
            )
            return [{"hostnameorip": h} for h in hosts]
        if norm == a.SQL_CERTS:
            rows = []
            pkid = 0
            for n in sorted(cluster.nodes, key=lambda n: n.name):
                units: list[tuple[str, list[Any]]] = [
                    (name, [ident.cert]) for name, ident in node_identities(n)
                ]
                units += [
                    (store, [i.cert for i in items]) for store, items in cluster.stores.items()
                ]
                for unit, certs in sorted(units, key=lambda u: u[0]):
                    for cert in certs:
                        pkid += 1
                        rows.append(
                            {
                                "pkid": f"{pkid:08d}",
                                "certificate": _pem([cert]),
                                "unit": unit,
                                "node": n.name,
                            }
                        )
            return rows
        return None


def node_identities(node: Any) -> list[tuple[str, Any]]:
    return list(node.identities.items())


def _soap_rows(rows: list[dict[str, str]]) -> bytes:
    body = "".join(
        "<row>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in row.items()) + "</row>"
        for row in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Body><ns:executeSQLQueryResponse xmlns:ns="http://www.cisco.com/AXL/API/12.5">'
        f"<return>{body}</return></ns:executeSQLQueryResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def _soap_fault(message: str, code: int = -201) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode>"
        f"<faultstring>{escape(message)}</faultstring><detail><axlError>"
        f"<axlcode>{code}</axlcode><axlmessage>{escape(message)}</axlmessage>"
        "<request>executeSQLQuery</request></axlError></detail></soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<servers><server>&lol2;</server></servers>"
)


class MgmtServer:
    """The management interfaces of one scenario on ``host`` (one port, Host-header routing)."""

    def __init__(
        self,
        material: ScenarioMaterial,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        accounts: Mapping[str, Account] | None = None,
        faults: Mapping[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.material = material
        self.workdir = Path(workdir)
        self.host = host
        self.accounts = dict(accounts) if accounts is not None else lab_accounts()
        self.faults = {k.lower(): v for k, v in (faults or {}).items()}
        self.answers = _Answers(material)
        self.log_path = log_path
        self._log_lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.ca_path = self.workdir / MGMT_CA

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def _context(self) -> ssl.SSLContext:
        now: datetime = datetime.now(UTC)  # the live server's own certificate: valid now
        ca = make_ca("MRATRUST-LAB-MGMT-CA", now=now, key_slot="mgmt-ca")
        names = self.answers.names()
        leaf = make_leaf(
            "lab-management",
            now=now,
            issuer=ca,
            san=[*names, self.host],
            validity=Validity.around(now, days_before=1, days_after=30),
            key_slot="mgmt-leaf",
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        write_certs(self.ca_path, [ca.cert])
        cert = write_certs(self.workdir / "mgmt-server.pem", leaf.chain())
        key = write_key(self.workdir / "mgmt-server.key", leaf.key)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        return ctx

    def start(self) -> MgmtServer:
        ctx = self._context()
        owner = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def process_request(self, request: Any, client_address: Any) -> None:
                if not owner._slots.acquire(blocking=False):
                    self.shutdown_request(request)
                    return
                super().process_request(request, client_address)

            def process_request_thread(self, request: Any, client_address: Any) -> None:
                try:
                    request.settimeout(10.0)
                    try:
                        tls = ctx.wrap_socket(request, server_side=True)
                    except (OSError, ssl.SSLError):
                        with contextlib.suppress(OSError):
                            request.close()
                        return
                    super().process_request_thread(tls, client_address)
                finally:
                    owner._slots.release()

        self._server = Server((self.host, 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="lab-mgmt",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MgmtServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log(self, **entry: Any) -> None:
        if self.log_path is None:
            return
        with self._log_lock, self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")

    # -------------------------------------------------------------- the sources file

    def sources_document(self, probe: Mapping[str, Any], *, ca_file: str) -> dict[str, Any]:
        """The lab's sources file (SPEC §7): every system at this server, nodes' TLS ports."""
        m = self.material
        exp = m.spec.expressway
        expc: dict[str, Any] = {"address": m.peers[0].name, "api_port": API, "credentials": "expc"}
        if exp.upgraded_from:
            expc["upgraded_from"] = exp.upgraded_from
        else:
            expc["fresh_install"] = True
        expe: dict[str, Any] | None = None
        exp_e = m.spec.expressway_e
        if exp_e is not None and m.expe_peers:
            expe = {"address": m.expe_peers[0].name, "api_port": API, "credentials": "expe"}
            if exp_e.upgraded_from:
                expe["upgraded_from"] = exp_e.upgraded_from
            else:
                expe["fresh_install"] = True
        uc = []
        for c in m.clusters:
            entry: dict[str, Any] = {
                "product": c.spec.product,
                "name": c.name,
                "publisher": c.spec.publisher,
                "api_port": UC_API,
            }
            if c.spec.product == "cucm":
                entry["axl"] = "cucm-axl"
            entry["platform"] = f"{c.spec.product}-os"
            if c.spec.product == "cuc":  # no interface lists Unity Connection's nodes
                entry["nodes"] = [n.name for n in c.nodes]
            uc.append(entry)
        addresses: dict[str, Any] = {}
        for peer in m.peers:
            addresses[peer.name] = {"host": self.host, "api_ports": {API: self.port}}
        for peer in m.expe_peers:
            entry = {"host": self.host, "api_ports": {API: self.port}}
            target = probe.get(peer.name)
            if target is not None:
                entry["ports"] = {int(k): int(v) for k, v in sorted(target.ports.items())}
            addresses[peer.name] = entry
        for c in m.clusters:
            for n in c.nodes:
                target = probe.get(n.name)
                entry = {"host": self.host, "api_ports": {UC_API: self.port}}
                if target is not None:
                    entry["ports"] = {int(k): int(v) for k, v in sorted(target.ports.items())}
                addresses[n.name] = entry
        files: dict[str, Any] = {
            "expressway_c_trusted_cas": {
                p.name: f"certs/expressway/{p.name}-trusted-cas.pem" for p in m.peers
            }
        }
        if expe is not None:
            files["expressway_e_trusted_cas"] = {
                p.name: f"certs/expressway-e/{p.name}-trusted-cas.pem" for p in m.expe_peers
            }
        return {
            "schema": 1,
            "name": m.spec.name,
            "expressway_c": expc,
            **({"expressway_e": expe} if expe is not None else {}),
            "uc": uc,
            "files": files,
            "api_trust": ca_file,
            "addresses": addresses,
        }

    def credentials_document(self) -> dict[str, Any]:
        return {
            name: {"user": a.user, "password": a.password}
            for name, a in sorted(self.accounts.items())
        }


def write_collect_files(
    server: MgmtServer, directory: Path, probe: Mapping[str, Any]
) -> tuple[Path, Path]:
    """Write ``DIR/sources.yaml`` and ``DIR/credentials.yaml`` (mode 0600) for this lab."""
    import os

    import yaml

    directory = Path(directory)
    ca_rel = (
        server.ca_path.relative_to(directory).as_posix()
        if server.ca_path.is_relative_to(directory)
        else str(server.ca_path)
    )
    sources = directory / "sources.yaml"
    sources.write_text(
        "# mratrust lab: the systems `mratrust collect` reads (SPEC §7)\n"
        + yaml.safe_dump(server.sources_document(probe, ca_file=ca_rel), sort_keys=False),
        encoding="utf-8",
    )
    creds = directory / "credentials.yaml"
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write("# the lab's own random passwords (this file is mode 0600)\n")
        fh.write(yaml.safe_dump(server.credentials_document(), sort_keys=True))
    return sources, creds


def _handler(owner: MgmtServer) -> type[BaseHTTPRequestHandler]:
    answers = owner.answers

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "mratrust-lab-mgmt"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            return  # requests are logged by ``owner.log`` (never a header)

        def _host(self) -> str:
            return (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()

        def _send(
            self, status: int, body: bytes, ctype: str, *, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _who(self) -> tuple[str | None, Account | None]:
            header = self.headers.get("Authorization") or ""
            if not header.startswith("Basic "):
                return None, None
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, None
            for account in owner.accounts.values():
                if account.user == user and hmac.compare_digest(
                    account.password.encode(), password.encode()
                ):
                    return user, account
            return user, None

        def _auth(self, role: str) -> bool:
            user, account = self._who()
            if account is None:
                self._send(
                    401,
                    b'{"error": "authentication required"}',
                    "application/json",
                    extra={"WWW-Authenticate": 'Basic realm="lab"'},
                )
                self._logged(401, user)
                return False
            if role not in account.roles:
                self._send(403, b'{"error": "forbidden"}', "application/json")
                self._logged(403, user)
                return False
            self._user = user
            return True

        def _logged(self, status: int, user: str | None = None) -> None:
            owner.log(
                host=self._host(), method=self.command, path=self.path, status=status, user=user
            )

        def _hostile(self, kind: str, ctype: str) -> bool:
            fault = owner.faults.get(self._host())
            if fault == "hang":
                owner._stop.wait(SLOW_SECONDS)
                self.close_connection = True
                return True
            if fault == "slow":
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", "1000")
                self.send_header("Connection", "close")
                self.end_headers()
                deadline = time.monotonic() + SLOW_SECONDS
                with contextlib.suppress(OSError):
                    while time.monotonic() < deadline and not owner._stop.is_set():
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        owner._stop.wait(0.2)
                self.close_connection = True
                return True
            if fault == "oversized":
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b" " * 65536
                with contextlib.suppress(OSError):
                    for _ in range(OVERSIZED_BYTES // len(chunk)):
                        if owner._stop.is_set():
                            break
                        self.wfile.write(chunk)
                self.close_connection = True
                return True
            if fault == "malformed":
                body = b'{"Version": "X1' if kind == "json" else b"<servers><server>cucm"
                self._send(200, body, ctype)
                return True
            if fault == "entities" and kind == "xml":
                self._send(200, _BOMB, ctype)
                return True
            return False

        def do_GET(self) -> None:
            host, path = self._host(), self.path.split("?", 1)[0]
            if host in answers.peers and path.startswith("/api/"):
                if not self._auth(ROLE_EXPRESSWAY) or self._hostile("json", "application/json"):
                    return
                assumed = path.rstrip("/") in ASSUMED_EXPRESSWAY
                legacy = owner.faults.get(host) == "legacy" and assumed
                data = None if legacy else answers.expressway(host, path)
                status = 200 if data is not None else 404
                self._json(status, data if data is not None else {"error": "not found"})
                self._logged(status, self._user)
                return
            if host in answers.nodes and path == "/cucm-uds/servers":
                if self._hostile("xml", "application/xml"):
                    return
                body = answers.uds(host)
                if body is None:
                    self._send(404, b"not found", "text/plain")
                else:
                    self._send(200, body, "application/xml")
                self._logged(200 if body else 404)
                return
            if (
                host in answers.nodes
                and path == "/platformcom/api/v1/certmgr/config/snapshot/server"
            ):
                if not self._auth(ROLE_PLATFORM) or self._hostile("json", "application/json"):
                    return
                snap = answers.snapshot(host)
                status = 200 if snap is not None else 404
                self._json(status, snap if snap is not None else {"error": "not found"})
                self._logged(status, self._user)
                return
            self._send(404, b"not found", "text/plain")
            self._logged(404)

        def do_POST(self) -> None:
            host, path = self._host(), self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b"too large", "text/plain")
                return
            body = self.rfile.read(length)
            if not (host in answers.nodes and path.rstrip("/") == "/axl"):
                self._send(404, b"not found", "text/plain")
                self._logged(404)
                return
            if not self._auth(ROLE_AXL) or self._hostile("xml", "text/xml"):
                return
            cluster, _ = answers.nodes[host]
            if cluster.spec.product != "cucm":
                self._send(404, b"not found", "text/plain")
                return
            try:
                root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
            except (ParseError, DefusedXmlException):
                self._send(500, _soap_fault("the request is not well-formed XML", -1), "text/xml")
                self._logged(500, self._user)
                return
            sql = next(
                (el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "sql"), ""
            )
            rows = None if owner.faults.get(host) == "sql-fault" else answers.sql(host, sql)
            if rows is None:
                self._send(500, _soap_fault("A syntax error has occurred."), "text/xml")
                self._logged(500, self._user)
                return
            self._send(200, _soap_rows(rows), "text/xml")
            self._logged(200, self._user)

    return Handler


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound, then closed): connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


__all__ = [
    "MGMT_CA",
    "MGMT_LOG",
    "Account",
    "MgmtServer",
    "closed_port",
    "lab_accounts",
    "write_collect_files",
]
