"""The database: peewee on SQLite (embedded default) or PostgreSQL (`DATABASE_URL`).

Tables bind to the `db` proxy. `open_database()` points it at a real database once per process;
`connection()` takes one connection for one unit of work (a request, a job, a CLI command)
and always gives it back (both backends pool connections, so pragmas and handshakes are paid
once per pooled connection, not per request); `write()` opens a write transaction
(`BEGIN IMMEDIATE` on SQLite, so concurrent writers queue on the busy timeout instead of
failing on lock upgrade).

One checkout per request: `RequestConnection` (ASGI middleware) lets the threadpool steps of
one HTTP request share the connection the first of them checks out — the security lookup
and then the handler, which may run in different threads — and returns it to the pool when
the handler has run, when the response starts (an SSE stream does not hold one while it
waits) or when the request ends, whichever comes first.

`Prepared` compiles a hot query to SQL once per database (peewee spends far longer building
SQL than SQLite spends running a keyed lookup) and re-runs it with new parameter values; on
PostgreSQL it is also a server-side prepared statement of each pooled connection (`PREPARE`
once, then `EXECUTE`), so the server parses and plans it once per connection, not per request.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import peewee
import psycopg2.errors
import psycopg2.extensions
from playhouse.db_url import connect as connect_url
from playhouse.db_url import parseresult_to_dict
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase
from starlette.types import ASGIApp, Message, Receive, Scope, Send

db = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,
    "synchronous": "normal",
    "foreign_keys": 1,
    "temp_store": "memory",  # ORDER BY sorts without a temp file
}

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=peewee.Model)


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


class _Connection(psycopg2.extensions.connection):
    """A psycopg2 connection that knows the statements prepared on its server session."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: set[str] = set()


_PLACEHOLDER = re.compile(r"%[s%]")


def _numbered(sql: str) -> str:
    """psycopg2's `%s` placeholders as PostgreSQL's `$1, $2, ...` (and `%%` as `%`)."""
    serial = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else f"${next(serial)}", sql)


