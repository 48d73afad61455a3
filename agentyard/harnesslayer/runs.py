"""Sessions, response runs and their instances.

`start()` accepts a run (profile resolved, session checked, one unit counted) and queues
`execute` (a background job) which streams the app's agent reply from the LLM provider
(offline by default), appending `InstanceEvent`s (`seq` from 1) and publishing
`{"seq": n}` on `event_channel(instance_id)` after each commit, so long-polls wake up. The
job checks the instance's stop flag (and its app's deletion) between events. A finished run
is recorded (instance status, `response` history record, session conversation), then POSTed
to the API channel's webhook or, on an iMessage channel, texted back through Sendblue.
"""

from __future__ import annotations

import logging
from typing import Any

import peewee

from agentyard.core import clock, ids, jobs, runtime
from agentyard.core.aio import in_thread
from agentyard.core.errors import ApiError
from agentyard.core.store import db, write
from agentyard.core.tenancy import found
from agentyard.harnesslayer import access_groups, apps, channels, history, pages, profiles
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.models import App, Profile
from agentyard.harnesslayer.orgs import check_slug
from agentyard.harnesslayer.run_models import Channel, Instance, InstanceEvent, Session
from agentyard.llm import dedicated_provider
from agentyard.llm import use_provider as use_provider  # re-exported: tests
from agentyard.messaging import is_e164

log = logging.getLogger("agentyard.harnesslayer.runs")

ACTIVE = ("queued", "running")
FINISHED = ("completed", "failed", "stopped")
MAX_EVENTS = 500
MAX_TOKENS = 1024
SYSTEM = "You are the agent of a Harnesslayer app, answering its end user."

# --- sessions --------------------------------------------------------------------------------


def session_view(s: Session) -> dict[str, Any]:
    return {
        "id": s.id,
        "appId": s.app_id,
        "type": s.type,
        "profileId": s.profile_id,
        "createdAt": clock.iso(s.created_at),
        "lastRunAt": clock.iso(s.last_run_at),
    }


def find_session(caller: OrgCaller, session_id: str) -> Session:
    query = (
        Session.select(Session, App)
        .join(App)
        .where(
            (Session.organization == caller.organization)
            & (Session.id == session_id)
            & App.deleted_at.is_null()
        )
    )
    return found(query.first(), "session", session_id)


def _new_session(app: App, type_: str, session_id: str | None = None, **extra: Any) -> Session:
    return Session.create(
        id=session_id or ids.new_id("sess", "-"),
        organization=app.organization_id,
        app=app,
        type=type_,
        messages=[],
        created_at=clock.now(),
        **extra,
    )


def create_session(caller: OrgCaller, body: dict[str, Any]) -> Session:
    with write():
        app = apps.find(caller, body["appId"])
        if app.type == "claude" and body["type"] != "single":
            raise ApiError(409, "conflict", "claude apps support only single sessions")
        return _new_session(app, body["type"])


def list_sessions(caller: OrgCaller, app_ref: str, page: int, size: int) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    query = Session.select().where(Session.app == app)
    return pages.page(query, Session.created_at, Session.pk, page, size, session_view)


def _busy(session_id: str, org_id: str) -> bool:
    return (
        Instance.select()
        .where(
            (Instance.organization == org_id)
            & (Instance.session_id == session_id)
            & Instance.status.in_(ACTIVE)
        )
        .exists()
    )


def delete_session(caller: OrgCaller, session_id: str) -> Session:
    with write():
        s = find_session(caller, session_id)
        if _busy(s.id, s.organization_id):
            raise ApiError(409, "conflict", f"Session {s.id} has a queued or running instance")
        s.delete_instance()
    return s


# --- instances -------------------------------------------------------------------------------


def view(inst: Instance) -> dict[str, Any]:
    return {
        "id": inst.id,
        "appId": inst.app_id,
        "channelId": inst.channel_id,
        "profileId": inst.profile_id,
        "userId": inst.user_id,
        "sessionId": inst.session_id,
        "versionId": inst.version_id,
        "stateId": inst.state_id,
        "status": inst.status,
        "input": inst.input,
        "imageCount": inst.image_count,
        "output": inst.output,
        "failure": inst.failure,
        "createdAt": clock.iso(inst.created_at),
        "startedAt": clock.iso(inst.started_at),
        "completedAt": clock.iso(inst.completed_at),
        "stopRequestedAt": clock.iso(inst.stop_requested_at),
    }


