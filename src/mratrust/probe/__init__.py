"""Live handshakes exactly as Expressway-C's Traffic Server makes them.

The only code in mratrust that opens sockets towards UC nodes. :func:`probe_endpoints` takes
targets and a :class:`ClientProfile` (an Expressway version with its cipher defaults, TLS versions
and signature-algorithm preference, optionally its certificate) and returns, per endpoint, what
Expressway-C gets with its own offer and every identity the server holds, judged against a trust
store, as frozen data::

    from mratrust.probe import ProbeTarget, Timeouts, client_profile, probe_endpoints
    from mratrust.versions import Version

    profile = client_profile(Version.parse("X15.3"))
    reports = probe_endpoints(
        [ProbeTarget.parse("cucm-pub.example.com:8443")], profile, trust=store
    )

Names are imported on first use: ``mratrust --version`` registers the ``probe`` command without
loading OpenSSL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ALL_VARIANTS": "mratrust.probe.client",
    "FORCED_VARIANTS": "mratrust.probe.client",
    "ClientIdentity": "mratrust.probe.client",
    "ClientProfile": "mratrust.probe.client",
    "TlsVersion": "mratrust.probe.client",
    "Variant": "mratrust.probe.client",
    "client_profile": "mratrust.probe.client",
    "load_client_identity": "mratrust.probe.client",
    "sigalgs_supported": "mratrust.probe.client",
    "EndpointReport": "mratrust.probe.verdict",
    "ServerIdentity": "mratrust.probe.verdict",
    "Observation": "mratrust.probe.verdict",
    "ProbeTarget": "mratrust.probe.target",
    "Service": "mratrust.probe.target",
    "Verdict": "mratrust.probe.verdict",
    "exit_code": "mratrust.probe.verdict",
    "judge": "mratrust.probe.verdict",
    "probe_endpoints": "mratrust.probe.scheduler",
    "Handshake": "mratrust.probe.handshake",
    "Phase": "mratrust.probe.handshake",
    "Timeouts": "mratrust.probe.handshake",
    "Alert": "mratrust.probe.outcome",
    "Outcome": "mratrust.probe.outcome",
    "OutcomeKind": "mratrust.probe.outcome",
}

if TYPE_CHECKING:
    from mratrust.probe.client import (
        ALL_VARIANTS,
        FORCED_VARIANTS,
        ClientIdentity,
        ClientProfile,
        TlsVersion,
        Variant,
        client_profile,
        load_client_identity,
        sigalgs_supported,
    )
    from mratrust.probe.handshake import Handshake, Phase, Timeouts
    from mratrust.probe.outcome import Alert, Outcome, OutcomeKind
    from mratrust.probe.scheduler import probe_endpoints
    from mratrust.probe.target import ProbeTarget, Service
    from mratrust.probe.verdict import (
        EndpointReport,
        Observation,
        ServerIdentity,
        Verdict,
        exit_code,
        judge,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mratrust.probe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "ALL_VARIANTS",
    "FORCED_VARIANTS",
    "Alert",
    "ClientIdentity",
    "ClientProfile",
    "EndpointReport",
    "Handshake",
    "Observation",
    "Outcome",
    "OutcomeKind",
    "Phase",
    "ProbeTarget",
    "ServerIdentity",
    "Service",
    "Timeouts",
    "TlsVersion",
    "Variant",
    "Verdict",
    "client_profile",
    "exit_code",
    "judge",
    "load_client_identity",
    "probe_endpoints",
    "sigalgs_supported",
]
