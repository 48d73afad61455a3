"""Hyphen: workflows, primitives, actions, agents, custom tables, org config and webhooks."""

SURFACE = "hyphen"
