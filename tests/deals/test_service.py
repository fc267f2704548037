"""`saas.deals.service.create_opportunity` as other domains call it: inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from saas.customers.service import create_customer
from saas.deals.models import Opportunity, StageChange
from saas.deals.service import create_opportunity
from saas.errors import InputInvalid
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import ERRORS
from tests.deals.support import create_customer as create_customer_through_api
from tests.deals.support import create_opportunity as create_opportunity_through_api


def _principal(runtime: Runtime, client: GraphQLClient):  # type: ignore[no-untyped-def]
    principal = runtime.authenticate(f"Bearer {client.token}")
    assert principal is not None
    return principal


def test_a_customer_and_its_opportunity_in_one_transaction(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    principal = _principal(runtime, owner)
    with tenant_session(runtime.engine, tenant.id) as session:
        customer = create_customer(session, principal, {"name": "Converted Ltd"})
        row = create_opportunity(
            session, principal, customer_id=customer.id, name="First deal", amount=Decimal("2500.00"), currency="eur"
        )
        assert isinstance(row, Opportunity)
        assert (row.amount, row.currency, row.status) == (Decimal("2500.00"), "EUR", "open")
        history = session.query(StageChange).filter(StageChange.opportunity_id == row.id).all()
        assert [(h.from_stage_id, h.to_stage_id) for h in history] == [(None, row.stage_id)]
    listed = owner.data("{ opportunities { edges { node { name customer { name } stage { name } } } } }")
    assert listed["opportunities"]["edges"] == [
        {"node": {"name": "First deal", "customer": {"name": "Converted Ltd"}, "stage": {"name": "Needs discovery"}}}
    ]


def test_bad_input_raises_before_writing_and_the_caller_rolls_back(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle, counts: Callable[[], dict[str, int]]
) -> None:
    principal = _principal(runtime, owner)
    before = counts()
    with pytest.raises(InputInvalid) as raised:
        with tenant_session(runtime.engine, tenant.id) as session:
            customer = create_customer(session, principal, {"name": "Half done"})
            create_opportunity(session, principal, customer_id=customer.id, name="", amount="1.5.0", currency="??")
    assert sorted(e.code for e in raised.value.errors) == ["INVALID", "INVALID", "REQUIRED"]
    assert counts() == before


def test_update_opportunity_refuses_bad_input_and_writes_nothing(
    owner: GraphQLClient, counts: Callable[[], dict[str, int]]
) -> None:
    opportunity = create_opportunity_through_api(owner, create_customer_through_api(owner))
    update = f"""mutation($input: UpdateOpportunityInput!) {{
      updateOpportunity(input: $input) {{ opportunity {{ id }} {ERRORS} }} }}"""
    before = counts()
    for change, code in [
        ({"name": ""}, "REQUIRED"),
        ({"amount": "-5"}, "INVALID"),
        ({"currency": "EURO"}, "INVALID"),
        ({"ownerId": "bogus"}, "NOT_FOUND"),
    ]:
        payload = owner.data(update, {"input": {"id": opportunity["id"], "version": 1, **change}})["updateOpportunity"]
        assert payload["opportunity"] is None and [e["code"] for e in payload["userErrors"]] == [code], change
    assert counts() == before
