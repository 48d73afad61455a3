"""The audit log: hash chain, Ed25519 signatures, HASP signed export 1.0, query, concurrency.

`independent_verify()` below re-implements the checks of HASP's verifier (UseHasp/verify,
docs/SCHEMA.md) from its documentation with the standard library and `cryptography`; it does
not call the module's hashing, so the export is checked against the published format rather
than against itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from agentyard.core import audit, clock, keys, migrations
from agentyard.core.audit import AuditChain, AuditEntry, AuditError
from agentyard.core.store import connection, db, write
from agentyard.hasp import audit_format

VECTORS = Path(__file__).parent / "audit_fixtures" / "hasp_verify_vectors.json"

# --- an independent verifier, written from UseHasp/verify docs/SCHEMA.md -----------------

HASHED_COLUMNS = [
    "user_id",
    "org_id",
    "project_id",
    "action",
    "entity_type",
    "entity_id",
    "metadata",
    "ip_address",
    "created_at",
    "phi_disposition",
    "subject_type",
    "subject_id_hmac",
]
HEX64 = re.compile(r"[0-9a-f]{64}")


def _ksort(value):
    if isinstance(value, dict):
        return {k: _ksort(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_ksort(v) for v in value]
    return value


def independent_hash(entry: dict) -> str:
    """SHA-256 hex of the 12 columns as a compact JSON array, metadata key-sorted."""
    row = [_ksort(entry.get(c)) if c == "metadata" else entry.get(c) for c in HASHED_COLUMNS]
    text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _public(pem: str):
    return serialization.load_pem_public_key(pem.encode())


def _der(pem: str) -> bytes:
    return _public(pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def independent_verify(
    export_text: str, keys_doc: dict | None, require_anchor: bool = False
) -> str:
    """'VERIFIED' or '<check>: <why>', for an export as text (as an auditor receives it)."""
    doc = json.loads(export_text)
    if doc.get("schema_version") != "1.0":
        return "schema: schema_version"
    exp, ver, entries = doc.get("export"), doc.get("verification"), doc.get("entries")
    for k in ("tenant", "tenant_id", "range", "exported_at", "exported_by", "entry_count"):
        if k not in exp:
            return f"schema: export.{k}"
    if not isinstance(exp["range"].get("from"), str) or not isinstance(exp["range"]["to"], str):
        return "schema: range"
    for k in ("algo", "public_key_pem", "key_id", "key_published_at", "chain_head_hash"):
        if k not in ver:
            return f"schema: verification.{k}"
    if ver["algo"] != "ed25519" or "BEGIN PUBLIC KEY" not in ver["public_key_pem"]:
        return "schema: algo/public key"
    if not isinstance(ver.get("tsa_anchor_chain"), list):
        return "schema: tsa_anchor_chain"
    if require_anchor and not ver["tsa_anchor_chain"]:
        return "schema: tsa_anchor_chain is empty"
    if not entries or exp["entry_count"] != len(entries):
        return "schema: entry_count"
    for e in entries:
        if any(c not in e for c in [*HASHED_COLUMNS, "prev_hash", "hash", "signature"]):
            return "schema: entry fields"
        if not (isinstance(e["action"], str) and e["action"] and e["created_at"]):
            return "schema: action/created_at"
        if not (HEX64.fullmatch(e["prev_hash"]) and HEX64.fullmatch(e["hash"])):
            return "schema: hashes"
    for i, e in enumerate(entries):
        if independent_hash(e) != e["hash"]:
            return f"chain: hash of entry {i + 1}"
        if i and e["prev_hash"] != entries[i - 1]["hash"]:
            return f"chain: linkage at entry {i + 1}"
    if entries[-1]["hash"] != ver["chain_head_hash"]:
        return "chain: head"
    for a in ver["tsa_anchor_chain"]:
        pos = a["checkpoint_after_entry"]
        if not 1 <= pos <= len(entries) or a["anchored_data"] != entries[pos - 1]["hash"]:
            return "chain: anchor"
    trusted = ver["public_key_pem"]
    if keys_doc is not None:
        if keys_doc.get("tenant_id", exp["tenant_id"]) != exp["tenant_id"]:
            return "key: tenant"
        match = [k for k in keys_doc["keys"] if k.get("key_id") == ver["key_id"]]
        if not match or match[0].get("status") == "revoked":
            return "key: not published"
        if _der(match[0]["public_key_pem"]) != _der(ver["public_key_pem"]):
            return "key: mismatch"
        trusted = match[0]["public_key_pem"]
    public = _public(trusted)
    for i, e in enumerate(entries):
        algo, _, b64 = e["signature"].partition(":")
        try:
            assert algo == "ed25519"
            public.verify(base64.b64decode(b64), e["hash"].encode("ascii"))
        except (AssertionError, InvalidSignature, ValueError):
            return f"signatures: entry {i + 1}"
    return "VERIFIED"


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(app, settings):
    """The configured store with the audit migration applied."""
    migrations.upgrade()
    return settings


@pytest.fixture
def tenant(store):
    with connection():
        t, _ = keys.get_or_create_tenant("audit-test", f"Clinic {uuid.uuid4().hex[:10]}")
    return t


@pytest.fixture
def other_tenant(store):
    with connection():
        t, _ = keys.get_or_create_tenant("audit-test", f"Other {uuid.uuid4().hex[:10]}")
    return t


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def frozen(monkeypatch):
    fake = FakeClock(dt.datetime(2026, 4, 25, 14, 0, 0))
    monkeypatch.setattr(clock, "now", fake)
    return fake


def _fill(tenant, n: int, **kw) -> list[AuditEntry]:
    return [
        audit.append(
            tenant,
            "api_key.created",
            "ApiKey",
            f"key_{i}",
            user_id="usr_1",
            ip_address="203.0.113.7",
            metadata={"i": i, "z": [1, {"b": 2, "a": 1}], "note": "é/ü"},
            **kw,
        )
        for i in range(n)
    ]


def _export_text(tenant) -> str:
    doc = audit_format.export(
        tenant, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "auditor@x.test"
    )
    return json.dumps(doc, ensure_ascii=False)


# --- hashing and canonical JSON -----------------------------------------------------------


def test_hasp_published_vectors_hash_and_verify():
    """HASP's own sample entries: same hashes from the module and the independent hash."""
    vectors = json.loads(VECTORS.read_text())
    public = _public(vectors["public_key_pem"])
    prev = audit.ZERO_HASH
    for entry in vectors["entries"]:
        assert audit.entry_hash(entry) == entry["hash"]
        assert independent_hash(entry) == entry["hash"]
        assert entry["prev_hash"] == prev
        assert audit.signature_valid(public, entry["hash"], entry["signature"])
        prev = entry["hash"]
    assert prev == vectors["chain_head_hash"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5, "5"),
        (5.0, "5"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (1e16, "10000000000000000"),
        (1e21, "1e+21"),
        (123456789012345680000.0, "123456789012345680000"),
        (2**53 - 1, "9007199254740991"),
    ],
)
def test_numbers_are_written_as_javascript_does(value, text):
    assert audit.js_number(value) == text


