# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""Registered actions: validation (unique names, kinds, drivers), the db action against the CI
PostgreSQL with $1 parameters and an orgconfig:db: datasource, the llm action offline."""

from __future__ import annotations

import os
import secrets

import pytest

from agentyard.core.errors import ApiError
from agentyard.core.store import connection
from agentyard.hyphen import actions, workflows
from tests.hyphen.engine_kit import (  # noqa: F401 - fixtures
    consumer,
    org,
    queue_name,
    secrets_store,
    tenant,
    wait_status,
)

PG = os.environ.get("AGENTYARD_TEST_DATABASE_URL")


def spec(name: str, kind: str, **config) -> actions.ActionSpec:
    return actions.ActionSpec(action_name=name, kind=kind, config=config)


@pytest.mark.parametrize(
    "bad, message",
    [
        (spec("x", "ftp"), "kind must be one of"),
        (spec("x", "http"), "url is required"),
        (spec("x", "http", url="https://a.example", http_method="TRACE"), "http_method"),
        (spec("x", "http", url="http://10.0.0.1/x"), "url is refused"),
        (spec("x", "llm"), "template is required"),
        (
            spec("x", "db", datasource="orgconfig:db:a", query="select 1", driver="mysql"),
            "only PostgreSQL",
        ),
        (spec("x", "db", datasource="postgres://u@h/db", query="select 1"), "orgconfig:db:"),
        (spec("matcher", "http", url="https://a.example"), "primitive"),
        (spec("__complete__", "llm", template="x"), "action_name"),
    ],
)
def test_bad_actions_are_400(app, org, bad, message):
    with connection(), pytest.raises(ApiError) as info:
        actions.create(org, bad)
    assert info.value.status == 400 and message in info.value.message


def test_action_names_are_unique_per_org(app, org):
    with connection():
        actions.create(org, spec("notify", "llm", template="hi"))
        with pytest.raises(ApiError) as info:
            actions.create(org, spec("notify", "llm", template="again"))
        assert info.value.status == 409


def test_llm_action_offline(consumer, org):
    with connection():
        actions.create(org, spec("summarise", "llm", template="Summarise {{input.text}}"))
        wid = workflows.create(
            org,
            workflows.WorkflowSpec(
                "s", {"actions": [{"type": "summarise", "outputKey": "summary"}]}
            ),
        ).id
        run_id = workflows.execute(org, wid, {"text": "hello"}).id
    run = wait_status(run_id, "completed")
    assert isinstance(run.context["summary"]["text"], str) and run.context["summary"]["text"]


@pytest.mark.skipif(not PG, reason="AGENTYARD_TEST_DATABASE_URL is not set")
def test_db_action_against_postgresql(consumer, org, secrets_store):
    import psycopg2

    table = f"orders_{secrets.token_hex(4)}"
    conn = psycopg2.connect(PG)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id int, customer text, total numeric)")
        cur.execute(f"INSERT INTO {table} VALUES (1, 'ann', 10.5), (2, 'bob', 99), (3, 'ann', 1)")
    secrets_store[(org, "db", "orders_pg")] = PG
    try:
        with connection():
            actions.create(
                org,
                spec(
                    "orders_of",
                    "db",
                    datasource="orgconfig:db:orders_pg",
                    query=f"SELECT id, total FROM {table} WHERE customer = $1 AND total > $2 "
                    "ORDER BY id",
                    params=["@input.customer", 5],
                ),
            )
            wid = workflows.create(
                org,
                workflows.WorkflowSpec("q", {"actions": [{"type": "orders_of", "outputKey": "o"}]}),
            ).id
            run_id = workflows.execute(org, wid, {"customer": "ann"}).id
        run = wait_status(run_id, "completed")
        assert run.context["o"]["rows"] == [{"id": 1, "total": 10.5}]
        assert PG not in str(run.context)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE {table}")
        conn.close()


def test_pg_query_placeholders():
    assert actions.pg_query("a = $1 and b like '5%' and c = $1 or d = $10") == (
        "a = %(p1)s and b like '5%%' and c = %(p1)s or d = %(p10)s"
    )


def test_llm_action_against_an_anthropic_upstream(consumer, org):
    from agentyard.llm import make_provider, use_provider
    from tests.llm.fakes import FakeAnthropic, Reply

    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="It is about invoices."))
        use_provider(make_provider("anthropic", base_url=fake.url, api_key=fake.api_key))
        try:
            with connection():
                actions.create(
                    org,
                    spec(
                        "summarise",
                        "llm",
                        template="Summarise: {{input.text}} ({{tone}})",
                        model="claude-test",
                        max_tokens=64,
                        temperature=0.2,
                    ),
                )
                definition = {
                    "actions": [
                        {"type": "summarise", "properties": {"tone": "dry"}, "outputKey": "s"}
                    ]
                }
                wid = workflows.create(org, workflows.WorkflowSpec("s", definition)).id
                run_id = workflows.execute(org, wid, {"text": "three invoices"}).id
            run = wait_status(run_id, "completed")
        finally:
            use_provider(None)
        sent = [r.json for r in fake.requests if r.path.endswith("/v1/messages")][0]
    assert run.context["s"]["text"] == "It is about invoices."
    assert (sent["model"], sent["max_tokens"], sent["temperature"]) == ("claude-test", 64, 0.2)
    assert sent["messages"][0]["content"] == "Summarise: three invoices (dry)"