def find(caller: OrgCaller, instance_id: str) -> Instance:
    query = (
        Instance.select(Instance)
        .join(App)
        .switch(Instance)
        .join(Profile, peewee.JOIN.LEFT_OUTER, on=Instance.profile_id == Profile.id)
        .where(
            (Instance.id == instance_id)
            & (Instance.organization == caller.organization)
            & App.deleted_at.is_null()
            & Profile.deleted_at.is_null()
        )
    )
    return found(query.first(), "instance", instance_id)


def list_instances(caller: OrgCaller, app_ref: str, page: int, size: int) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    query = (
        Instance.select(Instance)
        .join(Profile, peewee.JOIN.LEFT_OUTER, on=Instance.profile_id == Profile.id)
        .where((Instance.app == app) & Profile.deleted_at.is_null())
    )
    return pages.page(query, Instance.created_at, Instance.id, page, size, view)


def event_channel(instance_id: str) -> str:
    return f"harnesslayer.instance.{instance_id}"


def event_view(e: InstanceEvent) -> dict[str, Any]:
    return {"seq": e.seq, "type": e.type, "data": e.data, "createdAt": clock.iso(e.created_at)}


def poll_once(caller: OrgCaller, instance_id: str, after: int) -> dict[str, Any]:
    """The instance's status and its events after `after` (at most MAX_EVENTS)."""
    inst = find(caller, instance_id)
    rows = list(
        InstanceEvent.select()
        .where((InstanceEvent.instance == inst.id) & (InstanceEvent.seq > after))
        .order_by(InstanceEvent.seq)
        .limit(MAX_EVENTS + 1)
    )
    events = [event_view(e) for e in rows[:MAX_EVENTS]]
    return {
        "instanceId": inst.id,
        "status": inst.status,
        "events": events,
        "cursor": events[-1]["seq"] if events else after,
        "hasMore": len(rows) > MAX_EVENTS,
    }


def stop(caller: OrgCaller, instance_id: str) -> dict[str, Any]:
    with write():
        inst = find(caller, instance_id)
        if inst.status in FINISHED:
            return {"instanceId": inst.id, "status": inst.status, "stopRequested": False}
        if inst.stop_requested_at is None:
            inst.stop_requested_at = clock.now()
            inst.save(only=[Instance.stop_requested_at])
    return {"instanceId": inst.id, "status": inst.status, "stopRequested": True}


# --- starting a run --------------------------------------------------------------------------


def run(caller: OrgCaller, body: dict[str, Any]) -> dict[str, Any]:
    """Accept `POST /v1/response/run`: the 202 body."""
    if not body.get("input") and not body.get("images"):
        raise ApiError(400, "bad_request", "input or images is required")
    session_id = body.get("sessionId")
    if session_id is not None:
        check_slug(session_id)  # not `list` or `create`
    app = apps.find(caller, body["appId"])
    channel = channels.of_app(app, body["channelId"])
    return start(app, channel, body["userId"], body.get("input"), body.get("images"), session_id)


def start(
    app: App,
    channel: Channel,
    user_id: str,
    text: str | None,
    images: list[dict[str, Any]] | None,
    session_id: str | None = None,
    *,
    sender_session: bool = False,
) -> dict[str, Any]:
    """Resolve the profile, check the session, count the run and queue it."""
    if app.head_version_id is None:
        raise ApiError(409, "conflict", f"App {app.slug} has no head version")
    if channel.type == "imessage" and not is_e164(user_id):
        raise ApiError(409, "conflict", "userId must be an E.164 number on imessage channels")
    profile = profiles.resolve_user(app, user_id)
    with write():
        session = _session_for(app, channel, profile, session_id, user_id, sender_session)
        if _busy(session.id, app.organization_id):
            raise ApiError(409, "conflict", f"Session {session.id} is running a response")
    access_groups.check_and_count_run(profile)
    now = clock.now()
    with write():
        if _busy(session.id, app.organization_id):
            raise ApiError(409, "conflict", f"Session {session.id} is running a response")
        state_id = Profile.select(Profile.head_state_id).where(Profile.id == profile.id).scalar()
        inst = Instance.create(
            id=ids.new_id("inst", "-"),
            organization=app.organization_id,
            app=app,
            channel_id=channel.id,
            profile_id=profile.id,
            user_id=user_id,
            session_id=session.id,
            version_id=app.head_version_id,
            state_id=state_id,
            status="queued",
            input=text,
            images=images,
            image_count=len(images or []),
            created_at=now,
        )
    execute(inst.id)
    return {
        "instanceId": inst.id,
        "status": inst.status,
        "sessionId": session.id,
        "profileId": profile.id,
    }


