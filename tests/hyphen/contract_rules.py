"""What the Hyphen contract runs (in-process and the live CLI) need to know beyond the spec.

- `PENDING_H2`: hyphen-engine's operations still answering 501 on this branch, left out of
  both runs until they are written (the tuple shrinks to nothing as their handlers land).
- `STATEFUL_400`: the operations that may refuse a schema-valid request with 400 because the
  rule depends on stored state or cannot be stated in JSON Schema: custom-table rows checked
  against the table's own fields; reserved or repeated field names; documents that are not
  JSON Schemas; webhook URLs no delivery could use (schemes and hosts the URL pattern admits).
- `FORM_TEXT`: multipart operations whose text fields cannot be fuzzed with wrong types: every
  form field is text on the wire, so a "non-string" value Schemathesis makes (an object, a
  number) reaches the server as its JSON spelling, which is a valid string — e.g. `metadata`,
  the text of a JSON object, sent as an "object" is the same bytes as a valid one. Negative
  data is not checked for them (positive data and every other check still run).
"""

from __future__ import annotations

PENDING_H2: tuple[str, ...] = ()

STATEFUL_400: tuple[str, ...] = (
    "createCustomTable",
    "insertCustomTableRow",
    "bulkInsertCustomTableRows",
    "updateCustomTableRows",
    "listCustomTableRows",
    "createCustomTableRow",
    "updateCustomTableRow",
    "createSchema",
    "createWebhook",
    "updateWebhook",
    # hyphen-engine: a workflow definition is validated as a whole (step types that must be
    # registered actions, @paths that must name something defined earlier, cycles between
    # workflows); an input checked against a stored schema; a form's expected keys; an agent's
    # tools that must exist; an action's kind-specific fields and URL policy.
    "createWorkflow",
    "updateWorkflow",
    "executeWorkflow",
    "generateDag",
    "submitForm",
    "executeAgent",
    "createAction",
    "updateAction",
    # hyphen-oauth: authorizing needs the org's app credentials; a callback's state must be
    # one this server issued and not yet used; a refresh needs a refresh token the provider
    # still accepts.
    "startOAuthAuthorization",
    "oauthCallback",
    "refreshOAuthConnection",
    # hyphen-docs: an upload's (and a bulk upload's) `metadata` must be the text of a JSON
    # object and its comma-separated `tags` at most 50 of 1 to 64 characters, rules on the
    # text of form fields
    "uploadDocument",
    "bulkUploadDocuments",
    # a URL the SSRF guard refuses or that cannot be fetched
    "createDocumentFromUrl",
    # hyphen-sdk-resources: the same table, upload and agent rules through /sdk, and an
    # upload's workflow that refuses the document as its input
    "listSdkTableRows",
    "createSdkTableRow",
    "updateSdkTableRow",
    "uploadSdkDocument",
    "executeSdkAgent",
)

FORM_TEXT: tuple[str, ...] = (
    "uploadDocument",
    "bulkUploadDocuments",
    "createDocumentVersion",
    "uploadSdkDocument",
)


def exact(names: tuple[str, ...]) -> str:
    """A regex matching exactly these operation ids (`^$` when there are none)."""
    return "^(" + "|".join(names) + ")$" if names else "^$"
