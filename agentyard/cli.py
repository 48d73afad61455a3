"""The `agentyard` command: serve, db upgrade, keys create/list/revoke per surface, specs export,
surfaces new."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import sys
from pathlib import Path

import click

from agentyard import console, ops, scaffold, surfaces
from agentyard.config import Settings
from agentyard.core import jobs, keys, logs, migrations, outbox, runtime
from agentyard.core.errors import ApiError
from agentyard.core.store import connection
from agentyard.hasp.studio import bootstrap as studio_bootstrap
from agentyard.hyphen import licensing
from agentyard.specs import document

SURFACE_NAMES = click.Choice(sorted(surfaces.SURFACES))
DEFAULT_SERVER = "http://localhost:8000"  # the servers of exported documents
SERVE_URL = "http://127.0.0.1:8000"  # where `agentyard serve` listens by default


def _open(**overrides: object) -> Settings:
    # the options never include `environ`, the one positional parameter
    settings = Settings.from_env(**overrides)  # type: ignore[arg-type]
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
    _check_port(host, port)
    settings = _open()
    logs.configure(settings.log_level, settings.log_format)
    for line in migrations.upgrade():
        click.echo(f"migrated {line}")
    mounted = [surfaces.get(surface)] if surface else list(surfaces.SURFACES.values())
    where = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    with connection():
        for s in mounted:
            for line in s.bootstrap(_base_url(where, s, surface)):
                click.echo(line)
        token = None if surface or settings.operator_token else console.bootstrap()
    if token:
        click.echo(f"operator console: {where}/  token {token} (shown once; sign in on the page)")
    if surface:
        os.environ["AGENTYARD_SURFACE"] = surface
    else:
        os.environ.pop("AGENTYARD_SURFACE", None)
        click.echo(f"agentyard: {where}/  (landing page: every surface, linked)")
    for s in mounted:
        base = _base_url(where, s, surface)
        click.echo(f"{s.name}: {base}/ui/  (Swagger UI; spec {base}/openapi.json)")
    for line in _describe(settings, where):
        click.echo(line)
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
                log_level=settings.log_level.lower(),
                log_config=None,  # logs.configure set the handlers: structured lines
                access_log=False,  # logs.AccessLog writes one line per request instead
                lifespan="off",
                timeout_graceful_shutdown=5,  # open SSE streams never end by themselves
            )
        finally:
            if consumers:
                jobs.stop_consumer()
    else:
        _gunicorn(host, port, workers)


def _check_port(host: str, port: int) -> None:
    """Fail before anything is printed or written when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port} ({exc.strerror}): another program uses it; "
                "choose another port with --port"
            ) from None


def _describe(settings: Settings, where: str) -> list[str]:
    """Where the data is, the backends in use and the LLM provider (no credential shown)."""
    used = ops.backends(settings)
    if settings.database_url:
        store = "PostgreSQL " + settings.database_url.rsplit("@", 1)[-1]
    else:
        store = f"SQLite {(settings.data_dir / 'agentyard.db').resolve()}"
    llm = used["llm"]
    if llm == "offline":
        llm += " (built-in, deterministic replies labelled offline; set AGENTYARD_LLM_PROVIDER)"
    return [
        f"data: {settings.data_dir.resolve()}  (store: {store})",
        f"backends: pub/sub {used['pubsub']}, jobs {jobs.backend_for(settings).kind}, "
        f"rate limits {used['rate_limits']}",
        f"llm: {llm}",
        f"operator: {where}/healthz  {where}/readyz  {where}/version  {where}/metrics",
    ]


def _base_url(where: str, s: surfaces.Surface, alone: str | None) -> str:
    """Where `serve` serves surface `s`: at its mount, or at the root when it runs alone."""
    return where if alone else where + s.mount


def _gunicorn(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "uvicorn_worker.UvicornWorker")
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("worker_exit", lambda server, worker: jobs.stop_consumer())
            self.cfg.set("accesslog", None)  # logs.AccessLog writes the access lines

        def load(self) -> object:
            from agentyard.app import app_from_env

            settings = Settings.from_env()
            logs.configure(settings.log_level, settings.log_format)
            app = app_from_env()  # in each worker, after the fork
            consumers = settings.jobs_workers
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
    help="Tenant: realm (aisp-hub), org name (hasp-ai, hyphen), organization slug or id "
    "(harnesslayer); created when new. The default is the dev tenant of the first start.",
)
@click.option(
    "--kind",
    default=keys.DEFAULT_KIND,
    show_default=True,
    help="Key kind: harnesslayer has `api` (organization key, dk-) and `user` (user key, uk-, "
    "of the organization's owner, or of the user --tenant usr-... names); hyphen has `api` "
    "(sk-hyp-) and `pk_live` (publishable SDK key, pk_live_).",
)
@click.option(
    "--scopes",
    default=None,
    help="Comma-separated scopes (hasp-ai: ai:chat, control:read, control:webhooks, "
    "control:admin; default ai:chat; hyphen pk_live: origin:<url>, workflow:<id|name>, "
    "table:<name>, action:<name> (* for all), rate:<per minute>). Other keys take none.",
)
@click.option("--name", default="", help="A label for the key.")
@click.option(
    "--server-url",
    default=None,
    help="Where the surface is served, for the URLs in printed hints. Default: where "
    f"`agentyard serve` serves it ({SERVE_URL}/<surface>).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print the secret only (errors aside).")
