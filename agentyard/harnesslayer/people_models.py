"""Tables of an app's people side: its webhooks and its profiles' run counters.

Migration component `harnesslayer_people` (after `harnesslayer`, whose v1 holds apps, access
groups and profiles).
"""

from __future__ import annotations

import peewee

from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.harnesslayer.models import App, Profile


class Webhook(BaseModel):
    """An app's outbound call on an event; deliveries are core's (`agentyard.core.webhooks`)."""

    id = peewee.CharField(primary_key=True, max_length=40)  # wh-<ulid>
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    event = peewee.CharField(max_length=64)
    method = peewee.CharField(max_length=8)
    url = peewee.TextField()
    headers = JsonField(null=True)  # {name: value} or null
    run_count = peewee.BigIntegerField(default=0)
    last_triggered_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_webhook"
        indexes = ((("app", "event"), False),)


class RunUsage(BaseModel):
    """A profile's response runs in the current day, month and year (UTC calendar periods).

    One row per profile, locked while a run is counted. All three counters move on every run,
    so whichever `limitReset` the profile's group has (or is changed to) reads an exact count
    of the current period. A counter whose period key is not the current one counts 0.
    """

    profile = peewee.ForeignKeyField(Profile, primary_key=True, on_delete="CASCADE")
    day = peewee.CharField(max_length=10, default="")  # YYYY-MM-DD
    day_runs = peewee.BigIntegerField(default=0)
    month = peewee.CharField(max_length=7, default="")  # YYYY-MM
    month_runs = peewee.BigIntegerField(default=0)
    year = peewee.CharField(max_length=4, default="")  # YYYY
    year_runs = peewee.BigIntegerField(default=0)
    updated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hl_run_usage"


def delete_for_app(app_id: str) -> None:
    """Remove a deleted app's webhooks and its profiles' run counters (the app deletion job)."""
    RunUsage.delete().where(
        RunUsage.profile.in_(Profile.select(Profile.id).where(Profile.app == app_id))
    ).execute()
    Webhook.delete().where(Webhook.app == app_id).execute()


TABLES = (Webhook, RunUsage)
register(
    "harnesslayer_people",
    [Migration(1, "app webhooks and profile run counters", create_tables(*TABLES))],
)
