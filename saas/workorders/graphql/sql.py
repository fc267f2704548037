"""How WorkOrder maps to SQL for the compiled reads."""

from __future__ import annotations

from saas.accounts.graphql.sql import MEMBER
from saas.customers.graphql.sql import CUSTOMER
from saas.schema.compiler import Relation, SortKey, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql
from saas.tickets.graphql.sql import TICKET
from saas.tickets.rules import linked_ticket_visibility

WORK_ORDER: SqlType = SqlType(
    name="WorkOrder",
    table="work_orders",
    columns={
        "id": global_id_sql("WorkOrder", "{t}.id"),
        "kind": "upper({t}.kind)",
        "status": "upper({t}.status)",
        "startsAt": iso_datetime_sql("{t}.starts_at"),
        "endsAt": iso_datetime_sql("{t}.ends_at"),
        "hoursWorked": "({t}.hours_worked)::text",
        "report": "{t}.report",
        "completedAt": iso_datetime_sql("{t}.completed_at"),
        "cancelledAt": iso_datetime_sql("{t}.cancelled_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "customer": Relation(lambda: CUSTOMER, "customers", "{t}.id = {p}.customer_id"),
        "technician": Relation(lambda: MEMBER, "memberships", "{t}.id = {p}.technician_id"),
        # The ticket it serves, joined under the tickets' own visibility rule (null when not visible).
        "ticket": Relation(lambda: TICKET, "tickets", "{t}.id = {p}.ticket_id", visible=linked_ticket_visibility),
    },
)

# A calendar reads forward in time.
WORK_ORDER_SORT = SortKey(("starts_at", "id"), ("timestamptz", "uuid"), descending=False)
