"""The inventory's schema (schema 1) as pydantic models, shared by whatever reads or writes one.

:mod:`mratrust.inventory` validates a YAML file with them (and turns their errors into messages
with file, line and field); the lab writes its scenarios' inventories through them
(:meth:`InventoryIn.dump`), so a field exists in one place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mratrust.inventory_plain import (
    client_pair_problem,
    cluster_problem,
    ports_problem,
    traversal_port_problem,
    unique_clusters_problem,
    upgrade_problem,
    version_problem,
)


class _Strict(BaseModel):
    # defer_build: pydantic builds the validators when a model is first used, and then the whole
    # inventory's in one pass (each model's own, one by one at import, costs twice as much)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _raise(problem: str | None) -> None:
    if problem is not None:
        raise ValueError(problem)


class CiphersIn(_Strict):
    uc_server_discovery: str | None = None
    sip: str | None = None
    https: str | None = None


class ProbeIn(_Strict):
    host: str
    ports: dict[int, int] = Field(default_factory=dict)

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: dict[int, int]) -> dict[int, int]:
        _raise(ports_problem(value))
        return value


class PeerIn(_Strict):
    name: str
    certificate: str
    key: str | None = None
    trusted_cas: str
    client_certificate: str | None = None
    client_key: str | None = None
    probe: ProbeIn | None = None

    @model_validator(mode="after")
    def _client_pair(self) -> PeerIn:
        _raise(client_pair_problem(self.name, self.client_certificate, self.client_key))
        return self


class TraversalIn(_Strict):
    peer_addresses: list[str] = Field(default_factory=list)
    tls_verify_subject_name: str | None = None
    port: int | None = None

    @field_validator("port")
    @classmethod
    def _port(cls, value: int | None) -> int | None:
        _raise(traversal_port_problem(value))
        return value


TlsVersion = Literal["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


def _default_tls() -> list[TlsVersion]:
    return ["TLSv1.2"]


class ExpresswayIn(_Strict):
    version: str
    upgraded_from: str | None = None
    cluster_name: str | None = None
    verify_origin_server: bool = True
    ciphers: CiphersIn = Field(default_factory=CiphersIn)
    sip_tls_versions: list[TlsVersion] = Field(default_factory=_default_tls)
    sip_signature_pref_rsa: bool | None = None
    peers: list[PeerIn] = Field(min_length=1)
    cluster_tls_mode: Literal["permissive", "enforce"] = "permissive"

    @field_validator("version", "upgraded_from", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("version", "upgraded_from")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        # after pydantic made it text (a YAML !!binary value is bytes until then)
        if value is not None:
            _raise(version_problem(value))
        return value

    @model_validator(mode="after")
    def _upgrade_path(self) -> ExpresswayIn:
        _raise(upgrade_problem(self.version, self.upgraded_from))
        return self


class ExpresswayEIn(ExpresswayIn):
    edge_domains: list[str] = Field(default_factory=list)
    enable_server_eku_upload: bool = False
    traversal: TraversalIn | None = None


class NodeIn(_Strict):
    name: str = Field(min_length=1)
    role: Literal["publisher", "subscriber"]
    certificates: dict[str, str | None] = Field(default_factory=dict)
    probe: ProbeIn | None = None


class ClusterIn(_Strict):
    name: str = Field(min_length=1)
    product: Literal["cucm", "imp", "cuc"]
    version: str | None = None
    publisher: str = Field(min_length=1)
    tls_verify: bool = True
    security_mode: Literal["non-secure", "mixed"] = "non-secure"
    sip_oauth: bool = False
    https_ciphers: Literal["rsa-only", "ec-and-rsa"] = "rsa-only"
    tls_ciphers: Literal["rsa-preferred", "ec-preferred"] = "rsa-preferred"
    secure_profiles: list[str] = Field(default_factory=list)
    voicemail_host: str | None = None
    trust: dict[str, str | None] = Field(default_factory=dict)
    nodes: list[NodeIn] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _consistent(self) -> ClusterIn:
        nodes = [(n.name, n.role, n.certificates) for n in self.nodes]
        _raise(cluster_problem(self.name, self.product, self.trust, nodes))
        return self


class CollectedIn(_Strict):
    """Written by ``mratrust collect`` (SPEC §7): where every value came from, what is unknown."""

    at: str | dt.datetime
    tool: str
    sources: list[dict[str, Any]] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)
    drift: list[dict[str, str]] = Field(default_factory=list)


class InventoryIn(_Strict):
    schema_: Literal[1] = Field(alias="schema")
    name: str = Field(min_length=1)
    expressway: ExpresswayIn
    expressway_e: ExpresswayEIn | None = None
    collected: CollectedIn | None = None
    uc_clusters: list[ClusterIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> InventoryIn:
        _raise(unique_clusters_problem([c.name for c in self.uc_clusters]))
        return self

    def dump(self) -> dict[str, Any]:
        """The mapping to write as YAML: the fields that were given, in schema order (a default
        left out stays out; ``None`` given stays ``null``)."""
        return self.model_dump(mode="python", by_alias=True, exclude_unset=True)


__all__ = [
    "CiphersIn",
    "ClusterIn",
    "CollectedIn",
    "ExpresswayEIn",
    "ExpresswayIn",
    "InventoryIn",
    "NodeIn",
    "PeerIn",
    "ProbeIn",
    "TlsVersion",
    "TraversalIn",
]
