"""The Hyphen domain: custom tables, org config, schemas and webhooks of an org (the surface's
package), and the workflow engine's Hyphen side (workflows, runs, approvals, forms, agents,
actions) compiled onto `agentyard.flows`."""

SURFACE = "hyphen"
