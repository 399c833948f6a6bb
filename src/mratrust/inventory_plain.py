"""Schema 1 read without pydantic, for the inventory that is plainly valid.

:mod:`mratrust.inventory_schema` is the schema: its pydantic models validate, coerce and explain
what is wrong. Importing pydantic and building its validators costs an audit about as much as
reading a thousand nodes, though, and almost every inventory is one that a person or
``mratrust collect`` wrote correctly. :func:`read_plain` accepts exactly such a document: every
key one the schema knows, every value already of the type the schema declares (a string where a
string goes, a whole number where a port goes, ``true``/``false`` where a flag goes) and every
cross-field check passed. It returns the same values the models would, defaults filled in, as
plain attribute objects. Anything else, including a value pydantic would coerce (``port:
"7001"``, ``version: 14.2``), gets ``None``, and the caller validates with pydantic, which either
accepts it or reports every error with its line.

The cross-field checks (ports in range, a publisher per cluster, an upgrade that goes forward, ...)
are here as plain functions that return the problem's words; the models' validators raise them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from mratrust.errors import InputError
from mratrust.model import IDENTITY_NAMES, TRUST_NAMES, Product
from mratrust.versions import Version

# --------------------------------------------------------------------------- the checks


def ports_problem(ports: Mapping[int, int]) -> str | None:
    """A probe's port map: every key and value a TCP port."""
    for k, v in ports.items():
        if not (0 < k < 65536 and 0 < v < 65536):
            return f"port {k}: {v} is not a TCP port (1-65535)"
    return None


def traversal_port_problem(port: int | None) -> str | None:
    if port is not None and not 0 < port < 65536:
        return f"{port} is not a TCP port (1-65535); the first traversal zone is 7001"
    return None


def client_pair_problem(
    name: str, client_certificate: str | None, client_key: str | None
) -> str | None:
    if client_key is not None and client_certificate is None:
        return (
            f"peer {name}: client_key is set without client_certificate; give the "
            "client certificate it belongs to, or remove client_key"
        )
    return None


def version_problem(value: str) -> str | None:
    """An Expressway version as the Overview page shows it (X14.2.1)."""
    try:
        Version.parse(value)
    except InputError:
        return (
            f"{value!r} is not an Expressway version: expected a version like X14.2.1 "
            "(X<major>.<minor>[.<patch>], as on the Overview page)"
        )
    return None


def upgrade_problem(version: str, upgraded_from: str | None) -> str | None:
    if upgraded_from is not None:
        frm, now = Version.parse(upgraded_from), Version.parse(version)
        if frm > now:
            return (
                f"upgraded_from {frm} is later than version {now}; give the release this "
                "Expressway ran before its last upgrade, or null for a fresh install"
            )
    return None


def cluster_problem(
    name: str,
    product: str,
    trust: Mapping[str, object],
    nodes: Sequence[tuple[str, str, Mapping[str, object]]],
) -> str | None:
    """One publisher, stores and certificates the product has, node names unique.

    ``nodes``: (name, role, certificates) of each node.
    """
    kind = Product(product)
    publishers = [n for n, role, _ in nodes if role == "publisher"]
    if len(publishers) != 1:
        return (
            f"cluster {name} has {len(publishers)} publishers "
            f"({', '.join(publishers) or 'none'}); exactly one node must have role: publisher"
        )
    allowed_trust = TRUST_NAMES[kind]
    for store in trust:
        if store not in allowed_trust:
            return f"trust store {store!r} is not one of {kind.value}'s: {', '.join(allowed_trust)}"
    allowed_ids = IDENTITY_NAMES[kind]
    for node, _, certificates in nodes:
        for cert in certificates:
            if cert not in allowed_ids:
                return (
                    f"node {node}: certificate {cert!r} is not one of "
                    f"{kind.value}'s: {', '.join(allowed_ids)}"
                )
    seen: set[str] = set()
    for node, _, _ in nodes:
        if node.lower() in seen:
            return f"node {node} is listed twice; node names must be unique"
        seen.add(node.lower())
    return None


def unique_clusters_problem(names: Sequence[str]) -> str | None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return f"cluster names must be unique: {', '.join(dupes)} repeated"
    return None


# --------------------------------------------------------------------------- the plain reading


class _NotPlain(Exception):
    """The document is not plainly valid: pydantic decides."""


