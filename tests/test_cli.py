"""The `saas` command line, run in-process against the test database."""

from __future__ import annotations

import fcntl
import importlib
import os
import secrets
import uuid
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from saas.accounts.models import Membership, Tenant, User
from saas.cli import main
from saas.config import Settings
from saas.plugin_api.testing import MIGRATION_LOCK
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session

PASSWORD = "a-long-enough-password"


@pytest.fixture
def cli(settings: Settings, migrated: str, monkeypatch: pytest.MonkeyPatch):
    """Invoke `saas …` with the environment pointing at the test database and Redis."""
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def _slug() -> str:
    return f"cli-{secrets.token_hex(4)}"


def _tenants_with_slug(runtime: Runtime, slug: str) -> list[Tenant]:
    with tenant_session(runtime.engine, None) as session:
        return list(session.scalars(select(Tenant).where(Tenant.slug == slug)))


def _tenant_create(cli, slug: str, *, name: str = "Acme Ltd", email: str = "", password: str = PASSWORD) -> Result:
    email = email or f"boss@{slug}.example.com"
    return cli("tenant", "create", "--slug", slug, "--name", name, "--admin-email", email, "--admin-password", password)


def _user_add(cli, slug: str, email: str, role: str, *extra: str) -> Result:
    return cli("user", "add", "--tenant", slug, "--email", email, "--role", role, *extra)


def _create_tenant(cli, slug: str) -> uuid.UUID:
    result = _tenant_create(cli, slug)
    assert result.exit_code == 0, result.output
    return uuid.UUID(result.stdout.strip())


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.output.startswith("saas, version ")


