"""CUCM AXL ``executeSQLQuery``: nodes, the enterprise parameters that matter, secure phone
profiles, the voicemail host, and (before 14) certificates and trust stores.

``POST https://PUB:8443/axl/`` with a SOAP envelope, ``SOAPAction: "CUCM:DB ver=V
executeSQLQuery"`` and an application user holding Standard AXL Read Only API Access (Cisco
documents the request, the account and the ``processnode`` and ``certificate`` tables; the
parameter names and the profile and UC service queries are assumptions the README lists). The
answer is parsed with defusedxml: entity expansion and DTDs are refused.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from mratrust.collect.base import (
    Collected,
    Context,
    IdentityFact,
    Interface,
    NodeFact,
    SettingFact,
    StoreFact,
)
from mratrust.collect.http import ApiError, pem_certs, require_ok
from mratrust.values import frozen

PATH = "/axl/"
ROLE = "Standard AXL API Users and Standard AXL Read Only API Access (an application user)"

SQL_VERSION = "SELECT version FROM componentversion WHERE softwarecomponent = 'master'"
SQL_NODES = (
    "SELECT name, tknodeusage, tkprocessnoderole FROM processnode "
    "WHERE systemnode = 'f' ORDER BY name"
)
SQL_PARAMS = (
    "SELECT paramname, paramvalue FROM processconfig "
    "WHERE paramname IN ('ClusterSecurityMode', 'HTTPSCiphers', 'ClusterSIPOAuthMode')"
)
SQL_PROFILES = "SELECT name FROM securityprofile WHERE tkdevicesecuritymode IN (2, 3) ORDER BY name"
SQL_VOICEMAIL = (
    "SELECT u.hostnameorip FROM ucservice u JOIN typeucservice t ON t.enum = u.tkucservice "
    "WHERE t.name = 'Voicemail' ORDER BY u.hostnameorip"
)
SQL_CERTS = (
    "SELECT c.pkid, c.certificate, t.name AS unit, p.name AS node FROM certificate c "
    "JOIN certificateservicecertificatemap m ON m.fkcertificate = c.pkid "
    "JOIN typecertificateservice t ON t.enum = m.tkcertificateservice "
    "JOIN certificateprocessnodemap n ON n.fkcertificate = c.pkid "
    "JOIN processnode p ON p.pkid = n.fkprocessnode ORDER BY p.name, t.name, c.pkid"
)
QUERIES = (SQL_VERSION, SQL_NODES, SQL_PARAMS, SQL_PROFILES, SQL_VOICEMAIL, SQL_CERTS)

SECURITY_MODE = {"0": "non-secure", "1": "mixed"}
HTTPS_CIPHERS = {"0": "rsa-only", "1": "ec-and-rsa"}
ON_OFF = {"0": False, "1": True}

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


class SoapFault(ApiError):
    """The server answered with a SOAP fault."""


def envelope(sql: str, version: str) -> bytes:
    """The ``executeSQLQuery`` request for ``sql``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
        f'xmlns:ns="http://www.cisco.com/AXL/API/{escape(version)}">'
        "<soapenv:Header/><soapenv:Body><ns:executeSQLQuery>"
        f"<sql>{escape(sql)}</sql>"
        "</ns:executeSQLQuery></soapenv:Body></soapenv:Envelope>"
    ).encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_rows(body: bytes, where: str) -> list[dict[str, str]]:
    """The rows of an ``executeSQLQueryResponse`` (SoapFault or ApiError otherwise)."""
    try:
        root: Element = fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise ApiError(f"{where}: the answer holds a DTD or entities; refused") from None
    except ParseError as exc:
        raise ApiError(f"{where}: the answer is not well-formed XML ({exc})") from None
    if _local(root.tag) != "Envelope":
        raise ApiError(f"{where}: the answer is not a SOAP envelope")
    for el in root.iter():
        if _local(el.tag) == "Fault":
            texts = {_local(c.tag): (c.text or "").strip() for c in el.iter()}
            detail = texts.get("axlmessage") or texts.get("faultstring") or "no detail"
            code = texts.get("axlcode")
            raise SoapFault(
                f"{where}: SOAP fault: {detail[:300]}" + (f" (axlcode {code})" if code else "")
            )
    ret = next((el for el in root.iter() if _local(el.tag) == "return"), None)
    if ret is None:
        raise ApiError(f"{where}: the answer holds no executeSQLQuery result")
    rows = []
    for row in ret:
        if _local(row.tag) == "row":
            rows.append({_local(c.tag): (c.text or "").strip() for c in row})
    return rows


def major(version: str | None) -> int | None:
    """``15.0.1.12900-234`` → 15."""
    if not version:
        return None
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


