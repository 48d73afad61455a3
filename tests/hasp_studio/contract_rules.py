"""What HASP Studio operations refuse beyond JSON Schema, for the schemathesis CLI run
(tests/contract/test_live_cli.py): a schema-valid request may still break a documented rule
that depends on stored state (a workflow or app of *this* project) or on the workflow format.

Each part of issue 15 lists its operations here; the CLI run accepts 400 and 422 from them.
"""

from __future__ import annotations

from tests.hyphen.contract_rules import exact

# studio-workflows: the workflow format (400 INVALID_WORKFLOW); webhook rules naming another
# project's or a missing workflow/app, a refused URL, url/events on an inbound webhook (422).
RULE_REFUSALS: tuple[str, ...] = (
    "create_project_workflow",
    "create_project_webhook",
    "update_webhook",
    "test_webhook",
    # studio-runs: elevate-phi without a stated reason (400 REASON_REQUIRED)
    "elevate_trace_phi",
    # studio-org: a config of another kind's shape, a URL that does not parse (422)
    "create_integration",
    "update_integration",
)

# studio-records: entities and records refuse with 422 what rules beyond JSON Schema forbid (a
# reserved or repeated field name, an enum without options, a reference to no entity or record,
# a value the entity's schema refuses, a filter naming no field) and with 412 a stale If-Match.
RECORD_RULES: tuple[str, ...] = (
    "create_project_entity",
    "update_entity",
    "list_records",
    "create_record",
    "update_record",
    "delete_record",
    # studio-org: a project PHI mode looser than the org's `phi_mode`, models outside the
    # org's model catalogue (Opus needs the opt-in)
    "update_project_policy",
)

CONFIG = f"""
[[operations]]
# HASP Studio refuses with 400/422 what depends on stored state or the workflow format
# (tests/hasp_studio/contract_rules.py).
include-operation-id-regex = "{exact(RULE_REFUSALS)}"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "422", "423", "429", "5xx",
]

[[operations]]
include-operation-id-regex = "{exact(RECORD_RULES)}"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "401", "403", "404", "409", "412", "422", "423", "429", "5xx",
]
"""

# studio-releases: a release's transitions refuse with 409 what its state forbids
# (INVALID_RELEASE_STATE, RELEASE_OPEN, NOTHING_TO_RELEASE, NOTHING_TO_ROLL_BACK,
# ALREADY_APPROVED), stored state no schema states; while a release the run requested is
# open, authoring writes to its project answer 423 PROJECT_LOCKED (the first block naming an
# operation decides its statuses: the lockable operations above accept 423 there).
RELEASE_RULES: tuple[str, ...] = (
    "create_project_app",
    "delete_entity",
    "delete_webhook",
    "create_project_release",
    "approve_release",
    "cancel_release",
    "deploy_release",
    "reject_release",
    "rollback_release",
    "emergency_rollback_release",
)

CONFIG += f"""
[[operations]]
include-operation-id-regex = "{exact(RELEASE_RULES)}"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "401", "403", "404", "409", "422", "423", "429", "5xx",
]
"""

# studio-dashboards: analytics refuse a `from`/`until` that is not a date, `from` after `until`
# or a range over 366 days; the audit log a `since`/`until` that is not a date-time or `since`
# after `until` (422).
DASHBOARD_RULES: tuple[str, ...] = ("get_project_analytics", "list_project_audit_log")

CONFIG += f"""
[[operations]]
include-operation-id-regex = "{exact(DASHBOARD_RULES)}"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "401", "403", "404", "422", "429", "5xx",
]
"""
