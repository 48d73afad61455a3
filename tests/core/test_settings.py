"""Settings.from_env reads every environment variable agentyard uses, with the documented
defaults; the modules that once read os.environ themselves take them from Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentyard.config import Settings
from agentyard.core import blobs, timestamping, vault
from agentyard.harnesslayer import channels
from agentyard.hasp import audit_export
from agentyard.messaging import DEFAULT_BASE_URL

MOVED = {
    # env var: (Settings field, value set, value read)
    "AGENTYARD_BLOB_SIGNING_KEY": ("blob_signing_key", "s" * 40, "s" * 40),
    "AGENTYARD_BLOB_MAX_FILE_BYTES": ("blob_max_file_bytes", "123", 123),
    "AGENTYARD_BLOB_MAX_ARCHIVE_BYTES": ("blob_max_archive_bytes", "456", 456),
    "AGENTYARD_BLOB_FETCH_ALLOW": ("blob_fetch_allow", "https://a.example/", "https://a.example/"),
    "AGENTYARD_BLOB_FETCH_ALLOW_PRIVATE": ("blob_fetch_allow_private", "10.0.0.0/8", "10.0.0.0/8"),
    "AGENTYARD_VAULT_KEY": ("vault_key", "k1,k2", "k1,k2"),
    "AGENTYARD_TSA": ("tsa", "http", "http"),
    "AGENTYARD_TSA_URL": ("tsa_url", "https://tsa.example/", "https://tsa.example/"),
    "AGENTYARD_TSA_CACERT_URL": ("tsa_cacert_url", "https://x.example/ca", "https://x.example/ca"),
    "AGENTYARD_TSA_CA_FILE": ("tsa_ca_file", "/etc/ca.pem", "/etc/ca.pem"),
    "AGENTYARD_TSA_TIMEOUT": ("tsa_timeout_seconds", "3.5", 3.5),
    "AGENTYARD_SENDBLUE_BASE_URL": ("sendblue_base_url", "http://sb.test", "http://sb.test"),
}

DEFAULTS = {
    "blob_signing_key": None,
    "blob_max_file_bytes": 256 * 1024 * 1024,
    "blob_max_archive_bytes": 1024 * 1024 * 1024,
    "blob_fetch_allow": None,
    "blob_fetch_allow_private": None,
    "vault_key": None,
    "tsa": "offline",
    "tsa_url": None,
    "tsa_cacert_url": None,
    "tsa_ca_file": None,
    "tsa_timeout_seconds": timestamping.DEFAULT_TIMEOUT,
    "sendblue_base_url": None,
}


@pytest.mark.parametrize("name", sorted(MOVED))
def test_each_moved_variable_is_read_by_settings(name):
    attr, raw, expected = MOVED[name]
    assert getattr(Settings.from_env({}), attr) == DEFAULTS[attr]
    assert getattr(Settings.from_env({name: ""}), attr) == DEFAULTS[attr]  # empty: the default
    assert getattr(Settings.from_env({name: raw}), attr) == expected


def test_from_env_reads_the_process_environment(monkeypatch):
    for name, (_, raw, _) in MOVED.items():
        monkeypatch.setenv(name, raw)
    settings = Settings.from_env(tsa="offline")  # overrides still win
    assert {attr: getattr(settings, attr) for attr, _, _ in MOVED.values()} == {
        attr: ("offline" if attr == "tsa" else expected) for attr, _, expected in MOVED.values()
    }
    assert "s" * 40 not in repr(settings) and "k1,k2" not in repr(settings)


def test_the_readers_take_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTYARD_SENDBLUE_BASE_URL", "http://sendblue.test")
    assert channels.sendblue_base_url() == "http://sendblue.test"
    monkeypatch.delenv("AGENTYARD_SENDBLUE_BASE_URL")
    assert channels.sendblue_base_url() == DEFAULT_BASE_URL

    monkeypatch.setenv("AGENTYARD_TSA_CACERT_URL", "https://trust.example/ca.pem")
    assert audit_export.ca_url("http://yard.example/x") == "https://trust.example/ca.pem"
    monkeypatch.delenv("AGENTYARD_TSA_CACERT_URL")
    assert audit_export.ca_url("http://yard.example/x") == "https://yard.example/x" + (
        audit_export.CA_PATH
    )
    stamper = timestamping.timestamper_from_settings(
        Settings(tsa="http", tsa_url="https://tsa.example/", tsa_timeout_seconds=2.0)
    )
    assert isinstance(stamper, timestamping.HttpTimestamper) and stamper.timeout == 2.0

    saved = blobs.configured()
    try:
        cfg = blobs.configure_from_env(
            settings=Settings(data_dir=tmp_path, blob_max_archive_bytes=789)
        )
        assert cfg.max_archive_bytes == 789 and cfg.store.root == Path(tmp_path) / "blobs"
    finally:
        blobs.restore(saved)

    saved_keys = vault._configured
    try:
        monkeypatch.setenv(vault.KEY_ENV, "")
        vault._configured = None
        assert vault.configured_keys() == ()
    finally:
        vault._configured = saved_keys
