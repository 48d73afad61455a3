"""The inference pipeline both surfaces share: compliance checks, PHI guard, credits, provider.

`prepare()` (blocking: store + PHI scan; run it in the threadpool) checks the BAA, the model,
the tool schemas and the PHI mode, redacts, and reserves the request's maximum cost.
`complete()` / `stream()` call the provider and restore the caller's own values in the reply
(streams included). `finish()` settles the credits, keeps the record (placeholders, never raw
PHI), writes the audit entry and announces the webhook events. Nothing reaches the provider
unless every check passed; a failed or timed-out PHI scan fails the request.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

from agentyard.core import aio, clock, request_context, runtime
from agentyard.core.errors import ApiError
from agentyard.core.request_context import RequestInfo
from agentyard.core.store import connection, with_connection, write
from agentyard.hasp import baa, events, orgs
from agentyard.hasp.ai import catalog, credits, records, texts
from agentyard.hasp.ai.catalog import Model
from agentyard.hasp.auth import Caller
from agentyard.llm import MessageAccumulator, UpstreamError, count_input_tokens, provider
from agentyard.llm import use_provider as use_provider  # re-exported: tests, benchmarks
from agentyard.phi.errors import PhiScanError
from agentyard.phi.guard import get_guard
from agentyard.phi.vault import PLACEHOLDER_RE, StreamRestorer, Vault


@dataclass
class Call:
    """One inference on its way through the gateway."""

    caller: Caller
    surface: str  # "anthropic" | "native"
    ulid: str
    model: Model
    upstream: dict[str, Any]  # what the provider gets: PHI replaced by placeholders
    phi: dict[str, Any]
    vault: Vault | None
    reservation: credits.Hold
    stored: bool = True
    conversation_id: str | None = None
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def message_id(self) -> str:
        return f"msg_{self.ulid}"

    @property
    def request_id(self) -> str:
        return f"req_{self.ulid}"


def _phi_unavailable(exc: Exception) -> ApiError:
    return ApiError(
        503,
        "INFERENCE_UNAVAILABLE",
        "The PHI scanner failed; nothing was sent upstream. Retry the request.",
        details={"reason": type(exc).__name__},
    )


# Anthropic's server tools whose content leaves the BAA boundary (it is fetched from or sent to
# the web, or run in Anthropic's code sandbox): HASP does not offer them, by `type` family.
NOT_HIPAA_ELIGIBLE_TOOLS = ("web_search", "web_fetch", "code_execution")
_TOOL_VERSION = re.compile(r"_[0-9]{8}$")


def check_features(request: dict[str, Any]) -> None:
    """403 FEATURE_NOT_HIPAA_ELIGIBLE for a server tool HASP cannot offer under a BAA."""
    for i, tool in enumerate(request.get("tools") or []):
        kind = str(tool.get("type") or "custom")
        if _TOOL_VERSION.sub("", kind) in NOT_HIPAA_ELIGIBLE_TOOLS:
            raise ApiError(
                403,
                "FEATURE_NOT_HIPAA_ELIGIBLE",
                f"The {kind} tool is not available under a BAA: web search, web fetch and code "
                "execution would take the request's content outside the HIPAA boundary",
                details={"param": f"tools.{i}.type", "tool_type": kind},
            )


def _check_tools(request: dict[str, Any], timeout: float) -> None:
    """PHI in a tool's name or description is refused in every mode; tool_choice must exist."""
    tools = request.get("tools") or []
    choice = request.get("tool_choice") or {}
    names = {t["name"] for t in tools if isinstance(t.get("name"), str)}
    if choice.get("type") == "tool" and choice.get("name") not in names:
        raise ApiError(
            400, "VALIDATION_FAILED", f"tool_choice names {choice.get('name')!r}, not in tools"
        )
    if choice.get("type") == "any" and not tools:
        raise ApiError(400, "VALIDATION_FAILED", "tool_choice any needs at least one tool")
    if not tools:
        return
    fields = [(name, "name") for name in sorted(names)]
    fields += [
        (t["description"], "description") for t in tools if isinstance(t.get("description"), str)
    ]
    try:
        found = get_guard().analyze_many([value for value, _ in fields], timeout)
    except PhiScanError as exc:
        raise _phi_unavailable(exc) from exc
    types = sorted({f.entity_type for findings in found for f in findings})
    if types:
        raise ApiError(
            400,
            "PHI_IN_TOOL_SCHEMA",
            "A tool name or description contains PHI; remove it from the tool schema",
            details={"entity_types": types},
        )


