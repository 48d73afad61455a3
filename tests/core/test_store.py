"""The store: migrations, SQLite settings, PostgreSQL when configured."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import time
from pathlib import Path

import peewee
import pytest
from playhouse.pool import PooledPostgresqlDatabase

from agentyard.core import migrations
from agentyard.core.keys import Tenant, get_or_create_tenant
from agentyard.core.store import (
    BaseModel,
    JsonField,
    PooledPostgres,
    Prepared,
    PreparedInsert,
    _numbered,
    connection,
    db,
    is_sqlite,
    make_database,
    write,
)


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


def _by_surface() -> Prepared[Tenant]:
    return Prepared(
        lambda surface, after: (
            Tenant.select()
            .where((Tenant.surface == surface) & (Tenant.name > after))
            .order_by(Tenant.name)
        )
    )


def test_a_prepared_query_answers_as_the_query_it_was_built_from(app):
    query = _by_surface()
    with connection():
        for name in ("b", "a", "c"):
            get_or_create_tenant("prep-test", name)
        built = Tenant.select().where((Tenant.surface == "prep-test") & (Tenant.name > "a"))
        rows = query("prep-test", "a")
        assert [(t.id, t.name) for t in rows] == [
            (t.id, t.name) for t in built.order_by(Tenant.name)
        ]
        assert [t.name for t in query("prep-test", "")] == ["a", "b", "c"]
        assert query("other-surface", "") == []


def test_on_postgres_a_prepared_query_is_planned_once_per_session(app, backend, monkeypatch):
    if backend.name != "scaled":
        pytest.skip("scaled backend only")
    query = _by_surface()
    sent: list[str] = []
    execute = db.obj.execute_sql
    monkeypatch.setattr(db.obj, "execute_sql", lambda sql, *a: sent.append(sql) or execute(sql, *a))
    with connection():
        get_or_create_tenant("prep-pg", "a")
        sent.clear()
        assert [t.name for t in query("prep-pg", "")] == ["a"]
        assert [t.name for t in query("prep-pg", "a")] == []
        assert [s.split()[0] for s in sent] == ["PREPARE", "EXECUTE", "EXECUTE"]
        names = db.execute_sql("SELECT name FROM pg_prepared_statements").fetchall()
        assert (query._name,) in names
        db.execute_sql("DEALLOCATE ALL")  # what a pooler's DISCARD ALL does to the session
        sent.clear()
        assert [t.name for t in query("prep-pg", "")] == ["a"]  # prepared again
        assert [s.split()[0] for s in sent] == ["EXECUTE", "PREPARE", "EXECUTE"]


def _typed_row_model() -> type[BaseModel]:
    """A throwaway model with a field of each kind the products use (create its table)."""

    class Row(BaseModel):
        id = peewee.CharField(primary_key=True)
        tenant = peewee.ForeignKeyField(Tenant)
        count = peewee.BigIntegerField()
        flag = peewee.BooleanField()
        share = peewee.FloatField()
        doc = JsonField(null=True)
        note = peewee.TextField(null=True)
        at = peewee.DateTimeField()

        class Meta:
            table_name = f"test_typed_rows_{secrets.token_hex(4)}"

    return Row


def _typed_values(tenant: Tenant) -> dict:
    return {
        "tenant": tenant,
        "count": 2**40,
        "flag": False,
        "share": 0.25,
        "doc": {"b": [1, None, "x"], "a": True},
        "note": None,
        "at": dt.datetime(2026, 12, 4, 20, 1, 2, 345000),
    }


def test_a_prepared_select_makes_the_instances_the_query_makes(app):
    typed = _typed_row_model()
    by_tenant = Prepared(lambda t: typed.select().where(typed.tenant == t).order_by(typed.id))
    joined = Prepared(
        lambda t: (
            typed.select(typed, Tenant).join(Tenant).where(typed.tenant == t).order_by(typed.id)
        )
    )
    with connection():
        tenant, _ = get_or_create_tenant("prep-select", "t")
        try:
            db.create_tables([typed])
            typed.create(id="a", **_typed_values(tenant))
            other = {**_typed_values(tenant), "note": "n", "flag": True, "doc": None}
            typed.create(id="b", **other)
            built = list(typed.select().where(typed.tenant == tenant.id).order_by(typed.id))
            for _ in range(2):  # the first run finds how rows are made, the second reuses it
                rows = by_tenant(tenant.id)
                assert [type(r) for r in rows] == [typed, typed]
                assert [r.__data__ for r in rows] == [r.__data__ for r in built]
                assert all(not r.is_dirty() for r in rows)
            assert rows[0].at == dt.datetime(2026, 12, 4, 20, 1, 2, 345000)
            assert rows[0].doc == {"b": [1, None, "x"], "a": True}
            assert rows[1].tenant.name == "t"  # the relation loads as the query's rows' do
            rows[0].note = "saved"
            rows[0].save()
            assert typed.get_by_id("a").note == "saved"
            with_tenant = joined(tenant.id)  # a join: peewee's wrapper makes its rows
            assert [r.tenant.name for r in with_tenant] == ["t", "t"]
            assert by_tenant("nobody") == []
        finally:
            db.drop_tables([typed])


def test_a_prepared_insert_stores_what_model_create_stores(app):
    typed = _typed_row_model()
    insert = PreparedInsert(typed, list(typed._meta.fields))
    with connection():
        tenant, _ = get_or_create_tenant("prep-insert", "t")
        values = _typed_values(tenant)
        try:
            db.create_tables([typed])
            typed.create(id="created", **values)
            assert insert.execute(id="prepared", **values) == 1
            with pytest.raises(ValueError):
                insert.execute(id="short", tenant=tenant)
            stored = {r.pop("id"): r for r in typed.select().dicts()}
            assert stored["prepared"] == stored["created"]
            assert stored["prepared"]["doc"] == values["doc"]
            raw = typed.select(typed.id, typed.at.cast("text").alias("at_text")).dicts()
            texts = {r["id"]: r["at_text"] for r in raw}
            assert texts["prepared"] == texts["created"]  # the same stored form, not only value
        finally:
            db.drop_tables([typed])


def test_placeholders_become_numbered_parameters():
    assert _numbered("a = %s AND b LIKE '%%x' AND c = %s") == "a = $1 AND b LIKE '%x' AND c = $2"


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


PG_URL = os.environ.get("AGENTYARD_TEST_DATABASE_URL")
needs_pg = pytest.mark.skipif(not PG_URL, reason="AGENTYARD_TEST_DATABASE_URL is not set")


def _pg_pool(monkeypatch: pytest.MonkeyPatch) -> tuple[PooledPostgres, list[int]]:
    """A pool on the test server, and the ids of connections peewee's own check pinged."""
    assert PG_URL
    pool = make_database(PG_URL, Path("/nonexistent"))
    assert isinstance(pool, PooledPostgres)
    pinged: list[int] = []
    ping = PooledPostgresqlDatabase._is_closed

    def spy(self: PooledPostgres, conn: object) -> bool:
        pinged.append(id(conn))
        return bool(ping(self, conn))

    monkeypatch.setattr(PooledPostgresqlDatabase, "_is_closed", spy)
    return pool, pinged


