"""Inventory YAML (schema 1) → the frozen :class:`~mratrust.model.Deployment`.

The schema's pydantic models are in :mod:`mratrust.inventory_schema` (re-exported here). Every
error names the file, the line, the field path, what was found and what is allowed. Unknown
keys are errors (they are usually typos). Every referenced certificate file is loaded and all
their errors are reported together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING, Any, get_args

import yaml

from mratrust.errors import InputError, InputErrors
from mratrust.inventory_plain import read_plain
from mratrust.model import (
    CipherConfig,
    ClusterTlsMode,
    Deployment,
    Expressway,
    HttpsCiphers,
    Identity,
    Node,
    NodeRole,
    Peer,
    ProbeAddress,
    Product,
    SecurityMode,
    Store,
    TlsCiphers,
    Traversal,
    UcCluster,
)
from mratrust.pki.facts import CertFacts, facts, prime
from mratrust.pki.load import (
    DerOf,
    LoadedCert,
    MissingFile,
    Parsed,
    load_path,
    load_paths,
)
from mratrust.pki.verify import TrustStore
from mratrust.versions import Version

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    # the builders below read these models, or the plain reading's objects (inventory_plain),
    # which hold the same attributes with the same values (tests/unit/test_inventory_plain.py)
    from mratrust.inventory_schema import ClusterIn, ExpresswayEIn, ExpresswayIn, InventoryIn

_SCHEMA_NAMES = (
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
)


def __getattr__(name: str) -> Any:
    """The schema's models, re-exported without importing pydantic until one is asked for."""
    if name in _SCHEMA_NAMES:
        from mratrust import inventory_schema

        return getattr(inventory_schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PASSWORD_ENV = "MRATRUST_P12_PASSWORD"
# libyaml's parser when PyYAML has it (same safe semantics and marks, many times faster)
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --------------------------------------------------------------------------- YAML with lines

Loc = tuple[str | int, ...]
_STR_TAG = "tag:yaml.org,2002:str"


def _parse(text: str, source: str) -> yaml.Node:
    """The YAML node tree of ``text`` (safe tags only), or an :class:`InputError` with the line."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(
            f"YAML syntax error: {exc.problem or exc}",
            file=source,
            line=line,
            hint="fix the indentation or quoting on that line",
        ) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", file=source) from exc
    if root is None:
        raise InputError("the inventory is empty", file=source, hint="start from the README sample")
    return root


def _walk(root: yaml.Node, source: str, lines: dict[Loc, int]) -> Any:
    """The data of ``root``, filling ``lines`` with the line of every mapping key and list item."""
    constructor = yaml.SafeLoader("")

    def walk(node: yaml.Node, loc: Loc) -> Any:
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                if key in out:
                    raise InputError(
                        f"key {key!r} appears twice",
                        file=source,
                        line=key_node.start_mark.line + 1,
                        field=".".join(str(p) for p in (*loc, key)),
                        hint="keep one",
                    )
                lines[(*loc, key)] = key_node.start_mark.line + 1
                out[key] = walk(value_node, (*loc, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(item, (*loc, i)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    return walk(root, ())


class _Repeated(Exception):
    """A mapping repeats a key: :func:`_walk` says where."""


def _plain(root: yaml.Node) -> Any:
    """What :func:`_walk` returns, without recording lines (raises :class:`_Repeated`)."""
    construct = yaml.SafeLoader("").construct_object

    def plain(node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return node.value if node.tag == _STR_TAG else construct(node, deep=True)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
                    key = key_node.value
                else:
                    key = construct(key_node, deep=True)
                if key in out:
                    raise _Repeated
                out[key] = plain(value_node)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [plain(item) for item in node.value]
        return construct(node, deep=True)

    return plain(root)


class _Lines(Mapping[Loc, int]):
    """The line of every mapping key and list item, found when first asked for.

    Only an error message needs a line, so a valid inventory is parsed once, without them.
    """

    def __init__(self, text: str, source: str) -> None:
        self._text = text
        self._source = source
        self._lines: dict[Loc, int] | None = None

    def _found(self) -> dict[Loc, int]:
        if self._lines is None:
            lines: dict[Loc, int] = {}
            _walk(_parse(self._text, self._source), self._source, lines)
            self._lines = lines
        return self._lines

    def __getitem__(self, loc: Loc) -> int:
        return self._found()[loc]

    def __iter__(self) -> Iterator[Loc]:
        return iter(self._found())

    def __len__(self) -> int:
        return len(self._found())


def _compose(text: str, source: str) -> tuple[Any, Mapping[Loc, int]]:
    """Parse YAML safely, keeping the line of every mapping key and list item."""
    root = _parse(text, source)
    try:
        try:
            return _plain(root), _Lines(text, source)
        except _Repeated:
            lines: dict[Loc, int] = {}
            return _walk(root, source, lines), lines  # raises the error, with its line
    except yaml.MarkedYAMLError as exc:  # a tag the safe loader does not know, a merge key
        mark = exc.problem_mark or exc.context_mark
        raise InputError(
            f"YAML value not allowed: {exc.problem or exc}",
            file=source,
            line=mark.line + 1 if mark is not None else None,
            hint="write plain values: no '!tag', no '<<' merge keys",
        ) from exc


def _line_for(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    for cut in range(len(loc), -1, -1):
        found = lines.get(loc[:cut])
        if found is not None:
            return found
    return None


def _field(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


README_REF = "see 'Inventory reference' in the README"

_LIST = "a list (one '- item' per line, or [a, b])"
_MAPPING = "a mapping (key: value lines)"
_EXPECTED: dict[str, str] = {
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "string_type": "expected text (quote it when YAML would read it as a number, a list or null)",
    "list_type": f"expected {_LIST}",
    "dict_type": f"expected {_MAPPING}",
    "model_type": f"expected {_MAPPING}",
    "model_attributes_type": f"expected {_MAPPING}",
}


def _allowed_keys(loc: Loc) -> list[str] | None:
    """The keys schema 1 allows in the mapping at ``loc`` (None where any key is allowed)."""
    from mratrust.inventory_schema import InventoryIn

    model: Any = InventoryIn
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        if info is None:
            return None
        inner = _model_of(info.annotation)
        if inner is None:
            return None
        model = inner
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None`` or ``list[X]``."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _say(err: Any, loc: Loc) -> tuple[str, str | None]:
    """One pydantic error in the project's own words: (message, hint)."""
    kind = err["type"]
    found = err.get("input")
    plain = found is not None and not isinstance(found, dict | list)
    shown = f" (found {found!r})" if plain else ""
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        import difflib  # only for this message

        key = loc[-1]
        allowed = _allowed_keys(loc[:-1]) or []
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else "remove it or fix its spelling; "
        if allowed:
            hint += f"the keys here are: {', '.join(allowed)} ({README_REF})"
        else:
            hint += README_REF
        return f"unknown key {key!r}", hint
    if kind == "missing":
        return "required field is missing", f"add it ({README_REF})"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'|(\d+)", str(ctx.get("expected", "")))
        words = ", ".join(a or b for a, b in choices)
        return f"{found!r} is not allowed: expected one of: {words}", None
    if kind in ("too_short", "string_too_short"):
        if isinstance(found, str):
            return "must not be empty", "give a value, or leave the key out when it is optional"
        least = ctx.get("min_length", 1)
        return f"expected at least {least} item{'s' if least != 1 else ''}", (
            f"add {'it' if least == 1 else 'them'} ({README_REF})"
        )
    if kind in _EXPECTED:
        return _EXPECTED[kind] + shown, README_REF
    if kind == "value_error":  # the validators above write their own words, with the value
        return str(err["msg"]).removeprefix("Value error, "), None
    return f"not a valid value{shown}", README_REF


def _validation_errors(exc: ValidationError, source: str, lines: Mapping[Loc, int]) -> InputErrors:
    errors: list[InputError] = []
    for err in exc.errors():
        loc: Loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        loc = tuple("schema" if p == "schema_" else p for p in loc)
        message, hint = _say(err, loc)
        errors.append(
            InputError(
                message,
                file=source,
                line=_line_for(lines, loc),
                field=_field(loc) or None,
                hint=hint,
            )
        )
    return InputErrors(errors)


# --------------------------------------------------------------------------- files → model


class _Files:
    """Loads each referenced path once and collects every error."""

    def __init__(self, base: Path, source: str, lines: Mapping[Loc, int], password: bytes | None):
        self.base = base
        self.source = source
        self.lines = lines
        self.password = password
        self.cache: dict[str, tuple[LoadedCert, ...]] = {}
        self.paths: dict[str, str] = {}
        self.parsed: Parsed = {}
        self.trust: dict[tuple[str, int], TrustStore] = {}
        """The index of each store by its name and the certificates read for it."""
        self.read: dict[str, tuple[LoadedCert, ...] | InputError] = {}
        """Files read ahead by :meth:`prefetch`, not yet :meth:`load`-ed."""
        """Files with the same bytes (a multi-server certificate on every node) share objects."""
        self.errors: list[InputError] = []
        base_text = str(base)
        self._prefix = None if os.sep != "/" else ("" if base_text == "." else base_text)

    def resolve(self, ref: str) -> str:
        """``ref`` from the inventory's folder, written as :class:`~pathlib.Path` writes it."""
        found = self.paths.get(ref)
        if found is None:
            parts = ref.split("/")
            if (
                self._prefix is not None
                and ref[:1] not in ("", "/", "~")
                and "" not in parts
                and "." not in parts
            ):  # a relative path already in Path's normal form: join it as Path would
                sep = "" if not self._prefix or self._prefix.endswith("/") else "/"
                found = self._prefix + sep + ref
            else:
                path = Path(ref).expanduser()
                found = str(path if path.is_absolute() else self.base / path)
            self.paths[ref] = found
        return found

    def _read(self, ref: str) -> tuple[LoadedCert, ...] | InputError:
        found = self.read.pop(ref, None)
        if found is None:
            try:
                found = load_path(self.resolve(ref), password=self.password, parsed=self.parsed)
            except InputError as exc:
                found = exc
        return found

    def prefetch(self, refs: Iterable[str]) -> None:
        """Read these files now and compute the facts of all their certificates together
        (:func:`~mratrust.pki.facts.prime`); :meth:`load` reports their errors in its order."""
        todo = [r for r in dict.fromkeys(refs) if r not in self.read and r not in self.cache]
        paths = [self.resolve(r) for r in todo]
        ders: DerOf = {}  # the DER of what was read from PEM: the facts need it
        read = load_paths(paths, password=self.password, parsed=self.parsed, ders=ders)
        self.read.update(zip(todo, read, strict=True))
        prime(
            (c.cert for got in self.read.values() if isinstance(got, tuple) for c in got),
            ders=ders,
        )

    def load(self, ref: str, loc: Loc) -> tuple[LoadedCert, ...]:
        found = self.cache.get(ref)  # an inventory names the same file many times
        if found is not None:
            return found
        got = self._read(ref)
        if isinstance(got, tuple):
            certs = got
        else:
            exc = got
            hint = exc.hint
            if isinstance(exc, MissingFile) and not Path(ref).expanduser().is_absolute():
                hint = (
                    "check the path: a relative path starts from the inventory's folder "
                    f"({self.base})"
                )
            self.fail(
                f"{exc.message} ({exc.file}" + (f":{exc.line}" if exc.line else "") + ")",
                loc,
                hint,
            )
            certs = ()
        self.cache[ref] = certs
        return certs

    def fail(self, message: str, loc: Loc, hint: str | None) -> None:
        self.errors.append(
            InputError(
                message,
                file=self.source,
                line=_line_for(self.lines, loc),
                field=_field(loc),
                hint=hint,
            )
        )


_TLS_EKU = frozenset({"serverAuth", "clientAuth"})


def _ca_only(f: CertFacts) -> bool:
    """A CA certificate that cannot be a server's own identity.

    CA:TRUE (or keyCertSign without basicConstraints), and either issued by another CA (an
    intermediate, whatever EKU it carries) or self-signed with neither a SAN nor a TLS EKU.
    CUCM's self-signed identities are CA:TRUE with keyCertSign too, but they carry both.
    """
    ca = f.is_ca is True or (f.is_ca is None and "key_cert_sign" in f.key_usage)
    if not ca:
        return False
    return not f.self_signed or (not f.has_san and not (_TLS_EKU & set(f.eku)))


def _wrong_identity(
    certs: tuple[LoadedCert, ...], path: str, name: str, whose: str
) -> tuple[str, str] | None:
    """Why ``certs`` (loaded from ``path``) cannot be the ``name`` identity: (message, hint)."""
    if len(certs) == 1:  # most files: what the general case below says of one, in fewer steps
        only = certs[0]
        if only.source == path and not _ca_only(facts(only.cert)):
            return None  # a certificate that can be a server's own, and none above it
    if any(c.source != path for c in certs):  # load_path read a folder's files
        return (
            f"{path} is a folder; an identity is one certificate file (the certificate, "
            "optionally followed by its chain)",
            f"give the file of {whose} own {name} certificate inside it",
        )
    every = [facts(c.cert) for c in certs]
    issuers = {f.issuer for f in every if f.issuer != f.subject}  # the chain above a leaf
    own = [f for f in every if not _ca_only(f) and f.subject not in issuers]
    if not own:
        what = "a CA certificate" if len(every) == 1 else f"{len(every)} CA certificates"
        names = "; ".join(f.subject or "(empty subject)" for f in every[:3])
        return (
            f"this is {what} ({names}), not {whose} own {name} certificate",
            f"export {whose} own {name} certificate, not its issuer or a trust store",
        )
    if len(own) > 1:
        names = "; ".join(f.subject or "(empty subject)" for f in own[:3])
        return (
            f"holds {len(own)} certificates that each look like a server's own ({names}): "
            "a trust-store bundle, not one identity with its chain",
            f"export {whose} own {name} certificate (optionally followed by its CA chain)",
        )
    return None


def _identity(
    files: _Files, name: str, ref: str, loc: Loc, whose: str = "the node's"
) -> Identity | None:
    certs = files.load(ref, loc)
    if not certs:
        return None
    wrong = _wrong_identity(certs, files.resolve(ref), name, whose)
    if wrong is not None:
        files.fail(wrong[0], loc, wrong[1])
        return None
    return Identity(name=name, path=ref, certs=certs)


def _store(files: _Files, name: str, ref: str, loc: Loc) -> Store:
    """The store ``name`` read from ``ref``; stores of one name read from one file share their
    index (every cluster's tomcat-trust from one CA bundle: one index, not one per cluster)."""
    certs = files.load(ref, loc)
    key = (name, id(certs))  # the files' cache keeps ``certs`` alive: its id stays its own
    trust = files.trust.get(key)
    if trust is None:
        trust = files.trust[key] = TrustStore(certs, label=name)
    return Store.of(name, ref, certs, trust=trust)


def _key_file(files: _Files, ref: str | None, loc: Loc) -> str | None:
    """The resolved path of a private key file (checked to exist; never read here)."""
    if ref is None:
        return None
    key = files.resolve(ref)
    if not Path(key).is_file():
        files.fail(
            "key file not found",
            loc,
            "give the private key of that certificate (a file next to the inventory), or null",
        )
    return key


def _expressway(
    files: _Files, e: ExpresswayIn, loc: Loc, edge: ExpresswayEIn | None = None
) -> Expressway:
    """Expressway-C from ``e``; Expressway-E when ``edge`` (the same object) is given."""
    peers: list[Peer] = []
    for i, p in enumerate(e.peers):
        ident = _identity(
            files,
            "server",
            p.certificate,
            (*loc, "peers", i, "certificate"),
            whose=f"the Expressway peer {p.name}'s",
        )
        store = _store(files, "trusted_cas", p.trusted_cas, (*loc, "peers", i, "trusted_cas"))
        key = files.resolve(p.key) if p.key else None
        if key is not None and not Path(key).is_file():
            files.fail(
                "key file not found",
                (*loc, "peers", i, "key"),
                "give the private key of the peer's certificate, or null",
            )
        client = None
        client_key = None
        if p.client_certificate is not None:
            client = _identity(
                files,
                "client",
                p.client_certificate,
                (*loc, "peers", i, "client_certificate"),
                whose=f"the Expressway peer {p.name}'s",
            )
            client_key = _key_file(files, p.client_key, (*loc, "peers", i, "client_key"))
        probe = None
        if p.probe is not None:
            probe = ProbeAddress(host=p.probe.host, ports=tuple(sorted(p.probe.ports.items())))
        if ident is not None:
            peers.append(
                Peer(
                    name=p.name,
                    certificate=ident,
                    key=key,
                    trusted_cas=store,
                    client_certificate=client,
                    client_key=client_key,
                    probe=probe,
                )
            )
    extra: dict[str, Any] = {"cluster_tls_mode": ClusterTlsMode(e.cluster_tls_mode)}
    if edge is not None:
        extra["edge_domains"] = tuple(edge.edge_domains)
        extra["enable_server_eku_upload"] = edge.enable_server_eku_upload
        if edge.traversal is not None:
            extra["traversal"] = Traversal(
                peer_addresses=tuple(edge.traversal.peer_addresses),
                tls_verify_subject_name=edge.traversal.tls_verify_subject_name,
                port=edge.traversal.port,
            )
    return Expressway(
        version=Version.parse(e.version),
        upgraded_from=Version.parse(e.upgraded_from) if e.upgraded_from else None,
        cluster_name=e.cluster_name,
        verify_origin_server=e.verify_origin_server,
        ciphers=CipherConfig(
            uc_server_discovery=e.ciphers.uc_server_discovery,
            sip=e.ciphers.sip,
            https=e.ciphers.https,
        ),
        sip_tls_versions=tuple(e.sip_tls_versions),
        sip_signature_pref_rsa=e.sip_signature_pref_rsa,
        peers=tuple(peers),
        **extra,
    )


def _cluster(files: _Files, c: ClusterIn, loc: Loc) -> UcCluster:
    product = Product(c.product)
    # the names of stores and identities as one object each (the YAML reader makes a string
    # per mention): findings about them share it, about 1.7 MB at 10,000 nodes
    stores = tuple(
        _store(files, intern(name), ref, (*loc, "trust", name))
        for name, ref in c.trust.items()
        if ref is not None  # null: not exported (rules that need it say so)
    )
    nodes: list[Node] = []
    for i, n in enumerate(c.nodes):
        idents: list[Identity] = []
        for cname, ref in n.certificates.items():
            if ref is None:
                continue
            ident = _identity(files, intern(cname), ref, (*loc, "nodes", i, "certificates", cname))
            if ident is not None:
                idents.append(ident)
        probe = None
        if n.probe is not None:
            probe = ProbeAddress(host=n.probe.host, ports=tuple(sorted(n.probe.ports.items())))
        nodes.append(
            Node(
                name=n.name,
                role=NodeRole(n.role),
                certificates=tuple(idents),
                probe=probe,
            )
        )
    return UcCluster(
        name=c.name,
        product=product,
        version=c.version,
        publisher=c.publisher,
        tls_verify=c.tls_verify,
        security_mode=SecurityMode(c.security_mode),
        sip_oauth=c.sip_oauth,
        https_ciphers=HttpsCiphers(c.https_ciphers),
        tls_ciphers=TlsCiphers(c.tls_ciphers),
        secure_profiles=tuple(c.secure_profiles),
        voicemail_host=c.voicemail_host,
        trust=stores,
        nodes=tuple(nodes),
    )


def _references(model: InventoryIn) -> Iterator[str]:
    """Every certificate file the inventory names, in the order the deployment is built."""
    for exp in (model.expressway, model.expressway_e):
        for peer in exp.peers if exp is not None else ():
            yield peer.certificate
            yield peer.trusted_cas
            if peer.client_certificate is not None:
                yield peer.client_certificate
    for cluster in model.uc_clusters:
        yield from (ref for ref in cluster.trust.values() if ref is not None)
        for node in cluster.nodes:
            yield from (ref for ref in node.certificates.values() if ref is not None)


def parse_inventory(
    text: str, *, source: str = "<inventory>"
) -> tuple[InventoryIn, Mapping[Loc, int]]:
    """Validate inventory text against schema 1 (no file is read)."""
    data, lines = _data(text, source)
    return _validated(data, source, lines), lines


def _data(text: str, source: str) -> tuple[dict[Any, Any], Mapping[Loc, int]]:
    data, lines = _compose(text, source)
    if not isinstance(data, dict):
        raise InputError(
            "the inventory must be a YAML mapping (schema: 1, name: …)", file=source, line=1
        )
    return data, lines


def _validated(data: dict[Any, Any], source: str, lines: Mapping[Loc, int]) -> InventoryIn:
    """The schema's models of ``data``, or every error with its line."""
    from pydantic import ValidationError

    from mratrust.inventory_schema import InventoryIn

    try:
        return InventoryIn.model_validate(data)
    except ValidationError as exc:
        errors = _validation_errors(exc, source, lines)
        raise (errors.errors[0] if len(errors.errors) == 1 else errors) from exc


def load_inventory(
    path: str | Path,
    *,
    password: bytes | None = None,
    password_source: Callable[[], bytes | None] | None = None,
) -> Deployment:
    """Read and validate an inventory file and every certificate file it references.

    Raises :class:`InputError` (or :class:`InputErrors` with all of them) on bad input.
    PKCS#12 passwords come from ``password`` or the ``MRATRUST_P12_PASSWORD`` variable.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError("inventory file not found", file=source, hint="check the path") from exc
    except IsADirectoryError as exc:
        raise InputError(
            "is a folder, not an inventory file", file=source, hint="give inventory.yaml"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError("inventory is not UTF-8 text", file=source) from exc
    except OSError as exc:
        raise InputError(f"cannot read the inventory ({exc.strerror})", file=source) from exc
    data, lines = _data(text, source)
    # a plainly valid inventory needs no pydantic; anything else gets its validation and words
    model: InventoryIn | None = read_plain(data)
    if model is None:
        model = _validated(data, source, lines)
    if password is None and password_source is not None:
        password = password_source()
    if password is None and os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV].encode()
    files = _Files(path.parent, source, lines, password)
    files.prefetch(_references(model))
    expressway = _expressway(files, model.expressway, ("expressway",))
    edge = model.expressway_e
    expressway_e = _expressway(files, edge, ("expressway_e",), edge) if edge else None
    clusters = tuple(
        _cluster(files, c, ("uc_clusters", i)) for i, c in enumerate(model.uc_clusters)
    )
    if files.errors:
        raise files.errors[0] if len(files.errors) == 1 else InputErrors(files.errors)
    return Deployment(
        name=model.name,
        expressway=expressway,
        expressway_e=expressway_e,
        uc_clusters=clusters,
        source=source,
    )


__all__ = [
    "PASSWORD_ENV",
    "README_REF",
    *_SCHEMA_NAMES,
    "load_inventory",
    "parse_inventory",
]
