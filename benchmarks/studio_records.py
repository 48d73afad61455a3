"""HASP Studio records lists over 100k records: filtered, sorted and paged, on SQLite and
PostgreSQL.

Everything runs in this one process on 127.0.0.1: agentyard (`create_app` on uvicorn in a
thread; SQLite in a temporary data dir, or `--database-url postgresql://...`) and an httpx
client with a member's personal access token. Set-up inserts N records (default 100,000) into
one entity directly through the domain layer (`records.insert_many`, batches of 1,000), then
ANALYZEs the records table (as autovacuum would after a bulk load). It prints p50/p99 of
`GET /hasp-studio/api/internal/entities/{id}/records`:

- the first page, default order (`-created_at`: the (entity, created_at, id) index);
- a page deep in the list (following `meta.next_cursor` 20 pages in);
- filtered on an enum field (`status:eq:open`, about a third of the records) + page;
- filtered with a range and sorted on a JSON field (`age:gte:70`, `sort=-age`) + page;
- a selective filter (`name:eq:...`, one match: a scan of the entity's rows).

Figures only: nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import latency_row, serve_in_thread, timed, workdir  # noqa: E402

API = "/hasp-studio/api/internal"
FIELDS = [
    {"name": "name", "type": "string", "required": True},
    {"name": "age", "type": "integer"},
    {"name": "status", "type": "enum", "options": ["open", "waiting", "closed"]},
    {"name": "mrn", "type": "string", "phi": True},
]


@contextlib.contextmanager
def agentyard_in_process(data_dir: Path, database_url: str | None) -> Iterator[str]:
    from agentyard.app import create_app
    from agentyard.config import Settings

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, redis_url=None)
    with serve_in_thread(create_app(settings)) as base:
        yield base


def seed(records: int) -> tuple[str, str]:
    """An org, owner, project and entity with `records` records; (entity id, token)."""
    from agentyard.core.store import connection, db
    from agentyard.hasp.studio import bootstrap, entities, projects, tokens
    from agentyard.hasp.studio import records as studio_records
    from agentyard.hasp.studio.member import Member

    with connection():
        user, _ = bootstrap.create_user(
            f"bench-{secrets.token_hex(3)}", f"bench-{secrets.token_hex(3)}@example.org", "owner"
        )
        member = Member(user, user.tenant, "token", "bench")
        project = projects.create(member, "Bench", None, "")
        entity = entities.create(
            member, project.id, {"key": "patient", "name": "Patient", "fields": FIELDS}
        )
        _, token = tokens.create(member, "bench", None)
        start = time.perf_counter()
        statuses = ("open", "waiting", "closed")
        for base in range(0, records, 1000):
            batch = [
                {
                    "name": f"Patient {i:06d}",
                    "age": i % 100,
                    "status": statuses[i % 3],
                    "mrn": f"M{i:08d}",
                }
                for i in range(base, min(base + 1000, records))
            ]
            studio_records.insert_many(entity, batch, user.id)
        took = time.perf_counter() - start
        print(f"set-up: {records} records inserted in {took:.1f} s", flush=True)
        # Planner statistics, as autovacuum / a periodic ANALYZE keep them after a bulk load:
        # without them PostgreSQL guesses a few hundred rows per entity and sorts them all.
        db.execute_sql("ANALYZE hasp_studio_record")
    return entity.id, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("-n", type=int, default=100, help="requests per row")
    parser.add_argument("--limit", type=int, default=50, help="page size")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default SQLite)")
    args = parser.parse_args()
    store = "PostgreSQL" if args.database_url else "SQLite"
    with workdir() as tmp, agentyard_in_process(tmp, args.database_url) as base:
        entity_id, token = seed(args.records)
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/entities/{entity_id}/records"
        print(f"{store}, {args.records} records, limit {args.limit}")
        with httpx.Client(base_url=base + API, timeout=60, headers=headers) as http:

            def page(**params: object) -> Callable[[], None]:
                def call() -> None:
                    r = http.get(path, params={"limit": args.limit, **params})
                    r.raise_for_status()

                return call

            latency_row("first page (-created_at)", timed(args.n, page()))
            cursor = None
            for _ in range(20):
                cursor = http.get(
                    path, params={"limit": args.limit, **({"cursor": cursor} if cursor else {})}
                ).json()["meta"]["next_cursor"]
            latency_row("page 21 via cursor (-created_at)", timed(args.n, page(cursor=cursor)))
            latency_row("filter status:eq:open", timed(args.n, page(filter="status:eq:open")))
            latency_row(
                "filter age:gte:70 sort=-age",
                timed(args.n, page(filter="age:gte:70", sort="-age")),
            )
            deep = http.get(
                path, params={"limit": args.limit, "filter": "age:gte:70", "sort": "-age"}
            ).json()["meta"]["next_cursor"]
            latency_row(
                "filter age:gte:70 sort=-age, 2nd page",
                timed(args.n, page(filter="age:gte:70", sort="-age", cursor=deep)),
            )
            latency_row(
                "filter name:eq (one match)",
                timed(max(10, args.n // 5), page(filter="name:eq:Patient 054321")),
            )


if __name__ == "__main__":
    main()
