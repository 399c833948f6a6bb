"""What each UC product needs when a certificate or a trust store changes: one table.

Labels, trust-store names, the restarts after a trust upload and after a new identity
certificate, and the extra steps some certificate types need (CTL update in mixed mode, SSO
metadata). :mod:`mratrust.plan` and the U2C rules' remediation read it; nothing else keeps a
restart list. Sources are the knowledge base's (ids as there, URLs in :data:`SOURCES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from mratrust.model import EXPRESSWAY_RESTART_PAGE, TRUST_NAMES, Product
from mratrust.values import frozen

SOURCES: Mapping[str, str] = {
    "S1": "https://www.cisco.com/c/en/us/support/docs/unified-communications/telepresence-video-communication-server-expressway/225476-understand-mobile-and-remote-access.html",
    "S2": "https://www.cisco.com/c/en/us/support/docs/unified-communications/expressway/217743-upgrade-of-video-communication-server-v.html",
    "S7": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/cucm/admin/12_5_1SU3/adminGd/cucm_b_administration-guide-1251su3/cucm_b_test-adminguide_chapter_01111.html",
    "S8": "https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/connection/15/os_administration/guide/b_15cucosagx/b_14cucosagx_chapter_0101.html",
    "S9": "https://www.cisco.com/c/en/us/support/docs/unified-communications/unified-communications-manager-callmanager/214231-certificate-regeneration-process-for-cis.html",
    "S22": "https://www.cisco.com/c/en/us/support/docs/unified-communications/jabber/215572-cisco-jabber-and-sip-oauth-mode.html",
}


def _restart(*services: str) -> tuple[str, ...]:
    return tuple(f"utils service restart {s}" for s in services)


@frozen
class Recipe:
    """What to do after one change: ``before`` (e.g. the CTL update), restarts, ``after``."""

    restarts: tuple[str, ...]
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def commands(self) -> tuple[str, ...]:
        return (*self.before, *self.restarts, *self.after)


@frozen
class ProductInfo:
    """One product's labels, stores and recipes."""

    product: Product
    label: str
    os_admin: str
    refresh_page: str
    stores: tuple[str, ...]
    trust: Mapping[str, Recipe] = field(default_factory=dict)
    """Restarts after an upload to a trust store, by store name."""
    identity: Mapping[str, Recipe] = field(default_factory=dict)
    """Restarts and steps after a new identity certificate, by certificate type."""


# CUCM after a tomcat certificate change: the upload prompt's services (S7, S9), TFTP (S7: else
# the old cached tomcat certificate is served), DRF (S9), SSO metadata (S9).
_CUCM_TOMCAT = Recipe(
    restarts=_restart(
        "Cisco Tomcat",
        "Cisco UDS Tomcat",
        "Cisco AXL Tomcat",
        "Cisco TFTP",
        "Cisco DRF Local",
    ),
    after=(
        "on the publisher only: utils service restart Cisco DRF Master",
        "if SAML SSO is enabled: re-export the SP metadata (System > SAML Single Sign-On > "
        "Export All Metadata), import it at the IdP, then utils service restart Cisco SSOSP "
        "Tomcat",
    ),
    sources=("S1", "S7", "S9"),
)
# CUCM after a CallManager certificate change (S9; R-UCM-06): CTL first in mixed mode, then the
# services that hold it, then the phones.
_CUCM_CALLMANAGER = Recipe(
    restarts=_restart(
        "Cisco CallManager", "Cisco CTIManager", "Cisco TVS", "Cisco TFTP", "Cisco HAProxy"
    ),
    sources=("S9",),
)
CTL_UPDATE = "utils ctl update CTLFile"
PHONE_RESET = (
    "reset the phones (Cisco Unified CM Administration > Device > Phone > select all > Reset) so "
    "they load the new CTL/ITL"
)
# Unity Connection after a tomcat certificate change (S8).
_CUC_TOMCAT = Recipe(
    restarts=_restart(
        "Cisco Tomcat",
        "Connection Conversation Manager",
        "Connection Jetty",
        "Connection IMAP Server",
        "Connection SMTP Server",
        "Cisco Dirsync",
    ),
    sources=("S8",),
)

