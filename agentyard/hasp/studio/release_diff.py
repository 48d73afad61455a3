"""What a release changes: the per-resource diff between two contract snapshots, the migration
impact of its entity schema changes on existing records, and the summary text made from both.

Diff shape (one entry per resource kind of the snapshot: apps, workflows, entities, policy,
webhooks): `{"added": [item], "removed": [item], "changed": [item + "fields"]}`, where an
item is `{"id", "name"}` (`name` is the app's or webhook's name, the workflow's slug, the
entity's key, `policy` for the project policy) and `fields` lists the top-level attributes that
differ. A changed entity also carries `schema`: `{"added", "removed", "retyped",
"newly_required"}` field names. Against no published release everything is added.
"""

from __future__ import annotations

from typing import Any

from agentyard.hasp.studio.entity_fields import Field
from agentyard.hasp.studio.entity_models import StudioRecord
from agentyard.hasp.studio.record_query import Condition, where

KINDS = ("apps", "workflows", "entities", "policy", "webhooks")
SINGULAR = {
    "apps": "app", "workflows": "workflow", "entities": "entity", "policy": "policy",
    "webhooks": "webhook",
}  # fmt: skip
# Attributes derived from others, not shown as changes (`compiled` from `definition`, the
# entity's `schema_version` from `fields`).
DERIVED = {"compiled", "schema_version"}
POLICY_ID = "policy"


def _label(kind: str, item: dict[str, Any]) -> str:
    if kind == "workflows":
        return str(item.get("slug", ""))
    if kind == "entities":
        return str(item.get("key", ""))
    return str(item.get("name", ""))


def _items(snapshot: dict[str, Any] | None, kind: str) -> dict[str, dict[str, Any]]:
    if snapshot is None:
        return {}
    if kind == "policy":
        return {POLICY_ID: {"id": POLICY_ID, "name": "policy", **snapshot.get("policy", {})}}
    return {item["id"]: item for item in snapshot.get(kind, [])}


def _fields(entity: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in entity.get("fields") or []}


def schema_change(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    """The field changes of an entity between two snapshots of it."""
    before, after = _fields(old), _fields(new)
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "retyped": sorted(
            n for n in set(before) & set(after) if before[n].get("type") != after[n].get("type")
        ),  # fmt: skip
        "newly_required": sorted(
            n
            for n in after
            if after[n].get("required") and not (n in before and before[n].get("required"))
        ),  # fmt: skip
    }


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """The per-resource diff of `new` against `old` (None: nothing published)."""
    out: dict[str, dict[str, list[Any]]] = {}
    for kind in KINDS:
        before, after = _items(old, kind), _items(new, kind)
        added = [
            {"id": i, "name": _label(kind, after[i])} for i in sorted(set(after) - set(before))
        ]
        removed = [
            {"id": i, "name": _label(kind, before[i])} for i in sorted(set(before) - set(after))
        ]
        changed = []
        for i in sorted(set(before) & set(after)):
            keys = (set(before[i]) | set(after[i])) - DERIVED
            fields = sorted(k for k in keys if before[i].get(k) != after[i].get(k))
            if not fields:
                continue
            item: dict[str, Any] = {"id": i, "name": _label(kind, after[i]), "fields": fields}
            if kind == "entities":
                item["schema"] = schema_change(before[i], after[i])
            changed.append(item)
        out[kind] = {"added": added, "removed": removed, "changed": changed}
    return out


def is_empty(changes: dict[str, dict[str, list[Any]]]) -> bool:
    return not any(part for kind in changes.values() for part in kind.values())


def _holding(entity_id: str, name: str) -> int:
    """How many of the entity's records hold a value in field `name`."""
    conditions = where([Condition(name, "null", False)], [Field(name=name, type="json")])
    return int(StudioRecord.select().where((StudioRecord.entity == entity_id), *conditions).count())


def impact(changes: dict[str, dict[str, list[Any]]]) -> dict[str, Any]:
    """The migration impact of the diff's entity changes on the records stored now.

    For each changed entity whose schema removes, retypes or newly requires a field:
    `{entity_id, entity, records, removed, retyped, newly_required, records_affected}` where
    `records` counts its records, `retyped` and `newly_required` map each field to the records
    holding a value in it (retyped) or lacking one (newly required), and `records_affected` is
    the records the published contract would read differently (its records when any such field
    changes). Removed entities list their remaining `records`. `records_affected` in total."""
    entities: list[dict[str, Any]] = []
    for item in changes["entities"]["changed"]:
        schema = item["schema"]
        if not (schema["removed"] or schema["retyped"] or schema["newly_required"]):
            continue
        entity_id = item["id"]
        total = int(StudioRecord.select().where(StudioRecord.entity == entity_id).count())
        entities.append({
            "entity_id": entity_id, "entity": item["name"], "change": "changed",
            "records": total, "removed": schema["removed"],
            "retyped": {n: _holding(entity_id, n) for n in schema["retyped"]},
            "newly_required": {n: total - _holding(entity_id, n)
                               for n in schema["newly_required"]},
            "records_affected": total,
        })  # fmt: skip
    for item in changes["entities"]["removed"]:
        total = int(StudioRecord.select().where(StudioRecord.entity == item["id"]).count())
        entities.append({
            "entity_id": item["id"], "entity": item["name"], "change": "removed",
            "records": total, "removed": [], "retyped": {}, "newly_required": {},
            "records_affected": total,
        })  # fmt: skip
    return {"entities": entities, "records_affected": sum(e["records_affected"] for e in entities)}


def _entity_detail(item: dict[str, Any]) -> str:
    schema = item.get("schema") or {}
    marks = [f"+{n}" for n in schema.get("added", [])]
    marks += [f"-{n}" for n in schema.get("removed", [])]
    marks += [f"~{n}" for n in schema.get("retyped", [])]
    marks += [f"!{n}" for n in schema.get("newly_required", []) if n not in schema.get("added", [])]
    return f"{item['name']}: {' '.join(marks)}" if marks else item["name"]


def summary(number: int, project_name: str, changes: dict[str, dict[str, list[Any]]]) -> str:
    """The release's changelog line, e.g. `Release 3 of Care intake: 1 workflow added (triage),
    1 entity changed (patient: +phone)`."""
    parts: list[str] = []
    for kind in KINDS:
        for verb in ("added", "removed", "changed"):
            items = changes[kind][verb]
            if not items:
                continue
            noun = SINGULAR[kind] if len(items) == 1 else kind
            if kind == "policy":
                names = ", ".join(items[0].get("fields", [])) if verb == "changed" else ""
            elif kind == "entities" and verb == "changed":
                names = ", ".join(_entity_detail(i) for i in items)
            else:
                names = ", ".join(i["name"] for i in items)
            parts.append(f"{len(items)} {noun} {verb}" + (f" ({names})" if names else ""))
    head = f"Release {number} of {project_name}"
    return f"{head}: {', '.join(parts)}" if parts else f"{head}: no changes"