def test_metadata_keys_sort_like_javascript():
    meta = {"b": 1, "a": 2, "10": 3, "2": 4, "01": 5, "é": 6, "😀": 7, "\uffff": 8}
    assert audit.canonical_json(meta) == (
        '{"2":4,"10":3,"01":5,"a":2,"b":1,"é":6,"😀":7,"\uffff":8}'
    )
    assert audit.canonical_json({"s": 'a/b"\\\n\x01<'}) == '{"s":"a/b\\"\\\\\\n\\u0001<"}'


@pytest.mark.parametrize(
    "bad", [{"n": 2**53}, {"n": float("nan")}, {1: "x"}, {"s": "\ud800"}, {"o": object()}]
)
def test_metadata_no_verifier_could_hash_is_refused(bad):
    with pytest.raises(AuditError):
        audit.canonical_json(bad)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_canonical_json_matches_node():
    """Byte-for-byte what JavaScript's sort + JSON.stringify produces for the same input."""
    meta = {
        "b": [1.0, 2.5, -0.0, 1e21, 1e-7, 123456789012345680000.0],
        "a": {"z": None, "10": True, "9": False, "x/y": "ü\u2028\x7f"},
        "😀": 1,
        "\uffff": 2,
        "4294967295": 3,
        "4294967294": 4,
    }
    script = (
        "const c=v=>Array.isArray(v)?v.map(c):(v&&typeof v==='object')?"
        "Object.keys(v).sort().reduce((o,k)=>(o[k]=c(v[k]),o),Object.create(null)):v;"
        "process.stdout.write(JSON.stringify(c(JSON.parse(require('fs').readFileSync(0,'utf8')))))"
    )
    out = subprocess.run(
        ["node", "-e", script], input=json.dumps(meta), capture_output=True, check=True, text=True
    ).stdout
    assert out == audit.canonical_json(meta)