PRODUCTS: Mapping[Product, ProductInfo] = {
    Product.CUCM: ProductInfo(
        product=Product.CUCM,
        label="Unified CM",
        os_admin="Cisco Unified OS Administration",
        refresh_page=(
            "Configuration > Unified Communications > Unified CM servers > Refresh servers"
        ),
        stores=TRUST_NAMES[Product.CUCM],
        trust={
            # S2: Tomcat (HAProxy restarts with it); S1/S2 list HAProxy explicitly
            "tomcat-trust": Recipe(
                restarts=_restart("Cisco Tomcat", "Cisco HAProxy"), sources=("S1", "S2")
            ),
            # S2: CallManager and TFTP
            "CallManager-trust": Recipe(
                restarts=_restart("Cisco CallManager", "Cisco TFTP", "Cisco HAProxy"),
                sources=("S1", "S2"),
            ),
        },
        identity={
            "tomcat": _CUCM_TOMCAT,
            "tomcat-ECDSA": _CUCM_TOMCAT,
            "CallManager": _CUCM_CALLMANAGER,
            "CallManager-ECDSA": _CUCM_CALLMANAGER,
        },
    ),
    Product.IMP: ProductInfo(
        product=Product.IMP,
        label="IM and Presence",
        os_admin="Cisco Unified IM and Presence OS Administration",
        refresh_page=(
            "Configuration > Unified Communications > IM and Presence Service nodes > "
            "Refresh servers"
        ),
        stores=TRUST_NAMES[Product.IMP],
        trust={
            "tomcat-trust": Recipe(restarts=_restart("Cisco Tomcat"), sources=("S1",)),
            # the knowledge base says "IM&P XCP services" without a source [U]
            "cup-xmpp-trust": Recipe(restarts=_restart("Cisco XCP Router")),
        },
        identity={
            "tomcat": Recipe(restarts=_restart("Cisco Tomcat"), sources=("S1",)),
            "tomcat-ECDSA": Recipe(restarts=_restart("Cisco Tomcat"), sources=("S1",)),
            "cup-xmpp": Recipe(restarts=_restart("Cisco XCP Router")),
            "cup-xmpp-ECDSA": Recipe(restarts=_restart("Cisco XCP Router")),
        },
    ),
    Product.CUC: ProductInfo(
        product=Product.CUC,
        label="Unity Connection",
        os_admin="Cisco Unified OS Administration (Unity Connection)",
        refresh_page=(
            "Configuration > Unified Communications > Unity Connection servers > Refresh servers"
        ),
        stores=TRUST_NAMES[Product.CUC],
        trust={"tomcat-trust": Recipe(restarts=_restart("Cisco Tomcat"), sources=("S8",))},
        identity={"tomcat": _CUC_TOMCAT, "tomcat-ECDSA": _CUC_TOMCAT},
    ),
}

EXPRESSWAY_RESTART = f"{EXPRESSWAY_RESTART_PAGE} > Restart (or xCommand Restart)"
"""How Expressway-C applies trusted CA list and cipher changes."""

SIP_OAUTH_RESTART = "utils service restart Cisco CallManager"
"""SIP OAuth (5090/5091) is served by the CallManager service with the tomcat certificate and
tomcat-trust (S22): a tomcat or tomcat-trust change needs it too."""


def info(product: Product) -> ProductInfo:
    """The table row of ``product``."""
    return PRODUCTS[product]


def trust_restarts(product: Product, store: str, *, sip_oauth: bool = False) -> tuple[str, ...]:
    """The restarts after an upload to ``store`` of ``product``, in order."""
    recipe = PRODUCTS[product].trust.get(store)
    out = list(recipe.restarts if recipe else ())
    if sip_oauth and product is Product.CUCM and store == "tomcat-trust":
        out.append(SIP_OAUTH_RESTART)
    return tuple(out)


def trust_sources(product: Product, store: str, *, sip_oauth: bool = False) -> tuple[str, ...]:
    """The URLs behind :func:`trust_restarts`."""
    recipe = PRODUCTS[product].trust.get(store)
    ids = (recipe.sources if recipe else ()) + (
        ("S22",) if sip_oauth and product is Product.CUCM and store == "tomcat-trust" else ()
    )
    return source_urls(ids)


def trust_restart_text(product: Product, store: str) -> str:
    """The same as one phrase (for a finding's remediation)."""
    commands = trust_restarts(product, store)
    return " and ".join(commands) if commands else "restart the services using it"


def identity_recipe(
    product: Product, certificate: str, *, mixed: bool = False, sip_oauth: bool = False
) -> Recipe:
    """What follows the upload of a new ``certificate`` (tomcat, CallManager, …) on ``product``."""
    base = PRODUCTS[product].identity.get(certificate)
    if base is None:
        return Recipe(restarts=(), after=(f"restart the services that use {certificate}",))
    restarts = list(base.restarts)
    before = list(base.before)
    after = list(base.after)
    if product is Product.CUCM and certificate.startswith("CallManager") and mixed:
        before.insert(0, CTL_UPDATE)
        after.append(PHONE_RESET)
    if product is Product.CUCM and certificate.startswith("tomcat") and sip_oauth:
        restarts.append(SIP_OAUTH_RESTART)
    return Recipe(
        restarts=tuple(dict.fromkeys(restarts)),
        before=tuple(before),
        after=tuple(after),
        sources=base.sources + (("S22",) if sip_oauth else ()),
    )


def source_urls(ids: tuple[str, ...]) -> tuple[str, ...]:
    """The URLs of knowledge-base source ids."""
    return tuple(SOURCES[i] for i in dict.fromkeys(ids) if i in SOURCES)