def _report(mode: str, counts: dict[str, int], action: str, redacted: int) -> dict[str, Any]:
    return {
        "mode": mode,
        "detected": bool(counts),
        "action": action if counts else "none",
        "entity_types": sorted(counts),
        "counts": dict(sorted(counts.items())),
        "redaction_count": redacted,
    }


def _guard(caller: Caller, request: dict[str, Any], mode: str, timeout: float) -> tuple:
    """(upstream request, PHI report, vault, storable request) for the org's PHI mode.

    403 in block mode. The storable request has placeholders even in allow mode, where the
    upstream gets the texts unchanged: raw PHI is never stored.
    """
    where = texts.paths(request)
    originals = [texts.get(request, p) for p in where]
    try:
        redaction = get_guard().redact(originals, timeout)
    except PhiScanError as exc:
        raise _phi_unavailable(exc) from exc
    counts = dict(redaction.counts)
    if mode == "block" and counts:
        report = _report(mode, counts, "blocked", 0)
        events.audit(
            caller.org,
            "ai.phi.blocked",
            "inference",
            cast(RequestInfo, request_context.current()).ulid
            if request_context.current()
            else None,
            {"entity_types": report["entity_types"], "counts": report["counts"]},
            key_id=caller.key.id,
        )
        events.notify(caller.org, "ai.phi.detected", {"action": "blocked", **report})
        raise ApiError(
            403,
            "PHI_BLOCKED",
            "The request contains PHI and the organization's PHI mode is block",
            details={"entity_types": report["entity_types"]},
        )
    redacted = texts.replaced(request, where, redaction.texts)
    if mode == "allow":
        return copy.deepcopy(request), _report(mode, counts, "allowed", 0), None, redacted
    return redacted, _report(mode, counts, "redacted", redaction.total), redaction.vault, redacted


def prepare(
    caller: Caller,
    request: dict[str, Any],
    surface: str,
    *,
    stored: bool = True,
    conversation_id: str | None = None,
) -> Call:
    """Run every check and reserve credits; the call, ready for the provider."""
    info = request_context.current()
    ulid = info.ulid if info else clock.now().strftime("%Y%m%d%H%M%S%f")
    settings = runtime.settings()
    check_features(request)
    baa.require_accepted(caller.org)
    org = orgs.settings_of(caller.org)
    model = catalog.resolve(request["model"], org.opus_enabled)
    _check_tools(request, settings.hasp_phi_timeout_seconds)
    upstream, report, vault, storable = _guard(
        caller, request, org.phi_mode, settings.hasp_phi_timeout_seconds
    )
    upstream["model"] = model.id
    upstream.pop("stream", None)
    most = model.credits(count_input_tokens(upstream) + int(request["max_tokens"]))
    reservation = credits.reserve(caller.org, most)
    if info is not None:
        info.headers["x-agentyard-provider"] = provider().name
    call = Call(
        caller, surface, ulid, model, upstream, report, vault, reservation, stored, conversation_id
    )
    call.extra["storable"] = storable
    return call


# --- restoring the caller's values -------------------------------------------------------------


class _JsonVault:
    """A vault view whose originals are JSON-string-escaped, for `input_json_delta` text."""

    def __init__(self, vault: Vault) -> None:
        self._pairs = {p: json.dumps(v)[1:-1] for p, v in vault.items()}

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs.items())

    def restore(self, text: str) -> str:
        if "[" not in text:
            return text
        return PLACEHOLDER_RE.sub(lambda m: self._pairs.get(m[0], m[0]), text)


def _restore_value(vault: Vault, value: Any) -> Any:
    if isinstance(value, str):
        return vault.restore(value)
    if isinstance(value, list):
        return [_restore_value(vault, v) for v in value]
    if isinstance(value, dict):
        return {k: _restore_value(vault, v) for k, v in value.items()}
    return value


def restore_message(call: Call, message: dict[str, Any]) -> dict[str, Any]:
    """The provider's message as the caller sees it: our id and model, its own values back."""
    out = copy.deepcopy(message)
    out["id"] = call.message_id
    out["model"] = call.model.id
    if call.vault is not None and len(call.vault):
        for block in out.get("content", []):
            if block.get("type") == "text":
                block["text"] = call.vault.restore(block["text"])
            elif block.get("type") == "tool_use":
                block["input"] = _restore_value(call.vault, block.get("input", {}))
    return out


