"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def listWebhooks(limit: int | None = None, offset: int | None = None) -> dict:
    """List webhooks."""
    raise not_implemented("listWebhooks")


def createWebhook(body: dict) -> dict:
    """Register webhook."""
    raise not_implemented("createWebhook")


def getWebhook(id_: str) -> dict:
    """Get webhook."""
    raise not_implemented("getWebhook")


def deleteWebhook(id_: str) -> dict:
    """Delete webhook."""
    raise not_implemented("deleteWebhook")


def updateWebhook(id_: str, body: dict) -> dict:
    """Update webhook."""
    raise not_implemented("updateWebhook")