_MISSING = object()
Reader = Callable[[object], Any]


def _str(value: object) -> str:
    if type(value) is not str:
        raise _NotPlain
    return value


def _text(value: object) -> str:
    """A string of at least one character (``Field(min_length=1)``)."""
    if type(value) is not str or not value:
        raise _NotPlain
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _bool(value: object) -> bool:
    if type(value) is not bool:
        raise _NotPlain
    return value


def _opt_bool(value: object) -> bool | None:
    return None if value is None else _bool(value)


def _int(value: object) -> int:
    if type(value) is not int:  # not bool, not float
        raise _NotPlain
    return value


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _one_of(*choices: str) -> Reader:
    allowed = frozenset(choices)

    def read(value: object) -> str:
        if type(value) is not str or value not in allowed:
            raise _NotPlain
        return value

    return read


def _list(item: Reader, *, least: int = 0) -> Reader:
    def read(value: object) -> list[Any]:
        if type(value) is not list or len(value) < least:
            raise _NotPlain
        return [item(v) for v in value]

    return read


def _dict(key: Reader, item: Reader) -> Reader:
    def read(value: object) -> dict[Any, Any]:
        if type(value) is not dict:
            raise _NotPlain
        return {key(k): item(v) for k, v in value.items()}

    return read


def _any(value: object) -> object:
    return value


def _at(value: object) -> str | dt.datetime:
    if type(value) is str or type(value) is dt.datetime:
        return value
    raise _NotPlain


_Fields = Mapping[str, tuple[str, Reader, Any]]
"""key in the document → (attribute, reader, default or _MISSING when required)."""


def _record(fields: _Fields, value: object) -> SimpleNamespace:
    if type(value) is not dict:
        raise _NotPlain
    for key in value:
        if key not in fields:  # an unknown key (or not a string): extra="forbid"
            raise _NotPlain
    out: dict[str, Any] = {}
    for key, (attr, read, default) in fields.items():
        given = value.get(key, _MISSING)
        if given is _MISSING:
            if default is _MISSING:
                raise _NotPlain
            # a fresh default each time, as default_factory makes it
            out[attr] = default() if callable(default) else default
        else:
            out[attr] = read(given)
    return SimpleNamespace(**out)


def _model(fields: _Fields, check: Callable[[SimpleNamespace], str | None] | None = None) -> Reader:
    def read(value: object) -> SimpleNamespace:
        record = _record(fields, value)
        if check is not None and check(record) is not None:
            raise _NotPlain
        return record

    return read


def _optional(read: Reader) -> Reader:
    def opt(value: object) -> Any:
        return None if value is None else read(value)

    return opt


def _version(value: object) -> str:
    text = _str(value)
    if version_problem(text) is not None:
        raise _NotPlain
    return text


def _opt_version(value: object) -> str | None:
    return None if value is None else _version(value)


def _ciphers_default() -> SimpleNamespace:
    return SimpleNamespace(uc_server_discovery=None, sip=None, https=None)


_CIPHERS = _model(
    {
        "uc_server_discovery": ("uc_server_discovery", _opt_str, None),
        "sip": ("sip", _opt_str, None),
        "https": ("https", _opt_str, None),
    }
)
_PROBE = _model(
    {"host": ("host", _str, _MISSING), "ports": ("ports", _dict(_int, _int), dict)},
    lambda r: ports_problem(r.ports),
)
_PEER = _model(
    {
        "name": ("name", _str, _MISSING),
        "certificate": ("certificate", _str, _MISSING),
        "key": ("key", _opt_str, None),
        "trusted_cas": ("trusted_cas", _str, _MISSING),
        "client_certificate": ("client_certificate", _opt_str, None),
        "client_key": ("client_key", _opt_str, None),
        "probe": ("probe", _optional(_PROBE), None),
    },
    lambda r: client_pair_problem(r.name, r.client_certificate, r.client_key),
)
_TRAVERSAL = _model(
    {
        "peer_addresses": ("peer_addresses", _list(_str), list),
        "tls_verify_subject_name": ("tls_verify_subject_name", _opt_str, None),
        "port": ("port", _opt_int, None),
    },
    lambda r: traversal_port_problem(r.port),
)
_TLS = _one_of("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_EXPRESSWAY: dict[str, tuple[str, Reader, Any]] = {
    "version": ("version", _version, _MISSING),
    "upgraded_from": ("upgraded_from", _opt_version, None),
    "cluster_name": ("cluster_name", _opt_str, None),
    "verify_origin_server": ("verify_origin_server", _bool, True),
    "ciphers": ("ciphers", _CIPHERS, _ciphers_default),
    "sip_tls_versions": ("sip_tls_versions", _list(_TLS), lambda: ["TLSv1.2"]),
    "sip_signature_pref_rsa": ("sip_signature_pref_rsa", _opt_bool, None),
    "peers": ("peers", _list(_PEER, least=1), _MISSING),
    "cluster_tls_mode": ("cluster_tls_mode", _one_of("permissive", "enforce"), "permissive"),
}


