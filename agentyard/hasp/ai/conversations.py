"""Native chat conversations: server-kept history, stored with PHI already redacted."""

from __future__ import annotations

import re
from typing import Any

from agentyard.core import clock, ids
from agentyard.core.errors import not_found
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant
from agentyard.hasp.ai.models import Conversation, Turn

_ID = re.compile(r"(?:conv_)?([0-9A-HJKMNP-TV-Z]{26})")
MAX_TURNS = 200  # history sent upstream: the latest turns


def find(org: Tenant, conversation_id: str) -> Conversation:
    """The org's conversation (`conv_<ulid>` or the bare ULID); 404 otherwise."""
    match = _ID.fullmatch(conversation_id or "")
    if match is None:
        raise not_found("conversation", conversation_id)
    message = f"No conversation {conversation_id}"
    row_id = f"conv_{match.group(1)}"
    return find_in_tenant(Conversation, row_id, org, what="conversation", message=message)


def history(conversation: Conversation | None) -> list[dict[str, Any]]:
    """The conversation's messages in Anthropic form, oldest first."""
    if conversation is None:
        return []
    turns = (
        Turn.select()
        .where(Turn.conversation == conversation)
        .order_by(Turn.seq.desc())
        .limit(MAX_TURNS)
    )
    return [{"role": t.role, "content": t.content} for t in reversed(list(turns))]


def new_id() -> str:
    return ids.new_id("conv")


def append(org: Tenant, conversation_id: str, user: str, assistant: str) -> None:
    """Add one exchange (both texts as sent to / written by the provider)."""
    now = clock.now()
    with write():
        Conversation.insert(
            id=conversation_id, tenant=org, created_at=now, updated_at=now, turns=0
        ).on_conflict_ignore().execute()
        row = Conversation.get_by_id(conversation_id)
        Turn.create(conversation=row, seq=row.turns + 1, role="user", content=user)
        Turn.create(conversation=row, seq=row.turns + 2, role="assistant", content=assistant)
        row.turns += 2
        row.updated_at = now
        row.save()