class _EventRestorer:
    """Restores placeholders in a stream of Anthropic events, block by block."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.active = call.vault is not None and len(call.vault) > 0
        self.restorers: dict[int, StreamRestorer] = {}
        self.kinds: dict[int, str] = {}  # block index -> "text" | "json"

    def _restorer(self, index: int, kind: str) -> StreamRestorer:
        if index not in self.restorers:
            assert self.call.vault is not None
            source = _JsonVault(self.call.vault) if kind == "json" else self.call.vault
            self.restorers[index] = StreamRestorer(source)  # type: ignore[arg-type]
            self.kinds[index] = kind
        return self.restorers[index]

    def events(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The events to send for one provider event (a held-back tail comes out at stop)."""
        event = copy.deepcopy(event)
        kind = event.get("type")
        if kind == "message_start":
            event["message"]["id"] = self.call.message_id
            event["message"]["model"] = self.call.model.id
            return [event]
        if not self.active:
            return [event]
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta.get("type") == "text_delta":
                delta["text"] = self._restorer(event["index"], "text").feed(delta["text"])
            elif delta.get("type") == "input_json_delta":
                part = delta["partial_json"]
                delta["partial_json"] = self._restorer(event["index"], "json").feed(part)
            return [event]
        if kind == "content_block_stop" and event["index"] in self.restorers:
            tail = self.restorers.pop(event["index"]).flush()
            if not tail:
                return [event]
            delta = (
                {"type": "input_json_delta", "partial_json": tail}
                if self.kinds[event["index"]] == "json"
                else {"type": "text_delta", "text": tail}
            )
            return [{"type": "content_block_delta", "index": event["index"], "delta": delta}, event]
        return [event]


# --- calling the provider ----------------------------------------------------------------------


def upstream_error(exc: UpstreamError) -> ApiError:
    """An upstream failure as the gateway reports it (5xx clamped to 502/503)."""
    status = exc.status
    if exc.error_type == "overloaded_error" or status == 529:
        return ApiError(503, "INFERENCE_UNAVAILABLE", f"Upstream overloaded: {exc.message}")
    if status >= 500:
        return ApiError(502, "INFERENCE_UPSTREAM_FAILURE", f"Upstream failed: {exc.message}")
    headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
    code = {429: "RATE_LIMITED", 404: "RESOURCE_NOT_FOUND"}.get(status, "VALIDATION_FAILED")
    return ApiError(status, code, f"Upstream refused the request: {exc.message}", headers=headers)


async def complete(call: Call) -> dict[str, Any]:
    """Non-streaming: the restored message (the call is finished either way)."""
    try:
        message = await provider().create(call.upstream)
    except UpstreamError as exc:
        await aio.run_blocking(with_connection(finish), call, None, str(exc.error_type))
        raise upstream_error(exc) from exc
    await aio.run_blocking(with_connection(finish), call, message, None)
    return restore_message(call, message)


async def stream(call: Call) -> AsyncIterator[dict[str, Any]]:
    """Streaming: the restored Anthropic events. The first `anext` raises ApiError when the
    upstream fails before its first event; later failures arrive as an `error` event."""

    restorer = _EventRestorer(call)
    folded = MessageAccumulator()
    failure: str | None = "stream ended before message_stop"
    try:
        try:
            async for event in provider().stream(call.upstream):
                if event.get("type") == "error":
                    failure = (event.get("error") or {}).get("type", "api_error")
                    yield event
                    break
                folded.add(event)
                for out in restorer.events(event):
                    yield out
                if event.get("type") == "message_stop":
                    failure = None
        except UpstreamError as exc:
            if folded.message is None:
                await aio.run_blocking(with_connection(finish), call, None, exc.error_type)
                raise upstream_error(exc) from exc
            failure = exc.error_type
            yield exc.body()
        message = folded.message if failure is None else None
        await aio.run_blocking(with_connection(finish), call, message, failure)
    finally:
        if not call.finished:  # the client went away mid-stream: no await is possible now
            with connection():
                finish(call, None, "client disconnected")


# --- finishing -----------------------------------------------------------------------------


def _disposition(phi: dict[str, Any]) -> str | None:
    if not phi["detected"]:
        return "not_present"
    return "reidentified_at_delivery" if phi["action"] == "redacted" else None


