"""The example plugin (examples/loyalty), installed as its own distribution, through its entry point.

`scripts/test` installs it (`pip install -e examples/loyalty`); the host loads it with
`load_entry_points` like any partner's plugin, and these tests use it as a tenant would.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from saas.db.engine import create_owner_engine
from saas.plugin_api import DomainEvent, JobContext, PluginContext
from saas.plugin_api.testing import GraphQLClient, disable_plugin, enable_plugin
from saas.plugin_host.host import ENTRY_POINT_GROUP, LoadedPlugin
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import TenantHandle, add_member

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "loyalty"

CREATE_CUSTOMER = """mutation($name: String!) {
  createCustomer(input: {name: $name}) { customer { id } userErrors { code } }
}"""
ADJUST = """mutation Adjust($input: LoyaltyAdjustPointsInput!) {
  loyaltyAdjustPoints(input: $input) { entry { points reason customerId } balance userErrors { field code message } }
}"""
POINTS = "{ customers(first: %d) { edges { node { name loyaltyPoints } } } }"
ENTRIES = "query($id: ID!) { loyaltyEntries(customerId: $id) { points reason } }"
TIERS = "{ loyaltyTiers { name minPoints } }"


@pytest.fixture(scope="module")
def loyalty(runtime: Runtime) -> LoadedPlugin:
    plugin = runtime.plugins.plugins.get("loyalty")
    assert plugin is not None, "examples/loyalty is not installed: run scripts/test, or pip install -e examples/loyalty"
    assert not plugin.broken, plugin.problems
    return plugin


def _customer(client: GraphQLClient, name: str = "Ada Lovelace") -> str:
    payload = client.data(CREATE_CUSTOMER, {"name": name})["createCustomer"]
    assert not payload["userErrors"], payload
    customer_id: str = payload["customer"]["id"]
    return customer_id


def _adjust(client: GraphQLClient, customer_id: str, points: int, **extra: Any) -> dict[str, Any]:
    variables = {"input": {"customerId": customer_id, "points": points, "reason": "Test", **extra}}
    payload: dict[str, Any] = client.data(ADJUST, variables)["loyaltyAdjustPoints"]
    return payload


def _points(client: GraphQLClient) -> dict[str, int]:
    edges = client.data(POINTS % 50)["customers"]["edges"]
    return {edge["node"]["name"]: edge["node"]["loyaltyPoints"] for edge in edges}


def _schema_names(client: GraphQLClient) -> set[str]:
    """Every type and field name the client's introspection shows."""
    types = client.data("{ __schema { types { name fields { name } } } }")["__schema"]["types"]
    return {t["name"] for t in types} | {f["name"] for t in types for f in t["fields"] or []}


# -- installed as a partner's plugin -------------------------------------------------------


def test_it_is_a_separate_distribution_loaded_through_its_entry_point(loyalty: LoadedPlugin) -> None:
    dist = distribution("saas-plugin-loyalty")
    [entry_point] = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
    assert (entry_point.name, entry_point.value) == ("loyalty", "saas_plugin_loyalty")
    assert loyalty.module is sys.modules["saas_plugin_loyalty"]
    assert loyalty.meta is not None and (loyalty.meta.version, loyalty.meta.api_version) == ("1.0.0", "1.4")
    assert Path(str(loyalty.module.__file__)).resolve().is_relative_to(EXAMPLE)


def test_it_imports_nothing_from_saas_but_the_plugin_api() -> None:
    offending = []
    for path in sorted((EXAMPLE / "saas_plugin_loyalty").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offending += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "saas" and n != "saas.plugin_api"]
    assert offending == []


def test_its_contributions_are_recorded(loyalty: LoadedPlugin) -> None:
    assert {p.name for p in loyalty.permissions} == {"loyalty:read", "loyalty:adjust"}
    assert [job.name for job in loyalty.jobs] == ["loyalty.expire_points"]
    [periodic] = loyalty.periodic_jobs
    assert (periodic.job, periodic.interval) == (loyalty.jobs[0], timedelta(hours=1))
    assert (
        loyalty.migrations_dir is not None and (loyalty.migrations_dir / "loyalty_0001_entries_and_tiers.py").exists()
    )


