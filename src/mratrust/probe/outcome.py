"""What a handshake came to, in words a UC engineer knows.

Every failure is mapped through tables — TLS alerts by code, OpenSSL reason strings, path
validation reasons — to one :class:`Outcome`, and described with the line Expressway-C's Traffic
Server would write for it (knowledge base §10.1), so that an observation can be matched with what
the engineer sees in the diagnostic log.
"""

from __future__ import annotations

from enum import Enum

from mratrust.pki.verify import Reason


class Outcome(Enum):
    """The classified result of one handshake (values are the JSON strings)."""

    __hash__ = object.__hash__
    """By identity (members are singletons), in C: Enum's own hash runs Python code per look-up,
    and these members key the dictionaries of every handshake and verdict."""

    OK = "ok"
    """The handshake completed and the presented chain verifies (or was not checked)."""
    UNTRUSTED = "untrusted"
    """We do not trust them: no path from the presented chain to the trust store."""
    CERTIFICATE_INVALID = "certificate-invalid"
    """The path exists but a certificate on it is expired, not yet valid, weak or lacks an EKU."""
    NAME_MISMATCH = "name-mismatch"
    """The name Expressway-C connects to is not in the certificate's SAN (nor its CN)."""
    CLIENT_REJECTED = "client-rejected"
    """They do not trust us: the server rejected Expressway-C's client certificate (or none)."""
    NO_SHARED_CIPHER = "no-shared-cipher"
    """No cipher suite (TLS 1.2) or signature algorithm (TLS 1.3) in common."""
    NO_SHARED_PROTOCOL = "no-shared-protocol"
    """No TLS version in common."""
    OFFER_REFUSED = "offer-refused"
    """A forced offer the server ended without a usable answer (closed, reset, or an alert that
    names no client-certificate problem) although it answers Expressway-C's own offer: JSSE closes
    the connection when no certificate fits the offer. A fact about that offer, not a failure."""
    TIMEOUT = "timeout"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    """The name does not resolve, or there is no route to the address."""
    NOT_TLS = "not-tls"
    RESET = "reset"
    """The server closed or reset the connection in the middle of the handshake."""
    TLS_ERROR = "tls-error"
    """Any other TLS failure; the OpenSSL reason is kept."""
    SKIPPED = "skipped"
    """Not attempted (the endpoint is unreachable, or this OpenSSL cannot make the offer)."""

    @property
    def kind(self) -> OutcomeKind:
        """Whether this outcome is a pass, a verdict against the deployment, or no answer."""
        return _KIND[self]


class OutcomeKind(Enum):
    """Three families: the exit code and the audit's status follow them."""

    PASS = "pass"
    VERDICT = "verdict"
    """The server answered and something in the trust matrix is wrong (exit 1, a finding)."""
    NEGOTIATION = "negotiation"
    """No common cipher or version: a verdict on the default offer, a plain fact on a forced one."""
    UNREACHABLE = "unreachable"
    """The check could not be made (exit 3, an ``error`` finding)."""
    SKIPPED = "skipped"


_KIND: dict[Outcome, OutcomeKind] = {
    Outcome.OK: OutcomeKind.PASS,
    Outcome.UNTRUSTED: OutcomeKind.VERDICT,
    Outcome.CERTIFICATE_INVALID: OutcomeKind.VERDICT,
    Outcome.NAME_MISMATCH: OutcomeKind.VERDICT,
    Outcome.CLIENT_REJECTED: OutcomeKind.VERDICT,
    Outcome.NO_SHARED_CIPHER: OutcomeKind.NEGOTIATION,
    Outcome.NO_SHARED_PROTOCOL: OutcomeKind.NEGOTIATION,
    Outcome.OFFER_REFUSED: OutcomeKind.NEGOTIATION,
    Outcome.TIMEOUT: OutcomeKind.UNREACHABLE,
    Outcome.REFUSED: OutcomeKind.UNREACHABLE,
    Outcome.UNREACHABLE: OutcomeKind.UNREACHABLE,
    Outcome.NOT_TLS: OutcomeKind.UNREACHABLE,
    Outcome.RESET: OutcomeKind.UNREACHABLE,
    Outcome.TLS_ERROR: OutcomeKind.UNREACHABLE,
    Outcome.SKIPPED: OutcomeKind.SKIPPED,
}

VERDICT_ORDER: tuple[Outcome, ...] = (
    Outcome.UNTRUSTED,
    Outcome.CERTIFICATE_INVALID,
    Outcome.NAME_MISMATCH,
    Outcome.CLIENT_REJECTED,
)
"""The order in which Expressway-C meets these problems: it verifies the server's chain (trust,
then validity), then the name, and only then does the server judge its client certificate. The
first one is what Traffic Server logs; the others are still reported."""