# --- append, chain, signatures ------------------------------------------------------------


def test_migration_is_registered(store):
    with connection():
        done = {(m.component, m.version) for m in migrations.AppliedMigration.select()}
        tables = set(db.get_tables())
    assert ("audit", 1) in done
    assert {"core_audit_entry", "core_audit_chain", "core_audit_key"} <= tables


def test_entries_chain_hash_and_sign(tenant):
    entries = _fill(tenant, 3)
    pub = audit.published_keys(tenant)
    assert pub["tenant_id"] == tenant.id
    [key] = pub["keys"]
    assert key["status"] == "active" and key["key_id"].startswith("key_")
    public = _public(key["public_key_pem"])
    prev = audit.ZERO_HASH
    for n, e in enumerate(entries, 1):
        assert e.seq == n and e.prev_hash == prev
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", e.id)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e.created_at_iso)
        assert e.hash == independent_hash(e.to_export())
        assert e.signature.startswith("ed25519:")
        public.verify(base64.b64decode(e.signature[8:]), e.hash.encode("ascii"))
        prev = e.hash
    assert audit.verify_chain(tenant) == audit.VerifyResult(True, 3, prev)
    with connection():
        assert AuditChain.get_by_id(tenant.id).head_hash == prev


def test_metadata_is_stored_as_javascript_sees_it(tenant):
    e = audit.append(tenant, "budget.updated", "Budget", "b1", metadata={"cap": 5.0, "r": 0.5})
    assert e.metadata == {"cap": 5, "r": 0.5}
    assert e.hash == independent_hash(e.to_export())
    assert audit.append(tenant, "x", None, None).to_export()["metadata"] is None
    assert audit.append(tenant, "x", None, None, metadata={}).to_export()["metadata"] == {}
    assert audit.verify_chain(tenant).ok


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": ""},
        {"phi_disposition": "redacted"},
        {"entity_id": "x" * 256},
        {"metadata": "text"},
        {"metadata": {"n": 2**60}},
        {"subject_id": "p1", "subject_id_hmac": "ab"},
        {"user_id": 1.5},
    ],
)
def test_append_rejects_bad_input(tenant, kwargs):
    args = {"action": "a", "entity_type": "T", "entity_id": "1", **kwargs}
    with pytest.raises(AuditError):
        audit.append(
            tenant, args.pop("action"), args.pop("entity_type"), args.pop("entity_id"), **args
        )
    with connection():
        assert AuditEntry.select().where(AuditEntry.tenant == tenant.id).count() == 0


