"""Secrets encrypted at rest: tokens, contexts, key rotation, the stored key, EncryptedField."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import threading
import uuid

import peewee
import pytest

from agentyard.core import migrations, vault
from agentyard.core.store import BaseModel, connection, db, write
from agentyard.core.vault import EncryptedField, StoredVaultKey, VaultError

K1 = base64.b64encode(b"1" * 32).decode()
K2 = base64.b64encode(b"2" * 32).decode()
TOKEN = re.compile(r"v1:[0-9a-f]{8}:[A-Za-z0-9_-]+")


@pytest.fixture(scope="module")
def store(app, settings):
    migrations.upgrade()
    return settings


@pytest.fixture
def keys(monkeypatch):
    """Configure vault keys for one test; restores the previous configuration."""
    monkeypatch.delenv(vault.PASSPHRASE_ENV, raising=False)
    saved = vault._configured
    yield vault.configure
    vault._configured = saved
    vault._stored.clear()


def test_round_trip_and_token_shape(keys):
    keys(K1)
    token = vault.encrypt("s3cret ✓", "ctx")
    assert TOKEN.fullmatch(token) and "s3cret" not in token
    assert vault.token_key_id(token) == vault.key_id(b"1" * 32)
    assert vault.decrypt(token, "ctx") == "s3cret ✓"
    assert vault.encrypt("s3cret ✓", "ctx") != token  # fresh nonce each time
    raw = os.urandom(64)
    assert vault.decrypt_bytes(vault.encrypt(raw, "ctx"), "ctx") == raw
    assert vault.decrypt(vault.encrypt("", "ctx"), "ctx") == ""
    with pytest.raises(VaultError, match="UTF-8"):
        vault.decrypt(vault.encrypt(b"\xff\xfe", "ctx"), "ctx")


def test_wrong_context_and_tampering_are_refused(store, keys):
    keys(K1)
    token = vault.encrypt("value", "tenant:1")
    version, kid, body = token.split(":")
    flipped = body[:5] + ("A" if body[5] != "A" else "B") + body[6:]
    other_kid = vault.key_id(b"2" * 32)
    for bad, context in (
        (token, "tenant:2"),
        (token, ""),
        (f"{version}:{kid}:{flipped}", "tenant:1"),
        (f"{version}:{kid}:{body[:-2]}", "tenant:1"),
        (f"{version}:{other_kid}:{body}", "tenant:1"),
        (f"v2:{kid}:{body}", "tenant:1"),
        (f"{version}:{kid}:AAAA", "tenant:1"),
        ("plaintext", "tenant:1"),
        ("", "tenant:1"),
        (None, "tenant:1"),
    ):
        with pytest.raises(VaultError):
            vault.decrypt(bad, context)
    with pytest.raises(VaultError):
        vault.encrypt(123, "ctx")


def test_key_rotation(keys):
    keys(K1)
    old = vault.encrypt("rotate me", "ctx")
    keys(f"{K2}, {K1}")  # the new key first; the old one still decrypts
    assert vault.decrypt(old, "ctx") == "rotate me"
    new = vault.encrypt("fresh", "ctx")
    assert vault.token_key_id(new) == vault.key_id(b"2" * 32)
    moved = vault.reencrypt(old, "ctx")
    assert vault.token_key_id(moved) == vault.key_id(b"2" * 32)
    assert vault.decrypt(moved, "ctx") == "rotate me"
    assert vault.reencrypt(moved, "ctx") == moved
    with pytest.raises(VaultError):
        vault.reencrypt(old, "other ctx")
    keys(K2)
    assert vault.decrypt(moved, "ctx") == "rotate me"


def test_key_parsing(keys, monkeypatch):
    assert vault.parse_keys(None) == () and vault.parse_keys(" , ") == ()
    urlsafe = base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    assert vault.parse_keys(urlsafe)[0].secret == b"\xfb" * 32
    assert vault.parse_keys([b"3" * 32])[0].kid == vault.key_id(b"3" * 32)
    for bad in ("not base64!", base64.b64encode(b"short").decode(), f"{K1},{K1}"):
        with pytest.raises(VaultError):
            vault.parse_keys(bad)
    assert len(base64.b64decode(vault.generate_key())) == 32
    assert "secret" not in repr(vault.parse_keys(K1)[0]).replace("secret=", "")
    monkeypatch.setenv(vault.KEY_ENV, f"{K2},{K1}")
    vault._configured = None  # never configured: read the environment
    assert [k.kid for k in vault.configured_keys()] == [
        vault.key_id(b"2" * 32),
        vault.key_id(b"1" * 32),
    ]


# --- the stored key -------------------------------------------------------------------------


def test_stored_key_is_created_once_and_reused(store, keys):
    keys(None)
    token = vault.encrypt("stored", "ctx")
    vault._stored.clear()  # as a new process would
    assert vault.decrypt(token, "ctx") == "stored"
    with connection():
        row = StoredVaultKey.get_by_id(vault.STORED_KEY_NAME)
    assert row.material.startswith("raw:") and vault.token_key_id(token) == row.kid
    # Configuring keys later keeps the stored key for decryption.
    keys(K1)
    assert vault.decrypt(token, "ctx") == "stored"
    assert vault.token_key_id(vault.encrypt("x", "ctx")) == vault.key_id(b"1" * 32)


def test_stored_key_creation_is_race_safe_in_threads(store, keys):
    name = "test-" + uuid.uuid4().hex[:12]
    barrier = threading.Barrier(6)
    kids: list[str] = []

    def create():
        barrier.wait()
        kids.append(vault._stored_key(name, create=True).kid)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kids) == 6 and len(set(kids)) == 1
    with connection():
        assert StoredVaultKey.select().where(StoredVaultKey.name == name).count() == 1


CHILD = """
import sys, time
from pathlib import Path
from agentyard.core import store, vault
url, data_dir, name, go, token = sys.argv[1:]
store.open_database(url or None, Path(data_dir))
vault.configure(None)
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.005)
kid = vault._stored_key(name, create=True).kid
print(kid, vault.decrypt(token, "ipc"), vault.encrypt("from child", "ipc"))
"""


def test_stored_key_is_shared_by_processes(store, keys, tmp_path):
    keys(None)
    token = vault.encrypt("from parent", "ipc")
    name, go = "test-" + uuid.uuid4().hex[:12], tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTYARD_VAULT_")}
    args = [store.database_url or "", str(store.data_dir), name, str(go), token]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    go.touch()
    mine = vault._stored_key(name, create=True).kid
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        kid, *plain, child_token = out.split()
        assert kid == mine and " ".join(plain) == "from parent"
        assert vault.decrypt(child_token, "ipc") == "from child"
    with connection():
        assert StoredVaultKey.select().where(StoredVaultKey.name == name).count() == 1


def test_stored_key_wrapped_with_a_passphrase(store, keys, monkeypatch):
    name = "test-" + uuid.uuid4().hex[:12]
    monkeypatch.setenv(vault.PASSPHRASE_ENV, "correct horse")
    key = vault._stored_key(name, create=True)
    with connection():
        row = StoredVaultKey.get_by_id(name)
    assert row.material.startswith("scrypt:") and base64.b64encode(key.secret).decode() not in (
        row.material
    )
    vault._stored.clear()
    assert vault._stored_key(name, create=False) == key
    vault._stored.clear()
    monkeypatch.setenv(vault.PASSPHRASE_ENV, "wrong")
    with pytest.raises(VaultError, match="wrong"):
        vault._stored_key(name, create=False)
    monkeypatch.delenv(vault.PASSPHRASE_ENV)
    with pytest.raises(VaultError, match=vault.PASSPHRASE_ENV):
        vault._stored_key(name, create=False)


# --- EncryptedField -------------------------------------------------------------------------


class Secretive(BaseModel):
    name = peewee.CharField(primary_key=True, max_length=32)
    secret = EncryptedField(null=True)
    api_key = EncryptedField(context="secretive.other", null=True)

    class Meta:
        table_name = "test_vault_secretive"


@pytest.fixture
def secretive(store, keys):
    keys(K1)
    with connection():
        db.create_tables([Secretive])
    yield Secretive
    with connection():
        db.drop_tables([Secretive])


def _raw(column: str, name: str) -> str | None:
    table = Secretive._meta.table_name
    param = "?" if isinstance(db.obj, peewee.SqliteDatabase) else "%s"
    with connection():
        cursor = db.execute_sql(f"SELECT {column} FROM {table} WHERE name = {param}", (name,))
        return cursor.fetchone()[0]


def test_encrypted_field_stores_ciphertext(secretive):
    with connection(), write():
        secretive.create(name="a", secret="hunter2", api_key="sk-123")
        secretive.create(name="b", secret=None)
    raw = _raw("secret", "a")
    assert TOKEN.fullmatch(raw) and "hunter2" not in raw
    assert vault.decrypt(raw, "test_vault_secretive.secret") == "hunter2"
    assert vault.decrypt(_raw("api_key", "a"), "secretive.other") == "sk-123"
    assert _raw("secret", "b") is None
    with connection():
        row = secretive.get_by_id("a")
        assert (row.secret, row.api_key) == ("hunter2", "sk-123")
        assert secretive.get_by_id("b").secret is None
        assert secretive.select().where(secretive.secret.is_null()).count() == 1
        row.secret = "changed"
        row.save()
        assert secretive.get_by_id("a").secret == "changed"
        # A ciphertext copied into another column does not decrypt there.
        table = secretive._meta.table_name
        db.execute_sql(f"UPDATE {table} SET api_key = secret")
        with pytest.raises(VaultError):
            secretive.get_by_id("a")