class Alert(Enum):
    """TLS alert descriptions (RFC 8446 §6), by the names the RFC gives them."""

    CLOSE_NOTIFY = "close_notify"
    UNEXPECTED_MESSAGE = "unexpected_message"
    BAD_RECORD_MAC = "bad_record_mac"
    RECORD_OVERFLOW = "record_overflow"
    HANDSHAKE_FAILURE = "handshake_failure"
    BAD_CERTIFICATE = "bad_certificate"
    UNSUPPORTED_CERTIFICATE = "unsupported_certificate"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_UNKNOWN = "certificate_unknown"
    ILLEGAL_PARAMETER = "illegal_parameter"
    UNKNOWN_CA = "unknown_ca"
    ACCESS_DENIED = "access_denied"
    DECODE_ERROR = "decode_error"
    DECRYPT_ERROR = "decrypt_error"
    PROTOCOL_VERSION = "protocol_version"
    INSUFFICIENT_SECURITY = "insufficient_security"
    INTERNAL_ERROR = "internal_error"
    INAPPROPRIATE_FALLBACK = "inappropriate_fallback"
    USER_CANCELED = "user_canceled"
    NO_RENEGOTIATION = "no_renegotiation"
    MISSING_EXTENSION = "missing_extension"
    UNSUPPORTED_EXTENSION = "unsupported_extension"
    UNRECOGNIZED_NAME = "unrecognized_name"
    BAD_CERTIFICATE_STATUS_RESPONSE = "bad_certificate_status_response"
    UNKNOWN_PSK_IDENTITY = "unknown_psk_identity"
    CERTIFICATE_REQUIRED = "certificate_required"
    NO_APPLICATION_PROTOCOL = "no_application_protocol"
    UNKNOWN = "unknown"

    @property
    def code(self) -> int | None:
        """The alert's number on the wire."""
        return _ALERT_CODE.get(self)

    @property
    def openssl_reason(self) -> str:
        """The reason string OpenSSL 1.1.1 (Expressway's) prints for this alert when received."""
        return _OPENSSL_ALERT_TEXT.get(self, "tlsv1 alert " + self.value.replace("_", " "))

    @classmethod
    def from_code(cls, code: int) -> Alert:
        """The alert with this number (:attr:`UNKNOWN` when it is not in RFC 8446)."""
        return _ALERT_BY_CODE.get(code, cls.UNKNOWN)


_ALERT_CODE: dict[Alert, int] = {
    Alert.CLOSE_NOTIFY: 0,
    Alert.UNEXPECTED_MESSAGE: 10,
    Alert.BAD_RECORD_MAC: 20,
    Alert.RECORD_OVERFLOW: 22,
    Alert.HANDSHAKE_FAILURE: 40,
    Alert.BAD_CERTIFICATE: 42,
    Alert.UNSUPPORTED_CERTIFICATE: 43,
    Alert.CERTIFICATE_REVOKED: 44,
    Alert.CERTIFICATE_EXPIRED: 45,
    Alert.CERTIFICATE_UNKNOWN: 46,
    Alert.ILLEGAL_PARAMETER: 47,
    Alert.UNKNOWN_CA: 48,
    Alert.ACCESS_DENIED: 49,
    Alert.DECODE_ERROR: 50,
    Alert.DECRYPT_ERROR: 51,
    Alert.PROTOCOL_VERSION: 70,
    Alert.INSUFFICIENT_SECURITY: 71,
    Alert.INTERNAL_ERROR: 80,
    Alert.INAPPROPRIATE_FALLBACK: 86,
    Alert.USER_CANCELED: 90,
    Alert.NO_RENEGOTIATION: 100,
    Alert.MISSING_EXTENSION: 109,
    Alert.UNSUPPORTED_EXTENSION: 110,
    Alert.UNRECOGNIZED_NAME: 112,
    Alert.BAD_CERTIFICATE_STATUS_RESPONSE: 113,
    Alert.UNKNOWN_PSK_IDENTITY: 115,
    Alert.CERTIFICATE_REQUIRED: 116,
    Alert.NO_APPLICATION_PROTOCOL: 120,
}
_ALERT_BY_CODE = {code: alert for alert, code in _ALERT_CODE.items()}

_OPENSSL_ALERT_TEXT: dict[Alert, str] = {
    Alert.UNEXPECTED_MESSAGE: "sslv3 alert unexpected message",
    Alert.BAD_RECORD_MAC: "sslv3 alert bad record mac",
    Alert.HANDSHAKE_FAILURE: "sslv3 alert handshake failure",
    Alert.BAD_CERTIFICATE: "sslv3 alert bad certificate",
    Alert.UNSUPPORTED_CERTIFICATE: "sslv3 alert unsupported certificate",
    Alert.CERTIFICATE_REVOKED: "sslv3 alert certificate revoked",
    Alert.CERTIFICATE_EXPIRED: "sslv3 alert certificate expired",
    Alert.CERTIFICATE_UNKNOWN: "sslv3 alert certificate unknown",
    Alert.ILLEGAL_PARAMETER: "sslv3 alert illegal parameter",
    Alert.CERTIFICATE_REQUIRED: "tlsv13 alert certificate required",
    Alert.MISSING_EXTENSION: "tlsv13 alert missing extension",
}

