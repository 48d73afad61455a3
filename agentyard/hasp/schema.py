"""The HASP product's migration history: the tables of the org core and of every surface.

One component, `hasp`, whose steps never change once released. Its first step creates the org
core's tables and the AI gateway's together, in the order they were first released. This and
`surface.py` are the only modules of the org core that import a surface subpackage.
"""

from __future__ import annotations

from agentyard.core.migrations import Migration, create_tables, register
from agentyard.hasp.ai.models import Conversation, CreditPeriod, InferenceRecord, Reservation, Turn
from agentyard.hasp.models import BaaAcceptance, OrgSettings, WebhookEndpoint
from agentyard.hasp.studio import models as studio

TABLES = (
    OrgSettings,
    CreditPeriod,
    Reservation,
    Conversation,
    Turn,
    InferenceRecord,
    BaaAcceptance,
    WebhookEndpoint,
)

register(
    "hasp",
    [
        Migration(1, "hasp ai tables", create_tables(*TABLES)),
        Migration(2, "hasp studio tables", create_tables(*studio.TABLES)),
    ],
)
