"""The database: peewee on SQLite (embedded default) or PostgreSQL (`DATABASE_URL`).

Tables bind to the `db` proxy. `open_database()` points it at a real database once per process;
`connection()` takes one connection for one unit of work (a request, a job, a CLI command)
and always gives it back (both backends pool connections, so pragmas and handshakes are paid
once per pooled connection, not per request); `write()` opens a write transaction
(`BEGIN IMMEDIATE` on SQLite, so concurrent writers queue on the busy timeout instead of
failing on lock upgrade).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import peewee
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledSqliteDatabase

db = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,
    "synchronous": "normal",
    "foreign_keys": 1,
}

F = TypeVar("F", bound=Callable[..., Any])


class BaseModel(peewee.Model):
    """Base of every table: bound to the shared `db` proxy."""

    class Meta:
        database = db
        legacy_table_names = False


class JsonField(peewee.TextField):
    """JSON kept as text (the same on SQLite and PostgreSQL)."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


def make_database(database_url: str | None, data_dir: Path) -> peewee.Database:
    """A peewee database for a URL, or the SQLite file `<data_dir>/agentyard.db`."""
    if database_url:
        url = database_url
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+pool://" + url[len("postgresql://") :]
            sep = "&" if "?" in url else "?"
            # Above Starlette's 40 threadpool threads plus job threads; a full pool waits up to
            # `timeout` seconds for a connection instead of failing the request.
            url += f"{sep}max_connections=48&stale_timeout=300&timeout=10"
        return connect_url(url)
    data_dir.mkdir(parents=True, exist_ok=True)
    return PooledSqliteDatabase(
        str(data_dir / "agentyard.db"),
        pragmas=SQLITE_PRAGMAS,
        check_same_thread=False,
        max_connections=64,
        stale_timeout=300,
        timeout=10,
    )


def open_database(database_url: str | None, data_dir: Path) -> peewee.Database:
    """Point the `db` proxy at the configured database."""
    current = db.obj
    if current is not None and not current.is_closed():
        current.close()
    database = make_database(database_url, data_dir)
    db.initialize(database)
    return database


def is_sqlite() -> bool:
    """Whether the store is the embedded SQLite file."""
    return isinstance(db.obj, peewee.SqliteDatabase)


@contextmanager
def connection() -> Iterator[None]:
    """One connection for one unit of work, closed (or returned to the pool) afterwards."""
    if not db.is_closed():
        yield
        return
    db.connect()
    try:
        yield
    finally:
        if not db.is_closed():
            db.close()


def with_connection(func: F) -> F:
    """Decorate a function so it runs inside `connection()`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with connection():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def write() -> peewee._atomic:
    """A write transaction: IMMEDIATE on SQLite, a plain transaction on PostgreSQL."""
    if is_sqlite():
        return db.obj.atomic(lock_type="IMMEDIATE")
    return db.atomic()
