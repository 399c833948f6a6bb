"""x509-limbo conformance: mratrust's path validation on the 208 core cases of x509-limbo.

Every case runs through ``mratrust.pki.verify.validate`` as a relying party would: the trust
store is ``trusted_certs`` in file order, the presented chain is the peer then
``untrusted_intermediates``, the name is the expected DNS or IP peer name, the purpose follows
``validation_kind``. mratrust's verdict is ``result.ok`` (no fatal problem), compared with limbo's
``expected_result``.

mratrust models Cisco Expressway, not a WebPKI browser, so it differs from limbo on purpose in
places. Every disagreement is listed in ``DIFFERENCES`` with its category (``CATEGORIES``: an
intended difference, a known gap, or a crash of ``validate``). The list is exact: a case not in it
must agree with limbo, and a case in it must still disagree (or still raise), so the list cannot go
stale. docs/conformance.md explains the categories.

The cases are vendored in ``tests/conformance/data/x509-limbo-core.json.gz`` (x509-limbo is
Apache-2.0: see ``data/NOTICE``), so every clone runs all of them.
Run ``python -m tests.conformance.test_limbo`` for the counts per category.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Literal, TypedDict, cast

import pytest
from cryptography import x509

from mratrust.pki.verify import Purpose, TrustStore, validate

LIMBO = Path(__file__).resolve().parent / "data" / "x509-limbo-core.json.gz"

FIXED_NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""The validation time of the cases that have none: inside the validity of limbo's own certificates
(1970 to 2969); the only certificate of such a case that is not valid then (an expired root in
``pathological::multiple-chains-expired-intermediate``) is meant to be expired."""

# limbo's trusted Starfield Root G2 (online::fastly.com) and two test certificates have a serial
# number of zero or below; cryptography warns when it reads one (pyproject turns warnings into
# errors). The warning is about cryptography's future parsing, not a verdict.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Parsed a serial number:cryptography.utils.CryptographyDeprecationWarning"
)

Kind = Literal["intended", "gap", "crash"]


class PeerName(TypedDict):
    kind: str
    value: str


class LimboCase(TypedDict):
    """The fields of a limbo test case that this harness reads."""

    id: str
    description: str
    validation_kind: str
    trusted_certs: list[str]
    untrusted_intermediates: list[str]
    peer_certificate: str
    validation_time: str | None
    expected_peer_name: PeerName | None
    expected_result: str
    max_chain_depth: int | None
    features: list[str]


CATEGORIES: dict[str, tuple[Kind, str]] = {
    # -- intended: follows from the Expressway model mratrust implements ------------------------
    "cn-fallback": (
        "intended",
        "Expressway accepts a UC node's CN when its SAN lacks the name (a warning, not an error)",
    ),
    "cn-not-compared": (
        "intended",
        "the CN is only read when the SAN lacks the name; when the SAN holds it the CN is never "
        "compared with the SAN (CABF 7.1.4.3 is an issuance rule)",
    ),
    "anchor-self-signed": (
        "intended",
        "only a self-signed root in the store is an anchor; a trusted intermediate or cross-signed "
        "certificate alone is not (OpenSSL without partial chains)",
    ),
    "first-match-lookup": (
        "intended",
        "issuers are looked up by subject, the first store entry wins and stops the lookup, and "
        "the first presented certificate that signs is taken; no backtracking to another path",
    ),
    "relaxed-profile": (
        "intended",
        "RFC 5280 / CABF issuance rules on extensions, serials and key sizes are not enforced "
        "(cryptography's verifier runs with permit-all extension policies); OpenSSL accepts these "
        "too",
    ),
    "ca-leaf": (
        "intended",
        "a leaf with basicConstraints CA:TRUE is accepted: CUCM's self-signed identities carry it",
    ),
    "tls-purpose": (
        "intended",
        "the leaf must be fit for TLS as Expressway's OpenSSL checks the purpose: a keyUsage "
        "without digitalSignature, keyEncipherment or keyAgreement is refused",
    ),
    "no-public-suffix-list": (
        "intended",
        "wildcards are matched without a public-suffix list, as OpenSSL does (a wildcard followed "
        "by two or more labels matches)",
    ),
    # -- known gaps: mratrust is more lenient (or stricter) than Expressway's stack would be -----
    "critical-extension": (
        "gap",
        "a critical AKI, SKI or AIA is accepted (cryptography knows them); OpenSSL, and so "
        "Expressway, rejects all three",
    ),
    "root-aki-issuer-serial": (
        "gap",
        "a root whose AKI carries authorityCertIssuer/SerialNumber is still taken as self-signed "
        "from its key identifiers; OpenSSL no longer sees it as self-signed and rejects it",
    ),
    "verifier-limits": (
        "gap",
        "inherited from cryptography's verifier, which checks the path's structure: it counts "
        "self-issued intermediates for pathLenConstraint and refuses directoryName constraints",
    ),
    "subsecond-validity": (
        "gap",
        "validity is compared to the instant, not to the second; limbo calls the case ambiguous",
    ),
    "not-modelled": (
        "gap",
        "an input validate() does not take: CRLs (revocation is not checked) or a maximum chain "
        "depth (fixed at 8)",
    ),
    # -- crash: validate raises instead of returning a verdict (a src bug each) ----------------
    "crash": ("crash", "validate() raises instead of returning a failing verdict"),
}