def finish(call: Call, message: dict[str, Any] | None, failure: str | None) -> None:
    """Settle credits, keep the record, audit, and announce — exactly once per call."""
    if call.finished:
        return
    call.finished = True
    call.extra["raw"] = message  # as the provider wrote it: placeholders, never raw PHI
    org = call.caller.org
    usage = (message or {}).get("usage") or {}
    input_tokens = int(usage.get("input_tokens") or 0)
    output_tokens = int(usage.get("output_tokens") or 0)
    spent = call.model.credits(input_tokens + output_tokens) if message else 0
    action = "ai.chat.message" if call.surface == "native" else "ai.messages.create"
    metadata = {
        "model": call.model.id,
        "surface": call.surface,
        "status": "failed" if message is None else "completed",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "phi_action": call.phi["action"],
        "phi_entity_types": call.phi["entity_types"],
    }
    if failure:
        metadata["failure"] = failure
    # One transaction: the settlement, its audit entry and the record land together (and a
    # request costs one write transaction here, not two).
    with write():
        crossed: list[int] = []
        if message is None:
            credits.release(org, call.reservation)
        else:
            crossed = credits.settle(org, call.reservation, spent)
        entry = events.audit(
            org,
            action,
            "inference",
            call.request_id,
            metadata,
            key_id=call.caller.key.id,
            phi_disposition=_disposition(call.phi),
        )
        storable = call.extra.get("storable") or call.upstream
        system = storable.get("system")
        records.keep(
            id=call.ulid,
            tenant=org,
            surface=call.surface,
            conversation_id=call.conversation_id,
            api_key_id=call.caller.key.id,
            model=call.model.id,
            provider=provider().name,
            offline=bool(getattr(provider(), "offline", False)),
            stored=call.stored,
            system=(system if isinstance(system, str) else json.dumps(system))
            if call.stored and system is not None
            else None,
            messages=storable["messages"] if call.stored else None,
            output=_storable_output(call, message) if call.stored else None,
            stop_reason=(message or {}).get("stop_reason"),
            status="failed" if message is None else "completed",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            credits=spent,
            cost_usd=call.model.cost_usd(input_tokens, output_tokens),
            phi=call.phi,
            audit_entry_id=entry,
            created_at=clock.now(),
        )
    _announce(call, message, spent, crossed)


def _storable_output(call: Call, message: dict[str, Any] | None) -> list[Any] | None:
    """The reply's blocks for the record: as written when the provider saw only placeholders;
    in allow mode (the provider saw PHI) redacted again first, or not kept if that fails."""
    content = (message or {}).get("content")
    if content is None or call.phi["action"] != "allowed":
        return content
    blocks = {"messages": [{"role": "assistant", "content": copy.deepcopy(content)}]}
    where = texts.paths(blocks)
    try:
        redaction = get_guard().redact(
            [texts.get(blocks, p) for p in where], runtime.settings().hasp_phi_timeout_seconds
        )
    except PhiScanError:
        return None
    return texts.replaced(blocks, where, redaction.texts)["messages"][0]["content"]


def exchange(call: Call) -> tuple[str, str] | None:
    """(user turn, reply) of a finished native call as they may be kept: no raw PHI."""
    raw = call.extra.get("raw")
    if raw is None:
        return None
    storable = call.extra.get("storable") or call.upstream
    blocks = _storable_output(call, raw) or []
    reply = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    return storable["messages"][-1]["content"], reply


def _announce(call: Call, message: dict[str, Any] | None, spent: int, crossed: list[int]) -> None:
    org = call.caller.org
    announcements: list[tuple[str, dict[str, Any]]] = []
    if call.phi["detected"]:
        announcements.append(("ai.phi.detected", {"request_id": call.request_id, **call.phi}))
    if message is not None:
        announcements.append(
            (
                "ai.inference.completed",
                {
                    "request_id": call.request_id,
                    "message_id": call.message_id,
                    "model": call.model.id,
                    "surface": call.surface,
                    "stop_reason": message.get("stop_reason"),
                    "sonnet_equivalent_tokens": spent,
                    "phi": call.phi,
                },
            )
        )
    events.notify_all(org, announcements)
    for threshold in crossed:
        data = {"threshold_percent": threshold, **credits.budget(org)}
        events.audit(org, "budget.threshold_reached", "budget", org.id, data)
        events.notify(org, "budget.threshold_reached", data)


def native_usage(call: Call, message: dict[str, Any]) -> dict[str, Any]:
    """`meta.usage` of the native surface."""
    usage = message.get("usage") or {}
    input_tokens = int(usage.get("input_tokens") or 0)
    output_tokens = int(usage.get("output_tokens") or 0)
    return {
        "model": call.model.id,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "sonnet_equivalent_tokens": call.model.credits(input_tokens + output_tokens),
        "cost_usd": call.model.cost_usd(input_tokens, output_tokens),
    }


def provider_info() -> dict[str, Any]:
    p = provider()
    return {"name": p.name, "offline": bool(getattr(p, "offline", False))}