def _upgrade(r: SimpleNamespace) -> str | None:
    return upgrade_problem(r.version, r.upgraded_from)


_EXPRESSWAY_C = _model(_EXPRESSWAY, _upgrade)
_EXPRESSWAY_E = _model(
    {
        **_EXPRESSWAY,
        "edge_domains": ("edge_domains", _list(_str), list),
        "enable_server_eku_upload": ("enable_server_eku_upload", _bool, False),
        "traversal": ("traversal", _optional(_TRAVERSAL), None),
    },
    _upgrade,
)
_NODE = _model(
    {
        "name": ("name", _text, _MISSING),
        "role": ("role", _one_of("publisher", "subscriber"), _MISSING),
        "certificates": ("certificates", _dict(_str, _opt_str), dict),
        "probe": ("probe", _optional(_PROBE), None),
    }
)


def _cluster_check(r: SimpleNamespace) -> str | None:
    nodes = [(n.name, n.role, n.certificates) for n in r.nodes]
    return cluster_problem(r.name, r.product, r.trust, nodes)


_CLUSTER = _model(
    {
        "name": ("name", _text, _MISSING),
        "product": ("product", _one_of("cucm", "imp", "cuc"), _MISSING),
        "version": ("version", _opt_str, None),
        "publisher": ("publisher", _text, _MISSING),
        "tls_verify": ("tls_verify", _bool, True),
        "security_mode": ("security_mode", _one_of("non-secure", "mixed"), "non-secure"),
        "sip_oauth": ("sip_oauth", _bool, False),
        "https_ciphers": ("https_ciphers", _one_of("rsa-only", "ec-and-rsa"), "rsa-only"),
        "tls_ciphers": ("tls_ciphers", _one_of("rsa-preferred", "ec-preferred"), "rsa-preferred"),
        "secure_profiles": ("secure_profiles", _list(_str), list),
        "voicemail_host": ("voicemail_host", _opt_str, None),
        "trust": ("trust", _dict(_str, _opt_str), dict),
        "nodes": ("nodes", _list(_NODE, least=1), _MISSING),
    },
    _cluster_check,
)
_COLLECTED = _model(
    {
        "at": ("at", _at, _MISSING),
        "tool": ("tool", _str, _MISSING),
        "sources": ("sources", _list(_dict(_str, _any)), list),
        "unknown": ("unknown", _list(_str), list),
        "drift": ("drift", _list(_dict(_str, _str)), list),
    }
)


def _schema(value: object) -> int:
    if type(value) is not int or value != 1:
        raise _NotPlain
    return value


_INVENTORY = _model(
    {
        "schema": ("schema_", _schema, _MISSING),
        "name": ("name", _text, _MISSING),
        "expressway": ("expressway", _EXPRESSWAY_C, _MISSING),
        "expressway_e": ("expressway_e", _optional(_EXPRESSWAY_E), None),
        "collected": ("collected", _optional(_COLLECTED), None),
        "uc_clusters": ("uc_clusters", _list(_CLUSTER, least=1), _MISSING),
    },
    lambda r: unique_clusters_problem([c.name for c in r.uc_clusters]),
)


def read_plain(data: object) -> Any:
    """The inventory ``data`` as :class:`~mratrust.inventory_schema.InventoryIn` would hold it
    (attribute objects, every default filled in), or ``None`` when it is not plainly valid."""
    try:
        return _INVENTORY(data)
    except _NotPlain:
        return None


__all__ = [
    "client_pair_problem",
    "cluster_problem",
    "ports_problem",
    "read_plain",
    "traversal_port_problem",
    "unique_clusters_problem",
    "upgrade_problem",
    "version_problem",
]
