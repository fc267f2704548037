"""The `saas` command line: serve, worker, scheduler, migrate, tenants, users, schema and demo data.

Commands that touch the database read the settings once at start; a configuration that
cannot be used (e.g. production without a real secret) stops them with exit code 2.
"""

from __future__ import annotations

import os
import shlex
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from saas.auth.permissions import Role
from saas.config import ConfigurationError, Settings, load_settings

# Click's own code for usage errors; we use it for every "you asked for something wrong".
USAGE_ERROR = 2
CLI_PRINCIPAL_LABEL = "cli"


class UsageFailure(click.ClickException):
    """Bad configuration or input: printed as `Error: …`, exit code 2, nothing written."""

    exit_code = USAGE_ERROR


def _settings() -> Settings:
    from pydantic import ValidationError

    try:
        return load_settings()
    except ConfigurationError as exc:
        raise UsageFailure(str(exc)) from exc
    except ValidationError as exc:  # a value that does not parse: name the variable, not the value (secrets)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise UsageFailure(f"invalid settings: {problems}") from exc


def _service_urls(settings: Settings) -> tuple[str, str]:
    from saas.embedded import resolve_service_urls

    return resolve_service_urls(settings)


def _migrate(settings: Settings, database_url: str) -> list[str]:
    """Migrate the core and every plugin that loads; warn (stderr) about the plugins skipped."""
    from saas.db.engine import create_owner_engine
    from saas.db.migrate import MigrationError, run_migrations
    from saas.runtime import load_plugins

    owner = create_owner_engine(database_url)
    try:
        report = run_migrations(owner, settings, load_plugins())
    except MigrationError as exc:
        raise click.ClickException(f"migration failed: {exc}") from exc
    finally:
        owner.dispose()
    for skipped in report.skipped:
        click.echo(f"Warning: {skipped.describe()}", err=True)
    return report.tables


@contextmanager
def _app_engine(settings: Settings, *, migrate_embedded: bool = False) -> Iterator[Engine]:
    """The application role's engine (row-level security applies), disposed afterwards.

    With `migrate_embedded`, an embedded database is migrated first, so that a newcomer's
    first command works on an empty data directory. What the command changes is announced
    live, as the same change made through the API is (`_live_publishing`).
    """
    from saas.db.engine import create_app_engine

    database_url, redis_url = _service_urls(settings)
    if migrate_embedded and not settings.database_url:
        _migrate(settings, database_url)
    engine = create_app_engine(settings, database_url)
    try:
        with _live_publishing(engine, redis_url):
            yield engine
    except DBAPIError as exc:
        raise click.ClickException(
            f"database error: {exc.orig or exc}\n(is the database migrated? run `saas migrate`)"
        ) from exc
    finally:
        engine.dispose()


@contextmanager
def _live_publishing(engine: Engine, redis_url: str) -> Iterator[None]:
    """The engine's sessions publish their live messages on Redis, if it answers (else none do:
    nobody can be subscribed to a Redis that is down, and each failed publish would be logged)."""
    import redis

    from saas.realtime import bind_publisher

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        try:
            client.ping()
        except redis.RedisError:
            click.echo("Warning: Redis does not answer; changes are not announced to live subscribers", err=True)
        else:
            bind_publisher(engine, client)
        yield
    finally:
        client.close()


