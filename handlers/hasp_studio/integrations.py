"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def list_integrations(org_id: str, cursor: str | None = None, limit: int | None = None) -> dict:
    """Org integrations."""
    raise not_implemented("list_integrations")


def create_integration(org_id: str, body: dict) -> dict:
    """Create integration."""
    raise not_implemented("create_integration")


def get_integration(org_id: str, integration_id: str) -> dict:
    """Get integration."""
    raise not_implemented("get_integration")


def delete_integration(org_id: str, integration_id: str) -> dict:
    """Delete integration."""
    raise not_implemented("delete_integration")


def update_integration(org_id: str, integration_id: str, body: dict) -> dict:
    """Update integration."""
    raise not_implemented("update_integration")


def test_integration(integration_id: str) -> dict:
    """Test connection."""
    raise not_implemented("test_integration")
