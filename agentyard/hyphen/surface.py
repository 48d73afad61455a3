"""The surface the Hyphen product serves."""

from __future__ import annotations

from agentyard.core import keys
from agentyard.core.cors import CorsPolicy
from agentyard.core.http_guard import BodyLimit
from agentyard.core.surfaces import Surface
from agentyard.hyphen import SURFACE, bootstrap, documents, errors, sdk, sdk_documents
from agentyard.hyphen.auth import new_secret

# The modules that register tables, migrations, tasks or hooks when imported.
MODULES = (
    "agentyard.hyphen.models",
    "agentyard.hyphen.webhooks",
    # the workflow engine's side (hyphen-engine): tables, the `hyphen` flows engine and its
    # step types (every worker must import them), the form-reminder periodic task
    "agentyard.hyphen.workflow_models",
    "agentyard.hyphen.steps",
    "agentyard.hyphen.approvals",
    # OAuth connections and the built-in OAuth tools (hyphen-oauth)
    "agentyard.hyphen.oauth",
    # the gateway and licensing (hyphen-gateway): accounts, orgs, usage, licences
    "agentyard.hyphen.gateway_models",
    # documents (hyphen-docs): tables, the collection periodic task
    "agentyard.hyphen.document_models",
    "agentyard.hyphen.documents",
    # AI workflow generation (hyphen-ai): its table and the generation job
    "agentyard.hyphen.ai_generation_models",
    "agentyard.hyphen.ai_generation",
    # the browser SDK (hyphen-sdk-core): publishable keys, users, sessions, sign-in codes
    "agentyard.hyphen.sdk_models",
    # the SDK's data routes (hyphen-sdk-resources): documents and agent runs of a key
    "agentyard.hyphen.sdk_resources_models",
    # the SDK event stream's replay log (hyphen-sdk-events)
    "agentyard.hyphen.sdk_stream_log",
)

SURFACES = (
    Surface(
        name=SURFACE,
        mount="/hyphen",
        title="Hyphen API",
        tenant_label="org",
        error_shape=errors.shape,
        new_secret=new_secret,
        mint=bootstrap.mint,
        describe_key=bootstrap.describe,
        bootstrap=bootstrap.bootstrap,
        auth_headers=lambda secret: {"Authorization": f"Bearer {secret}"},
        key_kinds=(keys.DEFAULT_KIND, sdk.KIND),
        # /sdk is called from web pages: preflights are answered for an origin some live
        # publishable key allows; real requests for the origins of the key they use.
        cors=CorsPolicy(
            path_pattern=r"/sdk(/|$)",
            preflight_allowed=sdk.any_key_allows,
            allow_headers=("Authorization", "X-Publishable-Key", "Last-Event-ID", "Content-Type"),
            expose_headers=("Retry-After",),
        ),
        # document uploads are multipart bodies read as streams (`core.multipart`)
        body_limits={
            documents.BULK_PATH_PATTERN: BodyLimit(documents.max_bulk_bytes, streamed=True),
            documents.UPLOAD_PATH_PATTERN: BodyLimit(documents.max_upload_bytes, streamed=True),
            sdk_documents.UPLOAD_PATH_PATTERN: BodyLimit(documents.max_upload_bytes, streamed=True),
        },
    ),
)