@contextmanager
def _reporting_input_errors(option_names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn the services' field errors into one line per field, named as the command's options."""
    from saas.errors import AppError, InputInvalid

    try:
        yield
    except InputInvalid as exc:
        names = option_names or {}
        lines = [f"  {names.get(e.field[-1], '--' + e.field[-1])}: {e.message} [{e.code}]" for e in exc.errors]
        raise UsageFailure("invalid input, nothing was changed:\n" + "\n".join(lines)) from exc
    except AppError as exc:
        raise UsageFailure(f"{exc.message} [{exc.code.value}]") from exc


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [headers, tuple("-" * w for w in widths), *rows]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=False)).rstrip() for line in lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="saas-crm", prog_name="saas")
def main() -> None:
    """Multi-tenant GraphQL CRM backend.

    With no DATABASE_URL / REDIS_URL set, embedded PostgreSQL and Redis are started
    (data in SAAS_DATA_DIR, default .data/).
    """


# --- serving -------------------------------------------------------------------------------


def create_asgi_app() -> Any:
    """The ASGI app, built from the environment: uvicorn's factory in every worker process."""
    from saas.http.app import create_app
    from saas.http.gc_tuning import tune_for_serving
    from saas.http.logs import configure_logging
    from saas.jobs import broker as job_broker
    from saas.runtime import create_runtime
    from saas.schema.engine import GraphQLEngine

    settings = load_settings()
    configure_logging(settings, cache_loggers=True)
    database_url, redis_url = _service_urls(settings)
    runtime = create_runtime(settings, database_url, redis_url)
    if not job_broker.jobs_bound():  # else the in-process worker's broker (embedded servers) sends them
        job_broker.setup(runtime)  # API processes enqueue jobs (event dispatch, webhooks, plugin jobs)
    app = create_app(runtime, GraphQLEngine(runtime))
    tune_for_serving()  # the application's objects frozen, young collections rarer (saas/http/gc_tuning.py)
    return app


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: $WEB_CONCURRENCY or 1).",
)
@click.option("--reload", is_flag=True, help="Restart when the code changes (development).")
@click.option(
    "--keep-embedded",
    is_flag=True,
    help="Leave the embedded PostgreSQL and Redis running when the server stops (default: stop them).",
)
def serve(host: str, port: int, workers: int | None, reload: bool, keep_embedded: bool) -> None:
    """Run the API server (GraphQL on /graphql, /healthz, /readyz, /metrics).

    With no DATABASE_URL / REDIS_URL, it uses the embedded servers, and stops them when it
    exits (their data stays) unless --keep-embedded.
    """
    import uvicorn

    from saas.http.logs import configure_logging
    from saas.http.ws_protocol import WebSocketProtocol

    settings = _settings()
    database_url, redis_url = _service_urls(settings)
    data_dir = settings.data_dir.expanduser().resolve()
    if not settings.database_url:
        _migrate(settings, database_url)
        click.echo(f"Using the embedded PostgreSQL (migrated; data in {data_dir / 'postgres'})", err=True)
    if not settings.redis_url:
        click.echo(f"Using the embedded Redis (data in {data_dir / 'redis'})", err=True)
    # After the embedded servers and migrations, whose chatter at INFO level is not ours.
    configure_logging(settings)
    # Workers and the reloader build the app in fresh processes from the environment:
    # hand them the resolved URLs so that they reuse these servers instead of starting more.
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = database_url, redis_url
    background = _start_embedded_jobs(settings, database_url, redis_url)
    try:
        with _sigterm_raises_system_exit(enabled=background is not None), _worker_accept(settings, workers, reload):
            uvicorn.run(
                "saas.cli:create_asgi_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                reload=reload,
                log_level=settings.log_level.lower(),
                log_config=None,  # ours (configure_logging), in this process and in each worker
                loop="auto",  # uvloop and httptools when installed (uvicorn[standard])
                http="auto",
                ws=WebSocketProtocol,  # uvicorn's, small messages left uncompressed (saas/http/ws_protocol.py)
                **_worker_healthcheck_option(uvicorn.Config),
            )
    finally:
        if background is not None:
            background.stop()
        if not keep_embedded:
            _stop_embedded_servers(settings, postgres=not settings.database_url, redis=not settings.redis_url)


# How long uvicorn's supervisor waits for a worker's answer to its health ping before it kills the
# worker and starts another. uvicorn's default, 5 s, is shorter than a worker's start (imports, the
# application built) on a busy small machine: every new worker was killed before it answered, again
# and again. A hung worker is still replaced, after this long.
WORKER_HEALTHCHECK_SECONDS = 60


