"""`agentyard keys` and the first start, as an operator runs them.

Every key the CLI mints works at once over HTTP (each surface; with and without --tenant; the
dev tenant and a new one), the hints it prints run as printed, and every URL `serve` prints
answers on the server as started. The commands run in subprocesses against a fresh store:
SQLite, and PostgreSQL + Redis when the test backends are configured. On PostgreSQL + Redis
only the tests where the store matters run (a CLI-minted key seen at once by a running server,
list and revoke, a store from before key kinds); the rest are marked `embedded_only`.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, PG_URL, REDIS_URL, free_port, scratch_pg_database

AGENTYARD = [sys.executable, "-m", "agentyard.cli"]
BIN = Path(sys.executable).parent  # where the `agentyard` command the hints name lives
SURFACE_NAMES = ("aisp-hub", "hasp-ai", "harnesslayer", "hyphen")
MOUNTS = {name: f"/{name}" for name in SURFACE_NAMES}
BAA = {
    "version": "2026-04-01",
    "signer_name": "Ann Example",
    "signer_title": "CEO",
    "signer_email": "ann@example.com",
    "agree": True,
}
CHAT = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of `agentyard` commands sharing one fresh store."""
    env = {
        **os.environ,
        "AGENTYARD_DATA_DIR": str(tmp_path),
        "AGENTYARD_JOBS_QUEUE": f"agentyard-cli-{secrets.token_hex(4)}",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if request.param == "embedded":
        yield {**env, "DATABASE_URL": "", "REDIS_URL": ""}
        return
    url, drop = scratch_pg_database(PG_URL)
    try:
        yield {**env, "DATABASE_URL": url, "REDIS_URL": REDIS_URL}
    finally:
        drop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        AGENTYARD + list(args), env=env, capture_output=True, text=True, timeout=120
    )


def mint(env: dict[str, str], *args: str) -> tuple[str, str]:
    """`keys create ARGS`: the secret (stdout) and what went to stderr."""
    made = cli(env, "keys", "create", *args)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip(), made.stderr


