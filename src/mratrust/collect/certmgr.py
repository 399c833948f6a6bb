"""CUCM, IM&P and Unity Connection 14+: the Certificate Management REST API, one node per call.

``GET https://NODE:8443/platformcom/api/v1/certmgr/config/snapshot/server`` with an OS platform
account (privilege 0 suffices) returns that node's identity certificates and trust stores.
The path and the account are documented by Cisco (developer.cisco.com/docs/certificate-management);
the body's field names (``identities[].service/certificate``,
``trusts[].service/certificate_data[].certificate``) are as public clients parse them, an
assumption the README states.
"""

from __future__ import annotations

import json

from pydantic import Field, ValidationError

from mratrust.collect.base import Collected, Context, IdentityFact, Interface, StoreFact
from mratrust.collect.http import ApiError, Loose, pem_certs, require_ok
from mratrust.values import frozen

PATH = "/platformcom/api/v1/certmgr/config/snapshot/server"
ROLE = "an OS platform account (set account name …, privilege 0)"


class SnapshotIdentity(Loose):
    service: str
    certificate: str | None = None


class SnapshotTrustEntry(Loose):
    filename: str | None = None
    certificate: str


class SnapshotTrust(Loose):
    service: str
    certificate_data: list[SnapshotTrustEntry] = Field(default_factory=list)


class Snapshot(Loose):
    """The snapshot body (field names as public clients read them)."""

    server: str | None = None
    identities: list[SnapshotIdentity] = Field(default_factory=list)
    trusts: list[SnapshotTrust] = Field(default_factory=list)


def trust_name(service: str) -> str:
    """A trust store's CUCM name: ``tomcat`` or ``tomcat-trust`` → ``tomcat-trust``."""
    return service if service.endswith("-trust") else f"{service}-trust"


@frozen
class CertMgrSource:
    """The snapshot of one node."""

    cluster: str
    node: str
    port: int
    credentials: str | None
    interface: Interface = Interface.CERTMGR

    @property
    def system(self) -> str:
        return self.node

    def collect(self, ctx: Context) -> Collected:
        if self.credentials is None:
            return Collected.failed(
                self.system,
                self.interface,
                "no platform credentials named in the sources file (add `platform: NAME` to "
                "the uc entry); certificates come from the handshakes only",
            )
        creds = ctx.credentials(self.credentials)
        if creds is None:
            return Collected.no_credentials(self.system, self.interface, self.credentials)
        where = f"{self.node}:{self.port}"
        try:
            answer = ctx.api.request(
                "GET",
                self.node,
                self.port,
                PATH,
                auth=creds,
                headers={"Accept": "application/json"},
            )
            if answer.status == 404:
                raise ApiError(
                    f"{where}: no certificate management REST (404): it needs release 14 or "
                    "later; before 14, CUCM's certificates come from AXL (give `axl:`), other "
                    "products' from the handshakes or an export"
                )
            require_ok(answer, where=where, credentials=self.credentials, role=ROLE)
            try:
                snap = Snapshot.model_validate(json.loads(answer.body))
            except (ValueError, ValidationError) as exc:
                raise ApiError(
                    f"{where}: the certificate snapshot is not the expected JSON "
                    f"({type(exc).__name__}); check that this is CUCM/IM&P/Unity Connection 14 "
                    "or later"
                ) from None
            idents, stores = [], []
            for ident in snap.identities:
                if not ident.certificate:
                    continue
                idents.append(
                    IdentityFact(
                        cluster=self.cluster,
                        node=self.node,
                        name=ident.service,
                        chain=pem_certs(ident.certificate),
                        interface=self.interface,
                        system=self.system,
                    )
                )
            for trust in snap.trusts:
                certs = tuple(c for e in trust.certificate_data for c in pem_certs(e.certificate))
                stores.append(
                    StoreFact(
                        cluster=self.cluster,
                        node=self.node,
                        name=trust_name(trust.service),
                        certs=certs,
                        interface=self.interface,
                        system=self.system,
                    )
                )
        except ApiError as exc:
            return Collected.failed(self.system, self.interface, str(exc))
        return Collected(
            identities=tuple(idents),
            stores=tuple(stores),
            reached=(f"{self.system} ({self.interface.value})",),
        )


__all__ = ["PATH", "CertMgrSource", "Snapshot", "trust_name"]