def _backend_pid(pool: PooledPostgres) -> int:
    return int(pool.execute_sql("SELECT pg_backend_pid()").fetchone()[0])


@pytest.mark.embedded_only
@needs_pg
def test_a_pg_connection_given_back_moments_ago_is_handed_out_without_a_ping(monkeypatch):
    pool, pinged = _pg_pool(monkeypatch)
    try:
        with pool.connection_context():
            first = _backend_pid(pool)
        with pool.connection_context():  # the same connection, at once: no round trip
            assert _backend_pid(pool) == first
        assert pinged == []
        pool.PING_AFTER = 0.0  # idle long enough: pinged before it is handed out
        with pool.connection_context():
            assert _backend_pid(pool) == first
        assert len(pinged) == 1
    finally:
        pool.close_all()


@pytest.mark.embedded_only
@needs_pg
def test_a_pg_connection_that_died_in_the_pool_is_replaced(monkeypatch):
    pool, _ = _pg_pool(monkeypatch)
    try:
        with pool.connection_context():
            dead = _backend_pid(pool)
        other = make_database(PG_URL, Path("/nonexistent"))
        with other.connection_context():
            other.execute_sql("SELECT pg_terminate_backend(%s)", (dead,))
        other.close_all()
        # within the window the dead connection fails its query and is not pooled again ...
        with pytest.raises(peewee.DatabaseError), pool.connection_context():
            _backend_pid(pool)
        # ... and the next checkout opens a live one
        with pool.connection_context():
            assert _backend_pid(pool) != dead
    finally:
        pool.close_all()


@pytest.mark.embedded_only
def test_sqlite_writers_of_one_process_queue_instead_of_meeting_the_busy_handler(tmp_path):
    # busy_timeout 0: a writer that found the file locked would fail at once ("database is
    # locked") instead of sleeping in SQLite's back-off; queued, none ever finds it locked
    database = make_database(None, tmp_path)
    database.init(
        str(tmp_path / "agentyard.db"),
        pragmas={"journal_mode": "wal", "busy_timeout": 0},
        check_same_thread=False,
    )
    with database.connection_context():
        database.execute_sql("CREATE TABLE t (n INTEGER)")
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            with database.connection_context():
                for n in range(30):
                    with write(database):
                        database.execute_sql("INSERT INTO t VALUES (?)", (n,))
                        time.sleep(0.001)  # the lock held a while, as a real transaction does
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with database.connection_context():
        assert database.execute_sql("SELECT COUNT(*) FROM t").fetchone()[0] == 8 * 30
    database.close_all()