def _worker_healthcheck_option(config_class: Any) -> dict[str, Any]:
    """`timeout_worker_healthcheck` for the uvicorn versions whose Config (and run) take it, else nothing."""
    import inspect

    try:
        parameters = inspect.signature(config_class).parameters
    except (TypeError, ValueError):
        return {}
    return (
        {"timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS} if "timeout_worker_healthcheck" in parameters else {}
    )


@contextmanager
def _worker_accept(settings: Settings, workers: int | None, reload: bool) -> Iterator[None]:
    """With several workers, the least-connected one accepts each connection (saas/balanced_accept.py).

    uvicorn reads `$WEB_CONCURRENCY` when --workers is not given, so the count is read the same way.
    """
    if workers is None:
        try:
            workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
        except ValueError:
            workers = 1  # uvicorn says what is wrong with it
    if not settings.serve_balanced_accept or reload or workers < 2:
        yield
        return
    from saas import balanced_accept

    if not balanced_accept.supported():
        click.echo(
            "Warning: this uvicorn's workers cannot be balanced; connections go to the first to accept", err=True
        )
        yield
        return
    with balanced_accept.balanced_workers(workers):
        yield


def _stop_embedded_servers(settings: Settings, *, postgres: bool = True, redis: bool = True) -> list[str]:
    """Stop the embedded servers of the data directory that run; say which (stderr)."""
    from saas.embedded import stop_embedded

    data_dir = settings.data_dir.expanduser().resolve()
    stopped = stop_embedded(data_dir, postgres=postgres, redis=redis)
    if stopped:
        click.echo(f"Stopped the embedded {' and '.join(stopped)} (data kept in {data_dir})", err=True)
    return stopped


def _start_embedded_jobs(settings: Settings, database_url: str, redis_url: str) -> Any:
    """With an embedded server in use, a worker and the scheduler run in this process (threads).

    This is the process that calls `uvicorn.run`: with `--workers N` (or `--reload`) it is the
    supervisor, whose children (spawned, not forked) serve requests; so there is always exactly
    one in-process worker and scheduler, however many server processes. With external
    PostgreSQL and Redis, run `saas worker` and `saas scheduler` instead.
    """
    if settings.database_url and settings.redis_url:
        return None
    from saas.jobs.background import start_background_jobs
    from saas.runtime import create_runtime

    background = start_background_jobs(create_runtime(settings, database_url, redis_url))
    click.echo("Running a background worker and the scheduler in this process (embedded defaults)", err=True)
    return background


@contextmanager
def _sigterm_raises_system_exit(*, enabled: bool) -> Iterator[None]:
    """Let SIGTERM unwind (running `finally` blocks) instead of ending the process at once.

    uvicorn handles the signal while it serves, then raises it again once it has stopped:
    this handler turns that into `SystemExit`, so the background jobs stop gracefully.
    """
    import signal

    if not enabled:
        yield
        return

    def exit_gracefully(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_gracefully)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- background jobs -----------------------------------------------------------------------


def _jobs_runtime(settings: Settings) -> Any:
    """The runtime of a worker or scheduler process: services resolved, plugins loaded, jobs bound."""
    from saas.http.logs import configure_logging
    from saas.jobs.broker import setup
    from saas.runtime import create_runtime

    database_url, redis_url = _service_urls(settings)
    if not settings.database_url:
        _migrate(settings, database_url)
    configure_logging(settings)
    runtime = create_runtime(settings, database_url, redis_url)
    setup(runtime)
    return runtime


@contextmanager
def _until_signalled() -> Iterator[Any]:
    """An event set by SIGINT or SIGTERM (the previous handlers come back afterwards)."""
    import signal
    import threading

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@main.command()
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1), help="Jobs run at a time.")
def worker(threads: int) -> None:
    """Run background jobs (dramatiq on Redis) until SIGINT or SIGTERM; running jobs finish first."""
    from saas.jobs.worker import run_worker

    runtime = _jobs_runtime(_settings())
    try:
        binding = runtime.jobs
        assert binding is not None
        with _until_signalled() as stop:
            run_worker(binding.broker, stop, threads=threads)
    finally:
        runtime.close()


@main.command()
def scheduler() -> None:
    """Enqueue periodic jobs (the core's and the plugins') until SIGINT or SIGTERM.

    Several schedulers may run: one acts at a time, and they share the schedule in Redis.
    """
    from saas.jobs.scheduler import run_scheduler

    runtime = _jobs_runtime(_settings())
    try:
        binding = runtime.jobs
        assert binding is not None
        with _until_signalled() as stop:
            run_scheduler(runtime, stop, broker=binding.broker)
    finally:
        runtime.close()


# --- database ------------------------------------------------------------------------------


@main.command()
def migrate() -> None:
    """Bring the database to the newest schema and secure every tenant table (idempotent)."""
    settings = _settings()
    database_url, _ = _service_urls(settings)
    try:
        tables = _migrate(settings, database_url)
    except DBAPIError as exc:
        raise click.ClickException(f"migration failed: {exc.orig or exc}") from exc
    click.echo(f"Database is at the newest schema; row-level security on {len(tables)} tenant tables:")
    for table in tables:
        click.echo(f"  {table}")


@main.group()
def db() -> None:
    """The database's layout: how to scale it out."""


@db.command("citus-plan")
@click.option(
    "--from-models",
    is_flag=True,
    help="Read the tables from the installed code's models instead of the migrated database (no database needed).",
)
def db_citus_plan(from_models: bool) -> None:
    """Print the Citus statements that distribute every tenant table on tenant_id (colocated) and
    replicate the global tables: every table of the migrated database (DATABASE_URL), the core's
    and the installed plugins'. Run it after `saas migrate`.

    The database is the default source because it holds every constraint the migrations made,
    and the order of the statements follows its foreign keys. Stops with exit code 2, naming each
    table, when a table or constraint does not fit.
    """
    from saas.tenancy.citus import CitusPlanError, citus_plan, shapes_from_database, shapes_from_metadata

    if not from_models:
        from saas.db.engine import create_owner_engine

        settings = _settings()
        database_url, _ = _service_urls(settings)
        engine = create_owner_engine(database_url)
        try:
            with engine.connect() as conn:
                shapes = shapes_from_database(conn)
        except DBAPIError as exc:
            raise click.ClickException(f"database error: {exc.orig or exc}") from exc
        finally:
            engine.dispose()
    else:
        import saas.models
        from saas.runtime import load_plugins

        load_plugins()  # imports the installed plugins' models into the same metadata
        shapes = shapes_from_metadata(saas.models.Base.metadata)
    try:
        plan = citus_plan(shapes)
    except CitusPlanError as exc:
        raise UsageFailure(str(exc)) from exc
    click.echo(plan.script(), nl=False)


