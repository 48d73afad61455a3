"""The A2A wire shapes of a task, in protocol v0.3 (the default) or v1.0 (`A2A-Version: 1.0`).

v0.3: objects carry `kind` ("task", "status-update", "artifact-update", "message"), parts are
`{"kind": "text"|"data", ...}`, states are `working`, `input-required`, ...
v1.0: no `kind`; parts are `{"text"}` / `{"data"}`, roles `ROLE_USER` / `ROLE_AGENT`, states
`TASK_STATE_*`; a `SendMessage` result and each stream event are wrapped by what they are:
`{"task"}`, `{"message"}`, `{"statusUpdate"}`, `{"artifactUpdate"}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

V03, V10 = "0.3", "1.0"


@dataclass(frozen=True)
class TaskStatus:
    state: str  # the v0.3 name
    timestamp: str
    text: str | None = None  # the agent's status message, if any
    data: dict[str, Any] | None = None  # structured detail (what input is required, an error)


@dataclass(frozen=True)
class TaskSnapshot:
    id: str
    context_id: str
    status: TaskStatus
    output: dict[str, Any] | None  # the artifact's data, once completed
    metadata: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.status.state in ("completed", "failed", "canceled", "rejected")


def version_of(header: str | None) -> str | None:
    """The protocol version an `A2A-Version` header asks for (None: not supported)."""
    value = (header or "").strip()
    if not value or value in ("0.3", "0.3.0"):
        return V03
    if value in ("1.0", "1.0.0", "1.0.1", "1"):
        return V10
    return None


def _state(state: str, version: str) -> str:
    if version == V03:
        return state
    return "TASK_STATE_" + state.upper().replace("-", "_").replace("CANCELED", "CANCELLED")


def _parts(text: str | None, data: dict[str, Any] | None, version: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if text is not None:
        parts.append({"kind": "text", "text": text} if version == V03 else {"text": text})
    if data is not None:
        parts.append({"kind": "data", "data": data} if version == V03 else {"data": data})
    return parts


def status(task: TaskSnapshot, version: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "state": _state(task.status.state, version),
        "timestamp": task.status.timestamp,
    }
    if task.status.text is not None or task.status.data is not None:
        message: dict[str, Any] = {
            "role": "agent" if version == V03 else "ROLE_AGENT",
            "parts": _parts(task.status.text, task.status.data, version),
            "messageId": f"{task.id}-{task.status.state}",
            "taskId": task.id,
            "contextId": task.context_id,
        }
        if version == V03:
            message["kind"] = "message"
        out["message"] = message
    return out


def artifact(task: TaskSnapshot, version: str) -> dict[str, Any] | None:
    if task.output is None:
        return None
    return {
        "artifactId": f"{task.id}-output",
        "name": "output",
        "description": "The workflow run's output",
        "parts": _parts(None, task.output, version),
    }


def task(snapshot: TaskSnapshot, version: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": snapshot.id,
        "contextId": snapshot.context_id,
        "status": status(snapshot, version),
        "metadata": snapshot.metadata,
    }
    produced = artifact(snapshot, version)
    if produced is not None:
        out["artifacts"] = [produced]
    if version == V03:
        out["kind"] = "task"
    return out


def send_result(snapshot: TaskSnapshot, version: str) -> dict[str, Any]:
    """The result of `message/send` / `SendMessage`."""
    shown = task(snapshot, version)
    return shown if version == V03 else {"task": shown}


def status_update(snapshot: TaskSnapshot, version: str, final: bool) -> dict[str, Any]:
    event = {
        "taskId": snapshot.id,
        "contextId": snapshot.context_id,
        "status": status(snapshot, version),
        "final": final,
    }
    if version == V03:
        return {**event, "kind": "status-update"}
    return {"statusUpdate": event}


def artifact_update(snapshot: TaskSnapshot, version: str) -> dict[str, Any] | None:
    produced = artifact(snapshot, version)
    if produced is None:
        return None
    event = {
        "taskId": snapshot.id,
        "contextId": snapshot.context_id,
        "artifact": produced,
        "append": False,
        "lastChunk": True,
    }
    if version == V03:
        return {**event, "kind": "artifact-update"}
    return {"artifactUpdate": event}


def stream_task(snapshot: TaskSnapshot, version: str) -> dict[str, Any]:
    """The stream's first event: the task."""
    shown = task(snapshot, version)
    return shown if version == V03 else {"task": shown}
