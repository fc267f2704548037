"""createWorkOrder's ticketId: a visible ticket of the same customer, else a coded user error and nothing written."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, TenantHandle
from tests.tickets.support import count, create_customer, create_ticket, member_id

ERRORS = "userErrors { field code message }"
CREATE = f"""mutation($input: CreateWorkOrderInput!) {{
  createWorkOrder(input: $input) {{ workOrder {{ id ticket {{ id }} }} {ERRORS} }}
}}"""


def _input(customer: str, technician: str, ticket: str | None) -> dict[str, Any]:
    return {
        "input": {
            "customerId": customer,
            "technicianId": technician,
            "kind": "REPAIR",
            "startsAt": "2031-03-03T09:00:00+00:00",
            "endsAt": "2031-03-03T11:00:00+00:00",
            "ticketId": ticket,
        }
    }


def test_a_work_order_serves_a_ticket_of_its_customer(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    mine, theirs = create_customer(owner, "Mine Co"), create_customer(owner, "Theirs Co")
    ticket = create_ticket(owner, mine)["id"]
    foreign = create_ticket(owner, theirs)["id"]
    other_tenants = create_ticket(other_owner, create_customer(other_owner, "Else Co"))["id"]
    me = member_id(owner)

    def codes(ticket_id: str) -> list[tuple[Any, str]]:
        payload = owner.data(CREATE, _input(mine, me, ticket_id))["createWorkOrder"]
        return [(error["field"], error["code"]) for error in payload["userErrors"]]

    assert codes(foreign) == [(["input", "ticketId"], "OTHER_CUSTOMER")]
    assert codes(other_tenants) == [(["input", "ticketId"], "NOT_FOUND")]
    assert codes("nope") == [(["input", "ticketId"], "NOT_FOUND")]
    assert count(runtime, tenant.id, "work_orders") == 0
    made = owner.data(CREATE, _input(mine, me, ticket))["createWorkOrder"]
    assert made["userErrors"] == [] and made["workOrder"]["ticket"] == {"id": ticket}
    assert count(runtime, tenant.id, "work_orders", "ticket_id IS NOT NULL") == 1