@main.group()
def embedded() -> None:
    """The embedded PostgreSQL and Redis (used when DATABASE_URL / REDIS_URL are unset)."""


@embedded.command("stop")
def embedded_stop() -> None:
    """Stop the embedded PostgreSQL and Redis of SAAS_DATA_DIR; their data is kept.

    They keep running after the commands that started them, so that the next command starts
    fast; `saas serve` stops them when it exits unless --keep-embedded. Any command that needs
    them starts them again.
    """
    settings = _settings()
    if not _stop_embedded_servers(settings):
        click.echo(f"No embedded server was running (data in {settings.data_dir.expanduser().resolve()}).")


# --- tenants and users ---------------------------------------------------------------------


@main.group()
def tenant() -> None:
    """Create, list, export, import and delete tenants; set their query-cost limits."""


@tenant.command("create")
@click.option("--slug", required=True, help="Short unique name: lowercase letters, digits and dashes.")
@click.option("--name", required=True, help="Display name of the company.")
@click.option("--admin-email", required=True, help="E-mail of the tenant's first owner.")
@click.option("--admin-name", default=None, help="Full name of the first owner (when the user is new).")
@click.option(
    "--admin-password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Password of the first owner (prompted for when not given; at least 10 characters).",
)
def tenant_create(slug: str, name: str, admin_email: str, admin_name: str | None, admin_password: str) -> None:
    """Create a tenant and its first owner; prints the tenant id."""
    from saas.accounts.service import create_tenant

    settings = _settings()
    options = {
        "slug": "--slug",
        "name": "--name",
        "email": "--admin-email",
        "admin_name": "--admin-name",
        "password": "--admin-password",
    }
    with _app_engine(settings) as engine, _reporting_input_errors(options):
        created = create_tenant(engine, slug, name, admin_email, admin_password, admin_name=admin_name)
    click.echo(str(created.id))


def _limit_option(value: str | None, option: str) -> Any:
    """A number, "default" (back to the settings' value, as None), or absent (UNCHANGED)."""
    from saas.quota.tenant_limits import UNCHANGED

    if value is None:
        return UNCHANGED
    if value.strip().lower() == "default":
        return None
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter("a whole number, or 'default'", param_hint=f"'{option}'") from None


@tenant.command("limits")
@click.option("--slug", required=True, help="Slug of the tenant.")
@click.option("--cost-per-minute", default=None, help="Query cost the tenant may spend per minute, or 'default'.")
@click.option("--max-query-cost", default=None, help="The most one operation may cost, or 'default'.")
def tenant_limits(slug: str, cost_per_minute: str | None, max_query_cost: str | None) -> None:
    """Show or set a tenant's query-cost limits (servers see a change within TENANT_LIMITS_CACHE_SECONDS)."""
    from saas.quota.tenant_limits import set_tenant_limits

    settings = _settings()
    per_minute = _limit_option(cost_per_minute, "--cost-per-minute")
    per_query = _limit_option(max_query_cost, "--max-query-cost")
    options = {"costPerMinute": "--cost-per-minute", "maxQueryCost": "--max-query-cost"}
    with _app_engine(settings) as engine, _reporting_input_errors(options):
        limits = set_tenant_limits(engine, settings, slug, cost_per_minute=per_minute, max_query_cost=per_query)
    if limits is None:
        raise click.BadParameter(f"no tenant with slug {slug!r} (see `saas tenant list`)", param_hint="'--slug'")
    click.echo(f"cost per minute: {limits.cost_per_minute}\nmax query cost: {limits.max_query_cost}")


def _tenant_id(engine: Engine, slug: str) -> uuid.UUID:
    from saas.accounts.models import Tenant
    from saas.tenancy.session import tenant_session

    with tenant_session(engine, None) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == slug.strip().lower()))
    if tenant_id is None:
        raise click.BadParameter(f"no tenant with slug {slug!r} (see `saas tenant list`)", param_hint="'--slug'")
    return tenant_id


@tenant.command("export")
@click.option("--slug", required=True, help="Slug of the tenant.")
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The archive (.tar.gz)."
)
def tenant_export(slug: str, output: Path) -> None:
    """Write every row of the tenant, core and plugin tables, to a tar.gz archive with a manifest."""
    from saas.audit.access import record_export
    from saas.audit.log import NamedActor
    from saas.runtime import load_plugins
    from saas.tenancy.session import tenant_session
    from saas.tenant_data.archive import write_archive

    settings = _settings()
    with _app_engine(settings) as engine:
        tenant_id = _tenant_id(engine, slug)
        partial = output.with_name(output.name + ".partial")
        try:
            with partial.open("wb") as out:
                summary = write_archive(engine, tenant_id, out, plugins=load_plugins())
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
        with tenant_session(engine, tenant_id) as session:
            record_export(session, NamedActor(CLI_PRINCIPAL_LABEL), "tenant", {"file": output.name})
    tables = summary.manifest["tables"]
    click.echo(f"Exported {summary.rows} rows of {len(tables)} tables of {slug!r} to {output}")