DIFFERENCES: dict[str, tuple[str, str]] = {
    # cn-fallback
    "webpki::san::no-san": ("cn-fallback", "no SAN; the CN example.com matches"),
    "webpki::san::mismatch-apex-subdomain-san": (
        "cn-fallback",
        "SAN abc.example.com lacks example.com; the CN example.com matches",
    ),
    "webpki::san::san-wildcard-only": (
        "cn-fallback",
        "the SAN's lone '*' never matches; the CN example.com does",
    ),
    # cn-not-compared
    "webpki::cn::ipv4-hex-mismatch": ("cn-not-compared", "SAN holds the IP; CN 0xC0A80101 unread"),
    "webpki::cn::ipv4-leading-zeros-mismatch": (
        "cn-not-compared",
        "SAN holds the IP; CN 192.168.001.001 unread",
    ),
    "webpki::cn::ipv6-uppercase-mismatch": (
        "cn-not-compared",
        "SAN holds the IP; upper-case CN unread",
    ),
    "webpki::cn::ipv6-uncompressed-mismatch": (
        "cn-not-compared",
        "SAN holds the IP; uncompressed CN unread",
    ),
    "webpki::cn::ipv6-non-rfc5952-mismatch": (
        "cn-not-compared",
        "SAN holds the IP; non-RFC 5952 CN unread",
    ),
    "webpki::cn::punycode-not-in-san": (
        "cn-not-compared",
        "SAN holds xn--n3h.com; CN xn--nxasmq6b.com unread",
    ),
    "webpki::cn::utf8-vs-punycode-mismatch": (
        "cn-not-compared",
        "SAN holds the A-label; the U-label CN is unread",
    ),
    "webpki::cn::not-in-san": ("cn-not-compared", "SAN holds the name; CN notinsan.example.com"),
    "webpki::cn::case-mismatch": ("cn-not-compared", "SAN holds example.com; CN Example.COM"),
    # anchor-self-signed
    "cve::cve-2024-0567": (
        "anchor-self-signed",
        "the trusted 'Root A' is issued by x509-limbo-root, not self-signed, so it is no anchor",
    ),
    "rfc5280::root-and-intermediate-swapped": (
        "anchor-self-signed",
        "only the intermediate is trusted; the self-signed root is merely presented",
    ),
    # first-match-lookup
    "rfc5280::nc::permitted-self-issued": (
        "first-match-lookup",
        "the store's root has the issuer name of the leaf, whose real issuer is a presented "
        "self-issued intermediate of that name; the lookup stops at the root (OpenSSL goes on)",
    ),
    "rfc5280::nc::nc-forbids-alternate-chain-ica": (
        "first-match-lookup",
        "the first presented 'an-intermediate' signs the leaf but leads to an unknown root; the "
        "second one, which leads to the trusted root, is never tried (OpenSSL rejects too)",
    ),
    "rfc5280::nc::nc-forbids-same-chain-ica": (
        "first-match-lookup",
        "the first presented 'an-intermediate' leads through an excluding name constraint; the "
        "other path ends at a second root of the same subject, hidden by the first",
    ),
    # relaxed-profile
    "rfc5280::aki::leaf-missing-aki": ("relaxed-profile", "leaf without AKI accepted"),
    "rfc5280::aki::intermediate-missing-aki": ("relaxed-profile", "CA without AKI accepted"),
    "rfc5280::ski::intermediate-missing-ski": ("relaxed-profile", "CA without SKI accepted"),
    "rfc5280::ski::root-missing-ski": ("relaxed-profile", "root without SKI accepted"),
    "rfc5280::root-non-critical-basic-constraints": (
        "relaxed-profile",
        "non-critical basicConstraints on a CA accepted (enterprise CAs ship so)",
    ),
    "webpki::aki::root-with-aki-missing-keyidentifier": (
        "relaxed-profile",
        "root AKI without keyIdentifier accepted",
    ),
    "webpki::eku::root-has-eku": ("relaxed-profile", "EKU on the root accepted"),
    "rfc5280::nc::permitted-dns-match-noncritical": (
        "relaxed-profile",
        "non-critical nameConstraints accepted (and applied)",
    ),
    "rfc5280::nc::not-allowed-in-ee-noncritical": (
        "relaxed-profile",
        "nameConstraints on a leaf ignored",
    ),
    "rfc5280::nc::not-allowed-in-ee-critical": (
        "relaxed-profile",
        "critical nameConstraints on a leaf ignored",
    ),
    "rfc5280::pc::ica-noncritical-pc": (
        "relaxed-profile",
        "non-critical policyConstraints accepted (policies are not processed)",
    ),
    "rfc5280::san::noncritical-with-empty-subject": (
        "relaxed-profile",
        "non-critical SAN with an empty subject accepted",
    ),
    "rfc5280::san::underscore-dns": ("relaxed-profile", "underscore in a SAN dNSName accepted"),
    "rfc5280::serial::zero": ("relaxed-profile", "serial number zero accepted"),
    "rfc5280::leaf-ku-keycertsign": (
        "relaxed-profile",
        "keyCertSign on a CA:FALSE leaf accepted (the leaf also has digitalSignature)",
    ),
    "webpki::eku::ee-anyeku": ("relaxed-profile", "anyExtendedKeyUsage beside serverAuth accepted"),
    "webpki::eku::ee-critical-eku": ("relaxed-profile", "critical EKU accepted"),
    "webpki::eku::ee-without-eku": ("relaxed-profile", "no EKU means any purpose, as in OpenSSL"),
    "webpki::san::san-critical-with-nonempty-subject": (
        "relaxed-profile",
        "critical SAN with a non-empty subject accepted",
    ),
    "webpki::forbidden-rsa-not-divisible-by-8-in-root": (
        "relaxed-profile",
        "RSA-2052 root: at least 2048 bits, the multiple-of-8 rule is CABF's",
    ),
    "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf": (
        "relaxed-profile",
        "RSA-2052 leaf: at least 2048 bits, the multiple-of-8 rule is CABF's",
    ),
    # ca-leaf
    "webpki::ee-basicconstraints-ca": (
        "ca-leaf",
        "CA:TRUE leaf with digitalSignature and serverAuth accepted",
    ),
    # no-public-suffix-list
    "webpki::san::public-suffix-multi-label-wildcard-san": (
        "no-public-suffix-list",
        "*.co.uk matches example.co.uk",
    ),
    "webpki::san::public-suffix-private-namespace-wildcard-san": (
        "no-public-suffix-list",
        "*.s3.amazonaws.com matches example.s3.amazonaws.com",
    ),
    # critical-extension
    "rfc5280::aki::critical-aki": ("critical-extension", "critical AKI on the root accepted"),
    "rfc5280::ski::critical-ski": ("critical-extension", "critical SKI on the root accepted"),
    "rfc5280::ee-critical-aia-invalid": ("critical-extension", "critical AIA on the leaf accepted"),
    # root-aki-issuer-serial
    "webpki::aki::root-with-aki-all-fields": (
        "root-aki-issuer-serial",
        "root AKI with authorityCertIssuer and SerialNumber accepted as self-signed",
    ),
    # malformed-extension
    # cn-unconstrained
    "webpki::san::public-suffix-wildcard-san": (
        "cn-fallback",
        "the SAN *.com does not match example.com (no wildcard over a TLD alone), but the CN does",
    ),
    # weak-key
    # verifier-limits
    "pathlen::self-issued-certs-pathlen": (
        "verifier-limits",
        "a self-issued intermediate is counted against pathlen:1; RFC 5280 (and OpenSSL) skip it",
    ),
    "rfc5280::nc::permitted-dn-match": (
        "verifier-limits",
        "critical directoryName constraint: cryptography refuses it as unsupported",
    ),
    # subsecond-validity
    "rfc5280::validity::notafter-fractional": (
        "subsecond-validity",
        "5 ms after a whole-second notAfter counts as expired",
    ),
    # not-modelled
    "crl::revoked-certificate-with-crl": ("not-modelled", "revoked by the CRL; CRLs not checked"),
    "crl::crlnumber-missing": ("not-modelled", "the CRL lacks CRLNumber; CRLs not checked"),
    "crl::crlnumber-critical": ("not-modelled", "critical CRLNumber; CRLs not checked"),
    "crl::issuer-missing-crlsign": ("not-modelled", "CRL issuer without cRLSign; CRLs not checked"),
    "pathlen::max-chain-depth-0-exhausted": ("not-modelled", "max_chain_depth 0 not applied"),
    "pathlen::max-chain-depth-1-exhausted": ("not-modelled", "max_chain_depth 1 not applied"),
    # crash
    "rfc5280::ca-as-leaf": (
        "tls-purpose",
        "a CA certificate whose keyUsage is keyCertSign only cannot authenticate a TLS server "
        "(openssl verify -purpose sslserver: unsuitable certificate purpose)",
    ),
    "pathlen::validation-ignores-pathlen-in-leaf": (
        "tls-purpose",
        "the leaf is an intermediate with keyUsage keyCertSign only: valid in RFC 5280, not in TLS",
    ),
    "rfc5280::root-missing-basic-constraints": (
        "relaxed-profile",
        "a trust anchor without basicConstraints (a v1-style root) is accepted, as OpenSSL does "
        "(openssl verify -purpose sslserver: OK)",
    ),
}