def _session_for(
    app: App,
    channel: Channel,
    profile: Profile,
    session_id: str | None,
    user_id: str,
    sender_session: bool,
) -> Session:
    if sender_session:  # a Sendblue sender's own session on the channel
        s = Session.get_or_none(
            (Session.app == app) & (Session.channel_id == channel.id) & (Session.sender == user_id)
        )
        if s is None:
            s = _new_session(
                app, "single", profile_id=profile.id, channel_id=channel.id, sender=user_id
            )
    elif session_id is None:
        return _new_session(app, "single", profile_id=profile.id)
    else:
        s = Session.get_or_none(
            (Session.organization == app.organization_id) & (Session.id == session_id)
        )
        if s is None:
            try:
                with db.atomic():
                    return _new_session(app, "single", session_id, profile_id=profile.id)
            except peewee.IntegrityError:
                raise ApiError(409, "conflict", f"Session {session_id} was just taken") from None
        if s.app_id != app.id:
            raise ApiError(409, "conflict", f"Session {session_id} belongs to another app")
    if s.type == "single":
        if s.profile_id is None:
            s.profile_id = profile.id
            s.save(only=[Session.profile_id])
        elif s.profile_id != profile.id:
            raise ApiError(409, "conflict", f"Session {s.id} belongs to another profile")
    return s


# --- the run job -----------------------------------------------------------------------------


class _Stopped(Exception):  # noqa: N818
    pass


def _append(instance_id: str, type_: str, data: dict[str, Any]) -> int:
    with write():
        last = (
            InstanceEvent.select(peewee.fn.MAX(InstanceEvent.seq))
            .where(InstanceEvent.instance == instance_id)
            .scalar()
        )
        seq = (last or 0) + 1
        InstanceEvent.create(
            instance=instance_id, seq=seq, type=type_, data=data, created_at=clock.now()
        )
    _notify(instance_id, seq)
    return seq


def _notify(instance_id: str, seq: int) -> None:
    try:
        runtime.broker().publish(event_channel(instance_id), {"seq": seq})
    except Exception as exc:  # pollers fall back to their timeout
        log.warning("publishing instance %s event failed: %s", instance_id, exc)


def _stop_wanted(instance_id: str) -> bool:
    row = (
        Instance.select(Instance.stop_requested_at, App.deleted_at)
        .join(App)
        .where(Instance.id == instance_id)
        .tuples()
        .first()
    )
    return row is None or row[0] is not None or row[1] is not None


def _user_turn(text: str | None, images: list[dict[str, Any]] | None) -> dict[str, Any]:
    content: list[dict[str, Any]] = [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": i["mediaType"], "data": i["data"]},
        }
        for i in images or []
    ]
    if text:
        content.append({"type": "text", "text": text})
    return {"role": "user", "content": content}


async def _stream(request: dict[str, Any], instance_id: str, parts: list[str]) -> str:
    """Stream the reply, appending a `message.delta` per text piece to the events and to
    `parts` (the text so far, kept when the run stops or fails)."""
    async with dedicated_provider() as provider:
        async for event in provider.stream(request):
            delta = event.get("delta") or {}
            if event.get("type") == "content_block_delta" and delta.get("type") == "text_delta":
                piece = delta.get("text") or ""
                if piece:
                    parts.append(piece)
                    await in_thread(_append, instance_id, "message.delta", {"text": piece})
            if await in_thread(_stop_wanted, instance_id):
                raise _Stopped
    return "".join(parts)