@tenant.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", required=True, help="Slug of the new tenant (must not exist).")
@click.option("--name", default=None, help="Display name (default: the exported tenant's).")
def tenant_import(archive: Path, slug: str, name: str | None) -> None:
    """Restore an export as a new tenant (same ids; members matched to accounts by e-mail).

    Nothing is written unless the whole archive is restored."""
    from saas.runtime import load_plugins
    from saas.tenant_data.restore import RestoreError, restore_archive

    settings = _settings()
    with _app_engine(settings) as engine:
        try:
            result = restore_archive(engine, archive, slug, name, plugins=load_plugins())
        except RestoreError as exc:
            raise UsageFailure(f"{exc.message} [{exc.code}]; nothing was written") from exc
    click.echo(
        f"Restored {result.rows} rows as tenant {result.slug!r} ({result.tenant_id}); accounts: "
        f"{result.users_matched} matched by e-mail, {result.users_created} created"
    )


@tenant.command("delete")
@click.option("--slug", required=True, help="Slug of the tenant.")
@click.option("--purge-now", is_flag=True, help="Erase its rows now instead of after the grace period.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def tenant_delete(slug: str, purge_now: bool, yes: bool) -> None:
    """Delete a tenant: logins and credentials refused at once; rows erased after TENANT_DELETION_GRACE_DAYS."""
    from datetime import timedelta

    from saas.runtime import load_plugins
    from saas.tenant_data.deletion import DeletionError, delete_tenant, purge_tenant

    settings = _settings()
    if not yes:
        click.confirm(f"Delete the tenant {slug!r}{' and erase its data now' if purge_now else ''}?", abort=True)
    with _app_engine(settings) as engine:
        try:
            deleted = delete_tenant(engine, slug, timedelta(days=settings.tenant_deletion_grace_days))
            if purge_now:
                rows = purge_tenant(engine, deleted.id, load_plugins())
        except DeletionError as exc:
            raise UsageFailure(f"{exc.message} [{exc.code}]") from exc
    if purge_now:
        click.echo(f"Deleted the tenant {slug!r} and erased its {rows} rows.")
    else:
        click.echo(
            f"Deleted the tenant {slug!r}: refused from now on; its data is erased after "
            f"{deleted.purge_after:%Y-%m-%d %H:%M} UTC (`saas tenant undelete` until then)."
        )


@tenant.command("undelete")
@click.option("--slug", required=True, help="Slug of the deleted tenant.")
def tenant_undelete(slug: str) -> None:
    """Bring back a deleted tenant within its grace period."""
    from saas.tenant_data.deletion import DeletionError, undelete_tenant

    settings = _settings()
    with _app_engine(settings) as engine:
        try:
            undelete_tenant(engine, slug)
        except DeletionError as exc:
            raise UsageFailure(f"{exc.message} [{exc.code}]") from exc
    click.echo(f"The tenant {slug!r} is back; its members can log in again.")


@tenant.command("list")
def tenant_list() -> None:
    """List the tenants, oldest first."""
    from saas.accounts.models import Tenant
    from saas.tenancy.session import tenant_session

    settings = _settings()
    with _app_engine(settings) as engine, tenant_session(engine, None) as session:
        tenants = session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.slug)).all()
    if not tenants:
        click.echo("No tenants yet; create one with `saas tenant create` (or `saas demo`).")
        return
    rows = [(t.slug, t.name, str(t.id), t.created_at.strftime("%Y-%m-%d %H:%M")) for t in tenants]
    click.echo(_table(("SLUG", "NAME", "ID", "CREATED"), rows))


@main.group()
def keys() -> None:
    """Sensitive fields' keys: rotate the master key, re-encrypt a tenant, show status."""


