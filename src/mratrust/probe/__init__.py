"""Live handshakes exactly as Expressway-C's Traffic Server makes them.

The only code in mratrust that opens sockets towards UC nodes. :func:`probe_endpoints` takes
targets and a :class:`ClientProfile` (an Expressway version with its cipher defaults, TLS versions
and signature-algorithm preference, optionally its certificate) and returns, per endpoint, what
Expressway-C gets with its own offer and every identity the server holds, judged against a trust
store, as frozen data.
"""

from __future__ import annotations

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
from mratrust.probe.engine import (
    EndpointReport,
    Identity,
    Observation,
    ProbeTarget,
    Verdict,
    exit_code,
    judge,
    probe_endpoints,
)
from mratrust.probe.handshake import Handshake, Phase, Timeouts
from mratrust.probe.outcome import Alert, Outcome, OutcomeKind

__all__ = [
    "ALL_VARIANTS",
    "FORCED_VARIANTS",
    "Alert",
    "ClientIdentity",
    "ClientProfile",
    "EndpointReport",
    "Handshake",
    "Identity",
    "Observation",
    "Outcome",
    "OutcomeKind",
    "Phase",
    "ProbeTarget",
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
