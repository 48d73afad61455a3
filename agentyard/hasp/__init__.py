"""The HASP product's domain: an org core shared by every HASP surface, and one subpackage per
surface (`ai/`, the AI inference gateway, now; `studio/` and `runtime/` will follow).

The rule that places a module: ask "would HASP Studio or the agent runtime use this?". If yes,
it is org core and lives here; if only one surface needs it, it lives in that surface's
subpackage. The org core is what the three surfaces share: the organization and its settings
(`orgs`: PHI policy), one set of API keys and the caller they authenticate (`auth`, `caller`,
`api_keys`, `bootstrap`), the BAA (`baa`: signed once per org, it covers PHI on every surface),
what the org records and announces (`events`, the audit log and its signed export
`audit_format`/`audit_export`, webhook endpoints `webhooks` with their fan-out and signing), and
HASP's wire conventions (`envelope`, `errors`, `cursors`, `urls`). `ai/` holds the inference
gateway: the pipeline (`gateway`), native chat, conversations, the model catalog, AI credits,
request texts and inference records.

The org core never imports a surface subpackage (an import-linter contract in pyproject.toml),
except `surface.py`, which declares the surfaces, and `schema.py`, the migration history that
creates every HASP table.
"""

# The key space of HASP's tenants (orgs) and API keys, shared by every HASP surface; it keeps the
# name of the first surface, since stored tenants and keys carry it.
SURFACE = "hasp-ai"
