"""Org config: the org's secrets (`orgconfig:api:<key>`, `orgconfig:db:<key>`), encrypted.

Values are vault tokens (`core.vault`) bound to the org, kind and key, so a token copied to
another row or org does not decrypt. Reads over the API show a mask (`****` plus, for values of
16 characters or more, the last 4), computed when the value is stored; only `secret()` (the
workflow engine, at execution time) ever decrypts.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentyard.core import clock, vault
from agentyard.core.store import put_row
from agentyard.hyphen import trail
from agentyard.hyphen.models import OrgConfig

KINDS = ("api", "db")
REF_PREFIX = "orgconfig:"
MASK = "****"
SHOW_TAIL_FROM = 16  # values this long or longer show their last 4 characters


@dataclass(frozen=True)
class Entry:
    """An org config entry as the API shows it (never the value)."""

    key: str
    kind: str
    masked_value: str
    created_at: str | None
    updated_at: str | None

    @property
    def ref(self) -> str:
        return f"{REF_PREFIX}{self.kind}:{self.key}"


def _context(org_id: str, kind: str, key: str) -> str:
    return f"hyphen.orgconfig:{org_id}:{kind}:{key}"


def mask(value: str) -> str:
    """How a value is shown: `****`, plus its last 4 characters when it is long enough."""
    return MASK + value[-4:] if len(value) >= SHOW_TAIL_FROM else MASK


def _entry(row: OrgConfig) -> Entry:
    return Entry(
        row.key, row.kind, row.masked, clock.iso(row.created_at), clock.iso(row.updated_at)
    )


def put(org_id: str, kind: str, key: str, value: str, actor: str = "") -> tuple[Entry, bool]:
    """Store (or replace) `orgconfig:<kind>:<key>`; the entry and whether it is new. The
    change goes to the org's audit log (`hyphen.orgconfig.set`, with the mask, not the value)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    token = vault.encrypt(value, _context(org_id, kind, key))
    now = clock.now()
    row, created = put_row(
        OrgConfig,
        (OrgConfig.org == org_id) & (OrgConfig.kind == kind) & (OrgConfig.key == key),
        new={"org": org_id, "kind": kind, "key": key, "created_at": now},
        values={"value": token, "masked": mask(value), "updated_at": now},
        then=lambda row, created: _trail(org_id, kind, key, row.masked, actor, created=created),
    )
    return _entry(row), created


def _trail(org_id: str, kind: str, key: str, masked: str, actor: str, *, created: bool) -> None:
    trail.record(
        org_id,
        "hyphen.orgconfig.set",
        "org_config",
        f"{REF_PREFIX}{kind}:{key}",
        actor,
        {"kind": kind, "key": key, "masked_value": masked, "created": created},
    )


def entries(org_id: str) -> list[Entry]:
    """The org's entries by kind and key."""
    rows = OrgConfig.select().where(OrgConfig.org == org_id).order_by(OrgConfig.kind, OrgConfig.key)
    return [_entry(row) for row in rows]


def secret(org_id: str, kind: str, key: str) -> str | None:
    """The decrypted value of `orgconfig:<kind>:<key>` of the org; None when it has none."""
    row = OrgConfig.get_or_none(
        (OrgConfig.org == org_id) & (OrgConfig.kind == kind) & (OrgConfig.key == key)
    )
    if row is None:
        return None
    return vault.decrypt(row.value, _context(org_id, kind, key))


def parse_ref(ref: str) -> tuple[str, str] | None:
    """`(kind, key)` of an `orgconfig:<kind>:<key>` reference; None when `ref` is not one."""
    if not ref.startswith(REF_PREFIX):
        return None
    kind, sep, key = ref[len(REF_PREFIX) :].partition(":")
    if not sep or kind not in KINDS or not key:
        return None
    return kind, key
