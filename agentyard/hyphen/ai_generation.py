"""AI workflow generation: a prompt becomes a draft (a workflow definition, the actions to
register, the custom tables to create and notes on external dependencies), checked by the
engine's own validators; a create-from-ai process then creates all of it in one transaction.

Both run as a background job (`hyphen.ai_generate`) on a stored row (`Generation`), so a
request only queues the work and answers 202; the job survives a restart of the server while
it waits in the queue. A job claims its row first; a row whose job went quiet for
STALE_SECONDS (its worker died) is queued again by a periodic sweep, and a creation commits
what it made together with the process's completion, so a re-run never creates twice.

The model: the configured LLM provider (`provider_factory`, the runtime's provider unless a
test swaps it). The offline provider never sees the prompt: the offline drafter composes a
deterministic, valid draft from cues in it (`ai_generation_drafter`), and the result says
`offline: true`. A real provider gets `SYSTEM` (the draft's JSON shape, the step types, the
org's actions and tables) and the prompt; its answer must be one JSON object. An invalid
draft is re-asked once with the validation errors (`repaired: true` when that fixed it);
still invalid, the generation fails with `invalid_draft` and keeps the draft and its errors.
A real provider configured without an API key fails the generation with `llm_key_missing`
(and emits the `llm_key_missing` event).

Validation is a dry run: inside one transaction that is rolled back, each table is created
(`tables.create_table`), each action registered (`actions.create`) and the workflow stored
(`workflows.create`, i.e. `definitions.check` against a catalog holding the draft's actions),
each in its own savepoint so every problem is reported, named by where it is in the draft
(`tables[0].fields`, `actions[1]`, `workflow.definition`). Creating is the same run, kept.
A table or action that already exists in the org with the same definition is reused, not
created again (so the same prompt can be created twice); with a different one it is a
conflict.

Webhook events: `llm_generation_status` (a generation: processing, completed, failed),
`workflow_creation_status` (a process: processing, completed, failed) and `llm_key_missing`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentyard.core import clock, jobs, runtime
from agentyard.core.errors import ApiError, invalid, not_found
from agentyard.core.store import db, write
from agentyard.flows import react
from agentyard.hyphen import actions, ai_generation_drafter, tables, webhooks, workflows
from agentyard.hyphen.ai_generation_models import GENERATION, Generation
from agentyard.hyphen.definitions import PRIMITIVES
from agentyard.hyphen.models import CustomTable
from agentyard.hyphen.workflow_models import Action

log = logging.getLogger("agentyard.hyphen.ai")

GENERATION_PREFIX = "llm_gen-"
PROCESS_PREFIX = "wfc-"
MAX_PROMPT = 20_000
MAX_ACTIONS = 50
MAX_TABLES = 20
MAX_DEPENDENCIES = 50
DEFAULT_MODEL = "claude-sonnet-4-5"
DEFAULT_MAX_TOKENS = 4096
DEFAULT_TEMPERATURE = 0.2
PROCESSING, COMPLETED, FAILED = "processing", "completed", "failed"
STALE_SECONDS = 1800  # a processing row untouched this long lost its job (see `sweep`)

# The model behind generation: the runtime's configured provider (tests swap it).
provider_factory: list[Callable[[], Any]] = [react.default_provider]

SYSTEM = """You design workflows for the Hyphen workflow engine. Answer with ONE JSON object
and nothing else (no prose, no code fence), of this shape:

{
  "workflow": {"name": "<1-200 chars>", "description": "<text>",
               "definition": {"condition"?: <condition>, "actions": [<step>, ...]}},
  "actions": [<action to register>, ...],
  "tables": [{"name": "<letters, digits, _>", "fields": [{"name": "...",
              "type": "text|integer|numeric|boolean|timestamptz", "required"?: bool}]}],
  "external_dependencies": [{"name": "...", "kind": "oauth|api|database|other",
                             "note": "what to set up"}],
  "notes": "<anything the user should know>"
}

A step is {"type", "properties", "outputKey"?, "filter"?: {"condition": <condition>},
"onFalse"?: <step>}. Step types: the primitives
- "PbotApproval": {"comment": str, "request_payload"?: object} (a human approves; after it
  @__approved and @__comment are set),
- "PbotForm": {"expected_keys": [str, ...], "ttl_seconds"?: number},
- "custom-table": {"table": str, "operation": "read|write|update|upsert",
  "fields"?: object, "where"?: object, "keys"?: [str]},
