"""Registered actions: reusable http / llm / db / matcher / custom-table calls, named by
`action_name` (unique per org) and usable as a workflow step type, inside a foreach, and as
an agent tool.

Each kind's configuration (stored as the action's `config`, flattened on the wire):

- `http`: `url` (required; `{{param}}` templates filled from the step's properties, then the
  run context), `http_method` (GET | POST | PUT | PATCH | DELETE, default POST), `headers`
  (values are templates and may hold `orgconfig:api:<key>` secrets), `content_type`
  (`application/json`), `body` (a template object; default: the step's properties, for
  methods with a body), `timeout_seconds` (30, at most 300), `retries` (2, at most 10: on
  429/5xx and network errors, with exponential backoff from 0.5 s, honouring `Retry-After` up
  to 10 s). Requests go through the same SSRF guard and policy as webhooks, carry an
  `Idempotency-Key` (the same on every retry of the step) and follow no redirects. The output
  is the response body (JSON when it parses, else text); a final status >= 400 fails the step.
- `llm`: `template` (required, `{{placeholders}}`), `model`, `max_tokens` (1024),
  `temperature` (0.7); through agentyard.llm's configured provider (offline by default).
  Output `{text, model, usage}`.
- `db`: `datasource` (required, `orgconfig:db:<key>` holding a `postgresql://` URL), `query`
  (required, parameters `$1..`), `params` (templates), `driver` (only `postgres`: PostgreSQL
  through psycopg2; other drivers are refused with 400 naming what is supported). Output:
  `{rows: [...], rowcount}` (at most 1000 rows).
- `matcher`: matcher properties (`matchOn`, `tolerance`, ...) under `properties`, completed
  by the step's.
- `custom-table`: optional `table` / `operation` under `properties`, completed by the step's
  or the agent's input.

`passthrough: true` makes the output `{**properties, "result": <output>}` (the step's input
passes through next to the result); `outputKey` is the default context key of the output.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import json
import re
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import peewee

from agentyard.core import clock, netguard, paging, webhooks
from agentyard.core.errors import conflict, invalid, not_found
from agentyard.core.store import write
from agentyard.flows import Scope, StepFailed
from agentyard.hyphen import context, matcher
from agentyard.hyphen.workflow_models import Action

KINDS = ("http", "llm", "db", "matcher", "custom-table")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DB_DRIVERS = ("postgres", "postgresql", "pg")
TABLE_OPERATIONS = ("read", "write", "update", "upsert")
MAX_RESPONSE = 1_000_000
MAX_ROWS = 1000
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,99}$")
COMMON = ("action_name", "kind", "description", "passthrough", "outputKey")
RESERVED_NAMES = frozenset({"matcher", "loop", "PbotApproval", "PbotForm", "custom-table"})


@dataclass
class ActionSpec:
    """An action as a caller describes it (the wire's fields, typed)."""

    action_name: str
    kind: str
    description: str = ""
    passthrough: bool = False
    output_key: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


def spec_from_wire(body: Mapping[str, Any]) -> ActionSpec:
    """An ActionSpec from the wire's flat form (`POST /actions`, an AI draft's actions): the
    common fields, the rest is the kind's configuration (`properties` flattened into it for
    `matcher` and `custom-table`)."""
    config = {k: v for k, v in body.items() if k not in COMMON}
    if body.get("kind") in ("matcher", "custom-table"):
        nested = config.pop("properties", None) or {}
        config = {**config, **nested}
    return ActionSpec(
        action_name=body["action_name"],
        kind=body["kind"],
        description=body.get("description") or "",
        passthrough=bool(body.get("passthrough", False)),
        output_key=body.get("outputKey"),
        config=config,
    )


def _check(spec: ActionSpec) -> None:
    if not NAME.match(spec.action_name or "") or spec.action_name.startswith("__"):
        raise invalid("action_name must start with a letter and hold letters, digits, _ or -")
    if spec.action_name in RESERVED_NAMES:
        raise invalid(f"action_name {spec.action_name!r} is a primitive's name")
    if spec.kind not in KINDS:
        raise invalid(f"kind must be one of {', '.join(KINDS)}")
    if spec.output_key is not None and not context.valid_path(spec.output_key):
        raise invalid("outputKey must be a plain name")
    c = spec.config
    if spec.kind == "http":
        url = c.get("url")
        if not isinstance(url, str) or not url:
            raise invalid("url is required for an http action")
        method = str(c.get("http_method") or "POST").upper()
        if method not in HTTP_METHODS:
            raise invalid(f"http_method must be one of {', '.join(HTTP_METHODS)}")
        headers = c.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise invalid("headers must be an object of strings")
        if "{{" not in url and "orgconfig:" not in url:
            reason = webhooks.refusal(url)
            if reason:
                raise invalid(f"url is refused: {reason}")
        _number(c, "timeout_seconds", 0.1, 300)
        _number(c, "retries", 0, 10)
    elif spec.kind == "llm":
        if not isinstance(c.get("template"), str) or not c["template"]:
            raise invalid("template is required for an llm action")
        _number(c, "max_tokens", 1, 200000)
        _number(c, "temperature", 0, 2)
    elif spec.kind == "db":
        driver = c.get("driver")
        if driver is not None and str(driver).lower() not in DB_DRIVERS:
            raise invalid(
                f"db driver {driver!r} is not supported: only PostgreSQL (driver 'postgres') "
                "is; MySQL, MongoDB and Neo4j datasources are not available here"
            )
        source = c.get("datasource")
        if not isinstance(source, str) or not context.ORGCONFIG.fullmatch(source):
            raise invalid("datasource must be an orgconfig:db:<key> reference")
        if not isinstance(c.get("query"), str) or not c["query"].strip():
            raise invalid("query is required for a db action")
        if c.get("params") is not None and not isinstance(c["params"], list):
            raise invalid("params must be an array")
    elif spec.kind == "matcher":
        try:
            matcher.spec_from(c)
        except matcher.MatcherError as exc:
            raise invalid(str(exc)) from None
    elif spec.kind == "custom-table":
        op = c.get("operation")
        if op is not None and op not in TABLE_OPERATIONS:
            raise invalid(f"operation must be one of {', '.join(TABLE_OPERATIONS)}")


def _number(c: Mapping[str, Any], name: str, low: float, high: float) -> None:
    value = c.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise invalid(f"{name} must be a number from {low:g} to {high:g}")


def create(org_id: str, spec: ActionSpec) -> Action:
    """Register an action; 409 when the org already has one with that name."""
    _check(spec)
    now = clock.now()
    try:
        with write():
            return Action.create(
                id=f"act-{uuid.uuid4()}",
                org=org_id,
                action_name=spec.action_name,
                kind=spec.kind,
                description=spec.description or "",
                config=spec.config,
                passthrough=spec.passthrough,
                output_key=spec.output_key,
                created_at=now,
                updated_at=now,
            )
    except peewee.IntegrityError:
        raise conflict(f"an action named {spec.action_name!r} already exists") from None


def update(org_id: str, action_id: str, spec: ActionSpec) -> Action:
    """Replace an action's definition (the name may change if it stays unique)."""
    action = get(org_id, action_id)
    _check(spec)
    try:
        with write():
            action.action_name = spec.action_name
            action.kind = spec.kind
            action.description = spec.description or ""
            action.config = spec.config
            action.passthrough = spec.passthrough
            action.output_key = spec.output_key
            action.updated_at = clock.now()
            action.save()
    except peewee.IntegrityError:
        raise conflict(f"an action named {spec.action_name!r} already exists") from None
    return action


def get(org_id: str, ref: str) -> Action:
    """The org's action by id (or by action_name); 404 otherwise."""
    row = Action.get_or_none((Action.org == org_id) & (Action.id == ref))
    if row is None:
        row = Action.get_or_none((Action.org == org_id) & (Action.action_name == ref))
    if row is None:
        raise not_found("action", ref)
    return row


def by_name(org_id: str, name: str) -> Action | None:
    """The org's action called `name`, or None."""
    return Action.get_or_none((Action.org == org_id) & (Action.action_name == name))


def _of(org_id: str, names: Collection[str] | None) -> peewee.ColumnBase:
    where = Action.org == org_id
    return where if names is None else where & Action.action_name.in_(list(names))


def list_actions(
    org_id: str, *, limit: int = 100, offset: int = 0, names: Collection[str] | None = None
) -> list[Action]:
    """The org's actions (only those `names` lists, when given), oldest first."""
    return list(
        Action.select()
        .where(_of(org_id, names))
        .order_by(Action.created_at, Action.id)
        .limit(limit)
        .offset(offset)
    )


def page(
    org_id: str, *, limit: int, offset: int, names: Collection[str] | None = None
) -> tuple[list[Action], int]:
    """One page of the org's actions (of `names`) and how many (no COUNT when the page is
    short)."""
    rows = list_actions(org_id, limit=limit, offset=offset, names=names)
    return rows, paging.total_of(
        lambda: Action.select().where(_of(org_id, names)), rows, limit, offset
    )


def output_keys(org_id: str) -> dict[str, str]:
    """action_name -> its default outputKey, for the org's actions that have one."""
    rows = Action.select(Action.action_name, Action.output_key).where(
        (Action.org == org_id) & Action.output_key.is_null(False)
    )
    return {a.action_name: str(a.output_key) for a in rows}


def names(org_id: str) -> dict[str, str]:
    """action_name -> kind for the org."""
    return {a.action_name: a.kind for a in Action.select().where(Action.org == org_id)}


def to_wire(action: Action) -> dict[str, Any]:
    """The action as the API shows it."""
    config = {k: v for k, v in (action.config or {}).items() if k not in COMMON}
    if action.kind in ("matcher", "custom-table"):
        config = {"properties": config}
    return {
        **config,
        "id": action.id,
        "action_name": action.action_name,
        "kind": action.kind,
        "description": action.description,
        "passthrough": action.passthrough,
        "outputKey": action.output_key,
        "created_at": clock.iso(action.created_at),
        "updated_at": clock.iso(action.updated_at),
    }


def input_schema(action: Action) -> dict[str, Any]:
    """A JSON Schema for the action's input, as an agent tool shows it."""
    config = action.config or {}
    props: dict[str, Any] = {}
    if action.kind == "http":
        text = " ".join(
            [str(config.get("url", "")), *map(str, (config.get("headers") or {}).values())]
        )
        for m in context.TEMPLATE.finditer(text):
            props[context.root_of(m.group(1))] = {"type": "string"}
    elif action.kind == "llm":
        for m in context.TEMPLATE.finditer(str(config.get("template", ""))):
            props[context.root_of(m.group(1))] = {"type": "string"}
    elif action.kind == "db":
        props["params"] = {"type": "array", "items": {}}
    elif action.kind == "custom-table":
        props = {
            "table": {"type": "string"},
            "operation": {"type": "string", "enum": list(TABLE_OPERATIONS)},
            "fields": {"type": "object"},
        }
    elif action.kind == "matcher":
        props = {"left": {"type": "array"}, "right": {"type": "array"}}
    return {"type": "object", "properties": props, "required": []}


# -- execution ------------------------------------------------------------------------------


class _ForwardingScope(Scope):
    """A scope whose secrets are also reported to the step that owns it."""

    def __init__(
        self, data: dict[str, Any], run_id: str, tenant_id: str, forward: Callable[[Any], None]
    ) -> None:
        super().__init__(data, run_id, tenant_id)
        self._forward = forward

    def add_secret(self, value: Any) -> None:
        super().add_secret(value)
        self._forward(value)


@dataclass
class Call:
    """One execution of an action: where it runs and what it may touch."""

    org_id: str
    run_id: str
    properties: dict[str, Any]
    context: Mapping[str, Any]
    idempotency_key: str
    add_secret: Callable[[Any], None]

    def scope(self) -> Scope:
        data = {**dict(self.context), **self.properties}
        return _ForwardingScope(data, self.run_id, self.org_id, self.add_secret)


def execute(action: Action, call: Call) -> Any:
    """Run the action; raises StepFailed with a clear message when it fails."""
    config = dict(action.config or {})
    if action.kind == "http":
        result = _http(action, config, call)
    elif action.kind == "llm":
        result = _llm(config, call)
    elif action.kind == "db":
        result = _db(config, call)
    elif action.kind == "matcher":
        props = {**config, **call.properties}
        try:
            spec = matcher.spec_from(props)
        except matcher.MatcherError as exc:
            raise StepFailed(str(exc), code="invalid_properties") from None
        left, right = props.get("left"), props.get("right")
        if not isinstance(left, list) or not isinstance(right, list):
            raise StepFailed("the matcher needs left and right arrays", code="invalid_properties")
        result = matcher.match(left, right, spec)
    else:
        result = table_operation(call.org_id, {**config, **call.properties}, f"run:{call.run_id}")
    if action.passthrough:
        return {**call.properties, "result": result}
    return result


def _backoff(attempt: int, retry_after: str | None) -> float:
    if retry_after:
        try:
            return min(10.0, max(0.0, float(retry_after)))
        except ValueError:
            pass
    return min(8.0, 0.5 * (2**attempt))


def _http(action: Action, config: dict[str, Any], call: Call) -> Any:
    scope = call.scope()
    url = context.resolve(config["url"], scope)
    method = str(config.get("http_method") or "POST").upper()
    headers = {
        str(k): str(v) for k, v in context.resolve(config.get("headers") or {}, scope).items()
    }
    content_type = str(config.get("content_type") or "application/json")
    body = b""
    if method in ("POST", "PUT", "PATCH"):
        payload = context.resolve(config["body"], scope) if "body" in config else call.properties
        body = (
            payload.encode()
            if isinstance(payload, str)
            else json.dumps(payload, default=str).encode()
        )
        headers.setdefault("Content-Type", content_type)
    headers.setdefault("Idempotency-Key", call.idempotency_key)
    headers.setdefault("User-Agent", "agentyard-hyphen/1")
    policy = webhooks.policy()
    timeout = float(config.get("timeout_seconds") or 30)
    retries = int(config["retries"]) if config.get("retries") is not None else 2
    last_error = ""
    for attempt in range(retries + 1):
        try:
            reply = netguard.request(
                method,
                str(url),
                body=body,
                headers=headers,
                allow_private=policy.allow_private,
                require_https=policy.require_https,
                timeout=timeout,
                max_body=MAX_RESPONSE,
            )
        except netguard.RefusedURLError as exc:
            raise StepFailed(
                f"the http action {action.action_name} may not call {url}: {exc}", code="refused"
            ) from None
        except (OSError, TimeoutError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            if attempt < retries:
                time.sleep(_backoff(attempt, None))
                continue
            raise StepFailed(
                f"the http action {action.action_name} failed: {last_error}", code="http_error"
            ) from None
        except Exception as exc:  # http.client errors
            last_error = f"{type(exc).__name__}: {exc}"
            if attempt < retries:
                time.sleep(_backoff(attempt, None))
                continue
            raise StepFailed(
                f"the http action {action.action_name} failed: {last_error}", code="http_error"
            ) from None
        if (reply.status == 429 or reply.status >= 500) and attempt < retries:
            time.sleep(_backoff(attempt, reply.headers.get("retry-after")))
            continue
        text = reply.body.decode("utf-8", "replace")
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = text
        if reply.status >= 400:
            raise StepFailed(
                f"the http action {action.action_name} answered {reply.status}",
                code="http_status",
                data={"status": reply.status, "body": parsed},
            )
        return parsed
    raise StepFailed(
        f"the http action {action.action_name} failed: {last_error}", code="http_error"
    )


def _llm(config: dict[str, Any], call: Call) -> Any:
    from agentyard.llm import dedicated_provider

    prompt = context.resolve(config["template"], call.scope())
    request = {
        "model": config.get("model") or "claude-sonnet-4-5",
        "max_tokens": int(config.get("max_tokens") or 1024),
        "temperature": float(config["temperature"])
        if config.get("temperature") is not None
        else 0.7,
        "messages": [{"role": "user", "content": str(prompt)}],
    }

    async def ask() -> dict[str, Any]:
        async with dedicated_provider() as provider:
            return await provider.create(request)

    try:
        reply = asyncio.run(ask())
    except Exception as exc:
        raise StepFailed(f"the llm action failed: {exc}", code="llm_error") from None
    text = "".join(b.get("text", "") for b in reply.get("content") or [] if b.get("type") == "text")
    return {"text": text, "model": reply.get("model"), "usage": reply.get("usage")}


_PARAM = re.compile(r"\$(\d+)")


def pg_query(query: str) -> str:
    """A `$1..` query in psycopg2's `%(pN)s` style (literal `%` doubled)."""
    return _PARAM.sub(lambda m: f"%(p{m.group(1)})s", query.replace("%", "%%"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _db(config: dict[str, Any], call: Call) -> Any:
    import psycopg2

    scope = call.scope()
    url = context.resolve(config["datasource"], scope)
    if not isinstance(url, str) or not re.match(r"^postgres(ql)?://", url):
        raise StepFailed(
            "the db datasource must hold a postgresql:// URL: only PostgreSQL is supported",
            code="unsupported_datasource",
        )
    params = context.resolve(config.get("params") or [], scope)
    if call.properties.get("params") is not None:
        params = call.properties["params"]
    if not isinstance(params, list):
        raise StepFailed("params must be an array", code="invalid_properties")
    named = {f"p{i}": v for i, v in enumerate(params, start=1)}
    try:
        conn = psycopg2.connect(url, connect_timeout=10, options="-c statement_timeout=30000")
    except psycopg2.Error as exc:
        raise StepFailed(
            f"cannot connect to the datasource: {str(exc).strip()}", code="db_error"
        ) from None
    try:
        with conn, conn.cursor() as cur:
            cur.execute(pg_query(config["query"]), named)
            if cur.description is None:
                return {"rows": [], "rowcount": cur.rowcount}
            columns = [d.name for d in cur.description]
            rows = [
                {c: _jsonable(v) for c, v in zip(columns, row, strict=True)}
                for row in cur.fetchmany(MAX_ROWS)
            ]
            return {"rows": rows, "rowcount": cur.rowcount}
    except (psycopg2.Error, KeyError) as exc:
        raise StepFailed(f"the query failed: {str(exc).strip()}", code="db_error") from None
    finally:
        conn.close()


def table_operation(org_id: str, props: Mapping[str, Any], actor: str) -> Any:
    """A custom-table read / write / update / upsert (the step's and the action's)."""
    import agentyard.hyphen.tables as tables
    from agentyard.core.errors import ApiError

    table, op = props.get("table"), props.get("operation")
    if not isinstance(table, str) or op not in TABLE_OPERATIONS:
        raise StepFailed(
            f"custom-table needs a table name and an operation ({', '.join(TABLE_OPERATIONS)})",
            code="invalid_properties",
        )
    keys, values = props.get("keys"), props.get("values")
    fields = props.get("fields")
    pairs: dict[str, Any] = {}
    if isinstance(keys, list) and isinstance(values, list):
        pairs = {str(k): v for k, v in zip(keys, values, strict=False)}
    if fields is not None and not isinstance(fields, dict):
        raise StepFailed("fields must be an object", code="invalid_properties")
    try:
        if op == "read":
            where = (
                props.get("where") if isinstance(props.get("where"), dict) else (fields or pairs)
            )
            limit = props.get("limit")
            limit = int(limit) if isinstance(limit, int) and not isinstance(limit, bool) else 100
            return tables.read_rows(org_id, table, dict(where or {}), max(1, min(limit, 1000)))
        if op == "write":
            return tables.insert_row(org_id, table, dict(fields or pairs), actor)
        if op == "update":
            where = props.get("where") if isinstance(props.get("where"), dict) else pairs
            return {
                "updated": tables.update_rows(
                    org_id, table, dict(where or {}), dict(fields or {}), actor
                )
            }
        key_fields = [str(k) for k in keys] if isinstance(keys, list) else []
        row = dict(fields or {})
        if not row and pairs:
            row = pairs
        for k, v in pairs.items():
            row.setdefault(k, v)
        return tables.upsert_row(org_id, table, key_fields, row, actor)
    except ApiError as exc:
        raise StepFailed(exc.message, code=exc.code) from None