def test_all_fields_and_subject_hmac(tenant, other_tenant):
    e = audit.append(
        tenant,
        "ai.chat.message",
        "AiChatSession",
        "chat_1",
        user_id=5012,
        org_id="org_1",
        project_id="prj_1",
        ip_address="2001:db8::1",
        metadata=[{"b": 1, "a": 2}],
        phi_disposition="redacted_at_delivery",
        subject_type="patient",
        subject_id="MRN-0042",
    )
    out = e.to_export()
    assert list(out) == list(audit.EXPORT_FIELDS)
    assert out["user_id"] == "5012" and out["metadata"] == [{"a": 2, "b": 1}]
    assert out["subject_id_hmac"] == audit.subject_hmac(tenant, "MRN-0042")
    assert "MRN-0042" not in json.dumps(out)
    assert audit.subject_hmac(other_tenant, "MRN-0042") != out["subject_id_hmac"]
    assert e.to_api() == {
        "id": e.id,
        "action": "ai.chat.message",
        "entity_type": "AiChatSession",
        "entity_id": "chat_1",
        "user_id": "5012",
        "ip_address": "2001:db8::1",
        "metadata": [{"a": 2, "b": 1}],
        "phi_disposition": "redacted_at_delivery",
        "integrity_hash": e.hash,
        "created_at": e.created_at_iso,
    }


def test_created_at_never_goes_backwards(tenant, frozen):
    first = audit.append(tenant, "a", None, None)
    frozen.now -= dt.timedelta(seconds=30)  # the host clock steps back
    second = audit.append(tenant, "b", None, None)
    assert second.created_at == first.created_at and second.seq == first.seq + 1


def test_encrypted_signing_key(store, monkeypatch):
    monkeypatch.setenv(audit.PASSPHRASE_ENV, "correct horse battery staple")
    with connection():
        t, _ = keys.get_or_create_tenant("audit-test", f"Enc {uuid.uuid4().hex[:10]}")
    audit.append(t, "a", None, None)
    key = audit.signing_key(t)
    assert "ENCRYPTED PRIVATE KEY" in key.private_key_pem
    audit._private_cache.clear()
    audit.append(t, "b", None, None)
    assert audit.verify_chain(t).ok
    audit._private_cache.clear()
    monkeypatch.delenv(audit.PASSPHRASE_ENV)
    with pytest.raises(AuditError, match="encrypted"):
        audit.append(t, "c", None, None)


# --- export -------------------------------------------------------------------------------


def test_export_is_hasp_schema_1_0_and_verifies_independently(tenant):
    _fill(tenant, 4)
    text = _export_text(tenant)
    doc = json.loads(text)
    assert list(doc) == ["schema_version", "export", "verification", "entries"]
    assert doc["schema_version"] == "1.0"
    exp, ver = doc["export"], doc["verification"]
    assert exp["tenant"] == tenant.name and exp["tenant_id"] == tenant.id
    assert exp["range"] == {"from": "2000-01-01T00:00:00.000Z", "to": "2100-01-01T00:00:00.000Z"}
    assert exp["exported_by"] == "auditor@x.test" and exp["entry_count"] == 4
    assert set(ver) == {
        "algo",
        "public_key_pem",
        "key_id",
        "key_published_at",
        "chain_head_hash",
        "tsa_anchor_chain",
    }
    assert ver["algo"] == "ed25519" and ver["tsa_anchor_chain"] == []
    assert ver["chain_head_hash"] == doc["entries"][-1]["hash"]
    assert all(list(e) == list(audit.EXPORT_FIELDS) for e in doc["entries"])
    assert independent_verify(text, audit.published_keys(tenant)) == "VERIFIED"
    assert independent_verify(text, None) == "VERIFIED"
    assert independent_verify(text, None, require_anchor=True).startswith("schema")