class Served:
    """`agentyard serve ARGS` on a free port; `lines` is what it printed."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            AGENTYARD + ["serve", "--port", str(port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 90
        while not any("Uvicorn running on" in line for line in self.lines):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("serve did not start:\n" + "\n".join(self.lines))
            time.sleep(0.05)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def ours(self) -> list[str]:
        """The lines agentyard printed (not uvicorn's log, not the migrations)."""
        return [
            line
            for line in self.lines
            if not line.startswith(("INFO:", "WARNING:", "migrated "))
            and "Uvicorn running" not in line
        ]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dev_secret(lines: list[str], pattern: str) -> str:
    return next(m.group(0) for line in lines for m in [re.search(pattern, line)] if m)


TENANTS = {
    "no --tenant": (),
    "--tenant default": ("--tenant", "default"),
    "a new tenant": ("--tenant", "NEW"),
}


def tenant_cases() -> Iterator[tuple[tuple[str, ...], bool, str]]:
    """Per case: the --tenant arguments, whether they name the dev tenant, the tenant's name."""
    for args in TENANTS.values():
        if args and args[1] == "NEW":
            name = f"new-{secrets.token_hex(3)}"
            yield ("--tenant", name), False, name
        else:
            yield args, True, "default"


# -- 1. every CLI-minted key works at once: each surface, each case of TENANTS ---------------


def test_aisp_hub_cli_keys_work_at_once(store):
    with Served(store) as srv:
        dev = {"X-AISP-Key": dev_secret(srv.lines, r"aisp_key_[0-9a-f]{32}")}
        hub = httpx.Client(base_url=srv.base + "/aisp-hub/api/v1", timeout=30)
        for n, (args, is_dev, realm) in enumerate(tenant_cases()):
            secret, err = mint(store, "--surface", "aisp-hub", *args)
            assert ("created realm" in err) is (not is_dev), err
            hdr = {"X-AISP-Key": secret}
            assert hub.get("/sessions", headers=hdr).status_code == 200
            made = hub.post(
                "/sessions",
                headers=hdr,
                json={"name": f"cli-{n}", "kind": "service", "realm": realm},
            )
            assert made.status_code == 200, made.text  # the seed's status for a registration
            seen_by_dev = [s["id"] for s in hub.get("/sessions", headers=dev).json()["sessions"]]
            assert (made.json()["id"] in seen_by_dev) is is_dev
        # a realm no request could name (the `realm` of a registration) is refused
        refused = cli(store, "keys", "create", "--surface", "aisp-hub", "--tenant", "Team A")
        assert refused.returncode != 0 and "realm name 'Team A'" in refused.stderr
        assert "Team A" not in cli(store, "keys", "list", "--surface", "aisp-hub").stdout


@pytest.mark.embedded_only
def test_hasp_ai_cli_keys_work_at_once(store):
    with Served(store) as srv:
        dev = {"x-api-key": dev_secret(srv.lines, r"wa_live_[0-9a-f]{32}")}
        ai = httpx.Client(base_url=srv.base + "/hasp-ai", timeout=30)
        minted = []
        for args, is_dev, _ in tenant_cases():
            secret, err = mint(store, "--surface", "hasp-ai", *args)
            assert ai.get("/v1/models", headers={"x-api-key": secret}).status_code == 200
            assert "no scopes given: the key gets ai:chat" in err
            reader, _ = mint(store, "--surface", "hasp-ai", *args, "--scopes", "control:read")
            listed = ai.get("/v1/api_keys", headers={"x-api-key": reader})
            assert listed.status_code == 200, listed.text
            dev_prefix = dev["x-api-key"][:16]
            assert (dev_prefix in [k["prefix"] for k in listed.json()["data"]]) is is_dev
            minted.append((secret, is_dev))
        # the dev org accepts the BAA with its dev key: its CLI keys may then chat at once
        assert ai.post("/v1/compliance/baa/acceptances", headers=dev, json=BAA).status_code == 201
        for secret, is_dev in minted:
            chat = ai.post("/v1/messages", headers={"x-api-key": secret}, json=CHAT)
            assert chat.status_code == (200 if is_dev else 402), chat.text


@pytest.mark.embedded_only
def test_harnesslayer_cli_keys_work_at_once(store):
    with Served(store) as srv:
        dev = {"Authorization": f"Bearer {dev_secret(srv.lines, r'dk-[0-9a-f]{32}')}"}
        hl = httpx.Client(base_url=srv.base + "/harnesslayer", timeout=30)
        for n, (args, is_dev, slug) in enumerate(tenant_cases()):
            secret, err = mint(store, "--surface", "harnesslayer", *args)
            hdr = {"Authorization": f"Bearer {secret}"}
            assert hl.get("/v1/app/list", headers=hdr).status_code == 200
            assert ("created organization" in err) is (not is_dev), err
            app = hl.post("/v1/app/create", headers=hdr, json={"slug": f"a{n}", "type": "claude"})
            assert app.status_code == 201, app.text
            assert hl.get(f"/v1/app/a{n}", headers=dev).status_code == (200 if is_dev else 404)
            # a user key of that organization's owner: it may rename the organization
            user_key, err = mint(store, "--surface", "harnesslayer", "--kind", "user", *args)
            assert user_key.startswith("uk-")
            user = {"Authorization": f"Bearer {user_key}"}
            renamed = hl.patch(f"/v1/organization/{slug}", headers=user, json={"name": "R"})
            assert renamed.status_code == 200, renamed.text
            created = hl.post(
                "/v1/organization/create", headers=user, json={"name": "S", "slug": f"{slug}-{n}"}
            )
            assert created.status_code == 201, created.text
            assert hl.get("/v1/app/list", headers=user).status_code == 401  # not an org key


@pytest.mark.embedded_only
def test_hyphen_cli_keys_work_at_once(store):
    with Served(store) as srv:
        dev = {"Authorization": f"Bearer {dev_secret(srv.lines, r'sk-hyp-[0-9a-f]{32}')}"}
        hy = httpx.Client(base_url=srv.base + "/hyphen", timeout=30)
        for n, (args, is_dev, _name) in enumerate(tenant_cases()):
            secret, err = mint(store, "--surface", "hyphen", *args)
            assert secret.startswith("sk-hyp-")
            assert ("created org" in err) is (not is_dev), err
            hdr = {"Authorization": f"Bearer {secret}"}
            made = hy.post("/schemas", headers=hdr, json={"name": f"s{n}", "schema": {}})
            assert made.status_code == 201, made.text
            seen = hy.get(f"/schemas/{made.json()['id']}", headers=dev)
            assert seen.status_code == (200 if is_dev else 404)


# -- 2. scopes ------------------------------------------------------------------------------


@pytest.mark.embedded_only  # the CLI's own checks
def test_hasp_ai_refuses_unknown_scopes_and_defaults_to_inference(store):
    bogus = cli(store, "keys", "create", "--surface", "hasp-ai", "--scopes", "ai:chat,bogus")
    assert bogus.returncode != 0 and bogus.stdout == ""
    assert "bogus" in bogus.stderr
    assert "ai:chat, control:read, control:webhooks, control:admin" in bogus.stderr
    for surface in ("aisp-hub", "harnesslayer"):
        refused = cli(store, "keys", "create", "--surface", surface, "--scopes", "ai:chat")
        assert refused.returncode != 0 and "take no scopes" in refused.stderr
    listed = cli(store, "keys", "list", "--surface", "hasp-ai").stdout.splitlines()
    assert len(listed) == 1  # the header: nothing was created
    secret, err = mint(store, "--surface", "hasp-ai", "--tenant", "acme")
    assert "the key gets ai:chat" in err
    with Served(store) as srv:
        ai = httpx.Client(base_url=srv.base + "/hasp-ai", timeout=30)
        assert ai.get("/v1/models", headers={"x-api-key": secret}).status_code == 200
        usage = ai.get("/v1/usage", headers={"x-api-key": secret})
        assert usage.status_code == 403 and usage.json()["error"]["code"] == "MISSING_SCOPE"


@pytest.mark.embedded_only  # what a hint says
@pytest.mark.parametrize("alone", [False, True], ids=["combined", "alone"])
def test_a_new_hasp_org_can_accept_the_baa_as_printed(store, alone):
    """README's own example, then the printed commands, run as printed: inference works."""
    with Served(store, *(["--surface", "hasp-ai"] if alone else [])) as srv:
        base = srv.base if alone else srv.base + "/hasp-ai"
        ai = httpx.Client(base_url=base, timeout=30)
        for org, scopes, key_var in [
            ("o'brien clinic", "ai:chat,control:read", False),  # needs an admin key
            ("acme", "ai:chat,control:admin", True),  # the key itself may accept
        ]:
            secret, err = mint(
                store, "--surface", "hasp-ai", "--tenant", org, "--scopes", scopes,
                "--server-url", base,
            )  # fmt: skip
            chat = ai.post("/v1/messages", headers={"x-api-key": secret}, json=CHAT)
            assert chat.status_code == 402  # BAA_REQUIRED
            commands = [line for line in err.splitlines() if line.startswith("  ")]
            assert commands, err
            env = {**store, "KEY": secret} if key_var else store
            ran = subprocess.run(
                ["bash", "-ec", "\n".join(commands)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert ran.returncode == 0, ran.stdout + ran.stderr
            chat = ai.post("/v1/messages", headers={"x-api-key": secret}, json=CHAT)
            assert chat.status_code == 200, chat.text
        listed = cli(store, "keys", "list", "--surface", "hasp-ai").stdout
        baa_keys = [row for row in listed.splitlines() if "\tcontrol:admin\t" in row]
        assert len(baa_keys) == 1 and baa_keys[0].split("\t")[7].startswith("revoked")


# -- 3 and 4. user keys, keys list and keys revoke -----------------------------------------


def test_list_shows_every_kind_under_a_header_and_revoke_takes_what_it_prints(store):
    with Served(store) as srv:
        hl = httpx.Client(base_url=srv.base + "/harnesslayer", timeout=30)
        dev_user = dev_secret(srv.lines, r"uk-[0-9a-f]{32}")
        user_key, _ = mint(store, "--surface", "harnesslayer", "--kind", "user")
        org_key, _ = mint(store, "--surface", "harnesslayer", "--tenant", "team-x")
        rows = cli(store, "keys", "list", "--surface", "harnesslayer").stdout.splitlines()
        assert rows[0].split("\t") == [
            "id", "kind", "prefix", "tenant", "scopes", "created", "last used", "state",
        ]  # fmt: skip
        table = {row.split("\t")[2]: row.split("\t") for row in rows[1:]}
        for secret in (dev_user, user_key, org_key):
            assert secret not in "\n".join(rows)
        shown = {s: next(p for p in table if p.startswith(s[:16])) for s in (user_key, org_key)}
        assert shown[user_key] == f"{user_key[:16]}…{user_key[-4:]}"
        assert table[shown[user_key]][1] == "user" and table[shown[org_key]][1] == "api"
        assert "owns default" in table[shown[user_key]][3]
        assert table[shown[org_key]][3] == "team-x"
        assert [r[1] for r in table.values()].count("user") == 2  # the dev user's too

        def rename_default(secret: str) -> int:
            auth = {"Authorization": f"Bearer {secret}"}
            return hl.patch(
                "/v1/organization/default", headers=auth, json={"name": "N"}
            ).status_code

        assert rename_default(user_key) == 200
        # another key of the same user, named by the id `keys list` shows
        user_id = re.search(r"usr-[0-9A-Z]{26}", table[shown[user_key]][3]).group(0)
        same_user, _ = mint(
            store, "--surface", "harnesslayer", "--kind", "user", "--tenant", user_id
        )
        assert rename_default(same_user) == 200
        nobody = "usr-" + "0" * 26
        unknown = cli(
            store, *f"keys create --surface harnesslayer --kind user --tenant {nobody}".split()
        )
        assert unknown.returncode != 0 and f"no user {nobody}" in unknown.stderr
        done = cli(store, "keys", "revoke", "--surface", "harnesslayer", shown[user_key])
        assert done.returncode == 0, done.stderr
        assert rename_default(user_key) == 401
        assert rename_default(same_user) == 200
        again = cli(store, "keys", "revoke", "--surface", "harnesslayer", shown[user_key])
        assert again.returncode == 1  # no live key any more
        org = {"Authorization": f"Bearer {org_key}"}
        assert hl.get("/v1/app/list", headers=org).status_code == 200
        assert cli(store, "keys", "revoke", "--surface", "harnesslayer", org_key).returncode == 0
        assert hl.get("/v1/app/list", headers=org).status_code == 401
        rows = cli(store, "keys", "list", "--surface", "harnesslayer").stdout.splitlines()
        states = {r.split("\t")[2]: r.split("\t")[7] for r in rows[1:]}
        assert states[shown[user_key]].startswith("revoked")
        assert states[shown[org_key]].startswith("revoked")


# -- 5. the URLs serve prints answer --------------------------------------------------------

SECRETS = {
    "aisp-hub": r"aisp_key_[0-9a-f]{32}",
    "hasp-ai": r"wa_live_[0-9a-f]{32}",
    "harnesslayer": r"dk-[0-9a-f]{32}",
    "hyphen": r"sk-hyp-[0-9a-f]{32}",
}
HEADERS = {
    "aisp-hub": lambda s: {"X-AISP-Key": s},
    "hasp-ai": lambda s: {"x-api-key": s},
    "harnesslayer": lambda s: {"Authorization": f"Bearer {s}"},
    "hyphen": lambda s: {"Authorization": f"Bearer {s}"},
}


@pytest.mark.embedded_only  # what serve prints
@pytest.mark.parametrize("alone", [None, *SURFACE_NAMES])
def test_every_url_serve_prints_answers(store, alone):
    with Served(store, *(["--surface", alone] if alone else [])) as srv:
        lines = srv.ours()
        dev = {name: dev_secret(lines, SECRETS[name]) for name in ([alone] if alone else SECRETS)}
        checked = []
        for line in lines:
            surface = line.split(":", 1)[0]
            headers = HEADERS[surface](dev[surface]) if surface in dev else {}
            for method, url in re.findall(r"(?:\b(POST|GET) )?(https?://[^\s)]+)", line):
                assert url.startswith(srv.base + ("" if alone else "/")), line
                if method == "POST" and surface == "hasp-studio":  # the dev owner's sign-in
                    owner = re.search(r"owner (\S+) password (\S+)", line)
                    assert owner is not None, line
                    body = {"email": owner[1], "password": owner[2]}
                    r = httpx.post(url, json=body, timeout=30)
                    assert r.status_code == 200, (line, r.text)
                elif method == "POST":  # the BAA acceptance hint
                    r = httpx.post(url, headers=headers, json=BAA, timeout=30)
                    assert r.status_code == 201, (line, r.text)
                else:
                    r = httpx.get(url, headers=headers, timeout=30)
                    assert r.status_code == 200, (line, r.status_code)
                checked.append(url)
        expected = 2 * (1 if alone else len(SECRETS)) + (0 if alone else 1)  # ui + spec; landing
        expected += 1 if alone in (None, "hasp-ai") else 0  # the BAA hint
        expected += 3 if alone is None else 0  # hasp-studio: ui + spec + the sign-in hint
        expected += 2 if alone is None else 0  # hasp-runtime: ui + spec
        expected += 4  # the operator's /healthz, /readyz, /version, /metrics
        expected += 1 if alone is None else 0  # the operator console (its token: shown once)
        assert len(checked) == expected, lines
        if alone in (None, "hasp-ai"):
            baa = [u for u in checked if u.endswith("/v1/compliance/baa/acceptances")]
            prefix = "" if alone else "/hasp-ai"
            assert baa == [f"{srv.base}{prefix}/v1/compliance/baa/acceptances"]


# -- the key kind migration -----------------------------------------------------------------


def _as_before_key_kinds(env: dict[str, str]) -> None:
    """Rewrite the store into the layout before key kinds: user keys (and their tenants) in a
    key space of their own, no `kind` column, its migrations not applied."""
    statements = [
        "UPDATE core_tenant SET surface = 'harnesslayer-users' WHERE id IN "
        "(SELECT tenant_id FROM core_api_key WHERE kind = 'user')",
        "UPDATE core_api_key SET surface = 'harnesslayer-users' WHERE kind = 'user'",
        "ALTER TABLE core_api_key DROP COLUMN kind",
        "DELETE FROM agentyard_migration WHERE (component = 'core' AND version = 3) "
        "OR component = 'harnesslayer_keys'",
    ]
    if env["DATABASE_URL"]:
        import psycopg2

        conn = psycopg2.connect(env["DATABASE_URL"])
        with conn, conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
        conn.close()
    else:
        conn = sqlite3.connect(Path(env["AGENTYARD_DATA_DIR"]) / "agentyard.db")
        with conn:
            for sql in statements:
                conn.execute(sql)
        conn.close()


def test_user_keys_of_a_store_before_key_kinds_keep_working(store):
    with Served(store) as srv:
        user_key = dev_secret(srv.lines, r"uk-[0-9a-f]{32}")
        org_key = dev_secret(srv.lines, r"dk-[0-9a-f]{32}")
    _as_before_key_kinds(store)
    with Served(store) as srv:
        assert "migrated core:3 api key kind" in srv.lines
        assert any(line.startswith("migrated harnesslayer_keys:1") for line in srv.lines)
        hl = httpx.Client(base_url=srv.base + "/harnesslayer", timeout=30)
        user = {"Authorization": f"Bearer {user_key}"}
        org = {"Authorization": f"Bearer {org_key}"}
        assert (
            hl.patch("/v1/organization/default", headers=user, json={"name": "N"}).status_code
            == 200
        )
        assert hl.get("/v1/app/list", headers=org).status_code == 200
        assert hl.get("/v1/app/list", headers=user).status_code == 401
        assert (
            hl.patch("/v1/organization/default", headers=org, json={"name": "N"}).status_code == 401
        )
    rows = cli(store, "keys", "list", "--surface", "harnesslayer").stdout.splitlines()
    kinds = {r.split("\t")[2][:16]: r.split("\t")[1] for r in rows[1:]}
    assert kinds == {user_key[:16]: "user", org_key[:16]: "api"}
