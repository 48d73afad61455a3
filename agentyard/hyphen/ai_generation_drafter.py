"""The offline drafter: a deterministic, valid workflow draft composed from cues in the prompt
(used when the configured LLM provider is the offline one; labelled `offline` in results).

Cues (case-insensitive), each adding real step types, in this order:

- an amount threshold (`over $5,000`, `above 100`, `more than 20`, `greater than`,
  `exceeds`, `>`) becomes a `filter` `{"greaterThan": ["@input.amount", N]}` on the first step
  it applies to (the approval when there is one);
- approval (`approv`, `review`, `sign off`, `sign-off`, `authori`) adds a `PbotApproval`;
- a table (`table`, `record`, `log`, `store`, `save`, `track`) adds a custom table
  `<topic>_records` (`reference`, `amount` when a threshold is named, `status`) and a
  `custom-table` write of the run's id, `@input.amount` and `recorded`;
- notification (`email`, `notify`, `notification`, `slack`, `alert`, `message`) registers an
  `llm` action `<topic>_compose_notification` that writes the message, and notes the external
  dependency (an OAuth connection to send it: `gmail_send`, `outlook_send`,
  `slack_post_message`);
- no cue at all: an `llm` action `<topic>_handle_request` that answers the request.

`<topic>` is the first two words of the prompt that are not stop words, as a name.
"""

from __future__ import annotations

import re
from typing import Any

_STOP_TEXT = """a an the and or but if then when whenever of for to in on at by with from into over
    above under below than more less greater is are be been it its this that these those
    each every any all some my our your their please create build make generate workflow
    flow process that which who whom i we you they me us them should must can could would
    new send email notify approve approval review table record log store save track"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
THRESHOLD = re.compile(
    r"(?:over|above|more than|greater than|exceeds?|exceeding|>)"
    r"\s*\$?\s*([0-9][0-9,]*(?:\.[0-9]+)?)",
    re.IGNORECASE,
)
APPROVAL = re.compile(r"approv|review|sign[ -]off|authori[sz]", re.IGNORECASE)
TABLE = re.compile(r"\b(?:table|record|log|store|save|track)", re.IGNORECASE)
NOTIFY = re.compile(r"\b(?:e-?mail|notif|slack|alert|message)", re.IGNORECASE)
CHANNELS = (
    ("slack", "slack_post_message", "Slack"),
    ("outlook", "outlook_send", "Microsoft Outlook"),
    ("", "gmail_send", "Gmail"),
)


def topic(prompt: str) -> str:
    """A short name for what the prompt is about (`invoices_payments`), for the draft's names."""
    words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", prompt)]
    picked = [w for w in words if w not in STOP_WORDS][:2]
    name = "_".join(picked) or "generated"
    return name[:40]


def threshold(prompt: str) -> float | int | None:
    """The amount threshold the prompt names, if any."""
    m = THRESHOLD.search(prompt)
    if not m:
        return None
    value = float(m.group(1).replace(",", ""))
    return int(value) if value.is_integer() else value


def draft(prompt: str) -> dict[str, Any]:
    """The draft for `prompt`: `{workflow, actions, tables, external_dependencies, notes}`."""
    name = topic(prompt)
    limit = threshold(prompt)
    wants_approval = bool(APPROVAL.search(prompt))
    wants_table = bool(TABLE.search(prompt))
    wants_notify = bool(NOTIFY.search(prompt))
    steps: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    dependencies: list[dict[str, Any]] = []
    if wants_approval:
        steps.append(
            {
                "type": "PbotApproval",
                "properties": {
                    "comment": f"Please review: {prompt.strip()[:500]}",
                    "request_payload": {"input": "@input", "run_id": "@__run_id"},
                },
            }
        )
    if wants_table:
        table = f"{name}_records"
        fields: list[dict[str, Any]] = [{"name": "reference", "type": "text", "required": True}]
        values: dict[str, Any] = {"reference": "@__run_id"}
        if limit is not None:
            fields.append({"name": "amount", "type": "numeric"})
            values["amount"] = "@input.amount"
        fields.append({"name": "status", "type": "text"})
        values["status"] = "recorded"
        tables.append({"name": table, "fields": fields})
        steps.append(
            {
                "type": "custom-table",
                "properties": {"table": table, "operation": "write", "fields": values},
                "outputKey": "recorded",
            }
        )
    if wants_notify:
        action = f"{name}_compose_notification"
        actions.append(
            {
                "action_name": action,
                "kind": "llm",
                "description": "Writes the notification message for this workflow's run.",
                "template": (
                    f"Write a short notification about run {{{{__run_id}}}} of: {prompt[:500]}"
                ),
                "max_tokens": 300,
            }
        )
        steps.append({"type": action, "properties": {}, "outputKey": "notification"})
        lowered = prompt.lower()
        cue, tool, label = next(c for c in CHANNELS if c[0] in lowered)
        dependencies.append(
            {
                "name": label,
                "kind": "oauth",
                "note": (
                    f"To deliver the message, connect {label} (GET /oauth/providers, then "
                    f"/oauth/{{provider}}/authorize) and add a `{tool}` step after "
                    f"`{action}` with `__oauth_account__` and the message "
                    "`@notification.text`."
                ),
            }
        )
    if not steps:
        action = f"{name}_handle_request"
        actions.append(
            {
                "action_name": action,
                "kind": "llm",
                "description": "Answers the request this workflow was generated for.",
                "template": f"Handle this request for run {{{{__run_id}}}}: {prompt[:500]}",
                "max_tokens": 500,
            }
        )
        steps.append({"type": action, "properties": {}, "outputKey": "answer"})
    if limit is not None:
        steps[0]["filter"] = {"condition": {"greaterThan": ["@input.amount", limit]}}
    notes = [
        "Drafted offline from cues in the prompt (approval, table, amount threshold, "
        "notification); configure a real LLM provider for a model-written draft."
    ]
    if limit is not None:
        notes.append(f"The first step runs only when input.amount is greater than {limit}.")
    return {
        "workflow": {
            "name": f"{name.replace('_', ' ')} workflow",
            "description": prompt.strip()[:4000],
            "definition": {"actions": steps},
        },
        "actions": actions,
        "tables": tables,
        "external_dependencies": dependencies,
        "notes": " ".join(notes),
    }
