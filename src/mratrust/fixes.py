"""Typed fixes: what a finding asks to change, as values the plan orders and deduplicates.

A rule says how its failing findings are fixed by registering a ``fix`` function with
:func:`mratrust.rules.base.rule` (it reads the finding's own subject and evidence), or by passing
``fixes=`` to :func:`mratrust.rules.base.make` where the fix needs more than the finding holds.
:func:`~mratrust.rules.base.make` attaches them to every ``fail`` and ``risk`` finding
(:attr:`mratrust.model.Finding.fixes`). The plan (:mod:`mratrust.plan`) turns each value into
kit steps by its type alone, never by the rule ID:

- :class:`UploadTrust`: put certificates into a trust store (Expressway-C's or an Expressway-E
  peer's trusted CA list, or a UC cluster's ``tomcat-trust`` …), completing the path of a chain
  to its root from the inventory and ``plan --ca``; the restarts follow from the store
  (:mod:`mratrust.products`).
- :class:`RemoveTrust`: take entries out of Expressway-C's trusted CA list (never one that
  another certificate relies on).
- :class:`Reissue`: a new certificate for a UC identity, an Expressway-C peer (its server
  certificate, or from X15.5 its separate client certificate), an Expressway-E peer, or wherever
  an expiring certificate lives.
- :class:`Configure`: a setting to change (:class:`Setting`).

Certificates are named by fingerprint (``sha256:…``), as in the finding's evidence. Values are
frozen and hashable: equal fixes from several findings become one step that lists every rule.
Restarts are not attached by rules: the plan derives them from the stores and settings it changes,
with the recipes of :mod:`mratrust.products`.
"""

from __future__ import annotations

from enum import Enum

from mratrust.values import frozen


@frozen
class ExpresswayTrust:
    """The trusted CA list of Expressway-C peers (``peers`` empty: every peer).

    Expressway-E's list is another store with its own target type (:class:`ExpresswayETrust`),
    which the plan resolves on its own, rather than a flag on this one.
    """

    peers: tuple[str, ...] = ()


@frozen
class ExpresswayETrust:
    """The trusted CA list of one Expressway-E peer (the traversal zone's client side)."""

    peer: str


@frozen
class UcTrust:
    """A trust store of a UC cluster (``tomcat-trust``, ``CallManager-trust`` …)."""

    cluster: str
    store: str


TrustTarget = ExpresswayTrust | ExpresswayETrust | UcTrust


@frozen
class UploadTrust:
    """Upload certificates to a trust store so that a chain verifies there."""

    store: TrustTarget
    certificates: tuple[str, ...] = ()
    """What the rule found missing (fingerprints)."""
    chain: tuple[str, ...] = ()
    """The chain presented to the store's owner: the plan uploads whatever else its path to a
    root lacks, from the inventory and ``plan --ca``, or asks for the CA nobody holds."""
    leaf_of: str | None = None
    """The Expressway-C peer whose own certificate goes in too when the cluster is in mixed mode
    (``CallManager-trust``: the MRA guide asks for the leaf)."""


@frozen
class RemoveTrust:
    """Delete entries from Expressway-C's trusted CA list (it stops at the first subject match)."""

    store: ExpresswayTrust
    certificates: tuple[str, ...]


class Rename(Enum):
    """Whether a UC identity's name problem is fixed by renaming the nodes to their FQDNs."""

    NO = "no"
    ALWAYS = "always"
    """The nodes are defined by host name: rename them (System > Server)."""
    IF_SHORT = "if-short"
    """Rename the nodes that are defined by a host name, if any."""


@frozen
class UcIdentity:
    """A UC cluster's identity certificate (``tomcat``, ``CallManager`` …)."""

    cluster: str
    certificate: str
    rename: Rename = Rename.NO
    """Try the rename first: when every certificate already holds the FQDNs, no reissue."""
    same_cn: bool = False
    """CUCM's self-signed CallManager shares its subject with tomcat: have it CA-signed."""
    stale: str | None = None
    """A trusted entry (fingerprint) that is stale once the certificate is reissued."""


@frozen
class ExpresswayIdentity:
    """An Expressway-C peer's server certificate."""

    peer: str


@frozen
class ExpresswayClientIdentity:
    """An Expressway-C peer's separate client certificate (X15.5+: Maintenance > Security >
    Client certificate), with clientAuth; the server certificate may then stay serverAuth-only."""

    peer: str


@frozen
class ExpresswayEIdentity:
    """An Expressway-E peer's server certificate, with every name MRA needs."""

    peer: str


@frozen
class Renewal:
    """Renew a certificate (by fingerprint) where it lives, with what it holds today."""

    fingerprint: str
    subject: str


@frozen
class Reissue:
    """Issue a new certificate."""

    what: UcIdentity | ExpresswayIdentity | ExpresswayClientIdentity | ExpresswayEIdentity | Renewal


class Setting(Enum):
    """A setting a :class:`Configure` changes."""

    RSA_FIRST = "rsa-first"
    """Make Expressway-C get the node's RSA identity on a leg: CUCM HTTPS Ciphers RSA only where
    that applies, else an RSA-first cipher string on Expressway-C (TLS 1.2 only)."""
    SIP_SIGNATURE_PREF_RSA = "sip-signature-pref-rsa"
    """``xConfiguration SIP Advanced TlsSignatureAlgoPrefRsa: On``."""
    SERVER_EKU_UPLOAD = "server-eku-upload"
    """Expressway-E (X15.4): ``EnableServerEkuUpload: On``, so a serverAuth-only certificate is
    accepted."""


@frozen
class Configure:
    """Change a setting."""

    setting: Setting
    cluster: str | None = None
    leg_id: str | None = None
    """The graph leg the setting is for (its cipher setting decides which string)."""
    cipher_string: str | None = None
    """The cipher string in effect, for :attr:`Setting.RSA_FIRST`."""


Fix = UploadTrust | RemoveTrust | Reissue | Configure
"""Every kind of fix a finding can carry."""


__all__ = [
    "Configure",
    "ExpresswayClientIdentity",
    "ExpresswayEIdentity",
    "ExpresswayETrust",
    "ExpresswayIdentity",
    "ExpresswayTrust",
    "Fix",
    "Reissue",
    "RemoveTrust",
    "Rename",
    "Renewal",
    "Setting",
    "TrustTarget",
    "UcIdentity",
    "UcTrust",
    "UploadTrust",
]