def test_export_range_is_a_slice_of_the_chain(tenant, frozen):
    t0 = frozen.now
    made = []
    for minutes in (0, 10, 20, 30):
        frozen.now = t0 + dt.timedelta(minutes=minutes)
        made.append(audit.append(tenant, "a", "T", str(minutes)))
    doc = audit_format.export(
        tenant, t0 + dt.timedelta(minutes=10), "2026-04-25T14:20:00Z", "svc", keys_url=None
    )
    assert [e["entity_id"] for e in doc["entries"]] == ["10", "20"]
    assert doc["entries"][0]["prev_hash"] == made[0].hash
    assert doc["verification"]["chain_head_hash"] == made[2].hash
    assert independent_verify(json.dumps(doc), audit.published_keys(tenant)) == "VERIFIED"
    empty = audit_format.export(tenant, "2026-04-25T14:05:00Z", "2026-04-25T14:06:00Z", "svc")
    assert empty["entries"] == [] and empty["export"]["entry_count"] == 0
    assert empty["verification"]["chain_head_hash"] == made[0].hash
    with pytest.raises(AuditError):
        audit_format.export(tenant, "2026-04-25T15:00:00Z", "2026-04-25T14:00:00Z", "svc")
    with pytest.raises(AuditError):
        audit_format.export(tenant, "yesterday", "2026-04-25T14:00:00Z", "svc")


def test_export_with_timestamp_anchor_and_keys_url(tenant):
    _fill(tenant, 2)
    seen = []

    def tsa(head: str) -> dict:
        seen.append(head)
        return {
            "tsa_url": "https://tsa.example/tsr",
            "tsa_cacert_url": "https://tsa.example/ca.pem",
            "tsa_tsr_base64": "MAA=",
            "anchored_at": "2026-04-25T14:12:05.000Z",
        }

    doc = audit_format.export(
        tenant,
        "2000-01-01T00:00:00Z",
        "2100-01-01T00:00:00Z",
        "svc",
        keys_url="https://audit.example/trust/keys/" + tenant.id,
        timestamp=tsa,
    )
    [anchor] = doc["verification"]["tsa_anchor_chain"]
    assert seen == [doc["verification"]["chain_head_hash"]]
    assert anchor["checkpoint_after_entry"] == 2 and anchor["anchored_data"] == seen[0]
    assert doc["verification"]["keys_url"].startswith("https://")
    text = json.dumps(doc)
    assert independent_verify(text, audit.published_keys(tenant), require_anchor=True) == (
        "VERIFIED"
    )
    with pytest.raises(AuditError):
        audit_format.export(
            tenant, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "svc", keys_url="http://x"
        )
    with pytest.raises(AuditError):
        audit_format.export(
            tenant, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "svc", timestamp=lambda h: {}
        )


# --- tampering ----------------------------------------------------------------------------


def _tamper_metadata(tenant, entries):
    AuditEntry.update(metadata_json='{"i":99}').where(AuditEntry.id == entries[1].id).execute()
    return 2, "hash_mismatch", "chain: hash of entry 2"


def _tamper_metadata_rehashed(tenant, entries):
    """Edit, recompute the hash (no key to re-sign): the signature gives it away."""
    e = AuditEntry.get_by_id(entries[1].id)
    e.metadata_json = '{"i":99}'
    AuditEntry.update(metadata_json=e.metadata_json, hash=audit.entry_hash(e.hash_fields())).where(
        AuditEntry.id == e.id
    ).execute()
    return 2, "bad_signature", "chain: linkage at entry 3"


def _tamper_delete(tenant, entries):
    AuditEntry.delete().where(AuditEntry.id == entries[1].id).execute()
    return 3, "link_broken", "chain: linkage at entry 2"


def _tamper_reorder(tenant, entries):
    a, b = entries[1], entries[2]
    AuditEntry.update(seq=-1).where(AuditEntry.id == a.id).execute()
    AuditEntry.update(seq=a.seq).where(AuditEntry.id == b.id).execute()
    AuditEntry.update(seq=b.seq).where(AuditEntry.id == a.id).execute()
    return 2, "link_broken", "chain: linkage at entry 2"


def _tamper_swap_signatures(tenant, entries):
    a, b = entries[0], entries[1]
    AuditEntry.update(signature=b.signature).where(AuditEntry.id == a.id).execute()
    AuditEntry.update(signature=a.signature).where(AuditEntry.id == b.id).execute()
    return 1, "bad_signature", "signatures: entry 1"


