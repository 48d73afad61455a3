"""`POST /a2a/{project_slug}/{workflow_slug}`: JSON-RPC 2.0 (see agentyard.hasp.runtime.rpc)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from connexion import request

from agentyard.core import aio, runtime, sse
from agentyard.hasp.runtime import errors, rpc
from handlers.hasp_runtime.security import caller

JSON = {"Content-Type": "application/json"}  # the operation also answers text/event-stream


async def call_agent(project_slug: str, workflow_slug: str, body: dict[str, Any]) -> Any:
    request_id = body.get("id")
    try:
        call = await aio.in_thread(
            rpc.prepare,
            caller(),
            project_slug,
            workflow_slug,
            body["method"],
            body.get("params"),
            request.headers.get("a2a-version"),
        )
        if call.streaming:
            task_id = await rpc.begin_stream(call)
            heartbeat = runtime.settings().sse_heartbeat_seconds
            return sse.response(sse.with_heartbeat(_frames(call, task_id, request_id), heartbeat))
        result = await rpc.answer(call)
    except errors.RpcError as exc:
        return errors.of(exc, request_id), exc.status, JSON
    return {"jsonrpc": "2.0", "id": request_id, "result": result}, 200, JSON


async def _frames(call: rpc.Call, task_id: str, request_id: Any) -> AsyncIterator[bytes]:
    try:
        async for event in rpc.events(call, task_id):
            yield sse.frame({"jsonrpc": "2.0", "id": request_id, "result": event})
    except errors.RpcError as exc:
        yield sse.frame(errors.of(exc, request_id))
