"""Who is calling: realm API keys (optionally acting as a session) and session EdDSA JWTs."""

from __future__ import annotations

import base64
import binascii
import functools
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from agentyard.aisp import SURFACE
from agentyard.aisp.models import Session
from agentyard.core import clock, keys, runtime
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its realm, the key it used (if any), the session it acts as."""

    realm: Tenant
    key_id: str | None
    session: Session | None

    @property
    def session_id(self) -> str | None:
        return self.session.id if self.session else None

    def require_session(self) -> Session:
        """The session this caller acts as; 400 when it acts as none."""
        if self.session is None:
            raise ApiError(
                400,
                "session_required",
                "This operation acts as a session: send X-AISP-Session naming a session "
                "your API key registered, or use the session's bearer token",
            )
        return self.session


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def parse_public_key(value: str) -> Ed25519PublicKey:
    """Parse `ed25519:<base64 SPKI DER>`; ValueError when it is not an Ed25519 public key."""
    if not value.startswith("ed25519:"):
        raise ValueError("public_key must start with 'ed25519:'")
    try:
        der = base64.b64decode(value[len("ed25519:") :], validate=True)
        key = load_der_public_key(der)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("public_key is not base64 SubjectPublicKeyInfo DER") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public_key is not an Ed25519 key")
    return key


@functools.lru_cache(maxsize=4096)
def _cached_public_key(value: str) -> Ed25519PublicKey:
    return parse_public_key(value)


def _rate_limit(identity: str, method: str) -> None:
    settings = runtime.settings()
    if method in READ_METHODS:
        limit, kind = settings.aisp_reads_per_minute, "read"
    else:
        limit, kind = settings.aisp_writes_per_minute, "write"
    runtime.limiter().enforce(limit, SURFACE, identity, kind)


def _touch(session: Session) -> None:
    """Record activity; at most one write per session per second."""
    now = clock.now()
    if session.last_seen is None or now.replace(microsecond=0) > session.last_seen:
        Session.update(last_seen=now).where(Session.id == session.id).execute()
        session.last_seen = now


def _active_session(session_id: str) -> Session | None:
    return (
        Session.select(Session, Tenant)
        .join(Tenant)
        .where((Session.id == session_id) & (Session.status == "active"))
        .first()
    )


def from_api_key(secret: str, acting_session: str | None, method: str) -> Caller:
    """Authenticate an `X-AISP-Key` (and optional `X-AISP-Session`)."""
    key = keys.lookup(SURFACE, secret)
    if key is None:
        raise unauthorized("Invalid or revoked API key")
    session = None
    if acting_session:
        session = _active_session(acting_session)
        if session is None or session.registered_by != key.id:
            raise unauthorized("X-AISP-Session does not name an active session of this API key")
    _rate_limit(key.id, method)
    if session is not None:
        _touch(session)
    return Caller(realm=key.tenant, key_id=key.id, session=session)


def from_jwt(token: str, method: str) -> Caller:
    """Authenticate a session's EdDSA bearer JWT."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise unauthorized("Bearer token is not a valid JWT") from None
    if header.get("alg") != "EdDSA":
        raise unauthorized("Bearer token must be signed with EdDSA (Ed25519)")
    sub = unverified.get("sub")
    if not isinstance(sub, str):
        raise unauthorized("Bearer token has no 'sub' claim naming a session")
    session = _active_session(sub)
    if session is None or not session.public_key:
        raise unauthorized("Bearer token's session is unknown, deregistered or has no key")
    try:
        claims = jwt.decode(
            token,
            key=_cached_public_key(session.public_key),
            algorithms=["EdDSA"],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("Bearer token has expired") from None
    except jwt.PyJWTError as exc:
        raise unauthorized(f"Bearer token rejected: {exc}") from None
    max_ttl = runtime.settings().aisp_jwt_max_ttl_seconds
    if claims["exp"] - time.time() > max_ttl:
        raise unauthorized(f"Bearer token lifetime exceeds {max_ttl} s; mint a shorter one")
    _rate_limit(session.id, method)
    _touch(session)
    return Caller(realm=session.realm, key_id=None, session=session)


def owner_key(caller: Caller) -> str | None:
    """The API key that owns sessions this caller registers."""
    if caller.key_id is not None:
        return caller.key_id
    return caller.session.registered_by if caller.session else None