class PooledPostgres(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool, checking a connection it hands out with a `SELECT 1` round
    trip only when it has been idle for `PING_AFTER` seconds (as HikariCP does).

    peewee pings on every checkout, holding the pool's lock (and the database's) over the
    round trip, so every request of every thread queued behind one ping at a time. A
    connection given back moments ago was alive then; one whose session broke meanwhile fails
    its query, and peewee drops it from the pool.

    Its connections remember the statements `Prepared` queries prepared on them
    (`execute_prepared`)."""

    PING_AFTER = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, connection_factory=_Connection, **kwargs)
        self._returned: dict[int, float] = {}  # connection key -> when it came back

    def execute_prepared(self, name: str, sql: str, args: list[Any]) -> Any:
        """Run `sql` as the server-side prepared statement `name` of this thread's connection,
        preparing it there first if it is new to that session; the cursor.

        A session that lost its statements (a pooler's `DISCARD ALL`) prepares them again,
        outside a transaction (inside one, the failed `EXECUTE` has aborted it: the error
        stands)."""
        try:
            return self._execute_prepared(name, sql, args)
        except peewee.OperationalError as exc:  # peewee's wrapper of the driver's error
            if not isinstance(exc.__context__, psycopg2.errors.InvalidSqlStatementName):
                raise
            self.connection().prepared.clear()
            if self.in_transaction():
                raise
            return self._execute_prepared(name, sql, args)

    def _execute_prepared(self, name: str, sql: str, args: list[Any]) -> Any:
        conn = self.connection()
        if name not in conn.prepared:
            self.execute_sql(f"PREPARE {name} AS {_numbered(sql)}")
            conn.prepared.add(name)
        values = f" ({', '.join(['%s'] * len(args))})" if args else ""
        return self.execute_sql(f"EXECUTE {name}{values}", args)

    def _is_closed(self, conn: Any) -> bool:
        returned = self._returned.pop(self.conn_key(conn), None)
        if (
            returned is not None
            and time.monotonic() - returned < self.PING_AFTER
            and not conn.closed
            and self._adapter.txn_status(conn) == self._adapter.txn_idle
        ):
            return False
        return bool(super()._is_closed(conn))

    def _close(self, conn: Any, close_conn: bool = False) -> None:
        if close_conn:
            self._returned.pop(self.conn_key(conn), None)
        else:  # before it is back in the pool, where another thread may take it at once
            self._returned[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)


def make_database(database_url: str | None, data_dir: Path) -> peewee.Database:
    """A peewee database for a URL, or the SQLite file `<data_dir>/agentyard.db`."""
    if database_url:
        url = database_url
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            sep = "&" if "?" in url else "?"
            # Above the 40 request threadpool threads (core.aio) plus job threads; a full pool
            # waits up to `timeout` seconds for a connection instead of failing the request.
            url += f"{sep}max_connections=48&stale_timeout=300&timeout=10"
            return PooledPostgres(**parseresult_to_dict(urlsplit(url)))
        return connect_url(url)
    data_dir.mkdir(parents=True, exist_ok=True)
    return PooledSqliteDatabase(
        str(data_dir / "agentyard.db"),
        pragmas=SQLITE_PRAGMAS,
        check_same_thread=False,
        max_connections=128,  # HOLD_RESERVE for threads, the rest for requests between steps
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


# A request keeps its connection between its steps only while enough stay free for every
# thread that may need one at once (core.aio's 40 request threadpool threads, job and flow
# threads), so a request waiting for a thread never leaves a thread waiting for a connection.
HOLD_RESERVE = 48
_slots_lock = threading.Lock()
_slots_taken = 0


def _take_slot(database: Any) -> bool:
    global _slots_taken
    limit = int(getattr(database, "_max_connections", 0) or 0)
    with _slots_lock:
        if _slots_taken < limit - HOLD_RESERVE:
            _slots_taken += 1
            return True
        return False


def _give_slot() -> None:
    global _slots_taken
    with _slots_lock:
        _slots_taken -= 1


class _Held:
    """The connection one request's threadpool steps share (see `RequestConnection`)."""

    __slots__ = ("conn", "database", "lock", "released", "users")

    def __init__(self) -> None:
        self.conn: Any = None
        self.database: Any = None  # the pooled database it came from
        self.users = 0  # threads using it right now
        self.released = False  # past the handler (or no slot): no more sharing
        self.lock = threading.Lock()

    def release(self) -> None:
        """No more sharing; the connection goes back to the pool once no thread uses it."""
        with self.lock:
            self.released = True
            if self.users:
                return  # the last thread using it gives it back
            conn, self.conn = self.conn, None
        if conn is not None:
            self.give_back(conn)

    def give_back(self, conn: Any) -> None:
        self.database._close(conn)  # back to the pool
        _give_slot()


_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar(
    "agentyard_request_connection", default=None
)


@contextmanager
def connection() -> Iterator[None]:
    """One connection for one unit of work, closed (or returned to the pool) afterwards.

    Inside a request served under `RequestConnection`, the first step to ask checks one out
    and the request's later steps (in any thread) use the same one until it is released.
    """
    if not db.is_closed():
        yield
        return
    held = _held.get()
    database: Any = db.obj  # a pooled database (playhouse.pool)
    if held is not None and held.conn is None and not held.released:
        with held.lock:
            if held.conn is None and not _take_slot(database):
                held.released = True  # no slot free: this request checks out per step
    if held is None or held.released:
        db.connect()
        try:
            yield
        finally:
            if not db.is_closed():
                db.close()
        return
    with held.lock:
        if held.conn is None:
            try:
                db.connect()
            except BaseException:
                held.released = True
                _give_slot()
                raise
            held.conn, held.database = database._state.conn, database
        else:
            database._state.set_connection(held.conn)
        held.users += 1
    try:
        yield
    finally:
        if database.in_transaction():  # never left open by write(); be safe
            database.rollback()
        database._state.reset()  # this thread lets go; the connection stays checked out
        conn = None
        with held.lock:
            held.users -= 1
            if held.released and held.users == 0:
                conn, held.conn = held.conn, None
        if conn is not None:
            held.give_back(conn)  # released while this thread used it


def with_connection(func: F) -> F:
    """Decorate a function so it runs inside `connection()`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with connection():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def with_last_connection(func: F) -> F:
    """Like `with_connection`, for the last store step of a request (its handler): the
    request's shared connection goes back to the pool when `func` returns."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with connection():
                return func(*args, **kwargs)
        finally:
            release_request_connection()

    return wrapper  # type: ignore[return-value]


def release_request_connection() -> None:
    """End the running request's connection sharing (an async handler about to wait calls
    this first, so no connection is held while it waits)."""
    held = _held.get()
    if held is not None:
        held.release()


class RequestConnection:
    """ASGI middleware: one store connection per HTTP request, shared by its steps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held = _Held()
        token = _held.set(held)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.release()
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            held.release()
            _held.reset(token)


class Prepared(Generic[M]):
    """A query built once per database with placeholder values, its SQL compiled once, and
    run again with new values: `by_digest = Prepared(lambda d: Key.select().where(Key.digest
    == d))`, then `by_digest(d)` -> the rows, as the built query would give them; a write
    query (insert, update, delete) runs with `.execute(...)`.

    Values pass to the driver unchanged, so use parameters where a column converts nothing:
    text columns, LIMIT. A parameter that does not reach the SQL is a programming error
    (ValueError).
    """

    _MARK = "\x00agentyard-param-{}\x00"

    _SERIAL = itertools.count()

    def __init__(self, build: Callable[..., Any], arity: int | None = None) -> None:
        self._name = f"agentyard_{next(self._SERIAL)}"  # as a PostgreSQL prepared statement
        self._build = build
        self._arity = len(inspect.signature(build).parameters) if arity is None else arity
        self._compiled: dict[int, tuple[peewee.Database, Any, str, list[Any], list[int]]] = {}
        self._builders: dict[int, tuple[peewee.Database, Callable[[Any], M] | None]] = {}
        self._lock = threading.Lock()

    def _compile(self, database: peewee.Database) -> tuple[Any, str, list[Any], list[int]]:
        found = self._compiled.get(id(database))
        if found is not None and found[0] is database:
            return found[1:]
        marks = [self._MARK.format(i) for i in range(self._arity)]
        query = self._build(*marks)
        sql, params = database.get_sql_context().sql(query).query()
        slots = [marks.index(p) if isinstance(p, str) and p in marks else -1 for p in params]
        if {s for s in slots if s >= 0} != set(range(self._arity)):
            raise ValueError("every parameter of a Prepared query must reach its SQL")
        with self._lock:
            self._compiled[id(database)] = (database, query, sql, params, slots)
        return query, sql, params, slots

    def _run(self, values: tuple[Any, ...]) -> tuple[Any, Any]:
        database = db.obj
        query, sql, params, slots = self._compile(database)
        args = [values[s] if s >= 0 else p for p, s in zip(params, slots, strict=True)]
        if isinstance(database, PooledPostgres):
            return query, database.execute_prepared(self._name, sql, args)
        return query, database.execute_sql(sql, args)

    def __call__(self, *values: Any) -> list[M]:
        """The rows of a prepared SELECT."""
        query, cursor = self._run(values)
        wrapper = query._get_cursor_wrapper(cursor)
        database = db.obj
        found = self._builders.get(id(database))
        if found is None or found[0] is not database:
            found = (database, _row_builder(wrapper))
            with self._lock:
                self._builders[id(database)] = found
        build = found[1]
        return list(wrapper) if build is None else [build(row) for row in cursor]

    def execute(self, *values: Any) -> int:
        """Run a prepared INSERT, UPDATE or DELETE; the number of rows it changed."""
        return int(self._run(values)[1].rowcount)


def _row_builder(wrapper: Any) -> Callable[[Any], Any] | None:
    """For a select of one model's own columns: a function making each row the instance
    peewee's cursor wrapper makes (each column converted by its field, nothing dirty), without
    the wrapper's per-query column resolution and per-field `setattr`s. None for any other
    query (joins, expressions, dicts or tuples), whose rows the wrapper keeps making."""
    if type(wrapper) is not peewee.ModelObjectCursorWrapper or not wrapper.is_model:
        return None
    wrapper.initialize()
    model, fields = wrapper.constructor, wrapper.fields
    if any(f is None or f.model is not model for f in fields):
        return None
    if len({f.name for f in fields}) != len(fields):
        return None
    converters = wrapper.converters
    plan = [(i, f.name, c) for i, (f, c) in enumerate(zip(fields, converters, strict=True))]

    def build(row: Any) -> Any:
        obj = model.__new__(model)
        obj.__data__ = {name: row[i] if c is None else c(row[i]) for i, name, c in plan}
        obj._dirty = set()
        obj.__rel__ = {}
        return obj

    return build


def raw(value: Any) -> peewee.Value:
    """A value the driver gets as it is, with no column conversion: for a `Prepared`
    placeholder of a column that converts (an integer, boolean, datetime or JSON column's)."""
    return peewee.Value(value, converter=False)


class PreparedInsert(Generic[M]):
    """An INSERT of one `model` row with the named fields, its SQL compiled once (`Prepared`):
    `add = PreparedInsert(Entry, ["id", "created_at"])`, then `add.execute(id=..., created_at=...)`.
    Each value is converted by its field (`db_value`) as `Model.create` would convert it."""

    def __init__(self, model: type[M], fields: list[str]) -> None:
        self._fields = [model._meta.fields[name] for name in fields]  # type: ignore[attr-defined]
        self._insert: Prepared[M] = Prepared(
            lambda *marks: model.insert(
                {f: raw(m) for f, m in zip(self._fields, marks, strict=True)}
            ),
            arity=len(self._fields),
        )

    def execute(self, **values: Any) -> int:
        """Insert the row (every named field given); the number of rows inserted."""
        if len(values) != len(self._fields):
            raise ValueError("every field of a PreparedInsert needs a value")
        return self._insert.execute(*(f.db_value(values[f.name]) for f in self._fields))


_SQLITE_WRITER = threading.RLock()


class _QueuedWrite:
    """An IMMEDIATE transaction begun once this process's other writers are done (inside a
    transaction already open it is a savepoint, and waits for nobody: the transaction may hold
    the file's lock that the writer it would wait for is waiting on)."""

    def __init__(self, database: peewee.SqliteDatabase) -> None:
        self.database = database
        self.atomic = database.atomic(lock_type="IMMEDIATE")
        self.queued = False

    def __enter__(self) -> Any:
        self.queued = not self.database.in_transaction()
        if self.queued:
            _SQLITE_WRITER.acquire()
        try:
            return self.atomic.__enter__()
        except BaseException:
            if self.queued:
                _SQLITE_WRITER.release()
            raise

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.atomic.__exit__(*exc)
        finally:
            if self.queued:
                _SQLITE_WRITER.release()


def write(database: peewee.Database | None = None) -> Any:
    """A write transaction on `database` (default: the store): IMMEDIATE on SQLite, a plain
    transaction on PostgreSQL.

    On SQLite the writers of one process queue on a lock before `BEGIN IMMEDIATE`: SQLite
    makes a writer that finds the file locked sleep with a growing back-off (1, 2, 5, 10 ...
    100 ms) and retry, so under concurrent writes a few lost several rounds while the lock
    was held only a few ms each time. Other processes' writers still meet the busy handler."""
    database = database or db.obj
    if isinstance(database, peewee.SqliteDatabase):
        return _QueuedWrite(database)
    return database.atomic()


def put_row(
    model: type[M],
    where: peewee.Expression,
    *,
    new: dict[str, Any],
    values: dict[str, Any],
    then: Callable[[M, bool], None] | None = None,
) -> tuple[M, bool]:
    """Set `values` on the row of `model` matching `where` (one at most, by a unique key), or
    insert one with `new | values`; `then(row, created)` runs in the same transaction (e.g. an
    audit entry). The row and whether it was created. A concurrent first insert of the same
    key (IntegrityError) is retried once, as an update."""
    for attempt in range(2):
        try:
            with write():
                row = model.get_or_none(where)
                created = row is None
                if row is None:
                    row = model.create(**new, **values)
                else:
                    for name, value in values.items():
                        setattr(row, name, value)
                    row.save()
                if then is not None:
                    then(row, created)
                return row, created
        except peewee.IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")