def test_migrate_twice_is_safe(cli):
    for _ in range(2):
        # Other test runs migrate their databases on this server too; the app role is shared.
        with open(MIGRATION_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            result = cli("migrate")
        assert result.exit_code == 0, result.output
        assert "  customers\n" in result.output
        assert "  memberships\n" in result.output


def test_tenant_create_then_list(cli, runtime):
    slug = _slug()
    tenant_id = _create_tenant(cli, slug)
    [tenant] = _tenants_with_slug(runtime, slug)
    assert tenant.id == tenant_id

    result = cli("tenant", "list")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["SLUG", "NAME", "ID", "CREATED"]
    [row] = [line for line in result.output.splitlines() if line.startswith(slug + " ")]
    assert "Acme Ltd" in row and str(tenant_id) in row


@pytest.mark.parametrize(
    ("slug", "password", "expected"),
    [
        ("Bad Slug!", PASSWORD, "--slug: slug must be lowercase letters, digits and dashes [INVALID]"),
        (None, "short", "--admin-password: password must be at least 10 characters [TOO_SHORT]"),
    ],
)
def test_tenant_create_rejects_bad_input(cli, runtime, slug, password, expected):
    slug = slug or _slug()
    result = _tenant_create(cli, slug, password=password)
    assert result.exit_code == 2
    assert "invalid input, nothing was changed" in result.stderr
    assert expected in result.stderr
    assert _tenants_with_slug(runtime, slug) == []


def test_tenant_create_reports_every_bad_field(cli):
    result = _tenant_create(cli, "-x-", name=" ", email="not-an-email", password="short")
    assert result.exit_code == 2
    for option in ("--slug", "--name", "--admin-email", "--admin-password"):
        assert f"  {option}: " in result.stderr


def test_tenant_create_rejects_a_taken_slug(cli, runtime):
    slug = _slug()
    first = _create_tenant(cli, slug)
    result = _tenant_create(cli, slug, name="Other", email=f"other@{slug}.example.com")
    assert result.exit_code == 2
    assert "--slug: slug is taken [TAKEN]" in result.stderr
    assert [t.id for t in _tenants_with_slug(runtime, slug)] == [first]
    with tenant_session(runtime.engine, None) as session:
        assert session.scalar(select(User).where(User.email == f"other@{slug}.example.com")) is None


def test_user_add_to_unknown_tenant_fails_clearly(cli):
    result = _user_add(cli, "no-such-tenant", "a@b.example.com", "sales", "--password", PASSWORD)
    assert result.exit_code == 2
    assert "no tenant with slug 'no-such-tenant'" in result.stderr


def test_user_add_makes_a_member_with_the_role(cli, runtime):
    slug = _slug()
    tenant_id = _create_tenant(cli, slug)
    email = f"rep@{slug}.example.com"
    result = _user_add(cli, slug, email, "sales", "--password", PASSWORD, "--name", "Rita Rep")
    assert result.exit_code == 0, result.output
    membership_id = uuid.UUID(result.stdout.strip())
    with tenant_session(runtime.engine, tenant_id) as session:
        membership = session.get(Membership, (tenant_id, membership_id))
        assert membership is not None
        assert (membership.role, membership.user.email, membership.user.name) == ("sales", email, "Rita Rep")

    again = _user_add(cli, slug, email, "viewer")
    assert again.exit_code == 2
    assert "--email: Already a member [TAKEN]" in again.stderr


@pytest.mark.parametrize("spelling", ["SALES", "Sales", "sales"])
def test_user_add_takes_the_role_in_any_case(cli, runtime, spelling):
    slug = _slug()
    tenant_id = _create_tenant(cli, slug)
    result = _user_add(cli, slug, f"rep@{slug}.example.com", spelling, "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    with tenant_session(runtime.engine, tenant_id) as session:
        membership = session.get(Membership, (tenant_id, uuid.UUID(result.stdout.strip())))
        assert membership is not None and membership.role == "sales"


def test_tenant_create_names_the_first_owner(cli, runtime):
    slug = _slug()
    result = cli(
        "tenant", "create", "--slug", slug, "--name", "Acme Ltd", "--admin-email", f"boss@{slug}.example.com",
        "--admin-name", "Bea Boss", "--admin-password", PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with tenant_session(runtime.engine, None) as session:
        user = session.scalar(select(User).where(User.email == f"boss@{slug}.example.com"))
        assert user is not None and user.name == "Bea Boss"


def test_user_add_rejects_bad_input(cli):
    slug = _slug()
    _create_tenant(cli, slug)
    new_without_password = _user_add(cli, slug, f"new@{slug}.example.com", "sales")
    assert new_without_password.exit_code == 2
    assert "--password: A new user needs a password [REQUIRED]" in new_without_password.stderr
    bad_role = _user_add(cli, slug, f"new@{slug}.example.com", "king")
    assert bad_role.exit_code == 2
    assert "'king' is not one of" in bad_role.stderr


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["tenant", "list"], ["demo"]])
def test_production_without_secret_refuses_and_says_why(cli, monkeypatch, command):
    monkeypatch.setenv("SAAS_ENV", "production")
    result = cli(*command)
    assert result.exit_code == 2
    assert "refusing to start in production" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def test_serve_runs_uvicorn_with_the_app_factory(cli, monkeypatch, migrated):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    monkeypatch.setattr("saas.http.logs.configure_logging", lambda settings: None)
    result = cli("serve", "--port", "8123", "--workers", "3")
    assert result.exit_code == 0, result.output
    [(app, options)] = calls
    assert app == "saas.cli:create_asgi_app"
    assert options["factory"] is True and options["workers"] == 3 and options["port"] == 8123
    assert options["host"] == "127.0.0.1" and options["reload"] is False
    from saas.http.ws_protocol import WebSocketProtocol

    assert options["ws"] is WebSocketProtocol  # small WebSocket messages go out uncompressed
    # The workers inherit the resolved services through the environment.
    assert os.environ["DATABASE_URL"] == migrated


def _serve_recording_workers(cli, monkeypatch, *args: str):
    """`saas serve …` with uvicorn.run recorded: its options and the worker class it would start."""
    import uvicorn
    from uvicorn.supervisors import multiprocess

    calls = []

    def run(app, **options):
        balance = getattr(multiprocess.Process, "balance", None)
        calls.append((options, multiprocess.Process, balance))

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr("saas.http.logs.configure_logging", lambda settings: None)
    result = cli("serve", *args)
    return result, calls


def test_serve_balances_connections_between_workers(cli, monkeypatch):
    from uvicorn.supervisors import multiprocess

    from saas.balanced_accept import BalancedProcess

    plain = multiprocess.Process
    result, [(options, process_class, balance)] = _serve_recording_workers(cli, monkeypatch, "--workers", "3")
    assert result.exit_code == 0, result.output
    assert process_class is BalancedProcess  # uvicorn's supervisor starts balanced workers
    assert balance is not None and balance.slots == 6  # room for a replacement beside each worker
    assert multiprocess.Process is plain  # and only while it runs
    # A worker that starts slowly on a busy machine is not killed for a late health answer.
    assert options["timeout_worker_healthcheck"] == 60


def test_the_worker_healthcheck_is_passed_only_to_a_uvicorn_that_takes_it():
    from saas.cli import _worker_healthcheck_option

    class OldConfig:
        def __init__(self, app: str, workers: int | None = None) -> None: ...

    class NewConfig:
        def __init__(self, app: str, timeout_worker_healthcheck: int = 5) -> None: ...

    assert _worker_healthcheck_option(OldConfig) == {}
    assert _worker_healthcheck_option(NewConfig) == {"timeout_worker_healthcheck": 60}


@pytest.mark.parametrize(
    ("args", "environment"),
    [
        (("--workers", "3"), {"SERVE_BALANCED_ACCEPT": "false"}),
        (("--workers", "1"), {}),
        ((), {}),
        ((), {"WEB_CONCURRENCY": "1"}),
        (("--workers", "2", "--reload"), {}),
    ],
)
def test_serve_leaves_uvicorns_accept_alone_when_off_or_one_process(cli, monkeypatch, args, environment):
    from uvicorn.supervisors import multiprocess

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    plain = multiprocess.Process
    result, [(_options, process_class, _balance)] = _serve_recording_workers(cli, monkeypatch, *args)
    assert result.exit_code == 0, result.output
    assert process_class is plain


def test_serve_balances_the_workers_of_web_concurrency(cli, monkeypatch):
    from saas.balanced_accept import BalancedProcess

    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    result, [(options, process_class, balance)] = _serve_recording_workers(cli, monkeypatch)
    assert result.exit_code == 0, result.output
    assert options["workers"] is None  # uvicorn reads WEB_CONCURRENCY itself
    assert process_class is BalancedProcess and balance.slots == 8


@pytest.mark.parametrize("value", ["maybe", "2", ""])
def test_serve_refuses_a_balanced_accept_setting_that_is_no_boolean(cli, monkeypatch, value):
    monkeypatch.setenv("SERVE_BALANCED_ACCEPT", value)
    result, calls = _serve_recording_workers(cli, monkeypatch, "--workers", "2")
    assert result.exit_code == 2
    assert "invalid settings: SERVE_BALANCED_ACCEPT: Input should be a valid boolean" in result.stderr
    assert calls == []


def test_an_unparsable_setting_is_named_without_its_value(cli, monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "many-secret-words")
    result = cli("tenant", "list")
    assert result.exit_code == 2
    assert "invalid settings: DB_POOL_SIZE:" in result.stderr
    assert "many-secret-words" not in result.output + result.stderr


@pytest.mark.skipif(not _importable("saas.http.app"), reason="saas.http.app not built yet")
def test_app_factory_serves_health(cli, monkeypatch):
    from starlette.testclient import TestClient

    from saas.cli import create_asgi_app

    logging_configured: list[dict[str, object]] = []
    monkeypatch.setattr("saas.http.logs.configure_logging", lambda settings, **kw: logging_configured.append(kw))
    tuned: list[bool] = []  # the serving process's GC tuning (saas/http/gc_tuning.py), not this one's
    monkeypatch.setattr("saas.http.gc_tuning.tune_for_serving", lambda: tuned.append(True))
    app = create_asgi_app()
    assert tuned == [True]
    assert logging_configured == [{"cache_loggers": True}]  # loggers kept: none rebuilt per access line
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    app.state.transport.runtime.close()


@pytest.mark.skipif(not _importable("saas.schema.builder"), reason="saas.schema.builder not built yet")
def test_schema_print(cli, tmp_path):
    result = cli("schema", "print")
    assert result.exit_code == 0, result.output
    assert "type Query" in result.stdout
    target = tmp_path / "schema.graphql"
    written = cli("schema", "print", "--output", str(target))
    assert written.exit_code == 0, written.output
    assert target.read_text() == result.stdout


def test_schema_print_includes_the_plugins_asked_for(cli):
    core = cli("schema", "print")
    assert core.exit_code == 0, core.output
    assert cli("schema", "print", "--plugins", "none").stdout == core.stdout  # schema.graphql: the core
    assert "loyaltyTiers" not in core.stdout and "stockLevels(" not in core.stdout

    everything = cli("schema", "print", "--plugins", "all")
    assert everything.exit_code == 0, everything.output
    assert "loyaltyTiers" in everything.stdout and "stockLevels(" in everything.stdout
    loyalty = cli("schema", "print", "--plugins", "loyalty")
    assert "loyaltyPoints" in loyalty.stdout and "stockLevels(" not in loyalty.stdout
    assert "quotesUpdated(symbols: [String!]!): FinInstrument!" in everything.stdout
    assert "rebalancePlan(accountId: ID!): [FinTradeSuggestion!]!" in everything.stdout
    named = cli("schema", "print", "--plugins", "finance, manufacturing, automotive, loyalty, insurance")
    assert named.stdout == everything.stdout

    unknown = cli("schema", "print", "--plugins", "loyalty,nope")
    assert unknown.exit_code == 2 and "no installed plugin named 'nope'" in unknown.output


def test_tenant_limits_set_show_and_reset(cli, runtime):
    slug = _slug()
    _create_tenant(cli, slug)
    # The command's own settings (the environment's), not the test runtime's raised budget.
    defaults = SimpleNamespace(
        **{name: Settings.model_fields[name].default for name in ("tenant_cost_per_minute", "max_query_cost")}
    )
    shown = cli("tenant", "limits", "--slug", slug)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.split() == [
        *["cost", "per", "minute:"],
        str(defaults.tenant_cost_per_minute),
        *["max", "query", "cost:"],
        str(defaults.max_query_cost),
    ]
    changed = cli("tenant", "limits", "--slug", slug, "--cost-per-minute", "500", "--max-query-cost", "50")
    assert changed.exit_code == 0, changed.output
    assert "cost per minute: 500" in changed.stdout and "max query cost: 50" in changed.stdout
    (tenant,) = _tenants_with_slug(runtime, slug)
    assert (tenant.cost_per_minute, tenant.max_query_cost) == (500, 50)
    one = cli("tenant", "limits", "--slug", slug, "--max-query-cost", "default")
    assert f"max query cost: {defaults.max_query_cost}" in one.stdout and "cost per minute: 500" in one.stdout
    (tenant,) = _tenants_with_slug(runtime, slug)
    assert (tenant.cost_per_minute, tenant.max_query_cost) == (500, None)


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1000000001"])
def test_tenant_limits_refuses_bad_values_and_changes_nothing(cli, runtime, value):
    slug = _slug()
    _create_tenant(cli, slug)
    result = cli("tenant", "limits", "--slug", slug, "--cost-per-minute", value)
    assert result.exit_code == 2
    assert "--cost-per-minute" in result.stderr
    (tenant,) = _tenants_with_slug(runtime, slug)
    assert tenant.cost_per_minute is None


def test_tenant_limits_of_an_unknown_tenant(cli):
    result = cli("tenant", "limits", "--slug", "no-such-tenant", "--cost-per-minute", "5")
    assert result.exit_code == 2
    assert "no tenant with slug 'no-such-tenant'" in result.stderr