@pytest.mark.parametrize(
    "tamper",
    [
        _tamper_metadata,
        _tamper_metadata_rehashed,
        _tamper_delete,
        _tamper_reorder,
        _tamper_swap_signatures,
    ],
)
def test_tampering_is_detected(tenant, tamper):
    entries = _fill(tenant, 4)
    assert audit.verify_chain(tenant).ok
    assert independent_verify(_export_text(tenant), audit.published_keys(tenant)) == "VERIFIED"
    with connection():
        seq, problem, export_error = tamper(tenant, entries)
    result = audit.verify_chain(tenant)
    assert not result.ok
    assert (result.broken_seq, result.problem) == (seq, problem)
    assert independent_verify(_export_text(tenant), audit.published_keys(tenant)) == export_error


def test_truncating_the_tail_or_adding_past_the_head_is_detected(tenant):
    entries = _fill(tenant, 3)
    with connection():
        AuditEntry.delete().where(AuditEntry.id == entries[2].id).execute()
    result = audit.verify_chain(tenant)
    assert (result.ok, result.problem, result.entries) == (False, "head_mismatch", 2)

    t2 = tenant
    with connection():
        AuditChain.update(seq=2, head_hash=entries[1].hash).where(
            AuditChain.tenant == t2.id
        ).execute()
        assert audit.verify_chain(t2).ok
        forged = AuditEntry.get_by_id(entries[1].id)
        forged.id, forged.seq = str(uuid.uuid4().hex[:26]), 3
        forged.save(force_insert=True)
    assert audit.verify_chain(t2).problem == "head_mismatch"


def test_a_key_that_is_not_published_fails_the_key_check(tenant, other_tenant):
    _fill(tenant, 2)
    _fill(other_tenant, 1)
    text = _export_text(tenant)
    assert independent_verify(text, audit.published_keys(other_tenant)) == "key: tenant"
    doc = json.loads(text)
    doc["verification"]["public_key_pem"] = audit.signing_key(other_tenant).public_key_pem
    forged_keys = {"tenant_id": tenant.id, "keys": audit.published_keys(tenant)["keys"]}
    assert independent_verify(json.dumps(doc), forged_keys) == "key: mismatch"


# --- tenants ------------------------------------------------------------------------------


def test_tenants_have_separate_chains_keys_and_views(tenant, other_tenant):
    for i in range(3):
        audit.append(tenant, "a", "T", f"mine-{i}")
        audit.append(other_tenant, "a", "T", f"theirs-{i}")
    mine, _ = audit.query(tenant)
    theirs, _ = audit.query(other_tenant)
    assert {e.entity_id for e in mine} == {"mine-0", "mine-1", "mine-2"}
    assert {e.entity_id for e in theirs} == {"theirs-0", "theirs-1", "theirs-2"}
    assert sorted(e.seq for e in mine) == [1, 2, 3] == sorted(e.seq for e in theirs)
    assert min(mine, key=lambda e: e.seq).prev_hash == audit.ZERO_HASH
    k1, k2 = audit.signing_key(tenant), audit.signing_key(other_tenant)
    assert k1.id != k2.id and k1.public_key_pem != k2.public_key_pem
    assert not audit.signature_valid(
        serialization.load_pem_public_key(k2.public_key_pem.encode()),
        mine[0].hash,
        mine[0].signature,
    )
    doc = json.loads(_export_text(tenant))
    assert [e["entity_id"] for e in doc["entries"]] == ["mine-0", "mine-1", "mine-2"]
    assert audit.verify_chain(tenant).ok and audit.verify_chain(other_tenant).ok
    assert audit.query(tenant, entity_id="theirs-0") == ([], None)


# --- query --------------------------------------------------------------------------------


