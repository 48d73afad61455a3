"""The surfaces the HASP product serves."""

from __future__ import annotations

from agentyard.core import runtime as core_runtime
from agentyard.core.surfaces import Surface
from agentyard.core.tenant_mount import TenantRouting
from agentyard.hasp import SURFACE, auth, bootstrap, errors, warmup
from agentyard.hasp.runtime import SURFACE as RUNTIME
from agentyard.hasp.runtime import bootstrap as runtime_bootstrap
from agentyard.hasp.runtime import errors as runtime_errors
from agentyard.hasp.studio import SURFACE as STUDIO
from agentyard.hasp.studio import bootstrap as studio_bootstrap
from agentyard.hasp.studio import errors as studio_errors
from agentyard.hasp.studio import tokens as studio_tokens

# The modules that register tables, migrations, tasks or hooks when imported.
MODULES = (
    "agentyard.hasp.models",
    "agentyard.hasp.ai.models",
    "agentyard.hasp.studio.models",
    # studio-workflows: apps, workflows (engine, steps, triggers, schedules), project webhooks
    "agentyard.hasp.studio.workflow_models",
    "agentyard.hasp.studio.workflow_runs",
    "agentyard.hasp.studio.steps",
    "agentyard.hasp.studio.schedules",
    "agentyard.hasp.studio.triggers",
    "agentyard.hasp.studio.project_webhooks",
    # ... and the apps and workflows galleries of discovery
    "agentyard.hasp.studio.apps",
    "agentyard.hasp.studio.workflows",
    "agentyard.hasp.schema",
    "agentyard.hasp.webhooks",
    # issue 15, entities and records (studio-records)
    "agentyard.hasp.studio.entity_models",
    # issue 15 part 4 (studio-org): policy + integration tables, palette sources and commands,
    # and the gateway's model catalogue that project policies name (through the org core).
    "agentyard.hasp.studio.policy_models",
    "agentyard.hasp.studio.palette_sources",
    "agentyard.hasp.ai.catalog",
    # the operator console panel of recent inferences
    "agentyard.hasp.ai.console_panel",
    # issue 16: releases (the published contract version of each project)
    "agentyard.hasp.studio.release_models",
    # issue 15 (studio-ports): workflow steps reach records and integrations
    "agentyard.hasp.studio.record_keys",
    "agentyard.hasp.studio.record_steps",
    "agentyard.hasp.studio.integration_calls",
    # issue 16: runs and traces (studio-runs): trace tables, the palette's workflow.run
    "agentyard.hasp.studio.trace_models",
    "agentyard.hasp.studio.run_service",
    # issue 16: dashboards (an audit index), and the AI credits ledger they read (org core)
    "agentyard.hasp.studio.dashboard_indexes",
    "agentyard.hasp.ai.credits",
    # issue 16 (studio-releases): the release lifecycle and its palette command
    "agentyard.hasp.studio.releases",
)


SURFACES = (
    Surface(
        name=SURFACE,
        mount="/hasp-ai",
        title="HASP AI API V1",
        tenant_label="org",
        error_shape=errors.hasp_shape,
        new_secret=auth.new_secret,
        mint=bootstrap.mint,
        describe_key=bootstrap.describe,
        bootstrap=bootstrap.bootstrap,
        auth_headers=lambda secret: {"x-api-key": secret},
        error_shapes={
            "/v1/messages": errors.anthropic_shape,
            "/v1/models": errors.anthropic_shape,
        },
        request_id_prefix="req_",
        # The PHI scanner processes take seconds to start: not inside a client's first request.
        warm=warmup.start_phi_scanners,
    ),
    # Studio's orgs are the HASP orgs above; its callers are signed-in members (a session
    # cookie) or their personal access tokens, not API keys.
    Surface(
        name=STUDIO,
        mount="/hasp-studio",
        title="HASP Studio internal API",
        tenant_label="org",
        error_shape=studio_errors.shape,
        new_secret=studio_tokens.new_secret,
        mint=studio_bootstrap.mint,
        describe_key=studio_bootstrap.describe,
        bootstrap=studio_bootstrap.bootstrap,
        auth_headers=lambda secret: {"Authorization": f"Bearer {secret}"},
        request_id_prefix="req_",
    ),
    # The org runtime: per org (`/hasp-runtime/{org}/...`, or `{org}.<domain>` served alone),
    # called with the orgs' API keys above; its errors are JSON-RPC error responses.
    Surface(
        name=RUNTIME,
        mount="/hasp-runtime",
        title="HASP org runtime",
        tenant_label="org",
        error_shape=runtime_errors.shape,
        new_secret=auth.new_secret,
        mint=runtime_bootstrap.mint,
        describe_key=runtime_bootstrap.describe,
        bootstrap=runtime_bootstrap.bootstrap,
        auth_headers=lambda secret: {"Authorization": f"Bearer {secret}"},
        request_id_prefix="req_",
        tenant_routing=TenantRouting(
            domain=lambda: core_runtime.settings().hasp_runtime_domain, variable="org"
        ),
    ),
)