def load_cases(path: Path = LIMBO) -> list[LimboCase]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    return cast(list[LimboCase], data["testcases"])


CASES = load_cases()


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _name(case: LimboCase) -> str | None:
    peer = case["expected_peer_name"]
    return peer["value"] if peer is not None and peer["kind"] in ("DNS", "IP") else None


def verdict(case: LimboCase) -> bool | Exception:
    """mratrust's verdict on ``case`` (True: no fatal problem), or what ``validate`` raised."""
    trusted = [_cert(p) for p in case["trusted_certs"]]
    presented = [_cert(case["peer_certificate"])]
    presented += [_cert(p) for p in case["untrusted_intermediates"]]
    when = case["validation_time"]
    now = dt.datetime.fromisoformat(when) if when else FIXED_NOW
    try:
        result = validate(
            presented,
            TrustStore(trusted),
            now=now,
            name=_name(case),
            purpose=Purpose[case["validation_kind"]],
        )
    except Exception as exc:  # a crash is recorded as data, not an error of this harness
        return exc
    return result.ok


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_limbo_case(case: LimboCase) -> None:
    expected = case["expected_result"] == "SUCCESS"
    got = verdict(case)
    listed = DIFFERENCES.get(case["id"])
    if listed is None:
        assert not isinstance(got, Exception), f"validate raised {got!r}"
        assert got == expected, (
            f"mratrust says {'SUCCESS' if got else 'FAILURE'}, limbo {case['expected_result']}: "
            f"{' '.join(case['description'].split())[:300]}"
        )
    elif listed[0] == "crash":
        assert isinstance(got, Exception), (
            f"listed as a crash, but validate now returns ok={got}: update DIFFERENCES"
        )
    else:
        assert not isinstance(got, Exception), f"validate raised {got!r}"
        assert got != expected, (
            f"listed as {listed[0]!r} but now agrees with limbo: remove it from DIFFERENCES"
        )


