"""Private keys stored in the database: PKCS#8 PEM, encrypted when a passphrase is configured.

Audit signing keys and the offline TSA's keys use this. Each names the environment variables
its passphrase may come from (first set wins); without one, keys are stored unencrypted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization


def passphrase(env_names: Sequence[str]) -> bytes | None:
    """The first of `env_names` that is set, as bytes (None when none is)."""
    for name in env_names:
        value = os.environ.get(name)
        if value:
            return value.encode()
    return None


def dump(private_key: Any, env_names: Sequence[str]) -> str:
    """`private_key` as PKCS#8 PEM, encrypted with the configured passphrase if any."""
    secret = passphrase(env_names)
    encryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def load(pem: str, env_names: Sequence[str]) -> Any:
    """The private key of a stored PEM; ValueError when it is encrypted and no passphrase is set."""
    data = pem.encode()
    secret = None
    if b"ENCRYPTED" in data:
        secret = passphrase(env_names)
        if secret is None:
            raise ValueError(f"the key is encrypted; set {' or '.join(env_names)}")
    return serialization.load_pem_private_key(data, password=secret)
