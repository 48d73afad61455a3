"""JSON-RPC 2.0 at `/a2a/{project_slug}/{workflow_slug}`: HASP's `invoke` and A2A's methods.

- `invoke` (HASP): `{input?: object, wait?: bool = true}` → `{run_id, task_id, status, output,
  error, input_required, release}`;
- `message/send` | `SendMessage`: `{message, configuration?: {blocking?: bool = true}}` → Task
  (v1.0: `{task}`);
- `message/stream` | `SendStreamingMessage`: `{message}` → SSE: Task, artifact/status updates;
- `tasks/get` | `GetTask`, `tasks/cancel` | `CancelTask`: `{id}` (v1.0 also `{name: "tasks/<id>"}`)
  → Task;
- `tasks/resubscribe` | `SubscribeToTask`: `{id}` → SSE, as `message/stream`.

A blocking send and `invoke` wait until the run completes, fails, is canceled or needs input
(at most `WAIT_SECONDS`; then the task is answered `working`). A stream ends after the event
with `final: true` (completed, failed, canceled or input-required), or after
`STREAM_SECONDS`. Push-notification methods answer -32003 (not supported).

`prepare()` checks the call in this order: the org (404), the key's org (403 `WRONG_ORG`), the
key's scope (403 `MISSING_SCOPE`), the endpoint's workflow (404), the method (-32601), the
`A2A-Version` (-32009).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from agentyard.core import aio
from agentyard.core.errors import ApiError
from agentyard.hasp import auth
from agentyard.hasp.auth import Caller
from agentyard.hasp.runtime import a2a_wire, discovery, errors, place, tasks
from agentyard.hasp.runtime.place import OrgPlace
from agentyard.hasp.studio.contract_versions import PublishedWorkflow

WAIT_SECONDS = 60.0
STREAM_SECONDS = 600.0

METHODS = {
    "invoke": "invoke",
    "message/send": "send",
    "SendMessage": "send",
    "message/stream": "stream",
    "SendStreamingMessage": "stream",
    "tasks/get": "get",
    "GetTask": "get",
    "tasks/cancel": "cancel",
    "CancelTask": "cancel",
    "tasks/resubscribe": "resubscribe",
    "SubscribeToTask": "resubscribe",
}
PUSH_METHODS = frozenset(
    {
        "tasks/pushNotificationConfig/set",
        "tasks/pushNotificationConfig/get",
        "tasks/pushNotificationConfig/list",
        "tasks/pushNotificationConfig/delete",
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfig",
        "DeleteTaskPushNotificationConfig",
    }
)
STREAMING = frozenset({"stream", "resubscribe"})


@dataclass(frozen=True)
class Call:
    """A checked JSON-RPC call on one endpoint."""

    op: OrgPlace
    caller: Caller
    wf: PublishedWorkflow
    method: str  # as sent
    kind: str  # invoke | send | stream | get | cancel | resubscribe
    params: dict[str, Any]
    version: str

    @property
    def streaming(self) -> bool:
        return self.kind in STREAMING


def _from_api_error(exc: ApiError) -> errors.RpcError:
    return errors.RpcError(
        errors.rpc_code(exc.status, exc.message),
        exc.message,
        status=exc.status,
        hasp=exc.code,
        details=exc.details,
    )


def _check(caller: Caller, project_slug: str, workflow_slug: str) -> tuple[OrgPlace, Any]:
    op = place.current()
    if caller.org.id != op.org.id:
        raise ApiError(
            403, "WRONG_ORG", f"This API key belongs to another organization than {op.org.name}"
        )
    auth.require_scope(caller, discovery.SCOPE)
    return op, discovery.workflow(op, project_slug, workflow_slug)


def prepare(
    caller: Caller,
    project_slug: str,
    workflow_slug: str,
    method: str,
    params: Any,
    a2a_version: str | None,
) -> Call:
    """The call, checked (see the module docstring); raises RpcError."""
    try:
        op, wf = _check(caller, project_slug, workflow_slug)
    except ApiError as exc:
        raise _from_api_error(exc) from None
    if method in PUSH_METHODS:
        raise errors.RpcError(errors.PUSH_NOT_SUPPORTED, "Push notifications are not supported")
    kind = METHODS.get(method)
    if kind is None:
        raise errors.RpcError(errors.METHOD_NOT_FOUND, f"Method {method!r} not found")
    version = a2a_wire.version_of(a2a_version)
    if version is None:
        raise errors.RpcError(
            errors.VERSION_NOT_SUPPORTED,
            f"A2A-Version {a2a_version!r} is not supported; use 0.3 or 1.0",
            details={"supported": ["0.3", "1.0"]},
        )
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise errors.RpcError(errors.INVALID_PARAMS, "params must be an object")
    return Call(op, caller, wf, method, kind, params, version)


def _task_id(params: dict[str, Any]) -> str:
    value = params.get("id")
    if value is None and isinstance(params.get("name"), str):
        value = params["name"].removeprefix("tasks/")
    if not isinstance(value, str) or not value:
        raise errors.RpcError(errors.INVALID_PARAMS, "params.id must be the task id")
    return value


def _send(call: Call) -> str:
    """Start a task, or continue the one the message names; the task id."""
    message = tasks.inbound(call.params.get("message"))
    if message.task_id is not None:
        return tasks.resume(call.op, call.wf, message.task_id, message.input)
    return tasks.start(
        call.op, call.caller, call.wf, message.input, context_id=message.context_id, via=call.method
    )


def _invoke(call: Call) -> str:
    value = call.params.get("input", {})
    if not isinstance(value, dict):
        raise errors.RpcError(errors.INVALID_PARAMS, "params.input must be an object")
    return tasks.start(call.op, call.caller, call.wf, value, context_id=None, via="invoke")


async def answer(call: Call) -> Any:
    """The result of a non-streaming call."""
    if call.kind == "invoke":
        task_id = await aio.in_thread(_invoke, call)
        if call.params.get("wait", True) is not False:
            await tasks.settle(task_id, WAIT_SECONDS)
        return invoke_result(await aio.in_thread(tasks.get, call.op, call.wf, task_id))
    if call.kind == "send":
        task_id = await aio.in_thread(_send, call)
        configuration = call.params.get("configuration")
        blocking = not (isinstance(configuration, dict) and configuration.get("blocking") is False)
        if blocking:
            await tasks.settle(task_id, WAIT_SECONDS)
        snapshot = await aio.in_thread(tasks.get, call.op, call.wf, task_id)
        return a2a_wire.send_result(snapshot, call.version)
    if call.kind == "get":
        snapshot = await aio.in_thread(tasks.get, call.op, call.wf, _task_id(call.params))
        return a2a_wire.task(snapshot, call.version)
    snapshot = await aio.in_thread(tasks.cancel, call.op, call.wf, _task_id(call.params))
    return a2a_wire.task(snapshot, call.version)


def invoke_result(snapshot: a2a_wire.TaskSnapshot) -> dict[str, Any]:
    """HASP's `invoke` result."""
    meta = snapshot.metadata
    return {
        "run_id": snapshot.id,
        "task_id": snapshot.id,
        "status": meta["run_status"],
        "output": snapshot.output,
        "error": snapshot.status.data if snapshot.status.state == "failed" else None,
        "input_required": snapshot.status.data if meta["run_status"] == "paused" else None,
        "release": {"id": meta["release_id"]},
    }


async def begin_stream(call: Call) -> str:
    """Start (or find) the streamed task before any byte is sent, so errors are plain
    JSON-RPC answers; the task id."""
    if call.kind == "resubscribe":
        task_id = _task_id(call.params)
        await aio.in_thread(tasks.get, call.op, call.wf, task_id)
        return task_id
    return await aio.in_thread(_send, call)


async def events(call: Call, task_id: str) -> AsyncIterator[dict[str, Any]]:
    """The stream's results: the task, then (once it settles) its artifact and final status."""
    first = await aio.in_thread(tasks.get, call.op, call.wf, task_id)
    yield a2a_wire.stream_task(first, call.version)
    if first.status.state == "working":
        await tasks.settle(task_id, STREAM_SECONDS)
    last = await aio.in_thread(tasks.get, call.op, call.wf, task_id)
    settled = last.status.state != "working"
    if settled:
        update = a2a_wire.artifact_update(last, call.version)
        if update is not None:
            yield update
    yield a2a_wire.status_update(last, call.version, final=settled)
