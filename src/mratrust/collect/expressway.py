"""Expressway-C and Expressway-E REST (``/api/…``, HTTP Basic, an administrator account with API
access). One module reads both; ``side`` says which one, and so which resources are asked and
where the facts go (settings ``expressway.…`` or ``expressway_e.…``, certificates under cluster
``""`` or :data:`~mratrust.collect.base.EXPRESSWAY_E`).

Cisco names the resources in the REST API Summary Guide (X14.2) and the Administrator Guide
(``/api/raml`` lists what a build offers) but not their bodies. The paths and field names below
marked *assumed* are this tool's assumption (the README lists them); a resource a build does not
offer (404) leaves its fields unknown and says so.

=================================================  =========  ================================
path                                               status     gives
=================================================  =========  ================================
/api/provisioning/sysinfo                          named      ``Version``
/api/provisioning/common/cluster                   assumed    ``ClusterName``, ``Peers[].Address``
/api/provisioning/controller/server/cucm           named      ``[{Address, TlsVerifyMode}]``
/api/provisioning/controller/server/imp            named      same
/api/provisioning/controller/server/unityconnection assumed   same
/api/provisioning/common/protocol/sip/configuration named     ``SipTlsVersions``,
                                                              ``TlsSignatureAlgoPrefRsa``
/api/provisioning/common/ciphers                   assumed    ``UcServerDiscovery``, ``Sip``,
                                                              ``Https``
/api/provisioning/edgeconfigserver                 assumed    ``VerifyOriginServer``
/api/provisioning/certs/server                     named      ``Certificate`` (PEM, + chain)
/api/provisioning/certs/client                     assumed    ``Certificate`` (X15.5 client
                                                              certificate; null: none)
/api/provisioning/zone/traversalclient   (C)       assumed    ``[{Name, PeerAddresses, Port}]``
/api/provisioning/zone/traversalserver   (E)       assumed    ``[{Name, TlsVerifySubjectName,
                                                              Port}]``
/api/provisioning/common/domain          (E)       assumed    ``[{Name}]`` (the edge domains)
/api/provisioning/certs/configuration    (E)       assumed    ``EnableServerEkuUpload`` (X15.4)
=================================================  =========  ================================

``/api/provisioning/common/cluster`` may also carry ``TlsVerificationMode`` (Permissive or
Enforce, System > Clustering), assumed too. The SIP, cipher, edge-configuration and MRA server
resources are read on Expressway-C only; the traversal server zone, the domains and the EKU
switch on Expressway-E only; the traversal client zone (Expressway-C) gives the peer addresses of
Expressway-E that its zone connects to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, ValidationError

from mratrust.collect.base import (
    EXPRESSWAY_E,
    Collected,
    Context,
    IdentityFact,
    Interface,
    SettingFact,
)
from mratrust.collect.http import ApiError, Loose, pem_certs, require_ok
from mratrust.errors import InputError
from mratrust.topology import EXPRESSWAY_CLIENT_IDENTITY, EXPRESSWAY_IDENTITY
from mratrust.values import frozen
from mratrust.versions import Version

ROLE = "administrator access with API access enabled (not read-only web access)"

SYSINFO = "/api/provisioning/sysinfo"
CLUSTER = "/api/provisioning/common/cluster"
SERVERS = {
    "cucm": "/api/provisioning/controller/server/cucm",
    "imp": "/api/provisioning/controller/server/imp",
    "cuc": "/api/provisioning/controller/server/unityconnection",
}
SIP = "/api/provisioning/common/protocol/sip/configuration"
CIPHERS = "/api/provisioning/common/ciphers"
EDGE_CONFIG = "/api/provisioning/edgeconfigserver"
SERVER_CERT = "/api/provisioning/certs/server"
CLIENT_CERT = "/api/provisioning/certs/client"
TRAVERSAL_CLIENT = "/api/provisioning/zone/traversalclient"
TRAVERSAL_SERVER = "/api/provisioning/zone/traversalserver"
DOMAINS = "/api/provisioning/common/domain"
CERT_CONFIG = "/api/provisioning/certs/configuration"


class SysInfo(Loose):
    Version: str


class PeerOut(Loose):
    Address: str


class ClusterOut(Loose):
    ClusterName: str | None = None
    Peers: list[PeerOut] = Field(default_factory=list)
    TlsVerificationMode: str | None = None


class ServerOut(Loose):
    Address: str
    TlsVerifyMode: str = "On"


class SipOut(Loose):
    SipTlsVersions: str | list[str] | None = None
    TlsSignatureAlgoPrefRsa: str | None = None


class CiphersOut(Loose):
    UcServerDiscovery: str | None = None
    Sip: str | None = None
    Https: str | None = None


class EdgeConfigOut(Loose):
    VerifyOriginServer: str | None = None


class ServerCertOut(Loose):
    Certificate: str


class ClientCertOut(Loose):
    Certificate: str | None = None


class TraversalClientOut(Loose):
    Name: str | None = None
    PeerAddresses: list[str] = Field(default_factory=list)
    Port: int | None = None


class TraversalServerOut(Loose):
    Name: str | None = None
    TlsVerifySubjectName: str | None = None
    Port: int | None = None


class DomainOut(Loose):
    Name: str


class CertConfigOut(Loose):
    EnableServerEkuUpload: str | None = None


def cluster_mode(value: str | None) -> str | None:
    """``Permissive``/``Enforce`` (any case) → the inventory's value; None when absent."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("permissive", "enforce"):
        return text
    raise ValueError(f"{value!r} is neither Permissive nor Enforce")