@keys.command("generate")
@click.option("--id", "key_id", required=True, help="The new master key's id, e.g. 2026-12.")
def keys_generate(key_id: str) -> None:
    """Print a new master key entry (id:base64) to put first in ENCRYPTION_MASTER_KEYS."""
    import base64
    import secrets

    if not key_id or ":" in key_id or "," in key_id or len(key_id) > 64:
        raise click.BadParameter("at most 64 characters, without ':' or ','", param_hint="'--id'")
    click.echo(f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}")


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every tenant's data and index keys under the first key of ENCRYPTION_MASTER_KEYS.

    Put the new key first and keep the old ones until this has run; it prints how many key rows
    are left on another master key (0: the old keys may be removed)."""
    from saas.sensitive.keys import use_master_keys
    from saas.sensitive.operations import rotate_master_key

    settings = _settings()
    try:
        use_master_keys(settings)
    except ConfigurationError as exc:
        raise UsageFailure(str(exc)) from exc
    with _app_engine(settings) as engine:
        rotation = rotate_master_key(engine)
    click.echo(
        f"master key {rotation.master_key_id}: {rotation.rewrapped} key(s) re-wrapped in {rotation.tenants} "
        f"tenant(s); {rotation.left_on_other_keys} left on other master keys"
    )
    if rotation.left_on_other_keys:
        raise click.ClickException("some keys are still wrapped by another master key")


@keys.command("reencrypt")
@click.option("--tenant", "tenant_slug", required=True, help="Slug of the tenant.")
@click.option("--foreground", is_flag=True, help="Run the batches in this process instead of the workers.")
def keys_reencrypt(tenant_slug: str, foreground: bool) -> None:
    """Seal every sensitive value of the tenant under a new data key version, in resumable batches.

    A run already under way is resumed instead of a new one started."""
    from saas.sensitive.keys import use_master_keys
    from saas.sensitive.operations import run_to_end, start_or_resume, tenant_id_of

    settings = _settings()
    use_master_keys(settings)
    if foreground:
        with _app_engine(settings) as engine:
            tenant_id = _tenant_or_fail(tenant_id_of(engine, tenant_slug), tenant_slug)
            run, resumed = start_or_resume(engine, tenant_id)
            assert run is not None
            click.echo(f"{'resuming' if resumed else 'started'} run {run.id} toward data key version {run.key_version}")
            done = run_to_end(
                engine,
                tenant_id,
                settings.reencrypt_batch_size,
                progress=lambda r: click.echo(f"batch {r.batches}: {r.processed} row(s) rewritten, {r.status}"),
            )
        click.echo(f"run {run.id}: {done.status if done else 'done'}")
        return
    runtime = _jobs_runtime(settings)
    try:
        from saas.sensitive.jobs import request_reencrypt

        tenant_id = _tenant_or_fail(tenant_id_of(runtime.engine, tenant_slug), tenant_slug)
        run, resumed = start_or_resume(runtime.engine, tenant_id)
        assert run is not None
        request_reencrypt(tenant_id)
        click.echo(
            f"{'resumed' if resumed else 'started'} run {run.id} toward data key version {run.key_version}; "
            f"the workers run it: follow it with `saas keys status --tenant {tenant_slug}`"
        )
    finally:
        runtime.close()


@keys.command("status")
@click.option("--tenant", "tenant_slug", default=None, help="Only this tenant.")
def keys_status(tenant_slug: str | None) -> None:
    """Every tenant's key versions and master key ids, and the tenant's latest re-encryption runs."""
    from saas.sensitive.keys import use_master_keys
    from saas.sensitive.operations import key_status, tenant_id_of
    from saas.sensitive.service import latest_runs
    from saas.tenancy.session import tenant_session

    settings = _settings()
    current = use_master_keys(settings).current_id
    with _app_engine(settings) as engine:
        rows = key_status(engine, tenant_slug)
        click.echo(f"current master key: {current}")
        click.echo(
            _table(
                ("TENANT", "PURPOSE", "VERSION", "MASTER KEY", "STATE"),
                [(a, b, str(c), d, e) for a, b, c, d, e in rows],
            )
        )
        if tenant_slug is not None:
            tenant_id = _tenant_or_fail(tenant_id_of(engine, tenant_slug), tenant_slug)
            with tenant_session(engine, tenant_id) as session:
                runs = [
                    (
                        str(r.id),
                        str(r.key_version),
                        r.status,
                        str(r.processed),
                        str(r.batches),
                        r.updated_at.isoformat(),
                    )
                    for r in latest_runs(session)
                ]
            click.echo(_table(("RUN", "KEY VERSION", "STATUS", "ROWS", "BATCHES", "UPDATED"), runs))


def _tenant_or_fail(tenant_id: Any, slug: str) -> Any:
    if tenant_id is None:
        raise click.BadParameter(f"no tenant with slug {slug!r} (see `saas tenant list`)", param_hint="'--tenant'")
    return tenant_id


@main.group()
def user() -> None:
    """Manage the members of a tenant."""


@user.command("add")
@click.option("--tenant", "tenant_slug", required=True, help="Slug of the tenant.")
@click.option("--email", required=True, help="E-mail of the user (an existing user is reused).")
@click.option("--password", default=None, help="Password; required when the user is new.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role], case_sensitive=False))
@click.option("--name", default=None, help="Full name of a new user.")
def user_add(tenant_slug: str, email: str, password: str | None, role: str, name: str | None) -> None:
    """Add a user to a tenant with a role; prints the membership id."""
    from saas.accounts.models import Tenant
    from saas.accounts.service import add_member
    from saas.auth.permissions import ALL_PERMISSIONS
    from saas.auth.principal import Principal
    from saas.tenancy.session import tenant_session

    settings = _settings()
    data = {"email": email, "role": role, "name": name, "password": password}
    with _app_engine(settings) as engine:
        with tenant_session(engine, None) as session:
            tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == tenant_slug))
        if tenant_id is None:
            raise click.BadParameter(
                f"no tenant with slug {tenant_slug!r} (see `saas tenant list`)", param_hint="'--tenant'"
            )
        # The operator acts as the system: every permission, and an owner's right to make owners.
        operator = Principal(
            tenant_id=tenant_id, label=CLI_PRINCIPAL_LABEL, permissions=ALL_PERMISSIONS, role=Role.OWNER
        )
        with _reporting_input_errors(), tenant_session(engine, tenant_id) as session:
            membership = add_member(session, operator, data)
            membership_id: uuid.UUID = membership.id
    click.echo(str(membership_id))


# --- data import ---------------------------------------------------------------------------


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--entity", required=True, type=click.Choice(["customer", "contact", "lead"], case_sensitive=False))
@click.option("--tenant", "tenant_slug", required=True, help="The tenant's slug.")
@click.option("--dry-run", is_flag=True, help="Only preview what each row would do; nothing is written.")
@click.option(
    "--policy",
    default="skip",
    show_default=True,
    type=click.Choice(["skip", "update", "create"], case_sensitive=False),
    help="What a row matching an existing record does.",
)
def import_command(file: Path, entity: str, tenant_slug: str, dry_run: bool, policy: str) -> None:
    """Import customers, contacts or leads from a CSV or XLSX FILE, with a progress bar.

    The same import as `startImport` (mapping guessed from the headers, cleaning, validation,
    duplicates), run in this process chunk after chunk; prints the counts and the failed rows.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from saas.accounts.models import Tenant
    from saas.imports.console import import_file
    from saas.imports.models import ImportRow, RowOutcome
    from saas.tenancy.session import tenant_session

    settings = _settings()
    with _app_engine(settings) as engine:
        with tenant_session(engine, None) as session:
            tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == tenant_slug))
        if tenant_id is None:
            raise click.BadParameter(
                f"no tenant with slug {tenant_slug!r} (see `saas tenant list`)", param_hint="'--tenant'"
            )
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, transient=False) as bar, _reporting_input_errors({"content": "FILE"}):
            task = bar.add_task("reading", total=None)

            def show(job: Any) -> None:
                bar.update(task, description=job.status, completed=job.processed_rows, total=job.total_rows or None)

            job = import_file(
                engine, tenant_id, file, entity=entity.lower(), dry_run=dry_run, policy=policy.lower(),
                max_bytes=settings.import_max_bytes, progress=show,
            )  # fmt: skip
        if job.status == "failed":
            raise click.ClickException(f"the import failed: {job.error}")
        verb = "would be" if dry_run else "were"
        click.echo(
            f"{job.total_rows} rows: {job.created} {verb} created, {job.updated} {verb} updated, "
            f"{job.skipped} {verb} skipped, {job.failed} failed (import {job.id})"
        )
        with tenant_session(engine, tenant_id) as session:
            failed = session.scalars(
                select(ImportRow)
                .where(ImportRow.job_id == job.id, ImportRow.outcome == RowOutcome.FAIL.value)
                .order_by(ImportRow.row_number)
                .limit(20)
            )
            for row in failed:
                for error in row.errors:
                    column = f" {error['column']}" if error.get("column") else ""
                    click.echo(f"  row {row.row_number}{column}: {error['message']} [{error['code']}]")