@frozen
class AxlSource:
    """AXL SQL on a CUCM publisher."""

    cluster: str
    publisher: str
    port: int
    credentials: str | None
    version: str = "12.5"
    interface: Interface = Interface.AXL

    @property
    def system(self) -> str:
        return self.publisher

    def query(self, ctx: Context, creds: tuple[str, str], sql: str) -> list[dict[str, str]]:
        where = f"{self.publisher}:{self.port} AXL"
        answer = ctx.api.request(
            "POST",
            self.publisher,
            self.port,
            PATH,
            auth=creds,
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"CUCM:DB ver={self.version} executeSQLQuery"',
            },
            content=envelope(sql, self.version),
        )
        if answer.status in (401, 403, 404):
            require_ok(answer, where=where, credentials=self.credentials, role=ROLE)
        rows = parse_rows(answer.body, where)  # a fault comes with HTTP 500
        require_ok(answer, where=where, credentials=self.credentials, role=ROLE)
        return rows

    def collect(self, ctx: Context) -> Collected:
        if self.credentials is None:
            return Collected()
        creds = ctx.credentials(self.credentials)
        if creds is None:
            return Collected.no_credentials(self.system, self.interface, self.credentials)
        out = Collected(reached=(f"{self.system} ({self.interface.value})",))
        steps = (self._version, self._nodes, self._params, self._profiles, self._voicemail)
        version: str | None = None
        for step in steps:
            try:
                found, version = step(ctx, creds, version)
            except SoapFault as exc:
                out += Collected.failed(self.system, self.interface, str(exc))
                continue
            except ApiError as exc:  # refused, 401/403, timeout: the rest would fail the same
                return Collected.failed(self.system, self.interface, str(exc))
            out += found
        if (major(version) or 99) < 14:
            try:
                out += self._certificates(ctx, creds)
            except ApiError as exc:
                out += Collected.failed(self.system, self.interface, str(exc))
        return out

    def _setting(self, field: str, value: object) -> SettingFact:
        return SettingFact(
            path=f"uc.{self.cluster}.{field}",
            value=value,  # type: ignore[arg-type]
            interface=self.interface,
            system=self.system,
        )

    def _version(
        self, ctx: Context, creds: tuple[str, str], _: str | None
    ) -> tuple[Collected, str | None]:
        rows = self.query(ctx, creds, SQL_VERSION)
        version = rows[0].get("version") if rows else None
        if not version:
            return Collected(), None
        return Collected(settings=(self._setting("version", version),)), version

    def _nodes(
        self, ctx: Context, creds: tuple[str, str], version: str | None
    ) -> tuple[Collected, str | None]:
        rows = self.query(ctx, creds, SQL_NODES)
        cucm = [r for r in rows if r.get("tkprocessnoderole", "1") == "1"]
        imp = [r for r in rows if r.get("tkprocessnoderole") == "2"]
        nodes = [
            NodeFact(
                cluster=self.cluster,
                name=r["name"],
                role="publisher" if r.get("tknodeusage") == "0" else "subscriber",
                product="cucm",
                interface=self.interface,
                system=self.system,
            )
            for r in cucm
            if r.get("name")
        ]
        imp_names = {r["name"].lower() for r in imp if r.get("name")}
        for entry in ctx.sources.model.uc:
            if entry.product == "imp" and entry.publisher.lower() in imp_names:
                nodes.extend(
                    NodeFact(
                        cluster=entry.cluster,
                        name=r["name"],
                        role="publisher"
                        if r["name"].lower() == entry.publisher.lower()
                        else "subscriber",
                        product="imp",
                        interface=self.interface,
                        system=self.system,
                    )
                    for r in imp
                    if r.get("name")
                )
        return Collected(nodes=tuple(nodes)), version

    def _params(
        self, ctx: Context, creds: tuple[str, str], version: str | None
    ) -> tuple[Collected, str | None]:
        values = {
            r.get("paramname", ""): r.get("paramvalue", "")
            for r in self.query(ctx, creds, SQL_PARAMS)
        }
        settings = []
        for param, field, table in (
            ("ClusterSecurityMode", "security_mode", SECURITY_MODE),
            ("HTTPSCiphers", "https_ciphers", HTTPS_CIPHERS),
            ("ClusterSIPOAuthMode", "sip_oauth", ON_OFF),
        ):
            if values.get(param) in table:
                settings.append(self._setting(field, table[values[param]]))
        return Collected(settings=tuple(settings)), version

    def _profiles(
        self, ctx: Context, creds: tuple[str, str], version: str | None
    ) -> tuple[Collected, str | None]:
        names = tuple(r["name"] for r in self.query(ctx, creds, SQL_PROFILES) if r.get("name"))
        return Collected(settings=(self._setting("secure_profiles", names),)), version

    def _voicemail(
        self, ctx: Context, creds: tuple[str, str], version: str | None
    ) -> tuple[Collected, str | None]:
        hosts = sorted(
            {
                r["hostnameorip"]
                for r in self.query(ctx, creds, SQL_VOICEMAIL)
                if r.get("hostnameorip")
            }
        )
        cuc = [u for u in ctx.sources.model.uc if u.product == "cuc"]
        if len(hosts) != 1 or not cuc:
            return Collected(), version
        settings = tuple(
            SettingFact(
                path=f"uc.{u.cluster}.voicemail_host",
                value=hosts[0],
                interface=self.interface,
                system=self.system,
            )
            for u in cuc
        )
        return Collected(settings=settings), version

    def _certificates(self, ctx: Context, creds: tuple[str, str]) -> Collected:
        rows = self.query(ctx, creds, SQL_CERTS)
        idents: list[IdentityFact] = []
        stores: dict[tuple[str, str], list[object]] = {}
        for r in rows:
            unit, node, pem = r.get("unit", ""), r.get("node", ""), r.get("certificate", "")
            if not (unit and node and pem):
                continue
            certs = pem_certs(pem)
            if unit.endswith("-trust"):
                stores.setdefault((node, unit), []).extend(certs)
            else:
                idents.append(
                    IdentityFact(
                        cluster=self.cluster,
                        node=node,
                        name=unit,
                        chain=certs,
                        interface=self.interface,
                        system=self.system,
                    )
                )
        return Collected(
            identities=tuple(idents),
            stores=tuple(
                StoreFact(
                    cluster=self.cluster,
                    node=node,
                    name=unit,
                    certs=tuple(certs),  # type: ignore[arg-type]
                    interface=self.interface,
                    system=self.system,
                )
                for (node, unit), certs in stores.items()
            ),
        )


__all__ = ["QUERIES", "AxlSource", "SoapFault", "envelope", "major", "parse_rows"]