- "matcher": {"left": @path or array, "right": @path or array, "matchOn": [str, ...]},
- "loop": {"mode": "foreach", "items_path": @path, "item_variable_name"?: str,
  "actions_to_execute": [<step>, ...]} or {"mode": "react", "objective": str,
  "tools": [action names], "max_iterations"?: <=100},
or the action_name of an action (registered already, or in your "actions").
An action is {"action_name": "<letter, then letters, digits, _ or ->", "kind":
"http|llm|db|matcher|custom-table", "description": str, ...its kind's fields}:
http {"url": public https URL, "http_method"?, "headers"?, "body"?}, llm {"template": str with
{{placeholders}}, "max_tokens"?}, db {"datasource": "orgconfig:db:<key>", "query": str},
custom-table {"properties": {"table", "operation"}}.
A condition is {"<op>": [left, right]} with op one of equal, notEqual, greaterThan, lessThan,
greaterOrEqual, lessOrEqual, in, matches; or {"and"|"or": [conditions]}, {"not": condition}.
Values may reference data with "@path": @input.<field> (the run's input), @__run_id, @now,
and the outputKey of an earlier step. Only reference what an earlier step defines.
"""


class GenerationError(Exception):
    """Generation could not produce a draft: `code` is the documented error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Outcome:
    """What generation produced: the draft (None when the model gave none), its problems, and
    how (provider, offline, attempts, repaired)."""

    draft: dict[str, Any] | None
    errors: list[dict[str, str]]
    provider: str
    offline: bool
    attempts: int = 1
    repaired: bool = False
    created: dict[str, Any] = field(default_factory=dict)


# --- starting and reading -----------------------------------------------------------------------


def _check_prompt(prompt: Any) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt must be a non-empty string")
    if len(prompt) > MAX_PROMPT:
        raise invalid(f"prompt must be at most {MAX_PROMPT} characters")
    return prompt.strip()


def start(
    org_id: str,
    prompt: Any,
    llm_options: Mapping[str, Any] | None = None,
    *,
    kind: str = GENERATION,
    options: Mapping[str, Any] | None = None,
) -> Generation:
    """Store a generation (or a create-from-ai process) and queue its job."""
    text = _check_prompt(prompt)
    prefix = GENERATION_PREFIX if kind == GENERATION else PROCESS_PREFIX
    now = clock.now()
    with write():
        row = Generation.create(
            id=f"{prefix}{uuid.uuid4()}",
            org=org_id,
            kind=kind,
            prompt=text,
            llm_options=dict(llm_options or {}),
            options=dict(options or {}),
            status=PROCESSING,
            stage="queued",
            created_at=now,
            updated_at=now,
        )
    _emit(row)
    generate_job(row.id)
    return row


def get(org_id: str, ref: str, kind: str = GENERATION) -> Generation:
    """The org's generation (or process); 404 otherwise."""
    row = Generation.get_or_none(
        (Generation.id == ref) & (Generation.org == org_id) & (Generation.kind == kind)
    )
    if row is None:
        raise not_found("generation" if kind == GENERATION else "process", ref)
    return row


def _validation(row: Generation) -> dict[str, Any] | None:
    return row.validation if isinstance(row.validation, dict) else None


def _common(row: Generation) -> dict[str, Any]:
    validation = _validation(row)
    return {
        "status": row.status,
        "stage": row.stage,
        "provider": row.provider,
        "offline": row.offline,
        "valid": validation["valid"] if validation else None,
        "error": row.error,
        "created_at": clock.iso(row.created_at),
        "updated_at": clock.iso(row.updated_at),
        "completed_at": clock.iso(row.completed_at),
    }


def status_view(row: Generation) -> dict[str, Any]:
    """A generation's status."""
    return {"generation_id": row.id, **_common(row)}


def result_view(row: Generation) -> dict[str, Any]:
    """A generation with its draft and validation."""
    return {
        "generation_id": row.id,
        **_common(row),
        "prompt": row.prompt,
        "llm_options": row.llm_options or {},
        "draft": row.draft,
        "validation": _validation(row),
    }


def process_status_view(row: Generation) -> dict[str, Any]:
    """A create-from-ai process's status."""
    created = row.created if isinstance(row.created, dict) else {}
    return {"process_id": row.id, **_common(row), "workflow_id": created.get("workflow_id")}


def process_view(row: Generation) -> dict[str, Any]:
    """A create-from-ai process with its draft and what it created."""
    created = row.created if isinstance(row.created, dict) else {}
    workflow = None
    if created.get("workflow_id"):
        found = workflows.Workflow.get_or_none(
            (workflows.Workflow.id == created["workflow_id"]) & (workflows.Workflow.org == row.org)
        )
        workflow = workflows.to_wire(found) if found is not None else None
    return {
        **process_status_view(row),
        "prompt": row.prompt,
        "llm_options": row.llm_options or {},
        "draft": row.draft,
        "validation": _validation(row),
        "workflow": workflow,
        "actions": created.get("actions") or [],
        "tables": created.get("tables") or [],
    }


# --- the job ---------------------------------------------------------------------------------


def _emit(row: Generation) -> None:
    if row.kind == GENERATION:
        payload = {"generation_id": row.id, **_common(row)}
        webhooks.emit(row.org, "llm_generation_status", payload)
    else:
        webhooks.emit(row.org, "workflow_creation_status", process_status_view(row))


def _save(row: Generation, **changes: Any) -> None:
    with write():
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = clock.now()
        if changes.get("status") in (COMPLETED, FAILED):
            row.completed_at = row.updated_at
        row.save()


def claim(row_id: str, now: Any = None) -> Generation | None:
    """Take a processing row for this job: a queued one, or one whose job went quiet for
    STALE_SECONDS (its worker died); None when another job holds it or it is finished."""
    now = now or clock.now()
    stale = now - dt.timedelta(seconds=STALE_SECONDS)
    with write():
        taken = (
            Generation.update(stage="generating", updated_at=now)
            .where(
                (Generation.id == row_id)
                & (Generation.status == PROCESSING)
                & ((Generation.stage == "queued") | (Generation.updated_at < stale))
            )
            .execute()
        )
    return Generation.get_or_none(Generation.id == row_id) if taken else None


@jobs.task(name="hyphen.ai_generate")
def generate_job(row_id: str) -> None:
    """Generate (and, for a process, create) for one stored row. The row is claimed first, so
    a job delivered twice, or re-queued by the sweep, never does the work twice at once."""
    row = claim(row_id)
    if row is None:
        return
    try:
        outcome = produce(row.org, row.prompt, row.llm_options or {})
    except GenerationError as exc:
        _fail(row, exc.code, exc.message)
        return
    except Exception as exc:  # a job never dies silently: the row says what happened
        log.exception("generation %s failed", row.id)
        _fail(row, "generation_error", f"generation failed: {type(exc).__name__}")
        return
    validation = {
        "valid": not outcome.errors,
        "errors": outcome.errors,
        "attempts": outcome.attempts,
        "repaired": outcome.repaired,
    }
    _save(
        row,
        provider=outcome.provider,
        offline=outcome.offline,
        draft=outcome.draft,
        validation=validation,
    )
    if outcome.errors or outcome.draft is None:
        where = "; ".join(f"{e['where']}: {e['message']}" for e in outcome.errors[:5])
        _fail(row, "invalid_draft", f"the draft is invalid ({where})")
        return
    if row.kind == GENERATION:
        _save(row, status=COMPLETED, stage="done")
        _emit(row)
        return
    _save(row, stage="creating")
    _emit(row)
    # what the draft holds and the process's completion commit together (or not at all)
    with write():
        created, errors = materialize(
            row.org, outcome.draft, actor=f"ai:{row.id}", keep=True, overrides=row.options
        )
        if not errors:
            _save(row, created=created, status=COMPLETED, stage="done")
    if errors:
        _save(row, validation={**validation, "valid": False, "errors": errors})
        where = "; ".join(f"{e['where']}: {e['message']}" for e in errors[:5])
        _fail(row, "creation_failed", f"nothing was created ({where})")
        return
    _emit(row)


def requeue_stale() -> int:
    """Queue again the rows whose job went quiet (a worker died holding it); how many."""
    stale = clock.now() - dt.timedelta(seconds=STALE_SECONDS)
    rows = list(
        Generation.select(Generation.id).where(
            (Generation.status == PROCESSING) & (Generation.updated_at < stale)
        )
    )
    for row in rows:
        generate_job(row.id)
    return len(rows)


@jobs.periodic_task(lambda when: when.minute % 5 == 0, name="hyphen.ai_generate_sweep")
def sweep() -> None:
    """Every five minutes: `requeue_stale()`."""
    requeue_stale()


def _fail(row: Generation, code: str, message: str) -> None:
    _save(row, status=FAILED, stage="done", error={"code": code, "message": message})
    if code == "llm_key_missing":
        webhooks.emit(
            row.org,
            "llm_key_missing",
            {"generation_id" if row.kind == GENERATION else "process_id": row.id, **row.error},
        )
    _emit(row)


# --- asking the model --------------------------------------------------------------------------


def _new_provider() -> Any:
    try:
        return provider_factory[-1]()
    except ValueError as exc:
        if "key" in str(exc).lower():
            raise GenerationError(
                "llm_key_missing",
                "The configured LLM provider needs an API key and none is set "
                "(AGENTYARD_LLM_API_KEY or the provider's key variable).",
            ) from None
        raise GenerationError(
            "llm_unavailable", f"the LLM provider is misconfigured: {exc}"
        ) from None


def _request(org_id: str, prompt: str, options: Mapping[str, Any]) -> dict[str, Any]:
    known_actions = sorted(actions.names(org_id))[:200]
    known_tables = [
        t.name for t in CustomTable.select(CustomTable.name).where(CustomTable.org == org_id)
    ][:200]
    context = (
        f"The org's registered actions: {', '.join(known_actions) or 'none'}. "
        f"Its custom tables: {', '.join(known_tables) or 'none'}. "
        f"Primitives: {', '.join(PRIMITIVES)}."
    )
    settings_model = None
    with contextlib.suppress(RuntimeError):
        settings_model = runtime.settings().llm_model
    return {
        "model": options.get("model") or settings_model or DEFAULT_MODEL,
        "max_tokens": int(options.get("max_tokens") or DEFAULT_MAX_TOKENS),
        "temperature": float(
            options["temperature"]
            if options.get("temperature") is not None
            else DEFAULT_TEMPERATURE
        ),
        "system": SYSTEM + "\n" + context,
        "messages": [{"role": "user", "content": prompt}],
    }


def _ask(request: dict[str, Any]) -> str:
    from agentyard.llm import UpstreamError

    async def call() -> dict[str, Any]:
        provider = _new_provider()
        try:
            return await provider.create(request)
        finally:
            await provider.aclose()

    try:
        reply = jobs.run_async(call)
    except UpstreamError as exc:
        raise GenerationError(
            "llm_error", f"the LLM provider failed ({exc.status} {exc.error_type}): {exc.message}"
        ) from None
    return "".join(b.get("text", "") for b in reply.get("content") or [] if b.get("type") == "text")


FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object a model answered (a code fence around it is tolerated); else why not."""
    body = FENCE.sub("", text.strip())
    try:
        value = json.loads(body)
    except ValueError:
        start, end = body.find("{"), body.rfind("}")
        try:
            value = json.loads(body[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            value = None
    if not isinstance(value, dict):
        return None, "the answer is not one JSON object"
    return value, None


def produce(org_id: str, prompt: str, options: Mapping[str, Any]) -> Outcome:
    """A checked draft for `prompt`: drafted offline, or asked of the model (re-asked once
    with the validation errors when the first draft is invalid)."""
    provider = _new_provider()
    name = str(getattr(provider, "name", "llm"))
    if getattr(provider, "offline", False):
        offline_draft = ai_generation_drafter.draft(prompt)
        return Outcome(offline_draft, check(org_id, offline_draft), provider=name, offline=True)
    request = _request(org_id, prompt, options)
    text = _ask(request)
    draft, errors = _checked(org_id, text)
    if not errors:
        return Outcome(draft, [], provider=name, offline=False)
    listed = "\n".join(f"- {e['where']}: {e['message']}" for e in errors)
    retry = {
        **request,
        "messages": [
            *request["messages"],
            {"role": "assistant", "content": text or "(empty)"},
            {
                "role": "user",
                "content": "That draft is invalid:\n"
                + listed
                + "\nAnswer with the whole corrected JSON object only.",
            },
        ],
    }
    second, errors = _checked(org_id, _ask(retry))
    return Outcome(
        second if second is not None else draft,
        errors,
        provider=name,
        offline=False,
        attempts=2,
        repaired=not errors,
    )


def _checked(org_id: str, text: str) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    draft, why = parse(text)
    if draft is None:
        return None, [{"where": "draft", "message": why or "no draft"}]
    return draft, check(org_id, draft)


# --- checking and creating -----------------------------------------------------------------------


def _list(draft: Mapping[str, Any], name: str, most: int, errors: list[dict[str, str]]) -> list:
    value = draft.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > most:
        errors.append({"where": name, "message": f"must be an array of at most {most} items"})
        return []
    return value


def _shape(draft: Any) -> list[dict[str, str]]:
    if not isinstance(draft, Mapping):
        return [{"where": "draft", "message": "must be an object"}]
    errors: list[dict[str, str]] = []
    wf = draft.get("workflow")
    if not isinstance(wf, Mapping):
        errors.append({"where": "workflow", "message": "must be an object"})
    else:
        if not isinstance(wf.get("name"), str) or not wf["name"].strip():
            errors.append({"where": "workflow.name", "message": "must be a non-empty string"})
        if not isinstance(wf.get("definition"), Mapping):
            errors.append({"where": "workflow.definition", "message": "must be an object"})
    _list(draft, "actions", MAX_ACTIONS, errors)
    _list(draft, "tables", MAX_TABLES, errors)
    _list(draft, "external_dependencies", MAX_DEPENDENCIES, errors)
    return errors


def check(org_id: str, draft: Any) -> list[dict[str, str]]:
    """Every problem of a draft (empty: valid), by a dry run of creating it."""
    errors = _shape(draft)
    if errors:
        return errors
    _, errors = materialize(org_id, draft, actor="ai:check", keep=False)
    return errors


CAUGHT = (ApiError, ValueError, TypeError, KeyError, AttributeError)


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"


def _same_table(existing: CustomTable, fields: Any) -> bool:
    try:
        return [f.view() for f in tables.parse_fields(fields)] == existing.fields
    except CAUGHT:
        return False


def _same_action(existing: Action, spec: actions.ActionSpec) -> bool:
    return existing.kind == spec.kind and (existing.config or {}) == spec.config


def materialize(
    org_id: str,
    draft: Mapping[str, Any],
    *,
    actor: str,
    keep: bool,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Create the draft's tables, actions and workflow in one transaction, each in its own
    savepoint; committed only when `keep` and nothing failed. Returns what was created (or
    reused) and every problem."""
    overrides = overrides or {}
    errors: list[dict[str, str]] = []
    created: dict[str, Any] = {"workflow_id": None, "actions": [], "tables": []}
    with write() as txn:
        for i, table in enumerate(draft.get("tables") or []):
            where = f"tables[{i}]"
            try:
                name, fields = table["name"], table["fields"]
                table_row = CustomTable.get_or_none(
                    (CustomTable.org == org_id) & (CustomTable.name == name)
                )
                if table_row is not None and _same_table(table_row, fields):
                    created["tables"].append({"name": name, "created": False})
                    continue
                with db.atomic():
                    tables.create_table(org_id, name, fields, actor)
                created["tables"].append({"name": name, "created": True})
            except CAUGHT as exc:
                errors.append({"where": where, "message": _message(exc)})
        for i, body in enumerate(draft.get("actions") or []):
            where = f"actions[{i}]"
            try:
                spec = actions.spec_from_wire(body)
                found = actions.by_name(org_id, spec.action_name)
                if found is not None and _same_action(found, spec):
                    created["actions"].append(
                        {"id": found.id, "action_name": found.action_name, "created": False}
                    )
                    continue
                with db.atomic():
                    row = actions.create(org_id, spec)
                created["actions"].append(
                    {"id": row.id, "action_name": row.action_name, "created": True}
                )
            except CAUGHT as exc:
                errors.append({"where": where, "message": _message(exc)})
        wf = draft["workflow"]
        wf_spec = workflows.WorkflowSpec(
            name=overrides.get("name") or wf.get("name"),
            definition=wf.get("definition"),
            description=overrides.get("description")
            or (str(wf["description"])[:4000] if isinstance(wf.get("description"), str) else None),
        )
        try:
            with db.atomic():
                created["workflow_id"] = workflows.create(org_id, wf_spec).id
        except CAUGHT as exc:
            errors.append({"where": "workflow", "message": _message(exc)})
        if errors or not keep:
            txn.rollback()
    return (created if keep and not errors else {}), errors