# --- schema and demo data ------------------------------------------------------------------


@main.group()
def schema() -> None:
    """The GraphQL schema."""


@schema.command("print")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="Write to FILE.")
@click.option(
    "--plugins",
    "plugin_names",
    default="none",
    show_default=True,
    metavar="all|none|NAME,...",
    help="Which installed plugins to include: all that load, none (the core, as in schema.graphql), or these.",
)
def schema_print(output: Path | None, plugin_names: str) -> None:
    """Print the GraphQL schema (SDL): the core's, with the installed plugins asked for.

    A tenant's schema is the core's plus the plugins it enabled: `--plugins loyalty` prints
    the schema of a tenant that enabled loyalty, `--plugins all` the largest one.
    """
    from saas.schema.builder import schema_sdl

    sdl = schema_sdl(_plugins_named(plugin_names))
    if output is None:
        click.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")
        click.echo(f"Wrote the schema to {output}", err=True)


def _plugins_named(spec: str, host: Any = None) -> list[Any]:
    """`all`, `none` or `NAME,...` as loaded plugins; unknown, broken or incomplete sets are refused."""
    if spec.strip() == "none":
        return []
    host = host or _checked_plugins()
    if spec.strip() == "all":
        return sorted(host.healthy(), key=lambda p: p.name)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    problems = []
    for name in names:
        loaded = host.plugins.get(name)
        if loaded is None:
            installed = ", ".join(sorted(host.plugins)) or "none"
            problems.append(f"no installed plugin named {name!r} (installed: {installed})")
        elif loaded.broken:
            problems.append(f"plugin {name!r} does not load: {'; '.join(loaded.problems)}")
        elif loaded.meta is not None:
            problems += [f"plugin {name!r} requires {r!r}: add it" for r in loaded.meta.requires if r not in names]
    if problems or not names:
        raise click.BadParameter("; ".join(problems) or "name at least one plugin", param_hint="'--plugins'")
    return sorted((host.plugins[name] for name in set(names)), key=lambda p: p.name)


