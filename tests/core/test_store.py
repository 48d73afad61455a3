"""The store: migrations, SQLite settings, PostgreSQL when configured."""

from __future__ import annotations

import os

import pytest

from agentyard.core import migrations
from agentyard.core.store import connection, db, is_sqlite


def test_migrations_are_recorded_and_idempotent(app):
    assert migrations.upgrade() == []
    with connection():
        rows = list(migrations.AppliedMigration.select())
    assert {(r.component, r.version) for r in rows} >= {("core", 1), ("aisp", 1)}


def test_sqlite_runs_in_wal_with_a_busy_timeout(app, backend):
    if backend.name != "embedded":
        pytest.skip("SQLite only")
    with connection():
        assert is_sqlite()
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_connection_context_always_closes(app):
    with connection():
        assert not db.is_closed()
    assert db.is_closed()
    with pytest.raises(ZeroDivisionError), connection():
        raise ZeroDivisionError
    assert db.is_closed()


@pytest.mark.skipif(not os.environ.get("AGENTYARD_TEST_DATABASE_URL"), reason="no PostgreSQL")
def test_postgres_backend_is_used_when_configured(app, backend):
    if backend.name != "scaled":
        pytest.skip("scaled backend only")
    with connection():
        assert not is_sqlite()
        assert db.execute_sql("SELECT 1").fetchone()[0] == 1


def test_add_columns_upgrades_a_table_made_before_the_fields(app):
    import secrets

    import peewee

    from agentyard.core.store import BaseModel

    table = f"test_widget_{secrets.token_hex(4)}"

    class Before(BaseModel):
        name = peewee.CharField()

        class Meta:
            table_name = table

    class After(BaseModel):
        name = peewee.CharField()
        size = peewee.IntegerField(default=0)
        seen_at = peewee.DateTimeField(null=True)

        class Meta:
            table_name = table

    step = migrations.add_columns(After, "size", "seen_at")
    with connection():
        try:
            db.create_tables([Before])
            Before.create(name="old row")
            with db.atomic():
                step(db.obj)
            with db.atomic():
                step(db.obj)  # a second run (or a store created with them) changes nothing
            assert {c.name for c in db.get_columns(table)} == {"id", "name", "size", "seen_at"}
            row = After.get(After.name == "old row")
            assert row.size == 0 and row.seen_at is None
        finally:
            db.drop_tables([Before])