def test_its_tables_have_forced_row_level_security(migrated: str, owner: GraphQLClient, runtime: Runtime) -> None:
    enable_plugin(owner, "loyalty")
    _adjust(owner, _customer(owner), 10)
    owner_engine = create_owner_engine(migrated)
    try:
        with owner_engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname IN ('loyalty_entries', 'loyalty_tiers') ORDER BY relname"
                )
            ).all()
    finally:
        owner_engine.dispose()
    assert [tuple(r) for r in rows] == [("loyalty_entries", True, True), ("loyalty_tiers", True, True)]
    # The application role without a tenant sees no rows, though there are some.
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loyalty_entries")).scalar_one() == 0


# -- per tenant: enabled, not enabled, disabled, enabled again -------------------------------


def test_an_enabled_tenant_sees_customer_loyalty_points_and_the_plugins_operations(
    owner: GraphQLClient, loyalty: LoadedPlugin
) -> None:
    state = enable_plugin(owner, "loyalty", {"welcomePoints": 50})
    assert state == {"name": "loyalty", "enabled": True, "settings": {"welcomePoints": 50}}
    ada, bob = _customer(owner), _customer(owner, "Bob")
    payload = _adjust(owner, ada, 120)
    assert payload == {
        "entry": {"points": 120, "reason": "Test", "customerId": ada},
        "balance": 120,
        "userErrors": [],
    }
    assert _adjust(owner, ada, -20)["balance"] == 100
    assert _points(owner) == {"Ada Lovelace": 100, "Bob": 0}
    assert owner.data(ENTRIES, {"id": ada})["loyaltyEntries"] == [
        {"points": -20, "reason": "Test"},
        {"points": 120, "reason": "Test"},
    ]
    assert owner.data(ENTRIES, {"id": bob})["loyaltyEntries"] == []
    assert owner.data(TIERS)["loyaltyTiers"] == [
        {"name": "Bronze", "minPoints": 0},
        {"name": "Silver", "minPoints": 1000},
        {"name": "Gold", "minPoints": 5000},
    ]
    assert {"LoyaltyEntry", "loyaltyPoints", "loyaltyAdjustPoints"} <= _schema_names(owner)


def test_a_tenant_that_did_not_enable_it_gets_plugin_not_enabled_and_no_loyalty_in_its_schema(
    owner: GraphQLClient, other_owner: GraphQLClient, loyalty: LoadedPlugin
) -> None:
    enable_plugin(owner, "loyalty")
    customer_id = _customer(other_owner)
    assert other_owner.error_codes(POINTS % 5) == ["PLUGIN_NOT_ENABLED"]
    assert other_owner.error_codes(TIERS) == ["PLUGIN_NOT_ENABLED"]
    assert other_owner.error_codes(ENTRIES, {"id": customer_id}) == ["PLUGIN_NOT_ENABLED"]
    assert other_owner.error_codes(ADJUST, {"input": {"customerId": customer_id, "points": 1, "reason": "x"}}) == [
        "PLUGIN_NOT_ENABLED"
    ]
    assert [name for name in _schema_names(other_owner) if "loyalty" in name.lower()] == []
    # A real mistake is still a validation error, not PLUGIN_NOT_ENABLED.
    assert other_owner.error_codes("{ customers(first: 1) { edges { node { nope } } } }") == [
        "GRAPHQL_VALIDATION_FAILED"
    ]
    [plugin] = [p for p in other_owner.data("{ plugins { name enabled } }")["plugins"] if p["name"] == "loyalty"]
    assert plugin == {"name": "loyalty", "enabled": False}


def test_disabling_keeps_the_data_and_enabling_again_brings_it_back(
    owner: GraphQLClient, loyalty: LoadedPlugin
) -> None:
    enable_plugin(owner, "loyalty", {"welcomePoints": 5})
    ada = _customer(owner)
    _adjust(owner, ada, 75)
    assert disable_plugin(owner, "loyalty") == {"name": "loyalty", "enabled": False, "settings": {"welcomePoints": 5}}
    assert owner.error_codes(POINTS % 5) == ["PLUGIN_NOT_ENABLED"]
    assert "loyaltyPoints" not in _schema_names(owner)

    assert enable_plugin(owner, "loyalty")["settings"] == {"welcomePoints": 5}  # the stored settings are kept
    assert _points(owner) == {"Ada Lovelace": 75}
    assert len(owner.data(TIERS)["loyaltyTiers"]) == 3  # saas_on_enable ran again, idempotently