def test_query_filters_order_limit_and_cursor(tenant, frozen):
    t0 = frozen.now
    plan = [
        ("api_key.created", "ApiKey", "k1"),
        ("api_key.revoked", "ApiKey", "k1"),
        ("budget.updated", "Budget", "b1"),
        ("api_key.created", "ApiKey", "k2"),
        ("webhook_endpoint.created", "WebhookEndpoint", "w1"),
        ("api_key.created", "ApiKey", "k3"),
        ("budget.updated", "Budget", "b1"),
    ]
    made = []
    for i, (action, etype, eid) in enumerate(plan):
        frozen.now = t0 + dt.timedelta(seconds=i // 3)  # ties within each second
        made.append(audit.append(tenant, action, etype, eid))
    newest_first = [e.id for e in reversed(made)]

    page, cursor = audit.query(tenant)
    assert [e.id for e in page] == newest_first and cursor is None

    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = audit.query(tenant, cursor=cursor, limit=3)
        seen += [e.id for e in page]
        pages += 1
        if cursor is None:
            break
    assert seen == newest_first and pages == 3

    page, cursor = audit.query(tenant, limit=7)
    assert len(page) == 7 and cursor is None

    created, _ = audit.query(tenant, action="api_key.created")
    assert [e.entity_id for e in created] == ["k3", "k2", "k1"]
    budget, _ = audit.query(tenant, entity_type="Budget", entity_id="b1")
    assert [e.seq for e in budget] == [7, 3]
    first, cursor = audit.query(tenant, action="api_key.created", limit=2)
    rest, end = audit.query(tenant, action="api_key.created", cursor=cursor, limit=2)
    assert [e.entity_id for e in first + rest] == ["k3", "k2", "k1"] and end is None

    for bad in (0, 201, -1, True, "5"):
        with pytest.raises(AuditError):
            audit.query(tenant, limit=bad)
    assert len(audit.query(tenant, limit=200)[0]) == 7
    for bad in ("not-a-cursor", "W10", base64.urlsafe_b64encode(b'["x", 1]').decode()):
        with pytest.raises(AuditError):
            audit.query(tenant, cursor=bad)


# --- concurrency and transactions ---------------------------------------------------------


def test_concurrent_threads_keep_one_chain(tenant):
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(15):
                audit.append(tenant, "thread.append", "Worker", f"{w}-{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = audit.verify_chain(tenant)
    assert result.ok and result.entries == 60
    assert independent_verify(_export_text(tenant), audit.published_keys(tenant)) == "VERIFIED"


CHILD = """
import sys, time
from pathlib import Path
from agentyard.core import audit, store
from agentyard.core.keys import Tenant
url, data_dir, tenant_id, go, n, tag = sys.argv[1:]
store.open_database(url or None, Path(data_dir))
with store.connection():
    tenant = Tenant.get_by_id(tenant_id)
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.005)
for i in range(int(n)):
    audit.append(tenant, "process.append", "Worker", f"{tag}-{i}")
print("done", flush=True)
"""


def test_concurrent_processes_keep_one_chain(tenant, store, tmp_path):
    go = tmp_path / "go"
    args = [store.database_url or "", str(store.data_dir), tenant.id, str(go), "20"]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args, tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    go.touch()
    for i in range(10):  # and this process too
        audit.append(tenant, "process.append", "Worker", f"parent-{i}")
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
    result = audit.verify_chain(tenant)
    assert result.ok and result.entries == 50


def test_append_joins_the_callers_transaction(tenant):
    audit.append(tenant, "before", None, None)
    with pytest.raises(RuntimeError), connection(), write():
        audit.append(tenant, "rolled.back", None, None)
        raise RuntimeError("caller fails")
    with connection(), write():
        entry = audit.append(tenant, "committed", None, None)
    assert entry.seq == 2
    page, _ = audit.query(tenant)
    assert [e.action for e in page] == ["committed", "before"]
    assert audit.verify_chain(tenant).ok


def test_other_appenders_wait_for_the_callers_transaction(tenant):
    inside, order = threading.Event(), []

    def caller() -> None:
        with connection(), write():
            audit.append(tenant, "caller", None, None)
            inside.set()
            time.sleep(0.4)
            order.append("caller-commit")

    def other() -> None:
        inside.wait(5)
        entry = audit.append(tenant, "other", None, None)
        order.append(f"other-{entry.seq}")

    threads = [threading.Thread(target=caller), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == ["caller-commit", "other-2"]
    assert audit.verify_chain(tenant).ok
