"""Org integrations behind the workflows' `integration_call` step (`integration_port`),
connected at import.

`integration` is the id (or the name) of an integration of the run's org (another org's →
`LookupError`, as an unknown one). Each kind has one operation; anything else, a bad `input`
or a failed call → `CallError` (a `RuntimeError`: the step fails `integration_error` with the
message). Every target goes through the SSRF guard of `integration_checks`, with its deadline.

- `http`, operation `request`: input `{method (GET|POST|PUT|PATCH|DELETE|HEAD, default GET),
  path (from /, default /), query ({name: value or [values]}), json (a body sent as JSON)}`
  sent to `base_url + path` with the integration's auth header (its secret) and
  `Idempotency-Key: <the step's key, the same on every attempt>`; output `{status, headers
  (content-type, etag, location, retry-after, x-request-id when present), json | text,
  truncated}` (bodies over 1 MB are cut and given as text). A non-2xx answer fails the step
  naming the status.
- `slack_webhook`, operation `post`: input the message (`text` and/or `blocks`, other keys as
  given) POSTed as JSON to the webhook URL (the secret); output `{status, text}`.
- `postgresql`, operation `query`: input `{sql, params ([values] for `%s`, or {name: value}
  for `%(name)s`), max_rows (1..1000, default 100)}`: ONE statement (a second one is
  refused), run in a read-only transaction (sessions default to read-only too) with a
  statement timeout; output `{columns, rows ([{column: value}]), row_count, truncated}`.
- `smtp`, operation `send`: input `{to (address or list), subject, body (text), from
  (default the username), cc, reply_to}`; the message's `Message-ID` derives from the step's
  key; output `{message_id, accepted, refused}`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import email.message
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from agentyard.core import netguard
from agentyard.hasp.studio import integration_checks, integration_port
from agentyard.hasp.studio.policy_models import Integration

OPERATIONS = {"http": "request", "slack_webhook": "post", "postgresql": "query", "smtp": "send"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
KEPT_HEADERS = ("content-type", "etag", "location", "retry-after", "x-request-id")
CALL_TIMEOUT_SECONDS = 30.0
MAX_BODY = 1_000_000
MAX_ROWS = 1000
STATEMENT_TIMEOUT_MS = 15_000
USER_AGENT = "HASP-Studio-Workflow/1.0"

# What PostgreSQL reads as one token that may hold a `;`: strings (E'' with backslash
# escapes, dollar-quoted), quoted identifiers, comments. A `;` outside them separates statements.
_SQL_TOKENS = re.compile(
    r"(?<![A-Za-z0-9_$])[Ee]'(?:[^'\\]|\\.|'')*'"
    r"|'(?:[^']|'')*'"
    r'|"(?:[^"]|"")*"'
    r"|--[^\n]*"
    r"|/\*.*?\*/"
    r"|(?<![A-Za-z0-9_$])\$([A-Za-z_][A-Za-z0-9_]*)?\$.*?\$\1\$"
    r"|;",
    re.S,
)


class CallError(RuntimeError):
    """The call could not be made or the system refused it (the step's message)."""


def _operations() -> str:
    return "; ".join(f"{kind}: {op}" for kind, op in OPERATIONS.items())


def _find(org_id: str, ref: str) -> Integration:
    row = Integration.get_or_none(
        (Integration.tenant == org_id) & ((Integration.id == ref) | (Integration.name == ref))
    )
    if row is None:
        raise LookupError(f"no integration {ref!r} in this organization")
    return row


def _text(input: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = input.get(key, default)
    if not isinstance(value, str) or not value:
        raise CallError(f"input.{key} must be a non-empty string")
    return value


def _json_body(reply: netguard.Reply) -> dict[str, Any]:
    truncated = len(reply.body) >= MAX_BODY
    text = reply.body.decode("utf-8", "replace")
    if not truncated and "json" in reply.headers.get("content-type", ""):
        try:
            return {"json": json.loads(text), "truncated": False}
        except ValueError:
            pass
    return {"text": text, "truncated": truncated}


def _send(method: str, url: str, body: bytes, headers: dict[str, str]) -> netguard.Reply:
    allow, https = integration_checks.guard()
    try:
        return netguard.request(
            method, url, body=body, headers=headers, allow_private=allow, require_https=https,
            timeout=CALL_TIMEOUT_SECONDS, max_body=MAX_BODY,
        )  # fmt: skip
    except Exception as exc:  # the guard's refusal or the network's failure is the message
        raise CallError(integration_checks.describe_error(exc)) from None


def _http(row: Integration, input: Mapping[str, Any], key: str) -> dict[str, Any]:
    method = str(input.get("method") or "GET").upper()
    if method not in METHODS:
        raise CallError(f"input.method must be one of {', '.join(METHODS)}")
    path = _text(input, "path", "/")
    if not path.startswith("/") or any(c in path for c in "\r\n\t #"):
        raise CallError("input.path must start with / and hold no spaces, controls or #")
    query = input.get("query") or {}
    if not isinstance(query, Mapping):
        raise CallError("input.query must be an object")
    url = row.config["base_url"] + path
    if query:
        url += ("&" if "?" in path else "?") + urlencode(
            {k: v if isinstance(v, list) else [v] for k, v in query.items()}, doseq=True
        )
    headers = {"User-Agent": USER_AGENT, "Idempotency-Key": key, "Accept": "application/json"}
    if row.secret:
        headers[row.config["auth_header"]] = row.secret
    body = b""
    if "json" in input:
        body = json.dumps(input["json"]).encode()
        headers["Content-Type"] = "application/json"
    reply = _send(method, url, body, headers)
    if not 200 <= reply.status < 300:
        raise CallError(f"HTTP {reply.status} from {method} {path}")
    kept = {k: reply.headers[k] for k in KEPT_HEADERS if k in reply.headers}
    return {"status": reply.status, "headers": kept, **_json_body(reply)}


def _slack(row: Integration, input: Mapping[str, Any], key: str) -> dict[str, Any]:
    if not input.get("text") and not input.get("blocks"):
        raise CallError("input needs text or blocks (the message)")
    headers = {"User-Agent": USER_AGENT, "Idempotency-Key": key,
               "Content-Type": "application/json"}  # fmt: skip
    reply = _send("POST", str(row.secret), json.dumps(dict(input)).encode(), headers)
    if not 200 <= reply.status < 300:
        raise CallError(f"HTTP {reply.status} from the webhook")
    return {"status": reply.status, "text": reply.body.decode("utf-8", "replace")}


def one_statement(sql: str) -> str:
    """`sql` without trailing `;`; CallError when it holds more than one statement."""
    body = sql.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    if not body:
        raise CallError("input.sql is empty")
    if any(m.group(0) == ";" for m in _SQL_TOKENS.finditer(body)):
        raise CallError("input.sql must be one statement (no ; between statements)")
    return body


def _plain(value: Any) -> Any:
    """A database value as JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def _postgresql(row: Integration, input: Mapping[str, Any], key: str) -> dict[str, Any]:
    import psycopg2

    sql = one_statement(_text(input, "sql"))
    params = input.get("params")
    if params is not None and not isinstance(params, (list, Mapping)):
        raise CallError("input.params must be a list (for %s) or an object (for %(name)s)")
    limit = input.get("max_rows", 100)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ROWS:
        raise CallError(f"input.max_rows must be an integer from 1 to {MAX_ROWS}")
    options = f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    try:
        conn = integration_checks.pg_connect(row, row.secret, options=options)
    except Exception as exc:
        raise CallError(integration_checks.describe_error(exc)) from None
    try:
        conn.set_session(readonly=True)
        args = params if params is None or isinstance(params, list) else dict(params)
        with conn.cursor() as cur:
            cur.execute(sql, args)
            if cur.description is None:
                return {"columns": [], "rows": [], "row_count": 0, "truncated": False}
            columns = [c.name for c in cur.description]
            fetched = cur.fetchmany(limit + 1)
        rows = [dict(zip(columns, (_plain(v) for v in r), strict=True)) for r in fetched[:limit]]
        return {"columns": columns, "rows": rows, "row_count": len(rows),
                "truncated": len(fetched) > limit}  # fmt: skip
    except (psycopg2.Error, TypeError, ValueError, IndexError, KeyError) as exc:
        raise CallError(integration_checks.describe_error(exc)) from None
    finally:
        with contextlib.suppress(psycopg2.Error):
            conn.rollback()
        conn.close()


def _addresses(input: Mapping[str, Any], key: str, required: bool) -> list[str]:
    value = input.get(key)
    if value is None and not required:
        return []
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(
            isinstance(a, str) and "@" in a and not any(c in a for c in "\r\n,") for a in items
        )
    ):
        raise CallError(f"input.{key} must be an email address or a list of them")
    return items


def _smtp(row: Integration, input: Mapping[str, Any], key: str) -> dict[str, Any]:
    import smtplib

    to = _addresses(input, "to", True)
    cc = _addresses(input, "cc", False)
    sender = input.get("from") or row.config.get("username")
    if not sender or "@" not in str(sender):
        raise CallError("input.from must be an email address (the integration has no username)")
    message = email.message.EmailMessage()
    message["From"] = _addresses({"from": sender}, "from", True)[0]
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if input.get("reply_to"):
        message["Reply-To"] = _addresses(input, "reply_to", True)[0]
    subject = _text(input, "subject")
    if any(c in subject for c in "\r\n"):
        raise CallError("input.subject must be one line")
    message["Subject"] = subject
    message_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@hasp-studio>"
    message["Message-ID"] = message_id
    body = input.get("body")
    if not isinstance(body, str):
        raise CallError("input.body must be a string")
    message.set_content(body)
    try:
        with integration_checks.smtp_session(row, row.secret) as client:
            refused = client.send_message(message, to_addrs=to + cc)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        raise CallError(integration_checks.describe_error(exc)) from None
    return {
        "message_id": message_id,
        "accepted": [a for a in to + cc if a not in refused],
        "refused": {a: f"{code} {reply.decode(errors='replace')}"
                    for a, (code, reply) in refused.items()},
    }  # fmt: skip


CALLS: dict[str, Callable[[Integration, Mapping[str, Any], str], dict[str, Any]]] = {
    "http": _http,
    "slack_webhook": _slack,
    "postgresql": _postgresql,
    "smtp": _smtp,
}


class IntegrationCalls:
    """`integration_port.IntegrationPort` over the org's integrations."""

    def call(
        self,
        org_id: str,
        integration_id: str,
        operation: str,
        input: Mapping[str, Any],
        idempotency_key: str,
    ) -> dict[str, Any]:
        row = _find(org_id, integration_id)
        if operation != OPERATIONS[row.kind]:
            raise CallError(
                f"a {row.kind} integration has no operation {operation!r} "
                f"(operations per kind: {_operations()})"
            )
        if not isinstance(input, Mapping):
            raise CallError("input must be an object")
        return CALLS[row.kind](row, input, idempotency_key)


ADAPTER = IntegrationCalls()
integration_port.connect(ADAPTER)
