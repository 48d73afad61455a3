"""Outbound webhook delivery: products own their endpoint tables, core owns deliveries.

`enqueue()` records a delivery (the exact JSON body it will send) and queues attempt 1 as a
background job. Each attempt POSTs the body signed with the product's signature schemes (by
default; see below for unsigned deliveries and other methods), records an `Attempt` row, and
on failure queues the next one per the delivery's retry schedule (by default: immediately,
then +10 s, +60 s, +5 min, +30 min, +2 h; six attempts). Success is any 2xx within the
timeout (10 s); a redirect is a failure (never followed); every attempt re-runs the SSRF guard.
A delivery enqueued with `retry_statuses` (e.g. 408, 429 and 5xx) stops at the first answer
outside them (a 404 is final); network errors and timeouts are retried either way.

Products. `register_product(product, user_agent=..., schemes={name: scheme})` names the
`User-Agent` and the signature schemes of a product's deliveries (all of them by default;
`enqueue(signing=...)` picks a subset, in the registered order). A `Scheme` is a function
`(secrets, body, msg_id, timestamp) -> headers`; core provides `STANDARD` (Standard Webhooks),
and products add their own (HASP's `X-Hasp-Signature-256` lives in `agentyard.hasp`). A product
that registers nothing gets the policy's `User-Agent` and `{"standard": STANDARD}`.

Secrets are never stored here. A product registers a resolver,
`register_secret_resolver("hasp", fn)`, and each attempt asks `fn(tenant_id, endpoint_ref)`
for the endpoint's current secret: `None` means the endpoint is gone, and the delivery fails
with no further attempts. A list of secrets (current first) covers a rotation grace period.
A resolver may instead answer an `Endpoint`: its secrets plus extra headers the endpoint's
owner configured (e.g. `Authorization`), sent with every attempt but never stored here.

Unsigned deliveries (`signing=()`, or a product registered with no schemes, for endpoints
without a secret) carry `webhook-id` and `webhook-timestamp` but no signature. `method` is
POST by default; GET and DELETE send no body (the payload is still recorded), so the receiver's
inputs go in the URL's query, and they cannot be signed. `register_success_callback(product,
fn)` lets a product count successful deliveries: `fn(delivery, delivered_at)` runs once per
delivered delivery, in the transaction that records the success (inside a savepoint: if it
fails, it is logged and the success stands).

Endpoint secrets are `whsec_<base64 of 32 random bytes>` (`new_secret()`). Standard Webhooks
(`webhook-id`, `webhook-timestamp`, `webhook-signature`): HMAC-SHA256 keyed with the
base64-decoded part after `whsec_`, over `"{webhook-id}.{webhook-timestamp}.{body}"`, sent as
`v1,<base64>` (one per secret, space separated); `standardwebhooks.Webhook(secret)
.verify(body, headers)`. A secret without the `whsec_` prefix is used as UTF-8 bytes, so
verify with `Webhook(secret.encode())`.

`webhook-id` carries the delivery id (a ULID), the same on every attempt: receivers use it
for idempotency. `webhook-timestamp` is the attempt's send time.

Robustness: an attempt is claimed by a conditional update (`attempts = n - 1`), so a task that
runs twice sends once. While an attempt is in flight `next_attempt_at` holds its lease
deadline; `recover()` (run every 5 minutes by the consumer) re-queues deliveries whose lease or
due time passed long ago - a lost job or a worker that died mid-attempt.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import logging
import re
import secrets as _secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import peewee
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from ulid import ULID

from agentyard.core import clock, jobs, netguard
from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, connection, db, write

log = logging.getLogger("agentyard.webhooks")

SCHEDULE: tuple[float, ...] = (0, 10, 60, 300, 1800, 7200)
TIMEOUT = 10.0
USER_AGENT = "Agentyard-Webhook/1.0"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODYLESS = frozenset({"GET", "DELETE"})
# Headers an endpoint's extra headers may not set: framing, and the delivery's own headers.
PROTECTED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection"}
)
PROTECTED_PREFIXES = ("webhook-",)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
SNIPPET_BYTES = 1024
LEASE_MARGIN = 30.0
RECOVER_GRACE = 300.0
MAX_LIST = 1000

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"

SecretResolver = Callable[[str, str], "str | Sequence[str] | Endpoint | None"]
SuccessCallback = Callable[["Delivery", dt.datetime], None]
# A signature scheme: (secrets, current first; body; delivery id; unix timestamp) -> headers.
Scheme = Callable[[Sequence[str], bytes, str, int], Mapping[str, str]]


class Delivery(BaseModel):
    """One event sent to one endpoint; its body is stored exactly as sent."""

    id = peewee.CharField(primary_key=True, max_length=32)
    tenant = peewee.ForeignKeyField(Tenant, backref="webhook_deliveries", on_delete="CASCADE")
    tenant_id: str  # peewee's id accessor, declared for type checkers
    product = peewee.CharField(max_length=32)
    endpoint_ref = peewee.CharField(max_length=128)
    url = peewee.TextField()
    event = peewee.CharField(max_length=128)
    payload = peewee.TextField()
    status = peewee.CharField(max_length=16, default=PENDING)
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField()
    last_status_code = peewee.IntegerField(null=True)
    last_error = peewee.TextField(null=True)
    options = peewee.TextField()

    class Meta:
        table_name = "core_webhook_delivery"
        indexes = (
            (("tenant", "endpoint_ref", "created_at"), False),
            (("status", "next_attempt_at"), False),
        )

    @property
    def body(self) -> bytes:
        """The raw request body."""
        return self.payload.encode("utf-8")

    @property
    def settings(self) -> DeliveryOptions:
        """How this delivery is sent (fixed when it was enqueued)."""
        return DeliveryOptions.from_json(self.options)


class Attempt(BaseModel):
    """One HTTP attempt of a delivery; `duration_ms` is null while it is in flight."""

    id = peewee.AutoField()
    delivery = peewee.ForeignKeyField(Delivery, backref="attempt_rows", on_delete="CASCADE")
    number = peewee.IntegerField()
    started_at = peewee.DateTimeField()
    duration_ms = peewee.IntegerField(null=True)
    status_code = peewee.IntegerField(null=True)
    error = peewee.TextField(null=True)
    response_snippet = peewee.TextField(null=True)

    class Meta:
        table_name = "core_webhook_attempt"
        indexes = ((("delivery", "number"), True),)


register(
    "webhooks",
    [Migration(1, "webhook deliveries and attempts", create_tables(Delivery, Attempt))],
)


@dataclass(frozen=True)
class DeliveryOptions:
    """Per-delivery sending rules, stored with the delivery as JSON."""

    schedule: tuple[float, ...] = SCHEDULE
    timeout: float = TIMEOUT
    user_agent: str = USER_AGENT
    signing: tuple[str, ...] = ("standard",)
    allow_private: netguard.AllowList = field(default_factory=netguard.AllowList)
    require_https: bool = True
    method: str = "POST"
    # Answers worth retrying: None retries every failure (the default); otherwise a failed
    # attempt that got an HTTP status not listed here is final (network errors always retry).
    retry_statuses: tuple[int, ...] | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "schedule": list(self.schedule),
                "timeout": self.timeout,
                "user_agent": self.user_agent,
                "signing": list(self.signing),
                "allow_private": self.allow_private.to_list(),
                "require_https": self.require_https,
                "method": self.method,
                "retry_statuses": (
                    None if self.retry_statuses is None else list(self.retry_statuses)
                ),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DeliveryOptions:
        raw = json.loads(text)
        return cls(
            schedule=tuple(float(x) for x in raw["schedule"]),
            timeout=float(raw["timeout"]),
            user_agent=str(raw["user_agent"]),
            signing=tuple(raw["signing"]),
            allow_private=netguard.AllowList.parse(raw["allow_private"]),
            require_https=bool(raw["require_https"]),
            method=str(raw.get("method", "POST")),
            retry_statuses=(
                None
                if raw.get("retry_statuses") is None
                else tuple(int(x) for x in raw["retry_statuses"])
            ),
        )


@dataclass(frozen=True)
class Endpoint:
    """What a secret resolver may answer instead of bare secrets: the endpoint's current
    secrets (current first; none for unsigned deliveries) and extra headers for every attempt
    (names that would override the delivery's own headers are dropped, see `extra_headers`)."""

    secrets: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """Process-wide defaults for new deliveries (see `configure()`)."""

    allow_private: netguard.AllowList = field(default_factory=netguard.AllowList)
    require_https: bool = True
    schedule: tuple[float, ...] = SCHEDULE
    timeout: float = TIMEOUT
    user_agent: str = USER_AGENT


_policy = Policy()
_resolvers: dict[str, SecretResolver] = {}
_success_callbacks: dict[str, SuccessCallback] = {}


def configure(
    *,
    allow_private: bool | str | Iterable[str] | netguard.AllowList | None = False,
    require_https: bool = True,
    schedule: Sequence[float] = SCHEDULE,
    timeout: float = TIMEOUT,
    user_agent: str = USER_AGENT,
) -> Policy:
    """Set the defaults `enqueue()` uses (from settings); returns the new policy.

    `allow_private`: non-public targets allowed (`True`, or hosts/CIDRs such as
    `"127.0.0.1/32,::1/128"`); `require_https=False` also admits plain http URLs;
    `user_agent` is for products that registered none (`register_product()`).
    """
    global _policy
    _policy = Policy(
        allow_private=netguard.AllowList.parse(allow_private),
        require_https=require_https,
        schedule=_check_schedule(schedule),
        timeout=_check_timeout(timeout),
        user_agent=user_agent,
    )
    return _policy


def policy() -> Policy:
    """The current defaults."""
    return _policy


def refusal(url: str) -> str | None:
    """Why deliveries could never reach `url` under the current policy (None when they may).

    Products check endpoint URLs with it at registration; a host that does not resolve from
    here now passes, since each attempt resolves and checks again.
    """
    try:
        netguard.check_url(url, _policy.allow_private, require_https=_policy.require_https)
    except netguard.UnresolvableHostError:
        return None
    except netguard.RefusedURLError as exc:
        return str(exc)
    return None


def register_secret_resolver(product: str, resolver: SecretResolver) -> None:
    """Let attempts for `product`'s deliveries look up an endpoint's secret.

    `resolver(tenant_id, endpoint_ref)` runs in the job with a store connection and returns the
    secret, a list of secrets (current first, e.g. during a rotation grace period), or `None`
    when the endpoint no longer exists.
    """
    _resolvers[product] = resolver


def register_success_callback(product: str, callback: SuccessCallback) -> None:
    """Call `callback(delivery, delivered_at)` once for each of `product`'s deliveries that
    succeeds, in the transaction recording the success (in a savepoint; errors are logged)."""
    _success_callbacks[product] = callback


# --- signatures ---------------------------------------------------------------------------


def new_secret() -> str:
    """A new endpoint secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")


def standard_key(secret: str) -> str | bytes:
    """What `standardwebhooks.Webhook()` takes for this secret: `whsec_...` as is (it decodes
    the base64), any other string as its UTF-8 bytes."""
    return secret if secret.startswith("whsec_") else secret.encode("utf-8")


def standard_headers(
    secrets: str | Sequence[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers for `body`: one `v1,` signature per secret."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    ts = int(time.time()) if timestamp is None else int(timestamp)
    when = dt.datetime.fromtimestamp(ts, dt.UTC)
    text = body.decode("utf-8")
    signature = " ".join(Webhook(standard_key(k)).sign(msg_id, when, text) for k in keys)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def verify_standard_signature(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether Standard Webhooks headers sign `body` with `secret` (5-minute tolerance)."""
    try:
        Webhook(standard_key(secret)).verify(body, dict(headers), json_parse=False)
    except (WebhookVerificationError, ValueError):
        return False
    return True


def _standard(secrets: Sequence[str], body: bytes, msg_id: str, timestamp: int) -> dict[str, str]:
    return standard_headers(secrets, msg_id, body, timestamp)


STANDARD: Scheme = _standard
"""The Standard Webhooks scheme (core's; every product may list it)."""


@dataclass(frozen=True)
class Product:
    """How a product's deliveries are sent: its `User-Agent` (None: the policy's) and its
    signature schemes by name, in the order their headers are added."""

    user_agent: str | None = None
    schemes: Mapping[str, Scheme] = field(default_factory=lambda: {"standard": STANDARD})


_products: dict[str, Product] = {}


def register_product(
    product: str, *, user_agent: str | None = None, schemes: Mapping[str, Scheme] | None = None
) -> Product:
    """Name the `User-Agent` and the signature schemes (`{name: scheme}`, in header order;
    `{}` for unsigned deliveries) of `product`'s deliveries. Deliveries record the names, so a
    name keeps its meaning; registering a product again replaces its entry."""
    found = Product(user_agent, dict({"standard": STANDARD} if schemes is None else schemes))
    _products[product] = found
    return found


def product_of(product: str | None) -> Product:
    """`product`'s registration (a product that registered nothing gets the defaults)."""
    return _products.get(product, Product()) if product else Product()


def _schemes(product: str | None, signing: Iterable[str]) -> list[tuple[str, Scheme]]:
    """The product's schemes named in `signing`, in its registered order; `LookupError` for a
    name the product does not know."""
    known = product_of(product).schemes
    wanted = set(signing)
    unknown = wanted - set(known)
    if unknown:
        raise LookupError(
            f"signing must be a subset of {tuple(known)} for product {product!r}, "
            f"not {sorted(unknown)}"
        )
    return [(name, scheme) for name, scheme in known.items() if name in wanted]


def signed_headers(
    secrets: str | Sequence[str],
    delivery_id: str,
    body: bytes,
    *,
    product: str | None = None,
    signing: Iterable[str] | None = None,
    user_agent: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Every header of one signed attempt: `product`'s schemes (or those named in `signing`),
    its `User-Agent` unless `user_agent` is given."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    registered = product_of(product)
    chosen = _schemes(product, registered.schemes if signing is None else signing)
    ts = int(time.time()) if timestamp is None else int(timestamp)
    agent = user_agent or registered.user_agent or _policy.user_agent
    headers = {"Content-Type": "application/json", "User-Agent": agent}
    for _name, scheme in chosen:
        headers.update(scheme(keys, body, delivery_id, ts))
    return headers


def unsigned_headers(
    delivery_id: str,
    *,
    product: str | None = None,
    user_agent: str | None = None,
    with_body: bool = True,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers of an unsigned attempt: Standard Webhooks' id and timestamp, no signature."""
    headers = {"Content-Type": "application/json"} if with_body else {}
    ts = int(time.time()) if timestamp is None else int(timestamp)
    agent = user_agent or product_of(product).user_agent or _policy.user_agent
    headers.update({"User-Agent": agent, "webhook-id": delivery_id, "webhook-timestamp": str(ts)})
    return headers


def is_protected_header(name: str) -> bool:
    """Whether an endpoint's extra header may not use this name (see `PROTECTED_HEADERS`)."""
    lower = name.lower()
    return lower in PROTECTED_HEADERS or lower.startswith(PROTECTED_PREFIXES)


def valid_header(name: str, value: str) -> bool:
    """Whether `name: value` can be sent: a token name, a Latin-1 value without control
    characters (tab allowed)."""
    return (
        bool(_TOKEN.fullmatch(name))
        and all(ord(ch) <= 0xFF for ch in value)
        and not any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in value)
    )


def extra_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """`base` (an attempt's own headers) with an endpoint's extra headers added. An extra
    header may replace `User-Agent` but no other header of `base` (signatures, ids), nor a
    protected one; those, and unsendable ones, are dropped (products validate headers when
    they are configured)."""
    merged = dict(base)
    taken = {k.lower() for k in base} - {"user-agent"}
    for name, value in extra.items():
        if is_protected_header(name) or name.lower() in taken or not valid_header(name, value):
            log.warning("webhook header %r dropped", name)
            continue
        for existing in [k for k in merged if k.lower() == name.lower()]:
            del merged[existing]
        merged[name] = value
    return merged


# --- enqueue and query ---------------------------------------------------------------------


def _check_schedule(schedule: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(x) for x in schedule)
    if not values or any(not (0 <= x < 7 * 86400) for x in values):
        raise ValueError("schedule needs 1+ delays, each 0 <= seconds < 7 days")
    return values


def _check_timeout(timeout: float) -> float:
    if not 0 < float(timeout) <= 120:
        raise ValueError("timeout must be in (0, 120] seconds")
    return float(timeout)


def _tenant_id(tenant: Tenant | str) -> str:
    return tenant if isinstance(tenant, str) else tenant.id


def enqueue(
    tenant: Tenant | str,
    product: str,
    endpoint_ref: str,
    url: str,
    event: str,
    payload: Mapping[str, Any],
    *,
    allow_private: bool | str | Iterable[str] | netguard.AllowList | None = None,
    require_https: bool | None = None,
    signing: Sequence[str] | None = None,
    user_agent: str | None = None,
    schedule: Sequence[float] | None = None,
    timeout: float | None = None,
    method: str = "POST",
    retry_statuses: Sequence[int] | None = None,
    send_now: bool = False,
) -> Delivery:
    """Record a delivery of `payload` to `url` and queue its first attempt.

    With `send_now` the first attempt runs in this call instead (nothing is queued for it, so
    the returned row holds its outcome; later attempts are queued as usual).

    Unset options come from `configure()` and `register_product()`: `signing` names some of
    the product's schemes (all by default), `signing=()` sends the delivery unsigned; `method`
    is one of `METHODS` (GET and DELETE send no body and cannot be signed); `retry_statuses`,
    when given, lists the HTTP answers worth another attempt (any other non-2xx answer is
    final; network errors and timeouts are always retried). Raises `ValueError`
    for a URL that can never be sent to (shape, scheme, a non-public address literal; host
    names are resolved and checked at each attempt), a product with no secret resolver,
    over-long ids, or a payload that is not JSON-serialisable. Best called after the caller's
    transaction commits: a job that cannot see its delivery yet retries for about five
    seconds, then `recover()` takes over.
    """
    if product not in _resolvers:
        raise ValueError(f"no webhook secret resolver registered for {product!r}")
    if not (0 < len(endpoint_ref) <= 128 and 0 < len(event) <= 128):
        raise ValueError("endpoint_ref and event must be 1..128 characters")
    registered = product_of(product)
    try:
        schemes = _schemes(product, registered.schemes if signing is None else signing)
    except LookupError as exc:
        raise ValueError(str(exc)) from None
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if schemes and method in BODYLESS:
        raise ValueError(f"a {method} delivery has no body to sign: use signing=()")
    options = DeliveryOptions(
        schedule=_check_schedule(schedule if schedule is not None else _policy.schedule),
        timeout=_check_timeout(timeout if timeout is not None else _policy.timeout),
        user_agent=user_agent or registered.user_agent or _policy.user_agent,
        signing=tuple(name for name, _scheme in schemes),
        allow_private=(
            netguard.AllowList.parse(allow_private)
            if allow_private is not None
            else _policy.allow_private
        ),
        require_https=_policy.require_https if require_https is None else require_https,
        method=method,
        retry_statuses=None if retry_statuses is None else tuple(int(x) for x in retry_statuses),
    )
    netguard.check_url(
        url, options.allow_private, require_https=options.require_https, resolve=False
    )
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # refuses lone surrogates before anything is stored
    now = clock.now()
    first_delay = options.schedule[0]
    with connection(), write():
        delivery = Delivery.create(
            id=str(ULID()),
            tenant=_tenant_id(tenant),
            product=product,
            endpoint_ref=endpoint_ref,
            url=url,
            event=event,
            payload=text,
            status=PENDING,
            attempts=0,
            next_attempt_at=now + dt.timedelta(seconds=first_delay),
            created_at=now,
            options=options.to_json(),
        )
    if send_now:
        attempt(delivery.id, 1)
        delivery = Delivery.get_by_id(delivery.id)
    else:
        _queue_attempt(delivery.id, 1, first_delay)
    return delivery


def get_delivery(tenant: Tenant | str, delivery_id: str) -> Delivery | None:
    """The tenant's delivery with this id, or None (another tenant's is None too)."""
    return Delivery.get_or_none(
        (Delivery.id == delivery_id) & (Delivery.tenant == _tenant_id(tenant))
    )


def deliveries(
    tenant: Tenant | str,
    endpoint_ref: str | None = None,
    *,
    status: str | None = None,
    limit: int = 50,
) -> list[Delivery]:
    """The tenant's deliveries, newest first, optionally for one endpoint or status."""
    query = Delivery.select().where(Delivery.tenant == _tenant_id(tenant))
    if endpoint_ref is not None:
        query = query.where(Delivery.endpoint_ref == endpoint_ref)
    if status is not None:
        query = query.where(Delivery.status == status)
    limit = max(1, min(int(limit), MAX_LIST))
    return list(query.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit))


def attempts(delivery_id: str, tenant: Tenant | str | None = None) -> list[Attempt]:
    """A delivery's attempts in order (scoped to `tenant` when given)."""
    query = Attempt.select().join(Delivery).where(Attempt.delivery == delivery_id)
    if tenant is not None:
        query = query.where(Delivery.tenant == _tenant_id(tenant))
    return list(query.order_by(Attempt.number))


# --- attempts ------------------------------------------------------------------------------


class DeliveryNotVisibleError(LookupError):
    """The delivery row is not visible (yet): the job is retried shortly."""


@jobs.task(name="webhook_attempt", retries=5, retry_delay=1)
def _attempt_job(delivery_id: str, number: int) -> None:
    if attempt(delivery_id, number) == "missing":
        # Enqueued inside a transaction that has not committed yet, or deleted since.
        raise DeliveryNotVisibleError(delivery_id)


@jobs.periodic_task(jobs.crontab(minute="*/5"), name="webhook_recover")
def _recover_job() -> None:
    recover()


def _queue_attempt(delivery_id: str, number: int, delay: float) -> None:
    try:
        if delay > 0:
            _attempt_job.schedule((delivery_id, number), delay=delay)
        else:
            _attempt_job(delivery_id, number)
    except jobs.JobsNotConfiguredError:
        raise
    except Exception:
        # The delivery is recorded; recover() re-queues it once it is overdue.
        log.exception("could not queue attempt %s of webhook delivery %s", number, delivery_id)


def _snippet(data: bytes) -> str:
    return data[:SNIPPET_BYTES].decode("utf-8", "ignore").replace("\x00", "\ufffd")


def _clip(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _resolve(delivery: Delivery, options: DeliveryOptions) -> Endpoint | None:
    """The endpoint as it is now; None when it is gone (or a signed one has no secret)."""
    resolver = _resolvers.get(delivery.product)
    if resolver is None:
        raise LookupError(f"no webhook secret resolver registered for {delivery.product!r}")
    found = resolver(delivery.tenant_id, delivery.endpoint_ref)
    if found is None:
        return None
    if isinstance(found, Endpoint):
        endpoint = Endpoint(tuple(k for k in found.secrets if k), dict(found.headers))
    else:
        keys = [found] if isinstance(found, str) else [k for k in found if k]
        endpoint = Endpoint(tuple(keys))
    if options.signing and not endpoint.secrets:
        return None
    return endpoint


def _send(
    delivery: Delivery, endpoint: Endpoint, options: DeliveryOptions
) -> tuple[int | None, str | None, str | None]:
    """One request; returns (status_code | None, error | None, response snippet | None)."""
    with_body = options.method not in BODYLESS
    body = delivery.body if with_body else b""
    if options.signing:
        headers = signed_headers(
            list(endpoint.secrets),
            delivery.id,
            body,
            product=delivery.product,
            signing=options.signing,
            user_agent=options.user_agent,
        )
    else:
        headers = unsigned_headers(delivery.id, user_agent=options.user_agent, with_body=with_body)
    if endpoint.headers:
        headers = extra_headers(headers, endpoint.headers)
    try:
        reply = netguard.request(
            options.method,
            delivery.url,
            body=body,
            headers=headers,
            allow_private=options.allow_private,
            require_https=options.require_https,
            timeout=options.timeout,
            max_body=SNIPPET_BYTES,
        )
    except netguard.RefusedURLError as exc:
        return None, _clip(f"refused: {exc}"), None
    except TimeoutError as exc:
        return None, _clip(f"timeout: {exc}"), None
    except (OSError, http.client.HTTPException) as exc:
        return None, _clip(f"connection failed: {exc or type(exc).__name__}"), None
    snippet = _snippet(reply.body)
    if 200 <= reply.status < 300:
        return reply.status, None, snippet
    if 300 <= reply.status < 400:
        location = reply.headers.get("location", "")
        return (
            reply.status,
            _clip(f"redirect not followed (HTTP {reply.status} {location})"),
            snippet,
        )
    return reply.status, f"HTTP {reply.status}", snippet


def _worth_retrying(options: DeliveryOptions, status_code: int | None) -> bool:
    """Whether a failed attempt may be retried under the delivery's `retry_statuses`."""
    if options.retry_statuses is None or status_code is None:
        return True
    return status_code in options.retry_statuses


def attempt(delivery_id: str, number: int) -> str:
    """Run attempt `number` of a delivery now (the job body; tests may call it directly).

    Returns "succeeded", "retrying", "failed", "skipped" (not pending, or that attempt already
    ran) or "missing" (no such delivery).
    """
    delivery = Delivery.get_or_none(Delivery.id == delivery_id)
    if delivery is None:
        return "missing"
    if delivery.status != PENDING or delivery.attempts != number - 1:
        return "skipped"
    options = delivery.settings
    endpoint: Endpoint | None = None
    problem: str | None = None
    try:
        endpoint = _resolve(delivery, options)
    except Exception as exc:
        log.exception("webhook secret resolver failed for delivery %s", delivery_id)
        problem = _clip(f"secret unavailable: {exc}")
    if problem is None:
        try:
            _schemes(delivery.product, options.signing)
        except LookupError as exc:  # e.g. this process never imported the product's module
            log.error("webhook delivery %s cannot be signed: %s", delivery_id, exc)
            endpoint, problem = None, _clip(f"signing unavailable: {exc}")
    if endpoint is None and problem is None:
        with write():
            Delivery.update(
                status=FAILED, next_attempt_at=None, last_error="endpoint no longer exists"
            ).where(
                (Delivery.id == delivery_id)
                & (Delivery.status == PENDING)
                & (Delivery.attempts == number - 1)
            ).execute()
        return "failed"

    started = clock.now()
    lease = started + dt.timedelta(seconds=options.timeout + LEASE_MARGIN)
    with write():
        claimed = (
            Delivery.update(attempts=number, next_attempt_at=lease)
            .where(
                (Delivery.id == delivery_id)
                & (Delivery.status == PENDING)
                & (Delivery.attempts == number - 1)
            )
            .execute()
        )
        if not claimed:
            return "skipped"
        row = Attempt.create(delivery=delivery_id, number=number, started_at=started)

    t0 = time.monotonic()
    if endpoint is not None:
        status_code, error, snippet = _send(delivery, endpoint, options)
    else:
        status_code, error, snippet = None, problem, None
    duration_ms = int((time.monotonic() - t0) * 1000)

    if error is None:
        outcome, next_at, delay = "succeeded", None, 0.0
    elif not _worth_retrying(options, status_code):
        outcome, next_at, delay = "failed", None, 0.0
    elif number < len(options.schedule):
        delay = options.schedule[number]
        outcome, next_at = "retrying", clock.now() + dt.timedelta(seconds=delay)
    else:
        outcome, next_at, delay = "failed", None, 0.0
    with write():
        Attempt.update(
            duration_ms=duration_ms,
            status_code=status_code,
            error=error,
            response_snippet=snippet,
        ).where(Attempt.id == row.id).execute()
        recorded = (
            Delivery.update(
                status={"succeeded": SUCCEEDED, "retrying": PENDING, "failed": FAILED}[outcome],
                next_attempt_at=next_at,
                last_status_code=status_code,
                last_error=error,
            )
            .where((Delivery.id == delivery_id) & (Delivery.attempts == number))
            .execute()
        )
        if outcome == "succeeded" and recorded:
            _notify_success(delivery)
    if outcome == "retrying":
        _queue_attempt(delivery_id, number + 1, delay)
    return outcome


def _notify_success(delivery: Delivery) -> None:
    """Run the product's success callback in a savepoint; its failure never undoes the send."""
    callback = _success_callbacks.get(delivery.product)
    if callback is None:
        return
    try:
        with db.atomic():
            callback(delivery, clock.now())
    except Exception:
        log.exception("webhook success callback failed for delivery %s", delivery.id)


def recover(
    *, grace: float = RECOVER_GRACE, now: dt.datetime | None = None, limit: int = 500
) -> int:
    """Re-queue pending deliveries overdue by more than `grace` seconds; returns how many.

    Covers a job lost between a commit and its enqueue, and a worker that died mid-attempt
    (that attempt is recorded as interrupted). Safe to run anywhere, any number of times.
    """
    now = now or clock.now()
    cutoff = now - dt.timedelta(seconds=grace)
    overdue = list(
        Delivery.select()
        .where((Delivery.status == PENDING) & (Delivery.next_attempt_at < cutoff))
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    requeued = 0
    for delivery in overdue:
        final = delivery.attempts >= len(delivery.settings.schedule)
        with write():
            Attempt.update(duration_ms=0, error="interrupted").where(
                (Attempt.delivery == delivery.id) & (Attempt.duration_ms.is_null())
            ).execute()
            changes: dict[Any, Any] = {Delivery.next_attempt_at: now}
            if final:
                changes = {
                    Delivery.status: FAILED,
                    Delivery.next_attempt_at: None,
                    Delivery.last_error: "interrupted during the final attempt",
                }
            updated = (
                Delivery.update(changes)
                .where(
                    (Delivery.id == delivery.id)
                    & (Delivery.status == PENDING)
                    & (Delivery.attempts == delivery.attempts)
                )
                .execute()
            )
        if updated and not final:
            _queue_attempt(delivery.id, delivery.attempts + 1, 0)
            requeued += 1
    return requeued
