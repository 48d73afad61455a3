"""The authenticated Studio caller: a member of an org (a leaf module)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentyard.core.keys import Tenant
from agentyard.hasp.studio.models import StudioUser


@dataclass(frozen=True)
class Member:
    """A signed-in member: who, in which org, with which org role, through which credential."""

    user: StudioUser
    org: Tenant
    auth: Literal["session", "token"]
    auth_id: str  # the session id (`ses_…`) or the token id (`pat_…`)

    @property
    def user_id(self) -> str:
        return str(self.user.id)

    @property
    def org_id(self) -> str:
        return str(self.org.id)

    @property
    def role(self) -> str:
        """The org role."""
        return str(self.user.role)
