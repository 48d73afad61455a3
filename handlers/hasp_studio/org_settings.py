"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def get_phi_policy(org_id: str) -> dict:
    """Org PHI policy."""
    raise not_implemented("get_phi_policy")


def update_phi_policy(org_id: str, body: dict) -> dict:
    """Update org PHI policy."""
    raise not_implemented("update_phi_policy")


def get_release_policy(org_id: str) -> dict:
    """Org release floor."""
    raise not_implemented("get_release_policy")


def update_release_policy(org_id: str, body: dict) -> dict:
    """Update org release floor."""
    raise not_implemented("update_release_policy")
