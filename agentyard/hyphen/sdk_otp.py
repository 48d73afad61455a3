"""Signing an SDK session in with an emailed code (OTP).

`request_code`: an 8-digit code for a user pre-registered on the session's key, queued for the
outbox (`core.outbox.send_later`: SMTP when configured, else the dev outbox). The answer, and
its timing, are the same whether or not the email is registered (no user enumeration);
requests are limited per email (AGENTYARD_HYPHEN_SDK_OTP_PER_EMAIL_PER_MINUTE, 3) and per key
(…_PER_KEY_PER_MINUTE, 30).
A new code replaces the user's earlier ones. Codes expire after 10 minutes and work once; they
are stored as a salted SHA-256 digest.

`verify`: the right code signs the session in as the user; a wrong, used or expired code is a
401. Five wrong codes in a row for an email on a key (registered or not) lock it for 15
minutes: the fifth answer and every verify in the lock are 429 (`details.code: otp_locked`,
Retry-After), and codes requested meanwhile are not sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import secrets

from agentyard.core import clock, ids, outbox, runtime
from agentyard.core.errors import ApiError
from agentyard.core.store import write
from agentyard.hyphen import SURFACE
from agentyard.hyphen.sdk import SdkCaller, normalize_email
from agentyard.hyphen.sdk_models import SdkOtp, SdkOtpLock, SdkSession, SdkUser

log = logging.getLogger("agentyard.hyphen.sdk")

CODE_DIGITS = 8
CODE_TTL = dt.timedelta(minutes=10)
MAX_FAILURES = 5
LOCK = dt.timedelta(minutes=15)
OTP_LOCKED, OTP_INVALID = "otp_locked", "otp_invalid"


def _digest(otp_id: str, code: str) -> str:
    return hashlib.sha256(f"{otp_id}:{code}".encode()).hexdigest()


def _locked(key_id: str, email: str) -> SdkOtpLock | None:
    lock = SdkOtpLock.get_or_none((SdkOtpLock.key == key_id) & (SdkOtpLock.email == email))
    if lock is not None and lock.locked_until is not None and lock.locked_until > clock.now():
        return lock
    return None


def request_code(caller: SdkCaller, email: str) -> None:
    """Send a code to `email` when it is a user of the caller's key (else nothing)."""
    email = normalize_email(email)
    limiter, settings = runtime.limiter(), runtime.settings()
    limiter.enforce(settings.hyphen_sdk_otp_per_email_per_minute, SURFACE, "sdk-otp", email)
    limiter.enforce(settings.hyphen_sdk_otp_per_key_per_minute, SURFACE, "sdk-otp", caller.key_id)
    user = SdkUser.get_or_none((SdkUser.key == caller.key_id) & (SdkUser.email == email))
    if user is None or _locked(caller.key_id, email) is not None:
        return
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = clock.now()
    with write():
        SdkOtp.update(used_at=now).where(
            (SdkOtp.user == user.id) & SdkOtp.used_at.is_null()
        ).execute()
        otp_id = ids.new_id("otp")
        SdkOtp.create(
            id=otp_id,
            user=user,
            digest=_digest(otp_id, code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    message = outbox.Message(
        to=email,
        subject=f"Your sign-in code: {code}",
        text=(
            f"Your sign-in code is {code}.\n\nIt expires in {int(CODE_TTL.total_seconds() // 60)}"
            " minutes and works once. If you did not ask for it, ignore this email.\n"
        ),
        label=f"{SURFACE}:{caller.org_id}",
    )
    # queued: the answer (and its timing) must not tell who is registered
    outbox.send_later(message)


def _lock_error(until: dt.datetime) -> ApiError:
    seconds = max(1, math.ceil((until - clock.now()).total_seconds()))
    return ApiError(
        429,
        OTP_LOCKED,
        f"Too many wrong codes: signing in with this email is locked for {seconds} s",
        details={"code": OTP_LOCKED, "retry_after_seconds": seconds},
        headers={"Retry-After": str(seconds)},
    )


def _failed(key_id: str, email: str) -> ApiError:
    with write():
        lock, _ = SdkOtpLock.get_or_create(key=key_id, email=email)
        failures = lock.failures + 1
        if failures >= MAX_FAILURES:
            until = clock.now() + LOCK
            SdkOtpLock.update(failures=0, locked_until=until).where(
                SdkOtpLock.id == lock.id
            ).execute()
            return _lock_error(until)
        SdkOtpLock.update(failures=failures).where(SdkOtpLock.id == lock.id).execute()
    return ApiError(401, OTP_INVALID, "Wrong, used or expired code", details={"code": OTP_INVALID})


def verify(caller: SdkCaller, email: str, code: str) -> SdkUser:
    """Sign the caller's session in as the key's user `email` with `code`."""
    email = normalize_email(email)
    lock = _locked(caller.key_id, email)
    if lock is not None and lock.locked_until is not None:
        raise _lock_error(lock.locked_until)
    user = SdkUser.get_or_none((SdkUser.key == caller.key_id) & (SdkUser.email == email))
    now = clock.now()
    otp = None
    if user is not None:
        otp = (
            SdkOtp.select()
            .where((SdkOtp.user == user.id) & SdkOtp.used_at.is_null() & (SdkOtp.expires_at > now))
            .order_by(SdkOtp.created_at.desc())
            .first()
        )
    if user is None or otp is None or not hmac.compare_digest(otp.digest, _digest(otp.id, code)):
        raise _failed(caller.key_id, email)
    with write():
        used = (
            SdkOtp.update(used_at=now)
            .where((SdkOtp.id == otp.id) & SdkOtp.used_at.is_null())
            .execute()
        )
        if not used:  # a concurrent verify took it
            raise ApiError(
                401, OTP_INVALID, "Wrong, used or expired code", details={"code": OTP_INVALID}
            )
        SdkSession.update(user=user.id, authenticated_at=now).where(
            SdkSession.id == caller.session_id
        ).execute()
        SdkOtpLock.delete().where(
            (SdkOtpLock.key == caller.key_id) & (SdkOtpLock.email == email)
        ).execute()
    return user
