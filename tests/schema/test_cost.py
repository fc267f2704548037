"""Query cost: computed before execution, refused over the tenant's limit, reported on every response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from saas.db.statements import counting
from saas.quota.tenant_limits import set_tenant_limits
from saas.runtime import Runtime
from tests.schema.helpers import codes

CUSTOMERS = "query($n: Int) { customers(first: $n) { edges { node { id name } } pageInfo { hasNextPage } } }"
NESTED = """query {
  customers(first: 10) { edges { node { id contacts { id } timeline(first: 10) { edges { cursor } } } } }
}"""


def limit_tenant(runtime: Runtime, tenant: Any, **limits: int | None) -> None:
    assert set_tenant_limits(runtime.engine, runtime.settings, tenant.slug, **limits) is not None
    runtime.budget.limits.forget(tenant.id)


def cost_of(engine: Any, owner: Any, query: str, variables: dict[str, Any] | None = None) -> int:
    principal = engine.runtime.authenticate(f"Bearer {owner.token}")
    prepared = engine.prepare(query, None, principal)
    cost: int = engine.cost(prepared, variables)
    return cost


def test_each_field_costs_one(graphql_engine: Any, owner: Any) -> None:
    assert cost_of(graphql_engine, owner, "{ me { email role } }") == 3
    assert cost_of(graphql_engine, owner, "{ __typename me { __typename email } }") == 2  # introspection is free


def test_a_connection_multiplies_its_selection_by_first(graphql_engine: Any, owner: Any) -> None:
    # customers(1) + first x (edges, node, id, name) + first x (pageInfo, hasNextPage)
    assert cost_of(graphql_engine, owner, CUSTOMERS, {"n": 5}) == 1 + 5 * 6
    assert cost_of(graphql_engine, owner, CUSTOMERS, {"n": 0}) == 1
    # Absent or null: the argument's default (20); above the page-size limit: the limit.
    assert cost_of(graphql_engine, owner, CUSTOMERS, {}) == 1 + 20 * 6
    assert cost_of(graphql_engine, owner, CUSTOMERS, {"n": None}) == 1 + 20 * 6
    assert cost_of(graphql_engine, owner, CUSTOMERS, {"n": 10_000}) == 1 + 100 * 6


def test_a_first_that_is_not_an_int_costs_the_default_and_fails_as_a_bad_variable(
    graphql_engine: Any, owner: Any
) -> None:
    for bad in ("ten", "10", [10], {"n": 10}, True, 10.5):
        assert cost_of(graphql_engine, owner, CUSTOMERS, {"n": bad}) == 1 + 20 * 6, bad
        result = owner.execute(CUSTOMERS, {"n": bad})
        assert "data" not in result and codes(result) == ["BAD_USER_INPUT"], (bad, result)
    assert cost_of(graphql_engine, owner, CUSTOMERS, {"n": 5.0}) == 1 + 5 * 6  # an Int written as 5.0


def test_nested_connections_multiply(graphql_engine: Any, owner: Any) -> None:
    # customers: 1 + 10 x (edges 1 + node 1 + id 1 + contacts 2 + timeline (1 + 10 x 2))
    assert cost_of(graphql_engine, owner, NESTED) == 1 + 10 * (3 + 2 + 21)


def test_fragments_cost_what_they_select_and_are_counted_once_per_spread(graphql_engine: Any, owner: Any) -> None:
    inline = "{ customers(first: 3) { edges { node { id name } } } }"
    named = "query { customers(first: 3) { edges { node { ...C } } } } fragment C on Customer { id name }"
    assert cost_of(graphql_engine, owner, inline) == cost_of(graphql_engine, owner, named) == 1 + 3 * 4
    # Fragments spreading fragments many times are counted without walking every path.
    chain = ["fragment F0 on Me { email }"] + [
        f"fragment F{i} on Me {{ " + " ".join([f"...F{i - 1}"] * 20) + " }" for i in range(1, 8)
    ]
    assert cost_of(graphql_engine, owner, "{ me { ...F7 } }\n" + "\n".join(chain)) == 1 + 20**7


def test_every_response_reports_cost_remaining_and_reset(owner: Any, runtime: Runtime) -> None:
    first = owner.execute("{ me { email } }")
    cost = first["extensions"]["cost"]
    assert cost["requested"] == 2
    assert cost["remaining"] <= runtime.settings.tenant_cost_per_minute - 2
    reset_at = datetime.fromisoformat(cost["resetAt"].replace("Z", "+00:00"))
    assert datetime.now(UTC) - timedelta(seconds=1) < reset_at <= datetime.now(UTC) + timedelta(seconds=61)
    second = owner.execute("{ me { email } }")["extensions"]["cost"]
    assert second["remaining"] <= cost["remaining"] - 2 + 2  # spent 2, refilled at most a little


def test_over_the_limit_is_refused_before_any_sql(owner: Any, runtime: Runtime, tenant: Any) -> None:
    limit_tenant(runtime, tenant, max_query_cost=50)
    owner.data("{ me { email } }")  # the credential and the limits are cached now
    with counting() as statements:
        result = owner.execute(CUSTOMERS, {"n": 20})
    assert statements[0] == 0
    assert "data" not in result
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    error = result["errors"][0]
    assert error["extensions"]["cost"] == 121 and error["extensions"]["limit"] == 50
    assert "121" in error["message"] and "50" in error["message"]
    assert result["extensions"]["cost"]["requested"] == 121
    assert owner.data(CUSTOMERS, {"n": 5})  # 31: within the limit


def test_the_limit_is_per_tenant(owner: Any, other_owner: Any, runtime: Runtime, tenant: Any) -> None:
    limit_tenant(runtime, tenant, max_query_cost=50)
    assert codes(owner.execute(CUSTOMERS, {"n": 20})) == ["QUERY_TOO_COMPLEX"]
    assert "errors" not in other_owner.execute(CUSTOMERS, {"n": 20})


def test_a_limit_reset_to_default_applies_again(owner: Any, runtime: Runtime, tenant: Any) -> None:
    limit_tenant(runtime, tenant, max_query_cost=50)
    assert codes(owner.execute(CUSTOMERS, {"n": 20})) == ["QUERY_TOO_COMPLEX"]
    limit_tenant(runtime, tenant, max_query_cost=None)
    assert "errors" not in owner.execute(CUSTOMERS, {"n": 20})


def test_the_budget_refuses_with_rate_limited(owner: Any, other_owner: Any, runtime: Runtime, tenant: Any) -> None:
    limit_tenant(runtime, tenant, cost_per_minute=10)
    results = [owner.execute("{ me { email role } }") for _ in range(5)]  # 3 each: 3 fit
    assert [codes(r) for r in results[:3]] == [[], [], []]
    refused = results[3]
    assert codes(refused) == ["RATE_LIMITED"] and "data" not in refused
    assert refused["errors"][0]["extensions"]["retryAfter"] >= 1
    assert refused["extensions"]["cost"]["remaining"] < 3
    assert "errors" not in other_owner.execute("{ me { email role } }")


def test_a_throttled_operation_costs_the_database_nothing(
    owner: Any, other_owner: Any, runtime: Runtime, tenant: Any
) -> None:
    """What keeps a throttled tenant from slowing the others without a timing assertion: its
    refused operations run no SQL statement, so hold no database transaction (the budget is
    charged in Redis before any), so all the database capacity stays the other tenants'.
    The latency itself (the quiet tenant's p99 within 2x its baseline) is measured by
    `python -m bench.tenants_fairness` (docs/performance.md, "Fairness between tenants")."""
    limit_tenant(runtime, tenant, cost_per_minute=3)
    assert "errors" not in owner.execute("{ me { email role } }")  # spends it; credential and limits cached
    with counting() as statements:
        refused = [owner.execute("{ me { email role } }") for _ in range(5)]
    assert [codes(r) for r in refused] == [["RATE_LIMITED"]] * 5
    assert statements[0] == 0
    assert "errors" not in other_owner.execute("{ me { email role } }")


def test_anonymous_operations_report_their_cost_without_a_budget(anonymous: Any) -> None:
    result = anonymous.execute("{ __typename }")
    assert result["extensions"]["cost"] == {"requested": 0, "remaining": None, "resetAt": None}


@pytest.mark.parametrize("value", [0, -1, 1_000_000_001])
def test_limits_out_of_range_are_refused(runtime: Runtime, tenant: Any, value: int) -> None:
    from saas.errors import InputInvalid

    with pytest.raises(InputInvalid) as refused:
        set_tenant_limits(runtime.engine, runtime.settings, tenant.slug, cost_per_minute=value)
    assert refused.value.errors[0].code == "OUT_OF_RANGE"
    from tests.leads.support import events

    assert events(runtime, tenant.id, "tenant.") == []


def test_a_change_of_limits_is_audited_and_an_event_of_that_tenant_only(
    runtime: Runtime, tenant: Any, other_tenant: Any, owner: Any
) -> None:
    from tests.leads.support import events

    limit_tenant(runtime, tenant, cost_per_minute=500)
    limit_tenant(runtime, tenant, cost_per_minute=500)  # the same again: nothing to record
    limit_tenant(runtime, tenant, cost_per_minute=None, max_query_cost=50)
    changes = [payload for _, payload in events(runtime, tenant.id, "tenant.limits_changed")]
    assert changes == [
        {"limits": {"costPerMinute": 500, "maxQueryCost": None}},
        {"limits": {"costPerMinute": None, "maxQueryCost": 50}},
    ]
    assert events(runtime, other_tenant.id, "tenant.") == []
    entries = owner.data("{ auditLog(first: 2) { edges { node { action actor before after } } } }")["auditLog"]
    newest = entries["edges"][0]["node"]
    assert newest["action"] == "tenant.limits_changed" and newest["actor"] == "deployment operator"
    assert newest["before"] == {"costPerMinute": 500, "maxQueryCost": None}
    assert newest["after"] == {"costPerMinute": None, "maxQueryCost": 50}


def test_limits_of_an_unknown_tenant(runtime: Runtime) -> None:
    assert set_tenant_limits(runtime.engine, runtime.settings, "no-such-tenant", cost_per_minute=5) is None


def test_plugin_fields_count_the_same_way(graphql_engine: Any) -> None:
    """The example plugin's list with `first` (default null: the page-size limit), from the schema with every plugin."""
    from graphql import OperationDefinitionNode, parse

    from saas.schema.cost import operation_cost

    def cost(query: str) -> int:
        document = parse(query)
        operation = document.definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        return operation_cost(graphql_engine.full_schema, document, operation, None, 100)

    assert cost('{ loyaltyEntries(customerId: "x", first: 7) { id points } }') == 1 + 7 * 2
    assert cost('{ loyaltyEntries(customerId: "x") { id points } }') == 1 + 100 * 2