@main.command()
@click.option("--customers", default=200, show_default=True, type=click.IntRange(min=0), help="Customers to create.")
@click.option("--slug", default="demo", show_default=True, help="Slug of the demo tenant.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Where the server listens (for the login example)."
)
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="The server's port (ditto)."
)
@click.option(
    "--plugins",
    "plugin_names",
    default="all",
    show_default=True,
    help="Plugins to enable on the demo tenant, with their demo data: names separated by commas, 'all' or 'none'.",
)
def demo(customers: int, slug: str, host: str, port: int, plugin_names: str) -> None:
    """Create a demo tenant with a team, customers and every domain's data (does nothing if it already exists)."""
    from saas.demo import seed_demo

    plugins = _checked_plugins()
    names = [plugin.name for plugin in _plugins_named(plugin_names, plugins)]
    settings = _settings()
    with _app_engine(settings, migrate_embedded=True) as engine, _reporting_input_errors():
        info = seed_demo(engine, customers, slug=slug, plugins=plugins, plugin_names=names)
    state = "created" if info.created else "already exists, left as it is"
    click.echo(f"Demo tenant {info.slug!r} {state}: {info.customers} customers, {info.contacts} contacts.")
    if info.created and names:
        click.echo(f"Plugins enabled with demo data: {', '.join(names)}.")
    click.echo(f"Log in (tenant {info.slug!r}, password {info.password!r}) as:")
    for demo_user in info.users:
        click.echo(f"  {demo_user.role.value:<8} {demo_user.email}")
    query = (
        f'mutation {{ login(input: {{email: \\"{info.owner_email}\\", password: \\"{info.password}\\", '
        f'tenant: \\"{info.slug}\\"}}) {{ token userErrors {{ field code message }} }} }}'
    )
    click.echo("Get a token (with the server running):")
    click.echo(
        f"  curl -s {_graphql_url(host, port)} -H 'Content-Type: application/json' -d '{{\"query\": \"{query}\"}}'"
    )


def _graphql_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for a server listening on `host`:`port`."""
    if host in ("", "0.0.0.0", "::"):  # every interface: loopback is one of them
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/graphql"


# --- plugins -------------------------------------------------------------------------------


def _checked_plugins() -> Any:
    """The installed plugins as a server checks them at start: loaded, then their GraphQL composed."""
    from saas.runtime import load_plugins
    from saas.schema.builder import checked_schema

    host = load_plugins()
    checked_schema(host)
    return host


@main.group()
def plugin() -> None:
    """Installed plugins, and a scaffold for new ones."""


@plugin.command("list")
def plugin_list() -> None:
    """List the installed plugins (entry points `saas.plugins`); broken ones with their problems."""
    host = _checked_plugins()
    plugins = sorted(host.plugins.values(), key=lambda p: p.name)
    if not plugins:
        click.echo("No plugins installed; create one with `saas plugin new NAME`.")
        return
    rows = [
        (
            p.name,
            p.meta.version if p.meta else "-",
            p.meta.title if p.meta else "-",
            "broken" if p.broken else "ok",
        )
        for p in plugins
    ]
    click.echo(_table(("NAME", "VERSION", "TITLE", "STATUS"), rows))
    for p in plugins:
        for problem in p.problems:
            click.echo(f"{p.name}: {problem}")


@plugin.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create the package saas-plugin-NAME in.",
)
def plugin_new(name: str, directory: Path) -> None:
    """Create a plugin package: one model, its migration, one query and a passing test.

    NAME is the plugin's name: lowercase letters, digits and underscores (e.g. fleet_care).
    """
    from saas.plugin_host.scaffold import ScaffoldError, new_plugin

    try:
        root = new_plugin(name, directory)
    except ScaffoldError as exc:
        raise UsageFailure(str(exc)) from exc
    # Spelled with this environment's interpreter, so they work whether or not it is activated.
    python = shlex.quote(sys.executable)
    saas = Path(sys.executable).with_name("saas")
    click.echo(f"Created the plugin {name!r} in {root}")
    click.echo("Next: install it into this environment with its test extra, create its table, run its tests:")
    click.echo(f"  {python} -m pip install -e {shlex.quote(f'{root}[test]')}")
    click.echo(f"  {shlex.quote(str(saas)) if saas.exists() else 'saas'} migrate")
    click.echo(f"  {python} -m pytest {shlex.quote(str(root))}")
    click.echo("Then restart the server: it loads plugins when it starts.")