ALERT_OUTCOME: dict[Alert, Outcome] = {
    Alert.UNKNOWN_CA: Outcome.CLIENT_REJECTED,
    Alert.BAD_CERTIFICATE: Outcome.CLIENT_REJECTED,
    Alert.UNSUPPORTED_CERTIFICATE: Outcome.CLIENT_REJECTED,
    Alert.CERTIFICATE_REVOKED: Outcome.CLIENT_REJECTED,
    Alert.CERTIFICATE_EXPIRED: Outcome.CLIENT_REJECTED,
    Alert.CERTIFICATE_UNKNOWN: Outcome.CLIENT_REJECTED,
    Alert.CERTIFICATE_REQUIRED: Outcome.CLIENT_REJECTED,
    Alert.ACCESS_DENIED: Outcome.CLIENT_REJECTED,
    Alert.HANDSHAKE_FAILURE: Outcome.NO_SHARED_CIPHER,
    Alert.INSUFFICIENT_SECURITY: Outcome.NO_SHARED_CIPHER,
    Alert.PROTOCOL_VERSION: Outcome.NO_SHARED_PROTOCOL,
    Alert.INAPPROPRIATE_FALLBACK: Outcome.NO_SHARED_PROTOCOL,
    Alert.CLOSE_NOTIFY: Outcome.RESET,
    Alert.USER_CANCELED: Outcome.RESET,
}
"""An alert the server sent, before it asked for a client certificate. Others: TLS_ERROR."""

ALERT_OUTCOME_AFTER_CLIENT_CERT: dict[Alert, Outcome] = {
    Alert.HANDSHAKE_FAILURE: Outcome.CLIENT_REJECTED,
    Alert.DECRYPT_ERROR: Outcome.CLIENT_REJECTED,
    Alert.ILLEGAL_PARAMETER: Outcome.CLIENT_REJECTED,
}
"""Overrides once the server has asked for a client certificate: a ``handshake_failure`` then
means it refused the certificate it got (or that none came), as Java/Tomcat and OpenSSL servers
do when a certificate is required."""

REASON_OUTCOME: tuple[tuple[str, Outcome], ...] = (
    ("wrong version number", Outcome.NOT_TLS),
    ("packet length too long", Outcome.NOT_TLS),
    ("record layer failure", Outcome.NOT_TLS),
    ("http request", Outcome.NOT_TLS),
    ("https proxy request", Outcome.NOT_TLS),
    ("unknown protocol", Outcome.NOT_TLS),
    ("record length mismatch", Outcome.NOT_TLS),
    ("unexpected eof while reading", Outcome.RESET),
    ("no ciphers available", Outcome.NO_SHARED_CIPHER),
    ("no cipher match", Outcome.NO_SHARED_CIPHER),
    ("no shared cipher", Outcome.NO_SHARED_CIPHER),
    ("no suitable signature algorithm", Outcome.NO_SHARED_CIPHER),
    ("wrong cipher returned", Outcome.NO_SHARED_CIPHER),
    ("unsupported protocol", Outcome.NO_SHARED_PROTOCOL),
    ("no protocols available", Outcome.NO_SHARED_PROTOCOL),
    ("wrong ssl version", Outcome.NO_SHARED_PROTOCOL),
    ("excessive message size", Outcome.TLS_ERROR),
)
"""OpenSSL reason strings raised on our side, matched as substrings in this order."""


def outcome_for_reason(reason: str) -> Outcome:
    """Classify an OpenSSL reason string raised locally (not an alert from the server)."""
    text = reason.lower()
    return next((o for needle, o in REASON_OUTCOME if needle in text), Outcome.TLS_ERROR)


def outcome_for_alert(alert: Alert, *, client_cert_requested: bool) -> Outcome:
    """Classify an alert the server sent during (or just after) the handshake."""
    if client_cert_requested and alert in ALERT_OUTCOME_AFTER_CLIENT_CERT:
        return ALERT_OUTCOME_AFTER_CLIENT_CERT[alert]
    return ALERT_OUTCOME.get(alert, Outcome.TLS_ERROR)


