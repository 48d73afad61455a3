"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def get_webhook(webhook_id: str) -> dict:
    """Webhook resource."""
    raise not_implemented("get_webhook")


def delete_webhook(webhook_id: str) -> dict:
    """Delete webhook."""
    raise not_implemented("delete_webhook")


def update_webhook(webhook_id: str, body: dict) -> dict:
    """Update webhook."""
    raise not_implemented("update_webhook")


def list_webhook_receipts(
    webhook_id: str,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict:
    """Inbound receipts."""
    raise not_implemented("list_webhook_receipts")


def test_webhook(webhook_id: str) -> dict:
    """Test webhook."""
    raise not_implemented("test_webhook")
