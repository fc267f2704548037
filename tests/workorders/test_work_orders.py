"""Work orders: no two overlapping work orders of one technician (the exclusion constraint, also
under real concurrent transactions) as OVERLAP, completion with hours worked, cancellation freeing
the slot, the technician's calendar and notifications, events, bad input and other tenants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from saas.runtime import Runtime
from saas.schema.relay import decode_id, to_global_id
from saas.workorders import service
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import create_customer, member_id
from tests.knowledge.support import ERRORS, events_of, principal_of, race

FIELDS = "id kind status startsAt endsAt hoursWorked report completedAt cancelledAt customer { id } technician { id }"
CREATE = f"""mutation($input: CreateWorkOrderInput!) {{
  createWorkOrder(input: $input) {{ workOrder {{ {FIELDS} }} {ERRORS} }}
}}"""
COMPLETE = f"""mutation($input: CompleteWorkOrderInput!) {{
  completeWorkOrder(input: $input) {{ workOrder {{ {FIELDS} }} {ERRORS} }}
}}"""
CANCEL = f"""mutation($input: CancelWorkOrderInput!) {{
  cancelWorkOrder(input: $input) {{ workOrder {{ id status cancelledAt }} {ERRORS} }}
}}"""
CALENDAR = """query($filter: WorkOrderFilterInput, $first: Int, $after: String) {
  workOrders(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind status startsAt endsAt customer { name } technician { id email } } }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on WorkOrder { kind status } } }"
NOTIFICATIONS = "{ notifications(first: 10) { edges { node { kind title data } } } }"
DAY = datetime(2031, 3, 3, tzinfo=UTC)


def _at(hour: float) -> str:
    return (DAY + timedelta(hours=hour)).isoformat()


def _create(
    client: GraphQLClient, customer: str, technician: str, start: float, end: float, kind: str = "INSTALLATION"
) -> dict[str, Any]:
    variables = {
        "customerId": customer,
        "technicianId": technician,
        "kind": kind,
        "startsAt": _at(start),
        "endsAt": _at(end),
    }
    return dict(client.data(CREATE, {"input": variables})["createWorkOrder"])


def _codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


def test_a_technician_cannot_be_in_two_places_at_once(owner: GraphQLClient, tenant: TenantHandle) -> None:
    technician_client = add_member(owner, tenant, "service")
    technician, colleague = member_id(technician_client), member_id(add_member(owner, tenant, "service"))
    customer = create_customer(owner)
    first = _create(owner, customer, technician, 9, 12)
    assert first["userErrors"] == []
    assert first["workOrder"]["status"] == "SCHEDULED" and first["workOrder"]["technician"] == {"id": technician}
    overlapping = _create(owner, customer, technician, 11, 13)
    assert _codes(overlapping) == ["OVERLAP"] and overlapping["workOrder"] is None
    assert _codes(_create(owner, customer, technician, 8, 9.5)) == ["OVERLAP"]
    assert _codes(_create(owner, customer, technician, 10, 11)) == ["OVERLAP"]  # inside
    assert _create(owner, customer, technician, 12, 14)["userErrors"] == []  # back to back is fine
    assert _create(owner, customer, colleague, 9, 12)["userErrors"] == []  # another technician
    cancelled = owner.data(CANCEL, {"input": {"id": first["workOrder"]["id"]}})["cancelWorkOrder"]
    assert cancelled["workOrder"]["status"] == "CANCELLED"
    assert _create(owner, customer, technician, 9, 12)["userErrors"] == []  # the slot is free again

    kinds = [edge["node"]["kind"] for edge in technician_client.data(NOTIFICATIONS)["notifications"]["edges"]]
    assert sorted(kinds) == ["work_order.assigned"] * 3 + ["work_order.cancelled"]