def on(value: str | None) -> bool | None:
    """``On``/``Off`` (any case, or true/false) → bool; None when absent."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"{value!r} is neither On nor Off")


def x_version(text: str) -> str:
    """``14.2.1`` or ``X14.2.1`` → ``X14.2.1`` (ValueError when it is not a version)."""
    text = text.strip()
    candidate = text if text[:1] in "Xx" else f"X{text}"
    try:
        return str(Version.parse(candidate.split()[0]))
    except InputError:
        raise ValueError(f"{text!r} is not an Expressway version") from None


@frozen
class ExpresswaySource:
    """An Expressway cluster (C or E), through the peer named in the sources file."""

    address: str
    port: int
    credentials: str | None
    declared_peers: tuple[str, ...] = ()
    side: Literal["c", "e"] = "c"
    interface: Interface = Interface.EXPRESSWAY

    @property
    def system(self) -> str:
        return self.address

    @property
    def prefix(self) -> str:
        """The setting prefix and sources-file key of this side."""
        return "expressway" if self.side == "c" else EXPRESSWAY_E

    def collect(self, ctx: Context) -> Collected:
        key = "expressway_c" if self.side == "c" else EXPRESSWAY_E
        if self.credentials is None:
            return Collected.failed(
                self.system,
                self.interface,
                f"no credentials named (add `credentials: NAME` to {key}); its version, "
                "peers, certificates and settings come from the sources file only",
            )
        creds = ctx.credentials(self.credentials)
        if creds is None:
            return Collected.no_credentials(self.system, self.interface, self.credentials)
        out = Collected(reached=(f"{self.system} ({self.interface.value})",))
        settings: list[SettingFact] = []
        notes: list[str] = []

        def get(host: str, path: str, model: type[Loose] | None, *, many: bool = False) -> Any:
            where = f"{host}:{self.port}{path}"
            answer = ctx.api.request(
                "GET", host, self.port, path, auth=creds, headers={"Accept": "application/json"}
            )
            if answer.status == 404:
                notes.append(
                    f"{host}: {path} is not offered by this build (404); what it "
                    "gives stays unknown"
                )
                return None
            require_ok(answer, where=where, credentials=self.credentials, role=ROLE)
            try:
                data = json.loads(answer.body)
                if model is None:
                    return data
                if many:
                    return [model.model_validate(item) for item in data]
                return model.model_validate(data)
            except (ValueError, TypeError, ValidationError) as exc:
                raise ApiError(
                    f"{where}: the answer is not the expected JSON "
                    f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
                ) from None

        def put(path: str, value: object) -> None:
            settings.append(
                SettingFact(
                    path=path,
                    value=value,  # type: ignore[arg-type]
                    interface=self.interface,
                    system=self.system,
                )
            )

        steps: list[tuple[str, Callable[[], None]]] = []

        pre = self.prefix

        def sysinfo() -> None:
            info = get(self.address, SYSINFO, SysInfo)
            if info is not None:
                put(f"{pre}.version", x_version(info.Version))

        def cluster() -> None:
            c = get(self.address, CLUSTER, ClusterOut)
            if c is None:
                return
            put(f"{pre}.cluster_name", c.ClusterName or None)
            peers = tuple(p.Address for p in c.Peers) or (self.address,)
            put(f"{pre}.peers", peers)
            if c.TlsVerificationMode is not None:
                put(f"{pre}.cluster_tls_mode", cluster_mode(c.TlsVerificationMode))

        def traversal_client() -> None:
            zones = get(self.address, TRAVERSAL_CLIENT, TraversalClientOut, many=True)
            if zones:  # the first zone: the Unified Communications traversal zone
                put(f"{EXPRESSWAY_E}.traversal.peer_addresses", tuple(zones[0].PeerAddresses))
                put(f"{EXPRESSWAY_E}.traversal.client_port", zones[0].Port)

        def traversal_server() -> None:
            zones = get(self.address, TRAVERSAL_SERVER, TraversalServerOut, many=True)
            if zones:
                z = zones[0]
                put(f"{pre}.traversal.tls_verify_subject_name", z.TlsVerifySubjectName or None)
                put(f"{pre}.traversal.port", z.Port)

        def domains() -> None:
            rows = get(self.address, DOMAINS, DomainOut, many=True)
            if rows is not None:
                put(f"{pre}.edge_domains", tuple(r.Name for r in rows))

        def cert_config() -> None:
            c = get(self.address, CERT_CONFIG, CertConfigOut)
            if c is not None and c.EnableServerEkuUpload is not None:
                put(f"{pre}.enable_server_eku_upload", on(c.EnableServerEkuUpload))

        def servers() -> None:
            for product, path in SERVERS.items():
                rows = get(self.address, path, ServerOut, many=True)
                if rows is None:
                    continue
                put(f"mra.{product}", tuple(r.Address for r in rows))
                for r in rows:
                    put(f"mra.{product}.{r.Address.lower()}.tls_verify", on(r.TlsVerifyMode))

        def sip() -> None:
            s = get(self.address, SIP, SipOut)
            if s is None:
                return
            if s.SipTlsVersions is not None:
                raw = s.SipTlsVersions
                items = raw if isinstance(raw, list) else raw.replace(",", " ").split()
                put("expressway.sip_tls_versions", tuple(items))
            put("expressway.sip_signature_pref_rsa", on(s.TlsSignatureAlgoPrefRsa))

        def ciphers() -> None:
            c = get(self.address, CIPHERS, CiphersOut)
            if c is None:
                return
            put("expressway.ciphers.uc_server_discovery", c.UcServerDiscovery or None)
            put("expressway.ciphers.sip", c.Sip or None)
            put("expressway.ciphers.https", c.Https or None)

        def edge() -> None:
            e = get(self.address, EDGE_CONFIG, EdgeConfigOut)
            if e is not None and e.VerifyOriginServer is not None:
                put("expressway.verify_origin_server", on(e.VerifyOriginServer))

        if self.side == "c":
            steps = [
                ("sysinfo", sysinfo),
                ("cluster", cluster),
                ("servers", servers),
                ("sip", sip),
                ("ciphers", ciphers),
                ("edge", edge),
                ("traversal", traversal_client),
            ]
        else:
            steps = [
                ("sysinfo", sysinfo),
                ("cluster", cluster),
                ("traversal", traversal_server),
                ("domains", domains),
                ("certs", cert_config),
            ]
        for _, step in steps:
            try:
                step()
            except ValueError as exc:
                notes.append(f"{self.system}: {exc}; left unknown")
            except ApiError as exc:
                return Collected.failed(self.system, self.interface, str(exc))
        peers = next((s.value for s in settings if s.path == f"{pre}.peers"), None)
        names = (
            tuple(peers) if isinstance(peers, tuple) else (self.declared_peers or (self.address,))
        )
        cluster_key = "" if self.side == "c" else EXPRESSWAY_E
        idents = []
        for peer in names:
            for path, name in ((SERVER_CERT, EXPRESSWAY_IDENTITY), (CLIENT_CERT, None)):
                try:
                    if name is None:
                        client = get(peer, path, ClientCertOut)
                        if client is None or not client.Certificate:
                            continue  # not offered (before X15.5) or none configured
                        text, ident = client.Certificate, EXPRESSWAY_CLIENT_IDENTITY
                    else:
                        cert = get(peer, path, ServerCertOut)
                        if cert is None:
                            continue
                        text, ident = cert.Certificate, name
                    chain = pem_certs(text)
                except ApiError as exc:
                    out += Collected.failed(peer, self.interface, f"{peer}{path}: {exc}")
                    continue
                idents.append(
                    IdentityFact(
                        cluster=cluster_key,
                        node=peer,
                        name=ident,
                        chain=chain,
                        interface=self.interface,
                        system=peer,
                    )
                )
        return out + Collected(
            settings=tuple(settings), identities=tuple(idents), notes=tuple(notes)
        )


__all__ = ["SERVERS", "ExpresswaySource", "cluster_mode", "on", "x_version"]
