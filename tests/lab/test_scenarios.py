"""The scenario catalogue writes loadable inventories with the certificates each scenario needs."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mratrust.errors import LabError
from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import (
    ProbeAddress,
    build_scenario,
    get_scenario,
    list_scenarios,
    write_material,
    write_scenario,
)
from tests.lab.conftest import NOW, Written

IDS = (
    "B0",
    "F01",
    "F03",
    "F04",
    "F05",
    "F06",
    "F08",
    "F09",
    "F11",
    "F12",
    "F13",
    "F13-TLS12",
    "F14",
    "F17",
    "F23",
    "F31",
    "F34",
    "F40",
    "F35",
    "F35-LEAF",
    "B0E",
    "E01",
    "E02",
    "E03",
    "E04",
    "E04-ON",
    "E05",
    "E05-CLIENT",
    "E06",
    "E06-ON",
    "E07",
    "E08",
    "E09",
    "E09-NAMED",
)
PUB = "cucm-pub.example.com"
SUB1 = "cucm-sub1.example.com"
EXPC1 = "expc1.example.com"

# --------------------------------------------------------------------------- helpers


def certs_at(w: Written, rel: str) -> list[x509.Certificate]:
    """The certificates of a file or a folder (name order), as an inventory reader sees them."""
    path = w.path(rel)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    out: list[x509.Certificate] = []
    for f in files:
        out.extend(x509.load_pem_x509_certificates(f.read_bytes()))
    return out


def leaf(w: Written, cluster: str, node: str, identity: str) -> x509.Certificate:
    return certs_at(w, w.node(cluster, node)["certificates"][identity])[0]


def store(w: Written, cluster: str, name: str) -> list[x509.Certificate]:
    return certs_at(w, w.cluster(cluster)["trust"][name])


def peer(w: Written) -> dict[str, Any]:
    peers: list[dict[str, Any]] = w.doc["expressway"]["peers"]
    return peers[0]


def expc_cert(w: Written) -> x509.Certificate:
    return certs_at(w, peer(w)["certificate"])[0]


def expc_trusted(w: Written) -> list[x509.Certificate]:
    return certs_at(w, peer(w)["trusted_cas"])


def cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def cns(certs: list[x509.Certificate]) -> list[str]:
    return [cn(c) for c in certs]


def issuer_cn(cert: x509.Certificate) -> str:
    return str(cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def san(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(g.value) for g in ext]


def eku(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError):
        return False
    return True


def spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def referenced_paths(doc: dict[str, Any]) -> list[str]:
    refs: list[str] = []
    for p in doc["expressway"]["peers"]:
        refs += [p["certificate"], p["trusted_cas"]]
    for c in doc["uc_clusters"]:
        refs += list(c["trust"].values())
        for n in c["nodes"]:
            refs += [r for r in n["certificates"].values() if r]
    return refs


# --------------------------------------------------------------------------- catalogue


def test_catalogue_lists_every_public_scenario_b0_first() -> None:
    infos = list_scenarios()
    assert tuple(i.id for i in infos) == IDS
    for info in infos:
        assert info.title and info.summary and info.expected
        assert info.versions and all(v.startswith("X") for v in info.versions)
        assert info.version == info.versions[0]
        assert info.upgrade_to is None or info.upgrade_to in info.versions


def test_unknown_scenario_is_a_lab_error_listing_valid_ids(tmp_path: Path) -> None:
    with pytest.raises(LabError, match=r"unknown scenario 'F99'; valid scenarios: B0, F01, .*F40"):
        write_scenario("F99", tmp_path)
    with pytest.raises(LabError, match="unknown scenario"):
        build_scenario("")
    assert not (tmp_path / "inventory.yaml").exists()


def test_scenario_ids_are_case_insensitive() -> None:
    assert get_scenario("f05").id == "F05"


@pytest.mark.parametrize(
    ("sid", "version", "upgraded_from"),
    [
        ("B0", "X14.0.7", "X12.7"),
        ("F01", "X12.7", None),
        ("F04", "X14.0.7", "X12.7"),
        ("F06", "X14.2.1", "X14.0.7"),
        ("F11", "X14.2.1", None),
        ("F12", "X14.2.1", "X12.7"),
        ("F13", "X14.2.1", "X14.0.7"),
        ("F14", "X14.2.1", None),
        ("F23", "X14.0.7", "X12.7"),
        ("F40", "X14.2.1", "X14.0.7"),
    ],
)
def test_running_version(
    written: dict[str, Written], sid: str, version: str, upgraded_from: str | None
) -> None:
    exp = written[sid].doc["expressway"]
    assert (exp["version"], exp["upgraded_from"]) == (version, upgraded_from)


# --------------------------------------------------------------------------- every scenario


@pytest.mark.parametrize("sid", IDS)
def test_inventory_follows_schema_1_keys(written: dict[str, Written], sid: str) -> None:
    doc = written[sid].doc
    assert list(doc) == ["schema", "name", "expressway", "expressway_e", "uc_clusters"]
    assert doc["schema"] == 1
    assert (doc["expressway_e"] is None) == (not sid.startswith(("B0E", "E")))
    assert list(doc["expressway"]) == [
        "version",
        "upgraded_from",
        "cluster_name",
        "verify_origin_server",
        "ciphers",
        "sip_tls_versions",
        "sip_signature_pref_rsa",
        "peers",
        "cluster_tls_mode",
    ]
    assert list(doc["expressway"]["ciphers"]) == ["uc_server_discovery", "sip", "https"]
    client = (
        ["client_certificate", "client_key"] if "client_certificate" in peer(written[sid]) else []
    )
    assert list(peer(written[sid])) == ["name", "certificate", "key", "trusted_cas", *client]
    for c in doc["uc_clusters"]:
        assert list(c) == [
            "name",
            "product",
            "version",
            "publisher",
            "tls_verify",
            "security_mode",
            "sip_oauth",
            "https_ciphers",
            "secure_profiles",
            "voicemail_host",
            "trust",
            "nodes",
        ]
        for n in c["nodes"]:
            assert list(n) == ["name", "role", "certificates", "probe"]
        assert [n["name"] for n in c["nodes"] if n["role"] == "publisher"] == [c["publisher"]]


@pytest.mark.parametrize("sid", IDS)
def test_referenced_files_exist_and_are_certificates(written: dict[str, Written], sid: str) -> None:
    w = written[sid]
    for rel in referenced_paths(w.doc):
        assert not Path(rel).is_absolute()
        assert w.path(rel).exists(), rel
        assert certs_at(w, rel), rel


@pytest.mark.parametrize("sid", IDS)
def test_inventory_loads_with_the_project_loader(written: dict[str, Written], sid: str) -> None:
    deployment = load_inventory(written[sid].inventory)
    assert deployment.expressway.peers[0].name == EXPC1
    assert {c.name for c in deployment.uc_clusters} == {"cucm-main", "imp-main", "cuc-main"}


@pytest.mark.parametrize("sid", IDS)
def test_no_private_key_outside_key_files(written: dict[str, Written], sid: str) -> None:
    w = written[sid]
    keys = [p for p in w.directory.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]
    expected = [
        p[k]
        for exp in ("expressway", "expressway_e")
        for p in ((w.doc[exp] or {}).get("peers") or [])
        for k in ("key", "client_key")
        if k in p
    ]
    assert sorted(k.relative_to(w.directory).as_posix() for k in keys) == sorted(expected)
    for k in keys:
        assert stat.S_IMODE(k.stat().st_mode) == 0o600
    key_path = w.path(peer(w)["key"])
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert spki(expc_cert(w)) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_key_that_is_not_the_peers_is_detected(written: dict[str, Written]) -> None:
    # negative twin of the key check: another certificate's key does not match
    w = written["B0"]
    other = leaf(w, "cucm-main", PUB, "CallManager")
    assert spki(other) != spki(expc_cert(w))


# --------------------------------------------------------------------------- B0


def test_b0_multi_server_tomcat_shared_by_both_nodes(written: dict[str, Written]) -> None:
    w = written["B0"]
    pub, sub = w.node("cucm-main", PUB), w.node("cucm-main", SUB1)
    assert pub["certificates"]["tomcat"] == sub["certificates"]["tomcat"]
    tomcat = leaf(w, "cucm-main", PUB, "tomcat")
    assert cn(tomcat) == "cucm-pub-ms.example.com"
    assert san(tomcat) == [PUB, SUB1]
    assert issuer_cn(tomcat) == "ENT-INT"
    assert cns(certs_at(w, pub["certificates"]["tomcat"])) == ["cucm-pub-ms.example.com", "ENT-INT"]


def test_b0_callmanager_per_node_from_ent_int(written: dict[str, Written]) -> None:
    w = written["B0"]
    for node in (PUB, SUB1):
        cm = leaf(w, "cucm-main", node, "CallManager")
        assert issuer_cn(cm) == "ENT-INT" and san(cm) == [node]
        assert eku(cm) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    pub_cm = leaf(w, "cucm-main", PUB, "CallManager")
    assert pub_cm.serial_number != leaf(w, "cucm-main", SUB1, "CallManager").serial_number
    assert pub_cm.serial_number != leaf(w, "cucm-main", PUB, "tomcat").serial_number


@pytest.mark.parametrize("identity", ["tomcat-ECDSA", "CallManager-ECDSA"])
@pytest.mark.parametrize("node", [PUB, SUB1])
def test_b0_ecdsa_identities_self_signed_p256(
    written: dict[str, Written], node: str, identity: str
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    cert = leaf(written["B0"], "cucm-main", node, identity)
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert self_signed(cert) and san(cert) == [node]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_b0_rsa_identities_are_not_self_signed(written: dict[str, Written]) -> None:
    # negative twin of the ECDSA check
    assert not self_signed(leaf(written["B0"], "cucm-main", PUB, "tomcat"))
    assert not self_signed(leaf(written["B0"], "cucm-main", PUB, "CallManager"))


def test_b0_cluster_settings(written: dict[str, Written]) -> None:
    w = written["B0"]
    cucm = w.cluster("cucm-main")
    assert cucm["version"] == "15.0.1.12900-234" and cucm["publisher"] == PUB
    assert (cucm["security_mode"], cucm["https_ciphers"], cucm["tls_verify"]) == (
        "non-secure",
        "rsa-only",
        True,
    )
    assert [n["name"] for n in cucm["nodes"]] == [PUB, SUB1]
    for name in ("tomcat-trust", "CallManager-trust"):
        assert cns(store(w, "cucm-main", name)) == ["ENT-ROOT", "ENT-INT"]
    assert cucm["trust"]["tomcat-trust"].endswith("/")  # a folder store
    imp = w.cluster("imp-main")
    assert [n["name"] for n in imp["nodes"]] == ["imp1.example.com"]
    for identity in ("tomcat", "cup-xmpp"):
        assert issuer_cn(leaf(w, "imp-main", "imp1.example.com", identity)) == "ENT-INT"
    for name in ("tomcat-trust", "cup-xmpp-trust"):
        assert cns(store(w, "imp-main", name)) == ["ENT-ROOT", "ENT-INT"]
    cuc = w.cluster("cuc-main")
    assert cuc["voicemail_host"] == "cuc1.example.com"
    assert issuer_cn(leaf(w, "cuc-main", "cuc1.example.com", "tomcat")) == "ENT-INT"


def test_b0_expressway(written: dict[str, Written]) -> None:
    w = written["B0"]
    exp = w.doc["expressway"]
    assert exp["cluster_name"] == "expc.example.com" and peer(w)["name"] == EXPC1
    cert = expc_cert(w)
    assert issuer_cn(cert) == "ENT-INT"
    assert set(san(cert)) == {"expc.example.com", EXPC1}
    assert eku(cert) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert cns(expc_trusted(w)) == ["ENT-ROOT", "ENT-INT"]
    assert cns(certs_at(w, peer(w)["certificate"])) == [cn(cert), "ENT-INT"]


def test_b0_has_the_other_hierarchies(written: dict[str, Written]) -> None:
    cas = written["B0"].material.cas
    assert set(cas) == {"ENT-ROOT", "ENT-INT", "ENT2-ROOT", "ENT2-INT", "PUB-ROOT", "PUB-INT"}
    for inter, root in (
        ("ENT-INT", "ENT-ROOT"),
        ("ENT2-INT", "ENT2-ROOT"),
        ("PUB-INT", "PUB-ROOT"),
    ):
        cas[inter].cert.verify_directly_issued_by(cas[root].cert)
    with pytest.raises(ValueError, match="subject does not match"):
        cas["ENT2-INT"].cert.verify_directly_issued_by(cas["ENT-ROOT"].cert)


def test_material_in_memory_matches_the_files(written: dict[str, Written]) -> None:
    w = written["B0"]
    cluster, node = w.material.node(SUB1)
    assert cluster.name == "cucm-main"
    assert node.identities["tomcat"].cert == leaf(w, "cucm-main", SUB1, "tomcat")
    assert cluster.store_certs("CallManager-trust") == tuple(
        store(w, "cucm-main", "CallManager-trust")
    )
    assert w.material.peers[0].identity.cert == expc_cert(w)
    assert list(node.identities) == ["tomcat", "tomcat-ECDSA", "CallManager", "CallManager-ECDSA"]
    with pytest.raises(LabError, match="no node 'nope'"):
        w.material.node("nope")


# --------------------------------------------------------------------------- scenarios


def test_f01_cucm_stores_lack_the_expressway_ca(written: dict[str, Written]) -> None:
    w = written["F01"]
    for name in ("tomcat-trust", "CallManager-trust"):
        held = cns(store(w, "cucm-main", name))
        assert held and not {"ENT-ROOT", "ENT-INT"} & set(held)
    assert issuer_cn(expc_cert(w)) == "ENT-INT"
    # the IM&P stores are untouched
    assert cns(store(w, "imp-main", "tomcat-trust")) == ["ENT-ROOT", "ENT-INT"]


def test_f03_only_callmanager_trust_lacks_the_chain(written: dict[str, Written]) -> None:
    w = written["F03"]
    assert cns(store(w, "cucm-main", "tomcat-trust")) == ["ENT-ROOT", "ENT-INT"]
    assert not {"ENT-ROOT", "ENT-INT"} & set(cns(store(w, "cucm-main", "CallManager-trust")))


def test_f04_self_signed_tomcat_per_node_untrusted(written: dict[str, Written]) -> None:
    w = written["F04"]
    assert w.cluster("cucm-main")["tls_verify"] is False
    tomcats = [leaf(w, "cucm-main", n, "tomcat") for n in (PUB, SUB1)]
    trusted = {spki(c) for c in expc_trusted(w)}
    for node, cert in zip((PUB, SUB1), tomcats, strict=True):
        assert self_signed(cert) and san(cert) == [node] and cn(cert) == node
        assert spki(cert) not in trusted
    assert tomcats[0].serial_number != tomcats[1].serial_number
    assert spki(tomcats[0]) != spki(tomcats[1])


def test_f05_sub1_tomcat_names_only_the_publisher(written: dict[str, Written]) -> None:
    w = written["F05"]
    sub = leaf(w, "cucm-main", SUB1, "tomcat")
    assert san(sub) == [PUB]
    assert issuer_cn(sub) == "ENT-INT"
    assert san(leaf(w, "cucm-main", PUB, "tomcat")) == [PUB, SUB1]
    assert sub.serial_number != leaf(w, "cucm-main", PUB, "tomcat").serial_number


def test_b0_sub1_tomcat_names_sub1(written: dict[str, Written]) -> None:
    # negative twin of F05
    assert SUB1 in san(leaf(written["B0"], "cucm-main", SUB1, "tomcat"))


def test_f06_short_node_names_with_fqdn_certificates(written: dict[str, Written]) -> None:
    w = written["F06"]
    cucm = w.cluster("cucm-main")
    assert cucm["publisher"] == "cucm-pub"
    assert [(n["name"], n["role"]) for n in cucm["nodes"]] == [
        ("cucm-pub", "publisher"),
        ("cucm-sub1", "subscriber"),
    ]
    tomcat = leaf(w, "cucm-main", "cucm-pub", "tomcat")
    assert cn(tomcat) == "cucm-pub-ms.example.com" and san(tomcat) == [PUB, SUB1]
    assert san(leaf(w, "cucm-main", "cucm-sub1", "CallManager")) == [SUB1]
    assert "cucm-pub" not in san(tomcat)


def test_f08_same_cn_self_signed_pair_trusted_tomcat_first(written: dict[str, Written]) -> None:
    w = written["F08"]
    assert w.cluster("cucm-main")["security_mode"] == "mixed"
    trusted = expc_trusted(w)
    trusted_keys = [spki(c) for c in trusted]
    for node in (PUB, SUB1):
        tomcat = leaf(w, "cucm-main", node, "tomcat")
        cm = leaf(w, "cucm-main", node, "CallManager")
        assert self_signed(tomcat) and self_signed(cm)
        assert cn(tomcat) == cn(cm) == node
        assert spki(tomcat) != spki(cm)
        assert trusted_keys.index(spki(tomcat)) < trusted_keys.index(spki(cm))
    assert cns(trusted)[:2] == ["ENT-ROOT", "ENT-INT"]
    # mixed mode: Expressway-C's own certificate sits in CallManager-trust
    assert expc_cert(w) in store(w, "cucm-main", "CallManager-trust")


def test_f09_callmanager_reuses_the_multi_server_tomcat(written: dict[str, Written]) -> None:
    w = written["F09"]
    assert w.cluster("cucm-main")["security_mode"] == "mixed"
    for node in (PUB, SUB1):
        tomcat = leaf(w, "cucm-main", node, "tomcat")
        cm = leaf(w, "cucm-main", node, "CallManager")
        assert cm.serial_number == tomcat.serial_number and cm == tomcat
        assert cn(cm) == "cucm-pub-ms.example.com"
    certs = w.node("cucm-main", PUB)["certificates"]
    assert certs["CallManager"] == certs["tomcat"]
    assert cns(expc_trusted(w)) == ["ENT-ROOT", "ENT-INT"]


def test_b0_callmanager_is_not_the_tomcat(written: dict[str, Written]) -> None:
    # negative twin of F09
    w = written["B0"]
    assert (
        leaf(w, "cucm-main", PUB, "CallManager").serial_number
        != leaf(w, "cucm-main", PUB, "tomcat").serial_number
    )


@pytest.mark.parametrize(
    ("sid", "discovery"),
    [
        ("F11", None),
        ("F12", None),
        ("F13", None),
        (
            "F14",
            "EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:!PSK:!eNULL:!aNULL:!aDH:+ECDSA",
        ),
    ],
)
def test_ecdsa_scenarios(written: dict[str, Written], sid: str, discovery: str | None) -> None:
    w = written[sid]
    assert w.cluster("cucm-main")["https_ciphers"] == "ec-and-rsa"
    assert w.cluster("imp-main")["https_ciphers"] == "rsa-only"
    assert w.doc["expressway"]["ciphers"]["uc_server_discovery"] == discovery
    assert self_signed(leaf(w, "cucm-main", PUB, "tomcat-ECDSA"))


def test_f17_sip_oauth_chain_only_in_callmanager_trust(written: dict[str, Written]) -> None:
    w = written["F17"]
    assert w.cluster("cucm-main")["sip_oauth"] is True
    assert not {"ENT-ROOT", "ENT-INT"} & set(cns(store(w, "cucm-main", "tomcat-trust")))
    assert cns(store(w, "cucm-main", "CallManager-trust")) == ["ENT-ROOT", "ENT-INT"]
    assert written["B0"].cluster("cucm-main")["sip_oauth"] is False


def test_f23_expressway_server_auth_only(written: dict[str, Written]) -> None:
    assert eku(expc_cert(written["F23"])) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku(expc_cert(written["B0"]))


def test_f31_voicemail_host_not_in_san(written: dict[str, Written]) -> None:
    w = written["F31"]
    assert w.cluster("cuc-main")["voicemail_host"] == "vm.example.com"
    assert san(leaf(w, "cuc-main", "cuc1.example.com", "tomcat")) == ["cuc1.example.com"]


def test_f34_old_root_with_another_key_comes_first(written: dict[str, Written]) -> None:
    w = written["F34"]
    trusted = expc_trusted(w)
    assert cns(trusted) == ["ENT-ROOT", "ENT-ROOT", "ENT-INT"]
    old, current, inter = trusted
    assert old.subject == current.subject and spki(old) != spki(current)
    inter.verify_directly_issued_by(current)
    with pytest.raises(InvalidSignature):
        inter.verify_directly_issued_by(old)
    leaf(w, "cucm-main", PUB, "tomcat").verify_directly_issued_by(inter)
    # B0 has only the current root
    assert cns(expc_trusted(written["B0"])) == ["ENT-ROOT", "ENT-INT"]


def test_f40_expired_callmanager_and_short_lived_intermediate(written: dict[str, Written]) -> None:
    w = written["F40"]
    cm = leaf(w, "cucm-main", SUB1, "CallManager")
    assert cm.not_valid_after_utc == NOW - timedelta(days=1)
    assert cm.not_valid_after_utc < NOW
    ent_int = w.material.cas["ENT-INT"].cert
    assert ent_int.not_valid_after_utc == NOW + timedelta(days=20)
    assert ent_int.not_valid_before_utc < NOW
    # everything under ENT-INT is signed by the re-issued ENT-INT
    for cluster, node, identity in (
        ("cucm-main", SUB1, "CallManager"),
        ("cucm-main", PUB, "CallManager"),
        ("cucm-main", PUB, "tomcat"),
        ("imp-main", "imp1.example.com", "cup-xmpp"),
        ("cuc-main", "cuc1.example.com", "tomcat"),
    ):
        leaf(w, cluster, node, identity).verify_directly_issued_by(ent_int)
    expc_cert(w).verify_directly_issued_by(ent_int)
    in_store = next(c for c in expc_trusted(w) if cn(c) == "ENT-INT")
    assert in_store == ent_int
    # the publisher's CallManager is still valid (negative twin)
    pub_cm = leaf(w, "cucm-main", PUB, "CallManager")
    assert pub_cm.not_valid_before_utc < NOW < pub_cm.not_valid_after_utc


def test_b0_certificates_are_valid_now_with_room(written: dict[str, Written]) -> None:
    w = written["B0"]
    for rel in referenced_paths(w.doc):
        for cert in certs_at(w, rel):
            assert cert.not_valid_before_utc < NOW
            assert cert.not_valid_after_utc > NOW + timedelta(days=90)


# --------------------------------------------------------------------------- probe and rewrites


def test_probe_entries(tmp_path: Path, written: dict[str, Written]) -> None:
    material = written["B0"].material
    probe = {
        PUB: ProbeAddress(host="127.0.0.1", ports={8443: 18443, 6972: 16972}),
        "cuc1.example.com": ProbeAddress(host="127.0.0.1", ports={443: 10443}),
    }
    path = write_material(material, tmp_path, probe=probe)
    doc = yaml.safe_load(path.read_text())
    nodes = {n["name"]: n for c in doc["uc_clusters"] for n in c["nodes"]}
    assert nodes[PUB]["probe"] == {"host": "127.0.0.1", "ports": {8443: 18443, 6972: 16972}}
    assert nodes["cuc1.example.com"]["probe"] == {"host": "127.0.0.1", "ports": {443: 10443}}
    assert nodes[SUB1]["probe"] is None
    deployment = load_inventory(path)
    cucm = next(c for c in deployment.uc_clusters if c.name == "cucm-main")
    pub = next(n for n in cucm.nodes if n.name == PUB)
    assert pub.probe is not None and pub.probe.port_for(8443) == 18443


def test_probe_for_an_unknown_node_is_refused(tmp_path: Path, written: dict[str, Written]) -> None:
    with pytest.raises(LabError, match=r"unknown nodes: ghost\.example\.com"):
        write_material(
            written["B0"].material,
            tmp_path,
            probe={"ghost.example.com": ProbeAddress(host="127.0.0.1", ports={})},
        )


def test_rewriting_a_folder_leaves_no_stale_store_entries(
    tmp_path: Path, written: dict[str, Written]
) -> None:
    write_material(written["F01"].material, tmp_path)
    write_material(written["B0"].material, tmp_path)
    folder = tmp_path / "certs" / "cucm-main" / "tomcat-trust"
    assert sorted(p.name for p in folder.iterdir()) == ["01-ENT-ROOT.pem", "02-ENT-INT.pem"]


def test_write_scenario_returns_the_inventory(tmp_path: Path) -> None:
    path = write_scenario("F23", tmp_path / "f23", now=NOW)
    assert path == tmp_path / "f23" / "inventory.yaml"
    assert path.read_text().startswith("# mratrust lab scenario F23")
