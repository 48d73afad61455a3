"""Versioned schema migrations, per component, applied by `agentyard db upgrade` and on serve.

A component (core, aisp, ...) registers an ordered list of `Migration`s. `upgrade()` applies
the ones not yet recorded in `agentyard_migration`, each in its own transaction, under a lock so
that several workers or hosts starting at once apply each migration exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import peewee
from playhouse.migrate import SchemaMigrator, migrate

from agentyard.core import clock
from agentyard.core.store import BaseModel, connection, db, is_sqlite, write


@dataclass(frozen=True)
class Migration:
    """One schema step: `apply(database)` runs inside a transaction."""

    version: int
    name: str
    apply: Callable[[peewee.Database], None]


class AppliedMigration(BaseModel):
    component = peewee.CharField(max_length=64)
    version = peewee.IntegerField()
    name = peewee.CharField(max_length=200)
    applied_at = peewee.DateTimeField()

    class Meta:
        table_name = "agentyard_migration"
        primary_key = peewee.CompositeKey("component", "version")


_REGISTRY: dict[str, list[Migration]] = {}

_PG_LOCK_KEY = 7_100_420_001


def register(component: str, migrations: list[Migration]) -> None:
    """Declare a component's migrations (versions 1..n; "core" runs before the rest)."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(migrations) + 1)):
        raise ValueError(f"{component}: migration versions must be 1..n, got {versions}")
    _REGISTRY[component] = migrations


def create_tables(*models: type[BaseModel]) -> Callable[[peewee.Database], None]:
    """A migration step that creates tables (and their indexes)."""

    def apply(database: peewee.Database) -> None:
        database.create_tables(list(models), safe=True)

    return apply


def add_columns(model: type[BaseModel], *names: str) -> Callable[[peewee.Database], None]:
    """A migration step that adds the `model` fields `names` to a table made before them (a
    store created afterwards already has them from its `create_tables` step)."""

    def apply(database: peewee.Database) -> None:
        table = model._meta.table_name
        have = {c.name for c in database.get_columns(table)}
        migrator = SchemaMigrator.from_database(database)
        steps = [
            migrator.add_column(table, name, model._meta.fields[name])
            for name in names
            if model._meta.fields[name].column_name not in have
        ]
        if steps:
            migrate(*steps)

    return apply


def upgrade() -> list[str]:
    """Apply every pending migration; return 'component:version name' for each applied."""
    applied: list[str] = []
    with connection():
        db.create_tables([AppliedMigration], safe=True)
        if not is_sqlite():
            db.execute_sql("SELECT pg_advisory_lock(%s)", (_PG_LOCK_KEY,))
        try:
            for component in sorted(_REGISTRY, key=lambda c: (c != "core", c)):
                for migration in _REGISTRY[component]:
                    with write():
                        done = AppliedMigration.get_or_none(
                            (AppliedMigration.component == component)
                            & (AppliedMigration.version == migration.version)
                        )
                        if done is not None:
                            continue
                        migration.apply(db.obj)
                        AppliedMigration.create(
                            component=component,
                            version=migration.version,
                            name=migration.name,
                            applied_at=clock.now(),
                        )
                    applied.append(f"{component}:{migration.version} {migration.name}")
        finally:
            if not is_sqlite():
                db.execute_sql("SELECT pg_advisory_unlock(%s)", (_PG_LOCK_KEY,))
    return applied
