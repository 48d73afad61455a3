"""`POST /integrations/{id}/test`: really connect to the integration's system and report
`{ok, latency_ms}` or `{ok: false, error}`.

Every target goes through the SSRF guard first (`core.netguard`): URLs are requested through
it (pinned to the approved addresses, no redirects, a deadline), and the PostgreSQL and SMTP
hosts are resolved and checked by it, then connected to at the approved address. Non-public
addresses are refused unless `AGENTYARD_WEBHOOK_ALLOW_PRIVATE` names them, as for webhook
deliveries. What each kind does: `http` GET `base_url + test_path` with the auth header (ok:
a 2xx/3xx answer); `postgresql` `SELECT 1`; `smtp` EHLO, STARTTLS or SSL as configured, LOGIN
when a username is set, NOOP; `slack_webhook` POST a test message (ok: 2xx).

The guarded connections (`guard`, `pg_connect`, `smtp_session`) are shared with the workflow
steps' integration calls (`integration_calls`).
"""

from __future__ import annotations

import contextlib
import json
import smtplib
import ssl
import time
from collections.abc import Iterator
from typing import Any

import psycopg2

from agentyard.core import clock, netguard, runtime
from agentyard.core.store import write
from agentyard.hasp.studio import audit, roles
from agentyard.hasp.studio.integrations import find
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.policy_models import Integration

TIMEOUT_SECONDS = 10.0


class CheckFailedError(Exception):
    """The system answered, but not as a working integration would."""


def guard() -> tuple[str, bool]:
    """The SSRF guard's settings: (allowed private targets, whether https is required)."""
    settings = runtime.settings()
    return settings.webhook_allow_private, settings.webhook_require_https


def _address(host: str, port: int) -> str:
    """The host's first address once the SSRF guard approved every one."""
    allow, _ = guard()
    literal = f"[{host}]" if ":" in host and not host.startswith("[") else host
    target = netguard.check_url(f"http://{literal}:{port}/", allow, require_https=False)
    return target.addresses[0]


def _http(row: Integration, secret: str | None) -> None:
    allow, https = guard()
    config = row.config
    headers = {"User-Agent": "HASP-Studio-Integration-Test/1.0"}
    if secret:
        headers[config["auth_header"]] = secret
    reply = netguard.request(
        "GET", config["base_url"] + config["test_path"], headers=headers,
        allow_private=allow, require_https=https, timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    if reply.status >= 400:
        raise CheckFailedError(
            f"HTTP {reply.status} from {config['base_url']}{config['test_path']}"
        )


def _slack(row: Integration, secret: str | None) -> None:
    allow, https = guard()
    body = json.dumps({"text": f"HASP Studio test of integration {row.name}"}).encode()
    reply = netguard.request(
        "POST", str(secret), body=body, headers={"Content-Type": "application/json"},
        allow_private=allow, require_https=https, timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    if not 200 <= reply.status < 300:
        raise CheckFailedError(f"HTTP {reply.status} from the webhook")


def pg_connect(row: Integration, secret: str | None, **options: Any) -> Any:
    """A psycopg2 connection to the integration's database at the address the SSRF guard
    approved (`options`: more connection parameters, e.g. `options="-c ..."`)."""
    config = row.config
    address = _address(config["host"], config["port"])
    return psycopg2.connect(
        host=config["host"], hostaddr=address, port=config["port"], dbname=config["database"],
        user=config["user"], password=secret or "", sslmode=config["sslmode"],
        connect_timeout=int(TIMEOUT_SECONDS), **options,
    )  # fmt: skip


def _postgresql(row: Integration, secret: str | None) -> None:
    conn = pg_connect(row, secret)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            if cur.fetchone() != (1,):
                raise CheckFailedError("SELECT 1 did not answer 1")
    finally:
        conn.close()


@contextlib.contextmanager
def smtp_session(row: Integration, secret: str | None) -> Iterator[smtplib.SMTP]:
    """An SMTP client of the integration's server (at the address the SSRF guard approved),
    greeted, secured and logged in as configured; QUIT afterwards."""
    config = row.config
    address = _address(config["host"], config["port"])
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if config["tls"] == "ssl":
        client = smtplib.SMTP_SSL(address, config["port"], timeout=TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(address, config["port"], timeout=TIMEOUT_SECONDS)
    try:
        client.ehlo()
        if config["tls"] == "starttls":
            # The certificate names the host, not the address connected to.
            client._host = config["host"]  # type: ignore[attr-defined]
            client.starttls(context=context)
            client.ehlo()
        if config.get("username"):
            client.login(config["username"], secret or "")
        yield client
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _smtp(row: Integration, secret: str | None) -> None:
    with smtp_session(row, secret) as client:
        code, _ = client.noop()
        if code != 250:
            raise CheckFailedError(f"NOOP answered {code}")


CHECKS = {"http": _http, "postgresql": _postgresql, "smtp": _smtp, "slack_webhook": _slack}


def describe_error(exc: BaseException) -> str:
    """A failure of the remote system (or of the guard) in one line."""
    if isinstance(exc, netguard.RefusedURLError):
        return f"refused by the SSRF guard: {exc}"
    if isinstance(exc, TimeoutError):
        return f"timed out: {exc}"
    if isinstance(exc, psycopg2.Error):
        first = str(exc).strip().splitlines()
        return f"postgresql: {first[0] if first else type(exc).__name__}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"smtp: authentication failed ({exc.smtp_code})"
    return f"{type(exc).__name__}: {exc}"[:500]


def run(member: Member, integration_id: str) -> dict[str, Any]:
    """Test the member's org's integration (org builder); the outcome is also kept on it
    (`last_test`) and audited."""
    roles.require(member, "builder")
    row = find(member, integration_id)
    started = time.monotonic()
    try:
        CHECKS[row.kind](row, row.secret)
        outcome: dict[str, Any] = {
            "ok": True,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
            "error": None,
        }
    except Exception as exc:  # any failure of the remote system is the test's answer
        outcome = {"ok": False, "latency_ms": None, "error": describe_error(exc)}
    with write():
        row.last_test = {**outcome, "at": clock.iso(clock.now())}
        Integration.update(last_test=row.last_test).where(Integration.id == row.id).execute()
        audit.record(member, "integration.tested", "integration", row.id, after=outcome)
    return outcome