def test_concurrent_bookings_of_one_slot_make_one_work_order(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    technician = decode_id(member_id(add_member(owner, tenant, "service")), "Member")
    customer = decode_id(create_customer(owner), "Customer")
    principal = principal_of(runtime, owner)

    def work(session: Any, n: int) -> None:
        start = DAY + timedelta(minutes=10 * n)  # every booking overlaps every other
        service.create_work_order(
            session,
            principal,
            {
                "customer_id": customer,
                "technician_id": technician,
                "kind": "repair",
                "starts_at": start,
                "ends_at": start + timedelta(hours=2),
            },
        )

    assert race(runtime, tenant, 6, work) == ["OVERLAP"] * 5 + ["ok"]
    calendar = owner.data(CALENDAR, {"filter": {"technicianId": to_global_id("Member", technician)}})["workOrders"]
    assert calendar["totalCount"] == 1


def test_completion_records_hours_once(owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle) -> None:
    technician = member_id(owner)
    work_order = _create(owner, create_customer(owner), technician, 9, 11, "REPAIR")["workOrder"]["id"]
    done = owner.data(COMPLETE, {"input": {"id": work_order, "hoursWorked": "2.25", "report": "Replaced the pump."}})
    order = done["completeWorkOrder"]["workOrder"]
    assert (order["status"], order["hoursWorked"], order["report"]) == ("COMPLETED", "2.25", "Replaced the pump.")
    again = owner.data(COMPLETE, {"input": {"id": work_order, "hoursWorked": "1"}})["completeWorkOrder"]
    assert _codes(again) == ["INVALID_TRANSITION"]
    assert _codes(owner.data(CANCEL, {"input": {"id": work_order}})["cancelWorkOrder"]) == ["INVALID_TRANSITION"]
    completed = events_of(runtime, tenant.id, "work_order.completed")
    assert [event["workOrder"]["hoursWorked"] for event in completed] == ["2.25"]
    assert completed[0]["workOrder"]["kind"] == "REPAIR" and completed[0]["workOrder"]["technician"] == {
        "id": technician
    }
    assert len(events_of(runtime, tenant.id, "work_order.created")) == 1


def test_the_calendar_shows_what_overlaps_the_window_in_one_statement(
    owner: GraphQLClient, tenant: TenantHandle
) -> None:
    technician = member_id(add_member(owner, tenant, "service"))
    other = member_id(add_member(owner, tenant, "service"))
    customer = create_customer(owner, "Calendar customer")
    ids = [_create(owner, customer, technician, start, start + 2)["workOrder"]["id"] for start in (0, 4, 8, 30)]
    _create(owner, customer, other, 4, 6)
    window = {"technicianId": technician, "from": _at(1), "to": _at(9)}
    page = owner.data(CALENDAR, {"filter": window})["workOrders"]
    assert owner.last_statements == 1
    assert [edge["node"]["id"] for edge in page["edges"]] == ids[:3]  # the first starts before the window, ends in it
    assert page["edges"][0]["node"]["customer"] == {"name": "Calendar customer"}
    for first in (1, 2, 3):
        paged = owner.data(CALENDAR, {"filter": window, "first": first})["workOrders"]
        assert owner.last_statements == 1 and len(paged["edges"]) == first and paged["totalCount"] == 3
    rest = owner.data(
        CALENDAR,
        {
            "filter": window,
            "first": 2,
            "after": owner.data(CALENDAR, {"filter": window, "first": 1})["workOrders"]["pageInfo"]["endCursor"],
        },
    )
    assert [edge["node"]["id"] for edge in rest["workOrders"]["edges"]] == ids[1:3]
    assert (
        owner.data(CALENDAR, {"filter": {"technicianId": technician, "status": "COMPLETED"}})["workOrders"][
            "totalCount"
        ]
        == 0
    )
    assert owner.error_codes(CALENDAR, {"filter": {"from": _at(9), "to": _at(1)}}) == ["BAD_USER_INPUT"]
    assert owner.data(NODE, {"id": ids[0]})["node"] == {
        "__typename": "WorkOrder",
        "id": ids[0],
        "kind": "INSTALLATION",
        "status": "SCHEDULED",
    }


def test_bad_input_is_a_user_error_and_writes_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, counts: Callable[[], dict[str, int]]
) -> None:
    technician = member_id(owner)
    customer = create_customer(owner)
    work_order = _create(owner, customer, technician, 1, 2)["workOrder"]["id"]
    foreign_customer, foreign_member = create_customer(other_owner), member_id(other_owner)
    before = counts()
    cases = [
        ((customer, technician, 3, 3), "INVALID"),  # ends at its start
        ((customer, technician, 5, 4), "INVALID"),
        ((customer, technician, 0, 24 * 8), "INVALID"),  # longer than a week
        ((foreign_customer, technician, 3, 4), "NOT_FOUND"),
        ((customer, foreign_member, 3, 4), "NOT_FOUND"),
        ((technician, technician, 3, 4), "NOT_FOUND"),  # a Member id where a Customer's goes
        ((customer, technician, 1.5, 3), "OVERLAP"),
    ]
    for (c, t, start, end), code in cases:
        assert _codes(_create(owner, c, t, start, end)) == [code], (start, end, code)
    for hours in ("0", "-1", "1000", "0.001"):
        payload = owner.data(COMPLETE, {"input": {"id": work_order, "hoursWorked": hours}})["completeWorkOrder"]
        assert _codes(payload) == ["INVALID"], hours
    long_report = owner.data(COMPLETE, {"input": {"id": work_order, "hoursWorked": "1", "report": "x" * 20_001}})
    assert _codes(long_report["completeWorkOrder"]) == ["TOO_LONG"]
    naive = owner.execute(
        CREATE,
        {
            "input": {
                "customerId": customer,
                "technicianId": technician,
                "kind": "DEMO",
                "startsAt": "soon",
                "endsAt": _at(2),
            }
        },
    )
    assert [e["extensions"]["code"] for e in naive["errors"]] == ["BAD_USER_INPUT"]
    wrong_kind = owner.execute(
        CREATE,
        {
            "input": {
                "customerId": customer,
                "technicianId": technician,
                "kind": "PARTY",
                "startsAt": _at(3),
                "endsAt": _at(4),
            }
        },
    )
    assert [e["extensions"]["code"] for e in wrong_kind["errors"]] == ["BAD_USER_INPUT"]
    assert counts() == before


def test_another_tenant_gets_nothing(owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle) -> None:
    work_order = _create(owner, create_customer(owner), member_id(owner), 1, 2)["workOrder"]["id"]
    assert other_owner.data(CALENDAR, {})["workOrders"]["totalCount"] == 0
    assert other_owner.error_codes(NODE, {"id": work_order}) == ["NOT_FOUND"]
    assert _codes(other_owner.data(CANCEL, {"input": {"id": work_order}})["cancelWorkOrder"]) == ["NOT_FOUND"]
    done = other_owner.data(COMPLETE, {"input": {"id": work_order, "hoursWorked": "1"}})["completeWorkOrder"]
    assert _codes(done) == ["NOT_FOUND"]
    viewer = add_member(owner, tenant, "viewer")
    assert viewer.data(CALENDAR, {})["workOrders"]["totalCount"] == 1
    assert viewer.error_codes(CANCEL, {"input": {"id": work_order}}) == ["FORBIDDEN"]
    assert owner.data(NODE, {"id": work_order})["node"]["status"] == "SCHEDULED"