REASON_VERDICT: dict[Reason, Outcome] = {
    Reason.UNTRUSTED_ROOT: Outcome.UNTRUSTED,
    Reason.MISSING_INTERMEDIATE: Outcome.UNTRUSTED,
    Reason.UNKNOWN_ISSUER: Outcome.UNTRUSTED,
    Reason.SHADOWED: Outcome.UNTRUSTED,
    Reason.BAD_SIGNATURE: Outcome.UNTRUSTED,
    Reason.CHAIN_REJECTED: Outcome.UNTRUSTED,
    Reason.EXPIRED: Outcome.CERTIFICATE_INVALID,
    Reason.NOT_YET_VALID: Outcome.CERTIFICATE_INVALID,
    Reason.EKU: Outcome.CERTIFICATE_INVALID,
    Reason.WEAK_KEY: Outcome.CERTIFICATE_INVALID,
    Reason.WEAK_SIGNATURE: Outcome.CERTIFICATE_INVALID,
    Reason.NAME_MISMATCH: Outcome.NAME_MISMATCH,
}
"""Path validation reasons (mratrust.pki.verify) as outcomes; CN_FALLBACK is only a warning."""

X509_ERROR_TEXT: dict[Reason, str] = {
    Reason.MISSING_INTERMEDIATE: "unable to get local issuer certificate",
    Reason.UNKNOWN_ISSUER: "unable to get local issuer certificate",
    Reason.SHADOWED: "certificate signature failure",
    Reason.BAD_SIGNATURE: "certificate signature failure",
    Reason.CHAIN_REJECTED: "unable to verify the first certificate",
    Reason.EXPIRED: "certificate has expired",
    Reason.NOT_YET_VALID: "certificate is not yet valid",
    Reason.EKU: "unsupported certificate purpose",
    Reason.WEAK_KEY: "EE certificate key too weak",
    Reason.WEAK_SIGNATURE: "CA signature digest algorithm too weak",
}
"""What OpenSSL's verifier (inside Traffic Server) says for each reason; UNTRUSTED_ROOT depends
on whether the root was presented, see :func:`x509_error_text`."""


def x509_error_text(reason: Reason, *, self_signed_leaf: bool, root_presented: bool) -> str:
    """The ``X509_verify_cert_error_string`` Traffic Server would log for ``reason``."""
    if reason is Reason.UNTRUSTED_ROOT:
        if self_signed_leaf:
            return "self signed certificate"
        if root_presented:
            return "self signed certificate in certificate chain"
        return "unable to get local issuer certificate"
    return X509_ERROR_TEXT.get(reason, "certificate verify failed")


def openssl_error_line(reason: str, *, alert: Alert | None) -> str:
    """An OpenSSL 1.1.1 error string as Traffic Server prints it (knowledge base §10.1).

    For a received alert the packed code is ``0x14094000 | (1000 + alert)``, e.g.
    ``error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca``.
    """
    if alert is not None and alert.code is not None:
        code = 0x14094000 | (1000 + alert.code)
        return f"error:{code:08X}:SSL routines:ssl3_read_bytes:{alert.openssl_reason}"
    known = next((line for needle, line in _OPENSSL_111_LINES if needle in reason.lower()), None)
    return known or f"SSL routines: {reason}"


_OPENSSL_111_LINES: tuple[tuple[str, str], ...] = (
    ("wrong version number", "error:1408F10B:SSL routines:ssl3_get_record:wrong version number"),
    (
        "certificate verify failed",
        "error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed",
    ),
)
"""The two well-known OpenSSL 1.1.1 lines for local errors; others are shown by reason only."""


def traffic_server_ssl_failed(sni: str, error_line: str) -> str:
    """Traffic Server's ``SSL connection failed for '<sni>': <openssl error>`` line."""
    return f"ERROR: SSL connection failed for '{sni}': {error_line}"


def traffic_server_verify_failed(sni: str, address: str, error_text: str, depth: int) -> str:
    """Traffic Server's warning when it rejects the origin's certificate chain."""
    return (
        f"WARNING: Core server certificate verification failed for ({sni}). Action=Terminate "
        f"Error={error_text} server={sni}({address}) depth={depth}"
    )


def traffic_server_name_failed(sni: str, address: str) -> str:
    """Traffic Server's warning when the name it connects to is not in the certificate."""
    return f"WARNING: SNI ({sni}) not in certificate. Action=Terminate server={sni}({address})"


__all__ = [
    "ALERT_OUTCOME",
    "ALERT_OUTCOME_AFTER_CLIENT_CERT",
    "REASON_OUTCOME",
    "REASON_VERDICT",
    "VERDICT_ORDER",
    "Alert",
    "Outcome",
    "OutcomeKind",
    "openssl_error_line",
    "outcome_for_alert",
    "outcome_for_reason",
    "traffic_server_name_failed",
    "traffic_server_ssl_failed",
    "traffic_server_verify_failed",
    "x509_error_text",
]