@pytest.mark.parametrize(
    ("given", "field"),
    [({"welcomePoints": -1}, ["input", "settings", "welcomePoints"]), ({"bonus": 1}, ["input", "settings", "bonus"])],
)
def test_settings_are_validated_by_the_plugins_model(
    owner: GraphQLClient, loyalty: LoadedPlugin, given: dict[str, Any], field: list[str]
) -> None:
    result = owner.data(
        "mutation($input: EnablePluginInput!) { enablePlugin(input: $input) { plugin { name } userErrors { field code } } }",
        {"input": {"name": "loyalty", "settings": given}},
    )["enablePlugin"]
    assert result == {"plugin": None, "userErrors": [{"field": field, "code": "INVALID"}]}


# -- rules and permissions -----------------------------------------------------------------


def test_points_never_go_below_zero_and_bad_input_is_a_user_error(
    owner: GraphQLClient, other_owner: GraphQLClient, loyalty: LoadedPlugin
) -> None:
    enable_plugin(owner, "loyalty")
    enable_plugin(other_owner, "loyalty")
    ada = _customer(owner)
    _adjust(owner, ada, 30)

    def errors(customer_id: str, points: int, **extra: Any) -> list[tuple[str, str]]:
        return [(".".join(e["field"]), e["code"]) for e in _adjust(owner, customer_id, points, **extra)["userErrors"]]

    assert errors(ada, -31) == [("input.points", "INVALID")]
    assert errors(ada, 0) == [("input.points", "INVALID")]
    assert errors(ada, -1, expiresAt="2030-01-01T00:00:00+00:00") == [("input.expiresAt", "INVALID")]
    assert errors(_customer(other_owner), 5) == [("input.customerId", "NOT_FOUND")]  # another tenant's customer
    assert errors("not-an-id", 5) == [("input.customerId", "NOT_FOUND")]
    assert _points(owner) == {"Ada Lovelace": 30}


def test_the_plugins_permissions_follow_the_roles(
    owner: GraphQLClient, tenant: TenantHandle, loyalty: LoadedPlugin
) -> None:
    enable_plugin(owner, "loyalty")
    ada = _customer(owner)
    manager, sales, viewer = (add_member(owner, tenant, role) for role in ("manager", "sales", "viewer"))
    assert _adjust(manager, ada, 10)["balance"] == 10
    assert sales.error_codes(ADJUST, {"input": {"customerId": ada, "points": 1, "reason": "x"}}) == ["FORBIDDEN"]
    assert sales.error_codes(ENTRIES, {"id": ada}) == ["FORBIDDEN"]  # loyalty:read: roles that see all customers
    assert viewer.data(ENTRIES, {"id": ada})["loyaltyEntries"] == [{"points": 10, "reason": "Test"}]
    assert viewer.error_codes(ADJUST, {"input": {"customerId": ada, "points": 1, "reason": "x"}}) == ["FORBIDDEN"]
    assert _points(sales) == {"Ada Lovelace": 10}  # whoever sees the customer sees its points


def test_customer_loyalty_points_take_one_statement_whatever_the_page_size(
    owner: GraphQLClient, loyalty: LoadedPlugin
) -> None:
    enable_plugin(owner, "loyalty")
    for n in range(12):
        _adjust(owner, _customer(owner, f"Customer {n:02}"), n + 1)
    statements = {}
    for first in (2, 12):
        assert len(owner.data(POINTS % first)["customers"]["edges"]) == first
        statements[first] = owner.last_statements
    assert statements[2] == statements[12]


# -- events and jobs -----------------------------------------------------------------------


def _context(tenant: TenantHandle, session: Any, settings: dict[str, Any]) -> PluginContext:
    return PluginContext(tenant_id=tenant.id, session=session, settings=settings, emit=lambda *_: None)


