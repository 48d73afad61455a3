"""Schemathesis hooks for fuzzing the Harnesslayer surface with the `st` CLI (load them with
`SCHEMATHESIS_HOOKS=tests.harnesslayer.schemathesis_hooks`, from the project root).

One rule of the spec cannot be written in OpenAPI 3.0: webhook header *names* must be HTTP
tokens that a delivery does not set itself (`HttpHeaders` says so in prose; the server
answers 400 otherwise). OpenAPI 3.0's schema object has no `propertyNames`, so a fuzzer
reading the published document draws arbitrary names and reports the 400s as "schema-valid
request rejected". This hook makes the header names of bodies generated *valid* follow the
rule, as a client reading the prose would (each other name becomes `X-Fuzz-<n>`, so the
number of headers, which the schema bounds, is kept). Bodies generated invalid, and
everything else, are left as drawn from the published spec.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
PROTECTED = {"host", "content-length", "content-type", "transfer-encoding", "connection"}
OPERATIONS = {"createWebhook", "updateWebhook", "createChannel"}
TITLE = "Harnesslayer API"


def valid_name(name: str) -> bool:
    lower = name.lower()
    return (
        bool(TOKEN.fullmatch(name)) and lower not in PROTECTED and not lower.startswith("webhook-")
    )


def sendable(headers: Any) -> Any:
    """`headers` with every name that breaks the rule replaced by a fresh `X-Fuzz-<n>`."""
    if not isinstance(headers, dict):
        return headers
    out: dict[str, Any] = {}
    fresh = 0
    for name, value in headers.items():
        if not valid_name(name):
            while f"X-Fuzz-{fresh}" in headers or f"X-Fuzz-{fresh}" in out:
                fresh += 1
            name = f"X-Fuzz-{fresh}"
        out[name] = value
    return out


def body_positive(case: schemathesis.Case) -> bool:
    meta = case.meta
    if meta is None:
        return True
    info = meta.components.get(ParameterLocation.BODY)
    return info is None or info.mode == GenerationMode.POSITIVE


def _harnesslayer(case: schemathesis.Case) -> bool:
    """Whether the case is of this surface (the hook is global: other specs pass through)."""
    info = case.operation.schema.raw_schema.get("info", {})
    return info.get("title") == TITLE


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    operation_id = case.operation.definition.raw.get("operationId")
    body = case.body
    if operation_id not in OPERATIONS or not isinstance(body, dict) or not body_positive(case):
        return case
    if not _harnesslayer(case):
        return case
    holder = body.get("webhook") if operation_id == "createChannel" else body
    if isinstance(holder, dict) and "headers" in holder:
        holder["headers"] = sendable(holder["headers"])
    return case
