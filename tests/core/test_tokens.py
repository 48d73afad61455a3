"""The generic HMAC token signer (agentyard.core.tokens): purpose, expiry, rotation, tampering."""

from __future__ import annotations

import base64
import json

import pytest

from agentyard.core import tokens
from agentyard.core.tokens import (
    ExpiredTokenError,
    InvalidTokenError,
    Signer,
    TokenError,
    WrongPurposeError,
)

OLD = b"o" * 32
NEW = b"n" * 32
NOW = 1_700_000_000

# Signed by agentyard.core.blobs before the signer moved here (key b"a" * 32, blob domain).
BLOB_DOMAIN = b"agentyard blob token v1\0"
LEGACY_BLOB_TOKEN = (
    "eyJjIjp7ImQiOiJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJh"
    "YmFiYWJhYmFiIiwieCI6eyJidW5kbGUiOiJiXzEifX0sImUiOjE3MDAwMDA5MDAsInAiOiJibG9iLWRvd25sb2Fk"
    "In0.MCVtbto3tTVdX_iCajgf_R_nn4cAusK1jhBeRBHpWNU"
)


def _payload(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def test_round_trip_carries_claims_purpose_and_expiry():
    token = Signer([NEW]).sign("oauth-state", {"next": "/ü", "n": [1, 2]}, 60, now=NOW)
    assert tokens.TOKEN_SHAPE.fullmatch(token)
    assert _payload(token) == {"p": "oauth-state", "e": NOW + 60, "c": {"next": "/ü", "n": [1, 2]}}
    assert Signer([NEW]).verify(token, "oauth-state", now=NOW) == {"next": "/ü", "n": [1, 2]}


def test_purpose_binding():
    token = Signer([NEW]).sign("form", {}, 60, now=NOW)
    with pytest.raises(WrongPurposeError, match="'form', not 'oauth-state'"):
        Signer([NEW]).verify(token, "oauth-state", now=NOW)
    assert issubclass(WrongPurposeError, InvalidTokenError)
    with pytest.raises(ValueError, match="purpose"):
        Signer([NEW]).sign("", {}, 60)


def test_expiry():
    signer = Signer([NEW])
    token = signer.sign("p", {"a": 1}, 10, now=NOW)
    assert signer.verify(token, "p", now=NOW + 9.9) == {"a": 1}
    with pytest.raises(ExpiredTokenError):
        signer.verify(token, "p", now=NOW + 10)
    assert issubclass(ExpiredTokenError, TokenError) and issubclass(TokenError, ValueError)
    assert not issubclass(ExpiredTokenError, InvalidTokenError)


def test_rotation_old_tokens_verify_new_key_signs():
    old_token = Signer([OLD]).sign("p", {"who": "old"}, 60, now=NOW)
    rotated = Signer([NEW, OLD])
    assert rotated.verify(old_token, "p", now=NOW) == {"who": "old"}
    new_token = rotated.sign("p", {"who": "new"}, 60, now=NOW)
    assert Signer([NEW]).verify(new_token, "p", now=NOW) == {"who": "new"}
    with pytest.raises(InvalidTokenError, match="signature"):
        Signer([OLD]).verify(new_token, "p", now=NOW)
    with pytest.raises(InvalidTokenError, match="signature"):  # the old key retired
        Signer([NEW]).verify(old_token, "p", now=NOW)


def test_tampered_or_malformed_tokens_are_invalid():
    signer = Signer([NEW])
    token = signer.sign("p", {"role": "user"}, 60, now=NOW)
    payload, mac = token.split(".")
    body = base64.urlsafe_b64decode(payload + "==").replace(b'"user"', b'"root"')
    forged = base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + mac
    flipped = payload + "." + ("B" if mac[0] == "A" else "A") + mac[1:]
    too_long = "a" * tokens.MAX_TOKEN_LENGTH + ".b"
    for bad in (forged, flipped, payload, token + ".x", "", too_long, "!!.??", None):
        with pytest.raises(InvalidTokenError) as info:
            signer.verify(bad, "p", now=NOW)
        assert not isinstance(info.value, WrongPurposeError)


def test_domains_separate_uses_of_one_key():
    token = Signer([NEW], domain=b"hyphen documents\0").sign("p", {}, 60, now=NOW)
    with pytest.raises(InvalidTokenError, match="signature"):
        Signer([NEW]).verify(token, "p", now=NOW)
    assert Signer([NEW], domain=b"hyphen documents\0").verify(token, "p", now=NOW) == {}


def test_blob_tokens_signed_before_the_move_still_verify():
    claims = Signer([b"a" * 32], domain=BLOB_DOMAIN).verify(
        LEGACY_BLOB_TOKEN, "blob-download", now=NOW
    )
    assert claims == {"d": "ab" * 32, "x": {"bundle": "b_1"}}
    again = Signer([b"a" * 32], domain=BLOB_DOMAIN).sign("blob-download", claims, 900, now=NOW)
    assert again == LEGACY_BLOB_TOKEN


def test_parse_keys():
    assert tokens.parse_keys(None) == () and tokens.parse_keys(" , ") == ()
    assert tokens.parse_keys("n" * 32 + ", " + "o" * 32) == (NEW, OLD)
    assert tokens.parse_keys([NEW, "o" * 32]) == (NEW, OLD)
    with pytest.raises(ValueError, match="form keys must be at least 32"):
        tokens.parse_keys("short", label="form keys")
    with pytest.raises(ValueError, match="at least one key"):
        Signer([])


def test_blob_token_errors_are_blob_and_token_errors():
    from agentyard.core import blobs

    signer = blobs.Signer([NEW])
    token = signer.sign("blob-upload", {}, 10, now=NOW)
    cases = [
        (lambda: signer.verify(token, "blob-download", now=NOW), blobs.WrongPurposeError),
        (lambda: signer.verify(token, "blob-upload", now=NOW + 10), blobs.ExpiredTokenError),
        (lambda: signer.verify(token[:-2], "blob-upload", now=NOW), blobs.InvalidTokenError),
    ]
    for call, blob_error in cases:
        with pytest.raises(blob_error) as info:
            call()
        assert isinstance(info.value, blobs.BlobError) and isinstance(info.value, TokenError)
    with pytest.raises(tokens.WrongPurposeError):
        signer.verify(token, "blob-download", now=NOW)
    assert blobs.TokenError is not TokenError and issubclass(blobs.TokenError, TokenError)
