"""Probe many endpoints at once, as Expressway-C, and judge what they present.

The old home of the probe's names, kept so that existing imports work. The code lives in:

- :mod:`mratrust.probe.target`: :class:`ProbeTarget` and :class:`Service`;
- :mod:`mratrust.probe.verdict`: :func:`judge`, :func:`observe_handshake` (formerly
  ``observe``), :class:`Observation`, :class:`ServerIdentity`, :class:`EndpointReport`,
  :func:`exit_code`;
- :mod:`mratrust.probe.scheduler`: :func:`probe_endpoints` (thread pool, slots, deadline).
"""

from __future__ import annotations

from mratrust.probe.client import Offer
from mratrust.probe.scheduler import STOP_AFTER_DEFAULT, covered_by, probe_endpoints
from mratrust.probe.target import DEFAULT_PORT, ProbeTarget, Service
from mratrust.probe.verdict import (
    EndpointReport,
    Observation,
    ServerIdentity,
    Verdict,
    answered,
    exit_code,
    judge,
    observe_handshake,
    refused_offer,
)

__all__ = [
    "DEFAULT_PORT",
    "STOP_AFTER_DEFAULT",
    "EndpointReport",
    "Observation",
    "Offer",
    "ProbeTarget",
    "ServerIdentity",
    "Service",
    "Verdict",
    "answered",
    "covered_by",
    "exit_code",
    "judge",
    "observe_handshake",
    "probe_endpoints",
    "refused_offer",
]
