"""The `agentyard` command: serve, db upgrade, keys create/list/revoke, per surface."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from agentyard import surfaces
from agentyard.config import Settings
from agentyard.core import jobs, keys, migrations, runtime
from agentyard.core.store import connection
from agentyard.specs import document

SURFACE_NAMES = click.Choice(sorted(surfaces.SURFACES))


def _open(**overrides: object) -> Settings:
    settings = Settings.from_env(**overrides)
    runtime.configure(settings)
    return settings


@click.group()
@click.version_option(package_name="agentyard")
def main() -> None:
    """agentyard: self-hostable agent-platform APIs."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="More than 1 runs gunicorn with uvicorn workers.",
)
@click.option(
    "--surface",
    type=SURFACE_NAMES,
    default=None,
    help="Serve only this surface, at its original root paths.",
)
def serve(host: str, port: int, workers: int, surface: str | None) -> None:
    """Apply migrations, bootstrap empty surfaces, and serve HTTP (and background jobs)."""
    settings = _open()
    for line in migrations.upgrade():
        click.echo(f"migrated {line}")
    mounted = [surfaces.get(surface)] if surface else list(surfaces.SURFACES.values())
    with connection():
        for s in mounted:
            for line in s.bootstrap():
                click.echo(line)
    if surface:
        os.environ["AGENTYARD_SURFACE"] = surface
    else:
        os.environ.pop("AGENTYARD_SURFACE", None)
    where = f"http://{host}:{port}"
    for s in mounted:
        click.echo(f"{s.name}: {where}{'' if surface else s.mount}/  (ui: .../ui/)")
    if workers == 1:
        import uvicorn

        consumers = settings.jobs_workers
        if consumers:  # background jobs (webhook deliveries) in this process
            jobs.start_consumer(workers=consumers)
        try:
            uvicorn.run(
                "agentyard.app:app_from_env",
                factory=True,
                host=host,
                port=port,
                log_level="info",
                lifespan="off",
                timeout_graceful_shutdown=5,  # open SSE streams never end by themselves
            )
        finally:
            if consumers:
                jobs.stop_consumer()
    else:
        _gunicorn(host, port, workers)


def _gunicorn(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "uvicorn_worker.UvicornWorker")
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("worker_exit", lambda server, worker: jobs.stop_consumer())

        def load(self) -> object:
            from agentyard.app import app_from_env

            app = app_from_env()  # in each worker, after the fork
            consumers = Settings.from_env().jobs_workers
            if consumers:
                jobs.start_consumer(workers=consumers)
            return app

    Server().run()


@main.command()
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def worker(workers: int) -> None:
    """Run background jobs (webhook deliveries, ...) until interrupted.

    For scale-out: set AGENTYARD_JOBS_WORKERS=0 on the servers and run this beside them.
    """
    logging.basicConfig(level=logging.INFO)
    _open()
    migrations.upgrade()
    jobs.run_worker(workers)


@main.group()
def db() -> None:
    """The store."""


@db.command()
def upgrade() -> None:
    """Apply pending schema migrations."""
    _open()
    applied = migrations.upgrade()
    for line in applied:
        click.echo(f"migrated {line}")
    click.echo("up to date" if not applied else f"{len(applied)} migration(s) applied")


@main.group(name="keys")
def keys_group() -> None:
    """API keys per surface."""


@keys_group.command("create")
@click.option("--surface", type=SURFACE_NAMES, required=True)
@click.option(
    "--tenant",
    default="default",
    show_default=True,
    help="Tenant (realm, org...) name; created when new.",
)
@click.option("--scopes", default="", help="Comma-separated scopes.")
@click.option("--name", default="", help="A label for the key.")
def keys_create(surface: str, tenant: str, scopes: str, name: str) -> None:
    """Mint a key and print its secret (shown once)."""
    s = surfaces.get(surface)
    _open()
    migrations.upgrade()
    with connection():
        row, created = keys.get_or_create_tenant(surface, tenant)
        key, secret = keys.create_key(
            row, s.new_secret, name=name, scopes=[x for x in scopes.split(",") if x]
        )
    if created:
        click.echo(f"created {s.tenant_label} {tenant}", err=True)
    click.echo(f"key id {key.id} ({s.tenant_label} {tenant}); secret, shown once:", err=True)
    click.echo(secret)


@keys_group.command("list")
@click.option("--surface", type=SURFACE_NAMES, required=True)
def keys_list(surface: str) -> None:
    """List keys: id, prefix, tenant, scopes, created, revoked."""
    _open()
    migrations.upgrade()
    with connection():
        rows = keys.list_keys(surface)
    for k in rows:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "live"
        click.echo(
            f"{k.id}\t{k.prefix}…\t{k.tenant.name}\t{k.scopes or '-'}\t"
            f"{k.created_at:%Y-%m-%d %H:%M}\t{state}"
        )


@keys_group.command("revoke")
@click.option("--surface", type=SURFACE_NAMES, required=True)
@click.argument("key_id")
def keys_revoke(surface: str, key_id: str) -> None:
    """Revoke a key by id or visible prefix."""
    _open()
    migrations.upgrade()
    with connection():
        ok = keys.revoke(surface, key_id)
    if not ok:
        click.echo(f"no live {surface} key {key_id}", err=True)
        sys.exit(1)
    click.echo(f"revoked {key_id}")


DEFAULT_SERVER = "http://localhost:8000"


@main.group(name="specs")
def specs_group() -> None:
    """The OpenAPI documents integrators download."""


@specs_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--surface", type=SURFACE_NAMES, default=None, help="Export this surface only.")
@click.option(
    "--server-url",
    default=None,
    help="With --surface: that surface's server URL, as is. Without: agentyard's base URL, "
    "each surface's mount appended. Default: where `agentyard serve` serves each surface "
    f"({DEFAULT_SERVER}/<surface>).",
)
def specs_export(directory: Path, surface: str | None, server_url: str | None) -> None:
    """Write <surface>.openapi.yaml and .json per surface: self-contained, servers set."""
    chosen = [surfaces.get(surface)] if surface else list(surfaces.SURFACES.values())
    directory.mkdir(parents=True, exist_ok=True)
    for s in chosen:
        if server_url and surface:
            url = server_url.rstrip("/")
        else:
            url = (server_url or DEFAULT_SERVER).rstrip("/") + s.mount
        try:
            doc = document.published(s.spec, url)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        for suffix, render in (("yaml", document.to_yaml), ("json", document.to_json)):
            path = directory / f"{s.name}.openapi.{suffix}"
            path.write_text(render(doc), encoding="utf-8")
            click.echo(f"{path}  (servers: {url})")


if __name__ == "__main__":
    main()