def keys_create(
    surface: str,
    tenant: str,
    kind: str,
    scopes: str | None,
    name: str,
    server_url: str | None,
    quiet: bool,
) -> None:
    """Mint a key and print its secret on stdout (shown once); the rest goes to stderr."""
    s = surfaces.get(surface)
    _open()
    migrations.upgrade()
    base_url = (server_url or SERVE_URL + s.mount).rstrip("/")
    requested = [x.strip() for x in scopes.split(",") if x.strip()] if scopes else None
    try:
        keys.check_kind(kind, s.key_kinds)
        with connection():
            minted = s.mint(tenant, kind=kind, scopes=requested, name=name, base_url=base_url)
    except keys.KeyRequestError as exc:
        raise click.ClickException(f"{surface}: {exc}") from exc
    if quiet:
        click.echo(minted.secret)
        return
    for what in minted.created:
        click.echo(f"created {what}", err=True)
    key = minted.key
    click.echo(f"key {key.id} ({key.kind} key of {minted.owner}); secret, shown once:", err=True)
    click.echo(minted.secret)
    for note in minted.notes:
        click.echo(note, err=True)


LIST_COLUMNS = ("id", "kind", "prefix", "tenant", "scopes", "created", "last used", "state")


def _when(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


@keys_group.command("list")
@click.option("--surface", type=SURFACE_NAMES, required=True)
def keys_list(surface: str) -> None:
    """List the surface's keys of every kind, oldest first, tab-separated under a header row.

    The prefix column (`<prefix>…<last four>`) is accepted by `keys revoke`.
    """
    s = surfaces.get(surface)
    _open()
    migrations.upgrade()
    click.echo("\t".join(LIST_COLUMNS))
    with connection():
        for k in keys.list_keys(surface):
            state = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "live"
            row = (k.id, k.kind, keys.shown(k), s.describe_key(k), k.scopes or "-")
            click.echo("\t".join(row + (_when(k.created_at), _when(k.last_used_at), state)))


@keys_group.command("revoke")
@click.option("--surface", type=SURFACE_NAMES, required=True)
@click.argument("key")
def keys_revoke(surface: str, key: str) -> None:
    """Revoke a key, named by its id, its prefix as `keys list` prints it, or its secret."""
    _open()
    migrations.upgrade()
    try:
        with connection():
            row = keys.revoke(surface, key)
    except keys.KeyRequestError as exc:
        raise click.ClickException(str(exc)) from exc
    if row is None:
        click.echo(f"no live {surface} key {key}", err=True)
        sys.exit(1)
    click.echo(f"revoked {row.id}")


@main.group(name="outbox")
def outbox_group() -> None:
    """The dev outbox: email kept instead of sent while AGENTYARD_SMTP_URL is unset."""


@outbox_group.command("list")
@click.option("--to", "to", default=None, help="Only messages to this address.")
@click.option("--limit", default=20, show_default=True, type=int)
def outbox_list(to: str | None, limit: int) -> None:
    """Print the newest messages (sign-in codes, invites), newest first."""
    _open()
    migrations.upgrade()
    with connection():
        rows = outbox.messages(to=to, limit=limit)
    for row in rows:
        click.echo(f"{row.id}\t{row.created_at:%Y-%m-%d %H:%M:%S}\t{row.label}\tto {row.to}")
        click.echo(f"Subject: {row.subject}")
        click.echo(row.text.rstrip("\n"))
        click.echo("")
    if not rows:
        click.echo("the dev outbox is empty", err=True)


@main.group(name="users")
def users_group() -> None:
    """Signed-in members of surfaces that have them (hasp-studio)."""


@users_group.command("create")
@click.option("--surface", type=click.Choice([studio_bootstrap.STUDIO]), required=True)
@click.option("--org", required=True, help="The org's name; created when new.")
@click.option("--email", required=True, help="The member's email (signs in to one org).")
@click.option(
    "--role",
    type=click.Choice(["owner", "admin", "builder", "reviewer", "viewer"]),
    default="builder",
    show_default=True,
    help="The org role.",
)
@click.option("--name", default="", help="The member's display name.")
@click.option(
    "--server-url",
    default=None,
    help=f"Where the surface is served, for the sign-in URL. Default: {SERVE_URL}/<surface>.",
)
def users_create(
    surface: str, org: str, email: str, role: str, name: str, server_url: str | None
) -> None:
    """Create an active member and print a first password (shown once) on stdout."""
    s = surfaces.get(surface)
    _open()
    migrations.upgrade()
    base_url = (server_url or SERVE_URL + s.mount).rstrip("/")
    try:
        with connection():
            user, password = studio_bootstrap.create_user(org, email, role, name)
    except (ApiError, keys.KeyRequestError) as exc:
        raise click.ClickException(f"{surface}: {exc}") from exc
    click.echo(f"member {user.id} ({user.email}, org {org}, role {role}); password:", err=True)
    click.echo(password)
    click.echo(
        f"sign in: POST {base_url}{studio_bootstrap.LOGIN_PATH} "
        '{"email": ..., "password": ...}; change it with POST .../auth/password',
        err=True,
    )


@main.group(name="licenses")
def licenses_group() -> None:
    """Hyphen on-prem licences (Ed25519-signed; see POST /hyphen/licensing/validate)."""


@licenses_group.command("create")
@click.option("--tenant", required=True, help="The Hyphen org: its id or its name.")
@click.option("--plan", default="standard", show_default=True)
@click.option("--seats", default=1, show_default=True, type=int)
@click.option("--feature", "features", multiple=True, help="A feature name (repeatable).")
@click.option("--days", default=365, show_default=True, type=int, help="Days until expiry.")
def licenses_create(
    tenant: str, plan: str, seats: int, features: tuple[str, ...], days: int
) -> None:
    """Mint a licence for a Hyphen org; prints the licence token on stdout."""
    _open()
    migrations.upgrade()
    with connection():
        org = licensing.find_org(tenant)
        if org is None:
            raise click.ClickException(f"hyphen: no org {tenant}")
        try:
            lic = licensing.mint(org, org.name, plan, seats, list(features), days)
        except licensing.LicenseRequestError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"licence {lic.id} for org {org.name}, expires {lic.expires_at:%Y-%m-%d}", err=True)
    click.echo(lic.token)