def test_vendored_data_is_complete() -> None:
    # the repository carries the data: a clone without anything beside it runs every case
    assert LIMBO.is_relative_to(Path(__file__).resolve().parent)
    assert len(CASES) == 208
    assert (LIMBO.parent / "NOTICE").is_file()


def test_differences_are_well_formed() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    assert set(DIFFERENCES) <= set(ids), set(DIFFERENCES) - set(ids)
    used = {category for category, _ in DIFFERENCES.values()}
    # "crash" stays defined so that a new crash can be listed; it may be unused
    assert used | {"crash"} == set(CATEGORIES), set(CATEGORIES) ^ (used | {"crash"})
    assert [c for c, (kind, _) in CATEGORIES.items() if kind == "crash"] == ["crash"]
    assert all(reason.strip() for _, reason in DIFFERENCES.values())


def summary(cases: list[LimboCase]) -> list[tuple[str, int]]:
    """Rows of counts: all cases, agreeing ones, then each kind followed by its categories."""
    ids = {c["id"] for c in cases}
    per_category = Counter(category for i, (category, _) in DIFFERENCES.items() if i in ids)
    rows = [("cases", len(ids)), ("agree", len(ids) - sum(per_category.values()))]
    for kind in ("intended", "gap", "crash"):
        names = [name for name, (k, _) in CATEGORIES.items() if k == kind]
        rows.append((kind, sum(per_category[n] for n in names)))
        rows += [(f"  {n}", per_category[n]) for n in names]
    return rows


if __name__ == "__main__":
    for label, count in summary(CASES):
        print(f"{label:<26} {count:>4}")
