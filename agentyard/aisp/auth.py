"""Who is calling: realm API keys (optionally acting as a session) and session EdDSA JWTs."""

from __future__ import annotations

import base64
import functools
import re
import time
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from agentyard.aisp import SURFACE
from agentyard.aisp.models import Session
from agentyard.core import clock, keys, runtime
from agentyard.core.errors import ApiError, unauthorized
from agentyard.core.keys import Tenant
from agentyard.core.store import Prepared

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its realm, the key it used (if any), the session it acts as.

    `session` is the session the credential names: the bearer token's `sub`, or a key's
    `X-AISP-Session`. A key sent alone names none; it then acts as the one active session it
    registered (`implied`), when it registered exactly one (`key_sessions` counts them, up to 2).
    A key's sessions are read when first asked for (in the handler, inside the request's store
    connection), not on every request: most operations never ask.
    """

    realm: Tenant
    key_id: str | None
    session: Session | None
    own: KeySessions | None = field(default=None, repr=False, compare=False)

    @property
    def implied(self) -> Session | None:
        """The key's one active session, when it registered exactly one (a key alone)."""
        own = self.own.sessions() if self.own is not None else []
        return own[0] if len(own) == 1 else None

    @property
    def key_sessions(self) -> int:
        """How many active sessions a key alone registered, up to 2."""
        return len(self.own.sessions()) if self.own is not None else 0

    @property
    def acting(self) -> Session | None:
        """The session this caller acts as, named or implied; None when it acts as none."""
        return self.session if self.session is not None else self.implied

    @property
    def session_id(self) -> str | None:
        acting = self.acting
        return acting.id if acting is not None else None

    def acting_session(self) -> Session:
        """The session this caller acts as, without touching the store; 409 when a key alone
        leaves it open."""
        if self.acting is not None:
            return self.acting
        if self.key_sessions == 0:
            raise ApiError(
                409,
                "session_required",
                "This operation acts as a session, and this API key has no active session: "
                "register one (POST /api/v1/sessions), then call again with the key alone",
            )
        raise ApiError(
            409,
            "session_ambiguous",
            "This operation acts as a session, and this API key registered several active "
            "sessions: name the one to act as with X-AISP-Session (or, for POST "
            "/api/v1/messages, the envelope's 'from'), or use that session's bearer token",
        )

    def require_session(self) -> Session:
        """`acting_session()`; a key alone acting as its session also counts as that
        session's activity (`last_seen`), as a named session's call already did at sign-in."""
        session = self.acting_session()
        if self.session is None:
            _touch(session)
        return session


# `ed25519:` and the padded base64 of a 44-byte Ed25519 SubjectPublicKeyInfo DER: the fixed
# 12-byte header (base64 `MCowBQYDK2VwAyEA`) and 32 key bytes, whose last base64 character
# carries 4 bits and two zero bits. Every 32-byte string loads as an Ed25519 public key.
PUBLIC_KEY_FORM = re.compile(r"ed25519:MCowBQYDK2VwAyEA[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")


def parse_public_key(value: str) -> Ed25519PublicKey:
    """Parse `ed25519:<base64 SPKI DER>`; ValueError when it is not an Ed25519 public key."""
    if not value.startswith("ed25519:"):
        raise ValueError("public_key must start with 'ed25519:'")
    if not PUBLIC_KEY_FORM.fullmatch(value):
        raise ValueError(
            "public_key is not the base64 of a 44-byte Ed25519 SubjectPublicKeyInfo DER "
            "(ed25519:MCowBQYDK2VwAyEA + 44 base64 characters)"
        )
    key = load_der_public_key(base64.b64decode(value[len("ed25519:") :], validate=True))
    if not isinstance(key, Ed25519PublicKey):  # pragma: no cover - the header says Ed25519
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


# Run on every session-authenticated request and send: their SQL is compiled once.
_TOUCH: Prepared[Session] = Prepared(
    lambda now, session_id: Session.update(last_seen=now).where(Session.id == session_id)
)
_ACTIVE_SESSION: Prepared[Session] = Prepared(
    lambda session_id: (
        Session.select(Session, Tenant)
        .join(Tenant)
        .where((Session.id == session_id) & (Session.status == "active"))
        .limit(1)
    )
)


def _touch(session: Session) -> None:
    """Record activity; at most one write per session per second."""
    now = clock.now()
    if session.last_seen is None or now.replace(microsecond=0) > session.last_seen:
        _TOUCH.execute(now, session.id)
        session.last_seen = now


def _active_session(session_id: str) -> Session | None:
    found = _ACTIVE_SESSION(session_id)
    return found[0] if found else None


_KEY_SESSIONS: Prepared[Session] = Prepared(
    lambda key_id: (
        Session.select(Session, Tenant)
        .join(Tenant)
        .where((Session.registered_by == key_id) & (Session.status == "active"))
        .order_by(Session.id)
        .limit(2)
    )
)


class KeySessions:
    """Up to two active sessions a key registered (enough to tell one from several), read once
    on first use."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self._found: list[Session] | None = None

    def sessions(self) -> list[Session]:
        if self._found is None:
            self._found = _KEY_SESSIONS(self.key_id)  # SQL compiled once
        return self._found


def from_api_key(secret: str, acting_session: str | None, method: str) -> Caller:
    """Authenticate an `X-AISP-Key` (and optional `X-AISP-Session`)."""
    key = keys.lookup(SURFACE, secret)
    if key is None:
        raise unauthorized("Invalid or revoked API key")
    if acting_session:
        session = _active_session(acting_session)
        if session is None or session.registered_by != key.id:
            raise unauthorized("X-AISP-Session does not name an active session of this API key")
        _rate_limit(key.id, method)
        _touch(session)
        return Caller(realm=key.tenant, key_id=key.id, session=session)
    _rate_limit(key.id, method)
    return Caller(realm=key.tenant, key_id=key.id, session=None, own=KeySessions(key.id))


def sender(caller: Caller, sender_id: str) -> Session:
    """The session an envelope's `from` lets the caller send as; 403 when it may not.

    A named session (bearer token, X-AISP-Session) sends only as itself. A key alone sends as
    any active session it registered: the one `from` names.
    """
    named = caller.session
    if named is not None:
        if named.id == sender_id:
            return named
        raise ApiError(
            403,
            "sender_not_allowed",
            f"Envelope 'from' ({sender_id}) must be the calling session ({named.id})",
            details={"from": sender_id, "session": named.id},
        )
    if caller.implied is not None and caller.implied.id == sender_id:
        _touch(caller.implied)
        return caller.implied
    session = _active_session(sender_id)
    if session is None or session.registered_by != caller.key_id:
        raise ApiError(
            403,
            "sender_not_allowed",
            f"Envelope 'from' ({sender_id}) is not an active session this API key registered",
            details={"from": sender_id},
        )
    _touch(session)
    return session


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