@licenses_group.command("public-key")
def licenses_public_key() -> None:
    """Print the PEM key licences are verified with."""
    _open()
    migrations.upgrade()
    with connection():
        click.echo(licensing.public_key_view()["public_key_pem"], nl=False)


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
    f"({DEFAULT_SERVER}/<surface>). A surface served per tenant gets `/{{org}}` appended "
    "unless its URL names it.",
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
        variables = None
        if s.tenant_routing is not None:  # served per tenant: its name is part of the URL
            var = "{" + s.tenant_routing.variable + "}"
            url += "" if var in url else "/" + var
            variables = s.tenant_routing.server_variables()
        try:
            doc = document.published(s.spec, url, variables=variables)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        for suffix, render in (("yaml", document.to_yaml), ("json", document.to_json)):
            path = directory / f"{s.name}.openapi.{suffix}"
            path.write_text(render(doc), encoding="utf-8")
            click.echo(f"{path}  (servers: {url})")


@main.group(name="surfaces")
def surfaces_group() -> None:
    """The surfaces of this source tree."""


@surfaces_group.command("new")
@click.argument("name")
@click.option(
    "--spec",
    "spec",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Its OpenAPI 3 spec: servers, a security scheme, operations under handlers.<module>.",
)
@click.option("--product", default=None, help="The product package (default: NAME, '_' for '-').")
@click.option("--tenant-label", default="tenant", show_default=True, help="realm, org, ...")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=scaffold.ROOT,
    show_default=True,
    help="The source tree to write into.",
)
@click.option("--codegen/--no-codegen", default=True, help="Run `python codegen.py` afterwards.")
def surfaces_new(
    name: str, spec: Path, product: str | None, tenant_label: str, root: Path, codegen: bool
) -> None:
    """Scaffold surface NAME: product package, security, bootstrap, registration, tests."""
    if name in surfaces.SURFACES and root.resolve() == scaffold.ROOT:
        raise click.ClickException(f"surface {name!r} exists already")
    try:
        plan = scaffold.plan(name, spec, product=product, tenant_label=tenant_label, root=root)
        written = scaffold.write(plan)
    except scaffold.ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in written:
        click.echo(f"wrote {path.relative_to(plan.root)}")
    if codegen:
        if scaffold.codegen(plan.root) != 0:
            raise click.ClickException("`python codegen.py` failed (its output is above)")
    else:
        click.echo("next: python codegen.py  (models and a 501 scaffold per operation)")
    for step in scaffold.next_steps(plan):
        click.echo(f"next: {step}")


if __name__ == "__main__":
    main()