def test_a_new_customer_earns_welcome_points_once_per_event_and_only_where_enabled(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, loyalty: LoadedPlugin
) -> None:
    enable_plugin(owner, "loyalty", {"welcomePoints": 40})
    customer_id = _customer(owner)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    deliveries = [
        (first, "customer.created", ["loyalty"]),
        (first, "customer.created", ["loyalty"]),  # delivered again: booked once
        (second, "customer.created", []),  # as for a tenant that did not enable loyalty: never called
        (third, "customer.updated", ["loyalty"]),  # not an event loyalty acts on
    ]
    for event_id, event_type, enabled in deliveries:
        event = DomainEvent(event_id, tenant.id, event_type, {"customer": {"id": customer_id}}, datetime.now(UTC))
        with tenant_session(runtime.engine, tenant.id) as session:
            context = _context(tenant, session, {"welcomePoints": 40})
            runtime.plugins.hook_for(enabled).saas_handle_event(context=context, event=event)
    assert _points(owner) == {"Ada Lovelace": 40}
    assert owner.data(ENTRIES, {"id": customer_id})["loyaltyEntries"] == [{"points": 40, "reason": "Welcome"}]


def test_the_event_dispatcher_calls_loyalty_only_for_tenants_that_enabled_it(
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    runtime: Runtime,
    loyalty: LoadedPlugin,
) -> None:
    from saas.events.dispatch import dispatch_pending

    enable_plugin(owner, "loyalty", {"welcomePoints": 15})
    _customer(owner)
    _customer(other_owner)
    for handle in (tenant, other_tenant):
        with tenant_session(runtime.engine, handle.id) as session:
            dispatch_pending(session, handle.id, runtime.plugins)
    assert _points(owner) == {"Ada Lovelace": 15}
    enable_plugin(other_owner, "loyalty")
    assert _points(other_owner) == {"Ada Lovelace": 0}  # events from before enabling are not replayed


def test_adjusting_points_emits_its_declared_event_shaped_like_the_api(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, loyalty: LoadedPlugin
) -> None:
    from saas.events import catalog

    assert loyalty.event_types == ["loyalty.points_adjusted"]
    assert catalog.owner_of("loyalty.points_adjusted") == "loyalty"
    enable_plugin(owner, "loyalty", {"welcome_points": 0})
    customer_id = _customer(owner)
    entry = _adjust(owner, customer_id, 30)["entry"]
    with tenant_session(runtime.engine, tenant.id) as session:
        [payload] = session.execute(
            text("SELECT payload FROM outbox_events WHERE type = 'loyalty.points_adjusted'")
        ).scalars()
    assert payload["balance"] == 30
    assert payload["entry"]["customerId"] == entry["customerId"] == customer_id
    assert (payload["entry"]["points"], payload["entry"]["reason"]) == (entry["points"], entry["reason"])


def test_the_expiry_job_books_what_is_left_of_due_awards_once(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, loyalty: LoadedPlugin
) -> None:
    enable_plugin(owner, "loyalty")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    ada, bob = _customer(owner), _customer(owner, "Bob")
    for customer_id, redeemed in ((ada, 120), (bob, 20)):
        _adjust(owner, customer_id, 100, expiresAt=past)
        _adjust(owner, customer_id, 50, expiresAt=future)
        _adjust(owner, customer_id, -redeemed)  # redemptions use the soonest-expiring points first
    [job] = loyalty.jobs
    for message_id in ("m-1", "m-2"):
        with tenant_session(runtime.engine, tenant.id) as session:
            job.function(JobContext(tenant_id=tenant.id, session=session, message_id=message_id))
    assert _points(owner) == {"Ada Lovelace": 30, "Bob": 50}
    expired = {
        name: [e["points"] for e in owner.data(ENTRIES, {"id": cid})["loyaltyEntries"] if e["reason"] == "Expired"]
        for name, cid in (("Ada", ada), ("Bob", bob))
    }
    assert expired == {"Ada": [], "Bob": [-80]}


# -- its own tests, with the test kit ------------------------------------------------------


def test_its_own_test_suite_passes_with_the_test_kit() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(EXAMPLE), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout


def test_settings_stored_under_their_former_snake_case_names_are_still_read() -> None:
    from saas_plugin_loyalty.settings import LoyaltySettings

    assert LoyaltySettings.model_validate({"welcome_points": 7}).model_dump() == {"welcomePoints": 7}