@jobs.task(name="harnesslayer.run_response")
def execute(instance_id: str) -> None:
    """Run one instance to its end (completed, failed or stopped)."""
    inst = Instance.get_or_none(Instance.id == instance_id)
    if inst is None or inst.status != "queued":
        return
    with write():
        Instance.update(status="running", started_at=clock.now()).where(
            Instance.id == inst.id
        ).execute()
    _append(inst.id, "instance.started", {})
    session = Session.get_or_none(
        (Session.organization == inst.organization_id) & (Session.id == inst.session_id)
    )
    past = list(session.messages or []) if session is not None else []
    turn = _user_turn(inst.input, inst.images)
    s = runtime.settings()
    request: dict[str, Any] = {
        "model": s.llm_model or "offline",
        "max_tokens": MAX_TOKENS,
        "system": SYSTEM,
        "messages": [*past, turn],
    }
    status, output, failure = "completed", None, None
    parts: list[str] = []
    try:
        if _stop_wanted(inst.id):
            raise _Stopped
        output = jobs.run_async(_stream, request, inst.id, parts)
    except _Stopped:
        status, output = "stopped", "".join(parts) or None
    except Exception as exc:  # any failure ends the run as failed
        log.warning("instance %s failed: %s", inst.id, exc)
        status, output = "failed", "".join(parts) or None
        failure = {"code": "agent_error", "message": f"The agent failed: {type(exc).__name__}"}
    _finish(inst.id, status, output, failure, turn)


def _finish(
    instance_id: str,
    status: str,
    output: str | None,
    failure: dict[str, Any] | None,
    turn: dict[str, Any],
) -> None:
    if status == "completed":
        _append(instance_id, "message.completed", {"text": output or ""})
    now = clock.now()
    with write():
        inst = Instance.get(Instance.id == instance_id)
        inst.status, inst.output, inst.failure = status, output, failure
        inst.completed_at, inst.images = now, None
        inst.save()
        session = Session.get_or_none(
            (Session.organization == inst.organization_id) & (Session.id == inst.session_id)
        )
        if session is not None:
            if status == "completed":
                session.messages = [
                    *(session.messages or []),
                    turn,
                    {"role": "assistant", "content": [{"type": "text", "text": output or ""}]},
                ]
            session.last_run_at = now
            session.save(only=[Session.messages, Session.last_run_at])
        history.record(
            inst.app_id,
            "response",
            profile_id=inst.profile_id,
            session_id=inst.session_id,
            user_id=inst.user_id,
            data={
                "instanceId": inst.id,
                "status": status,
                "input": inst.input,
                "output": output,
            },
        )
    final: dict[str, tuple[str, dict[str, Any]]] = {
        "completed": ("instance.completed", {"output": output or ""}),
        "failed": ("instance.failed", failure or {}),
        "stopped": ("instance.stopped", {}),
    }
    _append(instance_id, *final[status])
    channel = Channel.get_or_none(Channel.id == inst.channel_id)
    if channel is None:
        return
    if channel.type == "api":
        channels.deliver_webhook(channel, f"response.{status}", view(inst))
    elif status == "completed" and output:
        channels.send_reply(channel, inst.user_id, output)


# --- Sendblue --------------------------------------------------------------------------------


@jobs.task(name="harnesslayer.sendblue_reply", retries=2, retry_delay=5)
def send_text(channel_id: str, to: str, text: str) -> None:
    """Text `to` from the channel (e.g. an access group's limit message)."""
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is not None:
        channels.send_reply(channel, to, text)


# --- profile deletion ------------------------------------------------------------------------


def _cleanup_profile(profile_id: str) -> None:
    """Stop the profile's runs; remove its sessions, instances and their events."""
    with write():
        Instance.update(stop_requested_at=clock.now()).where(
            (Instance.profile_id == profile_id)
            & Instance.status.in_(ACTIVE)
            & Instance.stop_requested_at.is_null()
        ).execute()
        Session.delete().where(Session.profile_id == profile_id).execute()
        done = Instance.select(Instance.id).where(
            (Instance.profile_id == profile_id) & Instance.status.in_(FINISHED)
        )
        InstanceEvent.delete().where(InstanceEvent.instance.in_(done)).execute()
        Instance.delete().where(
            (Instance.profile_id == profile_id) & Instance.status.in_(FINISHED)
        ).execute()


profiles.register_cleanup(_cleanup_profile)
