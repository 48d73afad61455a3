"""RFC 3161 timestamping: the offline TSA, the http client, and audit-export anchors.

Tokens are checked here with asn1crypto and `cryptography` directly (not only through
`timestamping.verify_response`), and with `openssl ts -verify` when openssl is installed, which
is what HASP's verifier runs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from flask import Flask, Response, request

from agentyard.core import audit, keys, migrations
from agentyard.core import timestamping as ts
from agentyard.core.store import connection
from agentyard.core.timestamping import TimestampError, TsaAuthority
from agentyard.hasp import audit_format
from tests.local_server import LocalServer

HEAD = hashlib.sha256(b"chain head").hexdigest()
CACERT_URL = "https://agentyard.example/trust/tsa/cacert.pem"
OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="module")
def store(app, settings):
    """The configured store with the timestamping migration applied."""
    migrations.upgrade()
    return settings


@pytest.fixture(scope="module")
def offline(store):
    return ts.OfflineTimestamper()


def _fresh_name() -> str:
    return "test-" + uuid.uuid4().hex[:12]


def _parts(response_der: bytes):
    response = ts.TimeStampResp.load(response_der)
    signed = response["time_stamp_token"]["content"]
    tst_der = signed["encap_content_info"]["content"].contents
    return response, signed, tst_der, tsp.TSTInfo.load(tst_der)


def _attr(signer_info, kind):
    [value] = [a["values"][0] for a in signer_info["signed_attrs"] if a["type"].native == kind]
    return value


# --- the offline TSA ----------------------------------------------------------------------


def test_migration_is_registered(store):
    assert [m.version for m in migrations._REGISTRY["timestamping"]] == [1]
    with connection():
        assert TsaAuthority.table_exists()


def test_token_is_a_real_rfc3161_response(offline):
    data = HEAD.encode("ascii")
    token = offline.stamp(data)
    response, signed, tst_der, tst = _parts(token.response_der)

    assert response["status"]["status"].native == "granted"
    assert response["time_stamp_token"]["content_type"].native == "signed_data"
    assert signed["version"].native == "v3"
    assert signed["encap_content_info"]["content_type"].native == "tst_info"
    assert tst["version"].native == "v1"
    assert tst["policy"].dotted == ts.OFFLINE_POLICY_OID
    assert tst["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert tst["message_imprint"]["hashed_message"].native == hashlib.sha256(data).digest()
    assert tst["serial_number"].native == token.serial_number
    assert token.serial_number.bit_length() > 64
    assert "agentyard offline TSA" in tst["tsa"].chosen.native["common_name"]
    assert token.matches(data) and not token.matches(b"other data")

    # The signer certificate: issued by the CA, critical timeStamping EKU, ECDSA P-256.
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]]
    ca = x509.load_pem_x509_certificate(offline.ca_certificate_pem().encode())
    [tsa_cert] = [c for c in certs if c.subject != ca.subject]
    tsa_cert.verify_directly_issued_by(ca)
    ca.verify_directly_issued_by(ca)
    eku = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(tsa_cert.public_key(), ec.EllipticCurvePublicKey)

    # Signed attributes: contentType, messageDigest, ESSCertIDv2 over the signer certificate.
    [signer_info] = signed["signer_infos"]
    assert _attr(signer_info, "content_type").native == "tst_info"
    assert _attr(signer_info, "message_digest").native == hashlib.sha256(tst_der).digest()
    [ess] = _attr(signer_info, "signing_certificate_v2")["certs"]
    assert (
        ess["cert_hash"].native
        == hashlib.sha256(tsa_cert.public_bytes(serialization.Encoding.DER)).digest()
    )
    assert ess["issuer_serial"]["serial_number"].native == tsa_cert.serial_number

    # The signature covers the DER SET OF the signed attributes (tag [0] -> SET).
    attrs = bytearray(signer_info["signed_attrs"].dump())
    assert attrs[0] == 0xA0
    attrs[0] = 0x31
    tsa_cert.public_key().verify(
        signer_info["signature"].native, bytes(attrs), ec.ECDSA(hashes.SHA256())
    )

    checked = ts.verify_response(token.response_der, data, ca_pem=offline.ca_certificate_pem())
    assert checked.serial_number == token.serial_number
    with pytest.raises(TimestampError, match="imprint does not match"):
        ts.verify_response(token.response_der, b"other data")


def test_tampered_or_foreign_tokens_are_refused(offline, store):
    data = b"payload"
    der = bytearray(offline.stamp(data).response_der)
    index = der.find(hashlib.sha256(data).digest())  # flip a bit in the imprint
    der[index] ^= 1
    with pytest.raises(TimestampError):
        ts.verify_response(bytes(der), data)
    other_ca = ts.OfflineTimestamper(_fresh_name()).ca_certificate_pem()
    with pytest.raises(TimestampError, match="not issued by the given CA"):
        ts.verify_response(offline.stamp(data).response_der, data, ca_pem=other_ca)
    with pytest.raises(TimestampError, match="malformed"):
        ts.verify_response(b"\x30\x03\x02\x01\x00", data)


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_openssl_ts_verify_accepts_the_token(offline, tmp_path):
    data = tmp_path / "anchored.bin"
    data.write_bytes(HEAD.encode("ascii"))
    tsr = tmp_path / "anchor.tsr"
    tsr.write_bytes(base64.b64decode(offline.anchor(HEAD, cacert_url=CACERT_URL)["tsa_tsr_base64"]))
    ca = tmp_path / "ca.pem"
    ca.write_text(offline.ca_certificate_pem())

    def verify(*args: str) -> str:
        done = subprocess.run(
            [OPENSSL, "ts", "-verify", *args, "-CAfile", str(ca)], capture_output=True, text=True
        )
        return done.stdout + done.stderr

    assert "Verification: OK" in verify("-data", str(data), "-in", str(tsr))
    other = tmp_path / "other.bin"
    other.write_bytes(b"0" * 64)
    assert "Verification: OK" not in verify("-data", str(other), "-in", str(tsr))

    # A request made by openssl (with its nonce) answered by respond(), checked by openssl.
    tsq = tmp_path / "req.tsq"
    subprocess.run(
        [OPENSSL, "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(tsq)],
        check=True,
        capture_output=True,
    )
    reply = tmp_path / "reply.tsr"
    reply.write_bytes(offline.respond(tsq.read_bytes()))
    assert "Verification: OK" in verify("-queryfile", str(tsq), "-in", str(reply))


def test_keys_are_reused_and_serials_differ(offline, store):
    first = offline.stamp(b"x")
    ts._signers.clear()  # as a new process would
    again = ts.OfflineTimestamper()
    second = again.stamp(b"x")
    assert again.ca_certificate_pem() == offline.ca_certificate_pem()
    assert first.serial_number != second.serial_number
    with connection():
        assert TsaAuthority.select().where(TsaAuthority.name == "offline").count() == 1


CHILD = """
import hashlib, sys, time
from pathlib import Path
from agentyard.core import store, timestamping as ts
url, data_dir, name, go = sys.argv[1:]
store.open_database(url or None, Path(data_dir))
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.005)
t = ts.OfflineTimestamper(name)
token = t.stamp(b"child")
ca = t.ca_certificate_pem()
print(hashlib.sha256(ca.encode()).hexdigest(), token.serial_number, flush=True)
"""


def test_concurrent_processes_create_one_authority(store, tmp_path):
    name, go = _fresh_name(), tmp_path / "go"
    args = [store.database_url or "", str(store.data_dir), name, str(go)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    go.touch()
    mine = ts.OfflineTimestamper(name)
    results = {(hashlib.sha256(mine.ca_certificate_pem().encode()).hexdigest(), "parent")}
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        ca_hash, serial = out.split()
        results.add((ca_hash, serial))
    assert len({ca for ca, _ in results}) == 1
    assert len({serial for _, serial in results}) == 3
    with connection():
        assert TsaAuthority.select().where(TsaAuthority.name == name).count() == 1


def test_keys_are_encrypted_with_the_passphrase(store, monkeypatch):
    monkeypatch.setenv(ts.PASSPHRASE_ENV, "correct horse")
    name = _fresh_name()
    stamper = ts.OfflineTimestamper(name)
    assert stamper.stamp(b"x").matches(b"x")
    row = ts.authority(name)
    assert "ENCRYPTED" in row.tsa_key_pem and "ENCRYPTED" in row.ca_key_pem
    monkeypatch.delenv(ts.PASSPHRASE_ENV)
    monkeypatch.delenv(ts.AUDIT_PASSPHRASE_ENV, raising=False)
    ts._signers.clear()
    with pytest.raises(TimestampError, match="encrypted"):
        stamper.stamp(b"x")
    assert "BEGIN CERTIFICATE" in stamper.ca_certificate_pem()  # serving the CA needs no key
    assert stamper.policy == ts.OFFLINE_POLICY_OID
    monkeypatch.setenv(ts.AUDIT_PASSPHRASE_ENV, "correct horse")  # the fallback
    assert stamper.stamp(b"x").matches(b"x")


def _status(response_der: bytes) -> tuple[str, set]:
    status = ts.TimeStampResp.load(response_der)["status"]
    return status["status"].native, status["fail_info"].native


def test_respond_answers_requests_and_rejects_bad_ones(offline):
    request_der = ts.make_request(b"data", nonce=42)
    token = ts.verify_response(offline.respond(request_der), b"data", nonce=42)
    assert token.nonce == 42
    assert _status(offline.respond(ts.make_request(b"d", policy="1.2.3.4"))) == (
        "rejection",
        {"unaccepted_policy"},
    )
    sha1 = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha1"},
                "hashed_message": hashlib.sha1(b"d").digest(),
            },
        }
    ).dump()
    assert _status(offline.respond(sha1)) == ("rejection", {"bad_alg"})
    assert _status(offline.respond(b"garbage")) == ("rejection", {"bad_data_format"})
    # Without certReq the token carries no certificates (RFC 3161 2.4.1).
    no_certs = tsp.TimeStampReq.load(ts.make_request(b"d")).copy()
    no_certs["cert_req"] = False
    response = ts.TimeStampResp.load(offline.respond(no_certs.dump()))
    assert response["time_stamp_token"]["content"]["certificates"].native is None


# --- audit export anchors -----------------------------------------------------------------


def test_audit_export_gets_a_tsa_anchor(offline, store):
    with connection():
        tenant, _ = keys.get_or_create_tenant("audit-test", f"TSA {uuid.uuid4().hex[:10]}")
    for i in range(3):
        audit.append(tenant, "record.created", "Record", f"rec_{i}", metadata={"i": i})
    doc = audit_format.export(
        tenant,
        "2000-01-01T00:00:00Z",
        "2100-01-01T00:00:00Z",
        "auditor@x.test",
        timestamp=functools.partial(offline.anchor, cacert_url=CACERT_URL),
    )
    verification = doc["verification"]
    [anchor] = verification["tsa_anchor_chain"]
    assert anchor["checkpoint_after_entry"] == 3
    assert anchor["anchored_data"] == verification["chain_head_hash"] == doc["entries"][-1]["hash"]
    assert anchor["tsa_url"] == anchor["tsa_cacert_url"] == CACERT_URL
    assert anchor["anchored_at"].endswith("Z")
    token = ts.verify_response(
        base64.b64decode(anchor["tsa_tsr_base64"]),
        anchor["anchored_data"].encode("ascii"),
        ca_pem=offline.ca_certificate_pem(),
    )
    assert json.loads(json.dumps(doc)) == doc
    assert token.policy == ts.OFFLINE_POLICY_OID


def test_anchor_input_and_urls_are_checked(offline):
    with pytest.raises(TimestampError, match="64 lowercase hex"):
        offline.anchor("ABC", cacert_url=CACERT_URL)
    with pytest.raises(TimestampError, match="https"):
        offline.anchor(HEAD)
    with pytest.raises(TimestampError, match="https"):
        offline.anchor(HEAD, cacert_url="http://agentyard.example/ca.pem")
    anchor = ts.OfflineTimestamper(
        cacert_url=CACERT_URL, tsa_url="https://agentyard.example/trust/tsa"
    ).anchor(HEAD)
    assert anchor["tsa_url"] == "https://agentyard.example/trust/tsa"


# --- the http client against a local fake TSA ---------------------------------------------


@pytest.fixture(scope="module")
def fake_tsa(offline):
    """A local RFC 3161 server answering with the offline TSA, plus misbehaving routes."""
    app = Flask("fake-tsa")
    seen: list[str] = []

    def reply(body: bytes, status: int = 200) -> Response:
        return Response(body, status=status, mimetype="application/timestamp-reply")

    @app.post("/tsr")
    def good():
        seen.append(request.content_type)
        return reply(offline.respond(request.get_data()))

    @app.post("/reject")
    def reject():
        return reply(ts._rejection("system_failure", "TSA is down for maintenance"))

    @app.post("/mismatch")
    def mismatch():
        req = tsp.TimeStampReq.load(request.get_data())
        forged = ts.make_request(b"something else", nonce=req["nonce"].native)
        return reply(offline.respond(forged))

    @app.post("/nonce")
    def wrong_nonce():
        req = tsp.TimeStampReq.load(request.get_data()).copy()
        req["nonce"] = req["nonce"].native + 1
        return reply(offline.respond(req.dump()))

    @app.post("/slow")
    def slow():
        time.sleep(1.5)
        return reply(offline.respond(request.get_data()))

    @app.post("/error")
    def error():
        return Response("busy", status=503)

    @app.post("/garbage")
    def garbage():
        return reply(b"<html>not a TimeStampResp</html>")

    with LocalServer(app) as server:
        yield server.url, seen


def test_http_timestamper_gets_and_checks_a_token(fake_tsa, offline):
    base, seen = fake_tsa
    stamper = ts.make_timestamper(
        "http", base + "/tsr", cacert_url=CACERT_URL, ca_pem=offline.ca_certificate_pem()
    )
    assert isinstance(stamper, ts.HttpTimestamper)
    token = stamper.stamp(b"hello")
    assert token.matches(b"hello") and token.nonce is not None
    assert seen[-1] == "application/timestamp-query"
    anchor = stamper.anchor(HEAD, tsa_url="https://tsa.example/tsr")
    assert anchor["tsa_cacert_url"] == CACERT_URL
    ts.verify_response(base64.b64decode(anchor["tsa_tsr_base64"]), HEAD.encode())
    assert stamper.ca_certificate_pem() == offline.ca_certificate_pem()


@pytest.mark.parametrize(
    ("path", "kwargs", "message"),
    [
        ("/reject", {}, "rejection: TSA is down for maintenance .system_failure"),
        ("/tsr", {"policy": "1.2.3.4"}, "rejection.*unaccepted_policy"),
        ("/mismatch", {}, "message imprint does not match"),
        ("/nonce", {}, "nonce does not match"),
        ("/error", {}, "HTTP 503"),
        ("/garbage", {}, "malformed"),
        ("/slow", {"timeout": 0.3}, "request failed"),
        ("/tsr", {"ca_pem": "other"}, "not issued by the given CA"),
    ],
)
def test_http_timestamper_errors(fake_tsa, store, path, kwargs, message):
    base, _ = fake_tsa
    if kwargs.get("ca_pem") == "other":
        kwargs = {"ca_pem": ts.OfflineTimestamper(_fresh_name()).ca_certificate_pem()}
    stamper = ts.HttpTimestamper(base + path, **kwargs)
    with pytest.raises(TimestampError, match=message):
        stamper.stamp(b"hello")


def test_http_timestamper_unreachable():
    with socket.socket() as s:  # a port with nothing listening on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stamper = ts.HttpTimestamper(f"http://127.0.0.1:{port}/tsr", timeout=2)
    with pytest.raises(TimestampError, match="request failed"):
        stamper.stamp(b"x")
    with pytest.raises(TimestampError, match="no CA certificate"):
        stamper.ca_certificate_pem()


# --- the factory ----------------------------------------------------------------------------


def test_factory_and_env(tmp_path, offline):
    assert isinstance(ts.make_timestamper(), ts.OfflineTimestamper)
    with pytest.raises(TimestampError, match="needs a TSA URL"):
        ts.make_timestamper("http")
    with pytest.raises(TimestampError, match="unknown timestamper"):
        ts.make_timestamper("blockchain")
    ca = tmp_path / "ca.pem"
    ca.write_text(offline.ca_certificate_pem())
    stamper = ts.timestamper_from_env(
        {
            "AGENTYARD_TSA": "http",
            "AGENTYARD_TSA_URL": "https://freetsa.example/tsr",
            "AGENTYARD_TSA_CACERT_URL": CACERT_URL,
            "AGENTYARD_TSA_CA_FILE": str(ca),
            "AGENTYARD_TSA_TIMEOUT": "3.5",
        }
    )
    assert isinstance(stamper, ts.HttpTimestamper)
    assert (stamper.tsa_url, stamper.cacert_url, stamper.timeout) == (
        "https://freetsa.example/tsr",
        CACERT_URL,
        3.5,
    )
    assert stamper.ca_certificate_pem() == offline.ca_certificate_pem()
    default = ts.timestamper_from_env({"AGENTYARD_TSA_CACERT_URL": CACERT_URL})
    assert isinstance(default, ts.OfflineTimestamper) and default.cacert_url == CACERT_URL
