"""/sdk: the browser SDK's session, configuration, sign-in and tasks (see agentyard.hyphen.sdk)."""

from __future__ import annotations

from typing import Any

from connexion import request

from agentyard.hyphen import sdk, sdk_events, sdk_otp, sdk_tasks
from handlers.hyphen.security import sdk_caller, sdk_key


def createSdkSession() -> tuple[dict[str, Any], int]:
    """A new anonymous session of the publishable key."""
    row, token = sdk.start_session(sdk_key(), request.headers.get("origin"))
    return {
        "session_token": token,
        "session_id": row.id,
        "expires_at": row.expires_at,
        "expires_in": int((row.expires_at - row.created_at).total_seconds()),
        "authenticated": False,
    }, 201


def getSdkConfig() -> dict[str, Any]:
    """What the key allows, its org and the session."""
    return sdk.config(sdk_caller())


def requestSdkOtp(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Send a sign-in code (the same answer whether or not the email is registered)."""
    sdk_otp.request_code(sdk_caller(), body["email"])
    return {
        "status": "sent",
        "message": "If this email is registered for this app, a code is on its way.",
    }, 202


def verifySdkOtp(body: dict[str, Any]) -> dict[str, Any]:
    """Sign the session in with the emailed code."""
    who = sdk_caller()
    user = sdk_otp.verify(who, body["email"], body["code"])
    sdk_events.publish(
        who.org_id,
        sdk_events.AUTHENTICATED,
        {"email": user.email, "sessionId": who.session_id},
        session_id=who.session_id,
    )
    return {
        "session_id": who.session_id,
        "expires_at": who.expires_at,
        "authenticated": True,
        "user": {"email": user.email, "role": user.role, "display_name": user.display_name},
    }


def listSdkTasks(limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Pending approvals of the workflows the key allows."""
    tasks = sdk_tasks.pending(sdk_caller(), limit, offset)
    return {"tasks": tasks, "limit": limit, "offset": offset}


def decideSdkTask(task_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Approve or reject a task as the signed-in user; the run resumes."""
    return sdk_tasks.decide(
        sdk_caller(), task_id, body["approved"], body.get("comment"), body.get("data")
    )
