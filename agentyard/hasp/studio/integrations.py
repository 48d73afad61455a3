"""Integrations: an org's connections to external systems (HTTP API, PostgreSQL, SMTP,
Slack-style incoming webhook), each with a validated `config` and a secret kept only in the
vault (never returned: `has_secret` and the last four characters, `secret_hint`).

Kinds, their `config` and what `secret` is:
- `http`: `base_url` (http(s)), `auth_header` (default `Authorization`), `test_path`
  (default `/`); secret: the auth header's value.
- `postgresql`: `host`, `port` (5432), `database`, `user`, `sslmode` (`prefer`); secret: the
  password.
- `smtp`: `host`, `port` (587), `username`, `tls` (`starttls` | `ssl` | `none`); secret: the
  password.
- `slack_webhook`: `channel` (optional label); secret: the incoming-webhook URL.

Reading needs org viewer; creating, changing and deleting org admin; testing org builder.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import peewee

from agentyard.core import clock, ids, netguard, paging
from agentyard.core.errors import not_found
from agentyard.core.store import write
from agentyard.hasp import cursors
from agentyard.hasp.studio import audit, roles
from agentyard.hasp.studio.errors import conflict, invalid
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.policy_models import Integration

KINDS = ("http", "postgresql", "smtp", "slack_webhook")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")


def _text(config: dict[str, Any], key: str, *, default: str | None = None, limit: int = 255) -> str:
    value = config.get(key, default)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise invalid(f"config.{key} must be a string of 1..{limit} characters", f"config.{key}")
    return value


def _port(config: dict[str, Any], default: int) -> int:
    value = config.get("port", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise invalid("config.port must be an integer 1..65535", "config.port")
    return value


def _host(config: dict[str, Any]) -> str:
    host = _text(config, "host", limit=253)
    if not _HOST.match(host):
        raise invalid(f"config.host {host!r} is not a host name or address", "config.host")
    return host


def _url(value: str, param: str) -> str:
    try:
        netguard.check_url(value, allow_private=True, require_https=False, resolve=False)
    except netguard.RefusedURLError as exc:
        raise invalid(f"{param}: {exc}", param) from None
    return value


def _no_extra(config: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(config) - set(allowed))
    if extra:
        raise invalid(
            f"Unknown config keys {', '.join(extra)} (allowed: {', '.join(allowed)})", "config"
        )


def _http(config: dict[str, Any]) -> dict[str, Any]:
    _no_extra(config, ("base_url", "auth_header", "test_path"))
    header = _text(config, "auth_header", default="Authorization", limit=100)
    if not _HEADER.match(header):
        raise invalid("config.auth_header must be an HTTP header name", "config.auth_header")
    path = _text(config, "test_path", default="/", limit=1024)
    if not path.startswith("/"):
        raise invalid("config.test_path must start with /", "config.test_path")
    return {
        "base_url": _url(_text(config, "base_url", limit=2048), "config.base_url").rstrip("/"),
        "auth_header": header,
        "test_path": path,
    }


def _postgresql(config: dict[str, Any]) -> dict[str, Any]:
    _no_extra(config, ("host", "port", "database", "user", "sslmode"))
    sslmode = _text(config, "sslmode", default="prefer", limit=20)
    if sslmode not in ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"):
        raise invalid("config.sslmode is not a libpq sslmode", "config.sslmode")
    return {
        "host": _host(config),
        "port": _port(config, 5432),
        "database": _text(config, "database", limit=63),
        "user": _text(config, "user", limit=63),
        "sslmode": sslmode,
    }


def _smtp(config: dict[str, Any]) -> dict[str, Any]:
    _no_extra(config, ("host", "port", "username", "tls"))
    tls = _text(config, "tls", default="starttls", limit=10)
    if tls not in ("starttls", "ssl", "none"):
        raise invalid("config.tls is one of starttls, ssl, none", "config.tls")
    username = config.get("username")
    if username is not None:
        username = _text(config, "username", limit=320)
    return {
        "host": _host(config),
        "port": _port(config, 465 if tls == "ssl" else 587),
        "username": username,
        "tls": tls,
    }


def _slack(config: dict[str, Any]) -> dict[str, Any]:
    _no_extra(config, ("channel",))
    channel = config.get("channel")
    return {"channel": _text(config, "channel", limit=100) if channel is not None else None}


VALIDATORS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "http": _http,
    "postgresql": _postgresql,
    "smtp": _smtp,
    "slack_webhook": _slack,
}


def _check_secret(kind: str, secret: str | None) -> None:
    if kind == "slack_webhook":
        if not secret:
            raise invalid("A slack_webhook integration needs its webhook URL as secret", "secret")
        _url(secret, "secret")


def view(row: Integration) -> dict[str, Any]:
    """The integration as served: never the secret."""
    return {
        "id": row.id,
        "org_id": row.tenant_id,
        "name": row.name,
        "kind": row.kind,
        "config": row.config or {},
        "has_secret": row.secret_hint is not None,
        "secret_hint": f"…{row.secret_hint}" if row.secret_hint else None,
        "last_test": row.last_test,
        "created_at": clock.iso(row.created_at),
        "updated_at": clock.iso(row.updated_at),
    }


def _hint(secret: str | None) -> str | None:
    return None if secret is None else secret[-4:] if len(secret) >= 12 else ""


def find(member: Member, integration_id: str) -> Integration:
    """The org's integration `integration_id` (another org's → 404)."""
    row = Integration.get_or_none(
        (Integration.id == integration_id) & (Integration.tenant == member.org_id)
    )
    if row is None:
        raise not_found("integration", integration_id)
    return row


def _name_taken(name: str) -> Exception:
    return conflict(f"An integration named {name!r} exists in this organization")


def create(
    member: Member, org_id: str, name: str, kind: str, config: dict[str, Any], secret: str | None
) -> Integration:
    roles.require_org(member, org_id, "admin")
    clean = VALIDATORS[kind](config)
    _check_secret(kind, secret)
    now = clock.now()
    try:
        with write():
            row = Integration.create(
                id=ids.new_id("int"),
                tenant=member.org_id,
                name=name.strip(),
                kind=kind,
                config=clean,
                secret=secret,
                secret_hint=_hint(secret),
                created_by=member.user_id,
                created_at=now,
                updated_at=now,
            )
            audit.record(member, "integration.created", "integration", row.id, after=view(row))
    except peewee.IntegrityError as exc:
        raise _name_taken(name) from exc
    return row


def list_page(
    member: Member, org_id: str, cursor: str | None, limit: int
) -> tuple[list[Integration], str | None, bool]:
    roles.require_org(member, org_id, "viewer")
    query = Integration.select().where(Integration.tenant == member.org_id)
    rows, after, more = paging.newest_first(
        query, Integration.created_at, Integration.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def get(member: Member, org_id: str, integration_id: str) -> Integration:
    roles.require_org(member, org_id, "viewer")
    return find(member, integration_id)


def update(
    member: Member, org_id: str, integration_id: str, changes: dict[str, Any]
) -> Integration:
    """Rename, replace the config (validated as a whole), or replace the secret (`secret`
    null removes it)."""
    roles.require_org(member, org_id, "admin")
    row = find(member, integration_id)
    clean = VALIDATORS[row.kind](changes["config"]) if changes.get("config") is not None else None
    if "secret" in changes:
        _check_secret(row.kind, changes["secret"])
    before = view(row)
    try:
        with write():
            if changes.get("name") is not None:
                row.name = changes["name"].strip()
            if clean is not None:
                row.config = clean
            if "secret" in changes:
                row.secret = changes["secret"]
                row.secret_hint = _hint(changes["secret"])
            row.updated_at = clock.now()
            row.save()
            audit.record(
                member, "integration.updated", "integration", row.id,
                before=before, after=view(row), secret_changed="secret" in changes,
            )  # fmt: skip
    except peewee.IntegrityError as exc:
        raise _name_taken(str(changes.get("name"))) from exc
    return row


def delete(member: Member, org_id: str, integration_id: str) -> Integration:
    roles.require_org(member, org_id, "admin")
    row = find(member, integration_id)
    with write():
        before = view(row)
        row.delete_instance()
        audit.record(member, "integration.deleted", "integration", row.id, before=before)
    return row


def search_rows(member: Member) -> list[Integration]:
    """Every integration of the member's org (for the palette; org viewer sees them all)."""
    return list(Integration.select().where(Integration.tenant == member.org_id))
