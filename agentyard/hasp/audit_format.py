"""HASP's signed audit export, format 1.0: a tenant's audit entries in the envelope that
`hasp-verify` (github.com/UseHasp/verify) checks.

`export()` builds `{schema_version, export, verification, entries}` from core's chain
(`agentyard.core.audit`: entries, their hashes and signatures, the tenant's signing key). An RFC
3161 anchor over the chain head comes from the caller's `timestamp` function; without one
`tsa_anchor_chain` is `[]`, which `hasp-verify` 1.0.x rejects in its schema preflight even
with `--skip-tsa`. `audit_export` wires the process's timestamp authority and HASP's errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from agentyard.core import clock
from agentyard.core.audit import ZERO_HASH, AuditEntry, AuditError, AuditKey, signing_key
from agentyard.core.keys import Tenant
from agentyard.core.store import connection

SCHEMA_VERSION = "1.0"


def _instant(name: str, value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return clock.to_naive(value) if value.tzinfo is not None else value
    try:
        return clock.parse(value)
    except (ValueError, AttributeError) as exc:
        raise AuditError(f"{name} must be an RFC 3339 timestamp") from exc


def export(
    tenant: Tenant,
    from_: dt.datetime | str,
    to: dt.datetime | str,
    exported_by: str,
    *,
    keys_url: str | None = None,
    timestamp: Callable[[str], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The tenant's entries with `from_ <= created_at <= to` as a HASP signed export 1.0.

    `keys_url` (https) is where `published_keys()` is served; verifiers fetch it unless given
    `--keys-file`. `timestamp(chain_head_hash)` may return an RFC 3161 anchor
    (`tsa_url`, `tsa_cacert_url`, `tsa_tsr_base64`, extra keys kept) over the ASCII head hash;
    it becomes the one `tsa_anchor_chain` item. Without it the chain is `[]`.
    """
    start, end = _instant("from", from_), _instant("to", to)
    if end < start:
        raise AuditError("to must not be before from")
    if keys_url is not None and not keys_url.startswith("https://"):
        raise AuditError("keys_url must be an https URL")
    with connection():
        entries = list(
            AuditEntry.select()
            .where(
                (AuditEntry.tenant == tenant.id)
                & (AuditEntry.created_at >= start)
                & (AuditEntry.created_at <= end)
            )
            .order_by(AuditEntry.seq)
        )
        key_ids = {e.key_id for e in entries}
        if len(key_ids) > 1:
            raise AuditError("the range spans several signing keys; export it in parts")
        key = AuditKey.get_by_id(key_ids.pop()) if key_ids else signing_key(tenant)
        if entries:
            head = entries[-1].hash
        else:
            before = (
                AuditEntry.select(AuditEntry.hash)
                .where((AuditEntry.tenant == tenant.id) & (AuditEntry.created_at <= end))
                .order_by(AuditEntry.seq.desc())
                .first()
            )
            head = before.hash if before else ZERO_HASH
    anchors: list[dict[str, Any]] = []
    if timestamp is not None and entries:
        token = dict(timestamp(head))
        missing = {"tsa_url", "tsa_cacert_url", "tsa_tsr_base64"} - token.keys()
        if missing:
            raise AuditError(f"timestamp() result lacks {', '.join(sorted(missing))}")
        anchors.append({"checkpoint_after_entry": len(entries), **token, "anchored_data": head})
    verification: dict[str, Any] = {
        "algo": "ed25519",
        "public_key_pem": key.public_key_pem,
        "key_id": key.id,
    }
    if keys_url is not None:
        verification["keys_url"] = keys_url
    verification.update(
        {
            "key_published_at": clock.iso(key.published_at),
            "chain_head_hash": head,
            "tsa_anchor_chain": anchors,
        }
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "export": {
            "tenant": tenant.name,
            "tenant_id": tenant.id,
            "range": {"from": clock.iso(start), "to": clock.iso(end)},
            "exported_at": clock.iso(clock.now()),
            "exported_by": exported_by,
            "entry_count": len(entries),
        },
        "verification": verification,
        "entries": [e.to_export() for e in entries],
    }
