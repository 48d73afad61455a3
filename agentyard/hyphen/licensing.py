"""On-prem licences: Ed25519-signed JSON Web Tokens.

Format (a JWS compact token, `alg: EdDSA`, `typ: hyphen-license+jwt`, `kid`: the first 16 hex
of the SHA-256 of the raw public key), claims:
- `iss`: `agentyard-hyphen`; `jti`: the licence id `lic-<uuid>`;
- `sub`: the org id, `org_name`: its name;
- `plan`: a plan name; `seats`: a positive integer; `features`: a list of feature names;
- `iat`, `exp`: issue and expiry times (seconds since the epoch, UTC).

The server's signing key is made on first use and kept encrypted by the vault (one row);
`GET /licensing/public-key` serves the verifying key so an on-prem install can check a
licence offline, and `POST /licensing/validate` checks one here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from agentyard.core import clock, vault
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.hyphen import SURFACE
from agentyard.hyphen.gateway_models import License, SigningKey

ISSUER = "agentyard-hyphen"
TYPE = "hyphen-license+jwt"
ALGORITHM = "EdDSA"
_VAULT_CONTEXT = "hyphen:license-signing-key"


class LicenseRequestError(ValueError):
    """A licence that cannot be minted as asked (bad seats, expiry, plan ...)."""


def _private_key() -> Ed25519PrivateKey:
    """The signing key, made (once, whoever gets there first) when there is none."""
    row = SigningKey.get_or_none(SigningKey.id == 1)
    if row is None:
        fresh = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        with write():
            SigningKey.insert(
                id=1,
                private_key=vault.encrypt(fresh, _VAULT_CONTEXT),
                created_at=clock.now(),
            ).on_conflict_ignore().execute()
        row = SigningKey.get_by_id(1)
    raw = vault.decrypt_bytes(row.private_key, _VAULT_CONTEXT)
    return Ed25519PrivateKey.from_private_bytes(raw)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key() -> Ed25519PublicKey:
    """The verifying key."""
    return _private_key().public_key()


def key_id(key: Ed25519PublicKey) -> str:
    """The `kid` of a verifying key."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def public_key_view() -> dict[str, Any]:
    """The verifying key as PEM, raw base64url and JWK."""
    key = public_key()
    raw = base64.urlsafe_b64encode(_raw_public(key)).rstrip(b"=").decode()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return {
        "algorithm": "Ed25519",
        "kid": key_id(key),
        "issuer": ISSUER,
        "public_key_pem": pem,
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": raw, "kid": key_id(key), "use": "sig"},
    }


def mint(
    org: Tenant, org_name: str, plan: str, seats: int, features: list[str], days: int
) -> License:
    """Sign and record a licence for `org`, valid `days` days from now."""
    if not plan.strip() or len(plan) > 64:
        raise LicenseRequestError("plan must be 1-64 characters")
    if seats < 1 or seats > 1_000_000:
        raise LicenseRequestError("seats must be between 1 and 1000000")
    if days < 1 or days > 36_600:
        raise LicenseRequestError("days must be between 1 and 36600")
    features = list(dict.fromkeys(f.strip() for f in features if f.strip()))
    now = clock.now().replace(microsecond=0)
    expires = now + dt.timedelta(days=days)
    lic_id = f"lic-{uuid.uuid4()}"
    key = _private_key()
    claims = {
        "iss": ISSUER,
        "jti": lic_id,
        "sub": org.id,
        "org_name": org_name,
        "plan": plan,
        "seats": seats,
        "features": features,
        "iat": int(now.replace(tzinfo=dt.UTC).timestamp()),
        "exp": int(expires.replace(tzinfo=dt.UTC).timestamp()),
    }
    token = jwt.encode(
        claims, key, algorithm=ALGORITHM, headers={"typ": TYPE, "kid": key_id(key.public_key())}
    )
    with write():
        return License.create(
            id=lic_id,
            org=org.id,
            plan=plan,
            seats=seats,
            features=features,
            issued_at=now,
            expires_at=expires,
            token=token,
        )


def validate(token: str) -> dict[str, Any]:
    """`{valid: true, license}` for a genuine unexpired licence, else `{valid: false, reason,
    message}` (reasons: malformed, wrong_type, unknown_key, bad_signature, expired,
    wrong_issuer, invalid_claims)."""
    key = public_key()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return _invalid("malformed", "Not a licence token (a JWS compact token)")
    if header.get("alg") != ALGORITHM or header.get("typ") != TYPE:
        return _invalid("wrong_type", f"Not a licence: expected alg {ALGORITHM}, typ {TYPE}")
    if header.get("kid") != key_id(key):
        return _invalid("unknown_key", "Signed by another key than this server's")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        return _invalid("expired", "The licence has expired")
    except jwt.InvalidSignatureError:
        return _invalid("bad_signature", "The signature does not match the licence")
    except jwt.InvalidIssuerError:
        return _invalid("wrong_issuer", f"The licence was not issued by {ISSUER}")
    except jwt.DecodeError:
        return _invalid("malformed", "Not a licence token (a JWS compact token)")
    except jwt.PyJWTError as exc:
        return _invalid("invalid_claims", f"The licence's claims are invalid: {exc}")
    if not (
        isinstance(claims.get("plan"), str)
        and isinstance(claims.get("seats"), int)
        and isinstance(claims.get("features"), list)
    ):
        return _invalid("invalid_claims", "The licence lacks plan, seats or features")
    return {"valid": True, "license": claims_view(claims)}


def claims_view(claims: dict[str, Any]) -> dict[str, Any]:
    """A licence's claims as the API shows them."""
    return {
        "id": claims["jti"],
        "org_id": claims["sub"],
        "org_name": claims.get("org_name"),
        "plan": claims["plan"],
        "seats": claims["seats"],
        "features": claims["features"],
        "issued_at": dt.datetime.fromtimestamp(claims["iat"], dt.UTC),
        "expires_at": dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
    }


def _invalid(reason: str, message: str) -> dict[str, Any]:
    return {"valid": False, "reason": reason, "message": message}


def of_orgs(org_ids: list[str]) -> list[License]:
    """The licences of these orgs, newest first."""
    if not org_ids:
        return []
    return list(
        License.select()
        .where(License.org.in_(org_ids))
        .order_by(License.issued_at.desc(), License.id)
    )


def view(row: License) -> dict[str, Any]:
    """How a recorded licence is shown (with its token)."""
    expires = row.expires_at
    return {
        "id": row.id,
        "org_id": row.org_id,
        "plan": row.plan,
        "seats": row.seats,
        "features": row.features,
        "issued_at": row.issued_at,
        "expires_at": expires,
        "expired": expires <= clock.now(),
        "token": row.token,
    }


def find_org(ref: str) -> Tenant | None:
    """The Hyphen org `ref` names (its id or its core tenant name)."""
    return Tenant.get_or_none(
        (Tenant.surface == SURFACE) & ((Tenant.id == ref) | (Tenant.name == ref))
    )
