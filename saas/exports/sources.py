"""What each kind of record exports: its permission, its list's filter input, its visibility rule
and the columns of the file, as one SQL statement over the alias `r`. Like every compiled read,
each table the statement reads (`r` and every subquery's) carries the bound tenant (`:tenant_id`).

The conditions are those of the GraphQL lists (`customer_conditions`, `lead_conditions`, …): an
export holds exactly the rows the caller's list would show with the same filter. Contacts have no
list of their own: they are filtered by their customer, with the customers list's filter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saas.auth.permissions import CUSTOMERS_READ, DEALS_READ, LEADS_READ, TICKETS_READ
from saas.auth.principal import Principal
from saas.customers.graphql.types import CustomerFilterInput
from saas.customers.rules import customer_conditions
from saas.db.conditions import SqlCondition
from saas.deals.graphql.types import OpportunityFilterInput
from saas.deals.rules import opportunity_conditions
from saas.exports.entities import ImportEntity
from saas.exports.filters import filter_input, filter_rule
from saas.leads.graphql.types import LeadFilterInput
from saas.leads.rules import lead_conditions
from saas.schema.relay import global_id_sql, iso_datetime_sql
from saas.tenancy.session import tenant_predicate
from saas.tickets.graphql.types import TicketFilterInput
from saas.tickets.rules import ticket_conditions

FILTER_PATH = ["input", "filter"]


@dataclass(frozen=True)
class ExportSource:
    entity: ImportEntity
    table: str
    permission: str
    filter_class: type
    # (principal, the filter input or None) -> the list's condition over `r`
    condition: Callable[[Principal, Any], SqlCondition]
    columns: tuple[tuple[str, str], ...]  # header, SQL expression over `r`

    def where(self, principal: Principal, raw_filter: Any) -> SqlCondition:
        """The condition of the rows to export; `InputInvalid` (under `input.filter`) for a bad filter."""
        flt = filter_input(self.filter_class, raw_filter, FILTER_PATH)
        return filter_rule(lambda: self.condition(principal, flt), FILTER_PATH)  # type: ignore[no-any-return]

    def select_sql(self, condition: SqlCondition) -> str:
        columns = ", ".join(expression for _, expression in self.columns)
        return (
            f"SELECT {columns} FROM {self.table} r WHERE {tenant_predicate('r')} AND {condition.sql} "
            "ORDER BY r.created_at, r.id"
        )

    @property
    def headers(self) -> list[str]:
        return [header for header, _ in self.columns]


def _customers(principal: Principal, flt: CustomerFilterInput | None) -> SqlCondition:
    return customer_conditions(principal, "r", flt.to_rule() if flt else None)


def _contacts(principal: Principal, flt: CustomerFilterInput | None) -> SqlCondition:
    customers = customer_conditions(principal, "c", flt.to_rule() if flt else None)
    condition = SqlCondition()
    condition.add("r.deleted_at IS NULL")
    condition.add(
        f"EXISTS (SELECT 1 FROM customers c WHERE {tenant_predicate('c')} AND c.id = r.customer_id AND {customers.sql})",
        **customers.params,
    )
    return condition


def _leads(principal: Principal, flt: LeadFilterInput | None) -> SqlCondition:
    return lead_conditions(principal, "r", flt.to_rule() if flt else None)


def _opportunities(principal: Principal, flt: OpportunityFilterInput | None) -> SqlCondition:
    condition = opportunity_conditions(principal, "r")
    if flt is not None:
        flt.apply(condition, "r")
    return condition


def _tickets(principal: Principal, flt: TicketFilterInput | None) -> SqlCondition:
    return ticket_conditions(principal, "r", flt.to_rule() if flt else None)


def _member(column: str) -> str:
    return f"(SELECT {global_id_sql('Member', 'm.id')} FROM memberships m WHERE {tenant_predicate('m')} AND m.id = r.{column})"


def _customer_name() -> str:
    return f"(SELECT c.name FROM customers c WHERE {tenant_predicate('c')} AND c.id = r.customer_id)"


SOURCES: dict[ImportEntity, ExportSource] = {
    source.entity: source
    for source in (
        ExportSource(
            ImportEntity.CUSTOMER,
            "customers",
            CUSTOMERS_READ,
            CustomerFilterInput,
            _customers,
            (
                ("id", global_id_sql("Customer", "r.id")),
                ("name", "r.name"),
                ("kind", "upper(r.kind)"),
                ("lifecycleStage", "upper(r.lifecycle_stage)"),
                ("industry", "r.industry"),
                ("tier", "r.tier"),
                ("source", "r.source"),
                ("tags", "array_to_string(r.tags, ', ')"),
                ("ownerId", _member("owner_id")),
                ("createdAt", iso_datetime_sql("r.created_at")),
            ),
        ),
        ExportSource(
            ImportEntity.CONTACT,
            "contacts",
            CUSTOMERS_READ,
            CustomerFilterInput,
            _contacts,
            (
                ("id", global_id_sql("Contact", "r.id")),
                ("customerId", global_id_sql("Customer", "r.customer_id")),
                ("customerName", _customer_name()),
                ("name", "r.name"),
                ("title", "r.title"),
                ("email", "r.email"),
                ("phone", "r.phone"),
                ("isPrimary", "CASE WHEN r.is_primary THEN 'true' ELSE 'false' END"),
                ("createdAt", iso_datetime_sql("r.created_at")),
            ),
        ),
        ExportSource(
            ImportEntity.LEAD,
            "leads",
            LEADS_READ,
            LeadFilterInput,
            _leads,
            (
                ("id", global_id_sql("Lead", "r.id")),
                ("name", "r.name"),
                ("company", "r.company"),
                ("email", "r.email"),
                ("phone", "r.phone"),
                ("status", "upper(r.status)"),
                (
                    "channel",
                    f"(SELECT ch.name FROM channels ch WHERE {tenant_predicate('ch')} AND ch.id = r.channel_id)",
                ),
                ("ownerId", _member("owner_id")),
                ("createdAt", iso_datetime_sql("r.created_at")),
            ),
        ),
        ExportSource(
            ImportEntity.OPPORTUNITY,
            "opportunities",
            DEALS_READ,
            OpportunityFilterInput,
            _opportunities,
            (
                ("id", global_id_sql("Opportunity", "r.id")),
                ("name", "r.name"),
                ("customerId", global_id_sql("Customer", "r.customer_id")),
                ("customerName", _customer_name()),
                ("amount", "r.amount::text"),
                ("currency", "r.currency"),
                ("status", "upper(r.status)"),
                ("expectedCloseOn", "r.expected_close_on::text"),
                ("closedAt", iso_datetime_sql("r.closed_at")),
                ("ownerId", _member("owner_id")),
                ("createdAt", iso_datetime_sql("r.created_at")),
            ),
        ),
        ExportSource(
            ImportEntity.TICKET,
            "tickets",
            TICKETS_READ,
            TicketFilterInput,
            _tickets,
            (
                ("id", global_id_sql("Ticket", "r.id")),
                ("number", "'T-' || lpad(r.number::text, 6, '0')"),
                ("subject", "r.subject"),
                ("type", "r.type"),
                ("priority", "upper(r.priority)"),
                ("status", "upper(r.status)"),
                ("customerId", global_id_sql("Customer", "r.customer_id")),
                ("customerName", _customer_name()),
                ("assigneeId", _member("assignee_id")),
                ("createdAt", iso_datetime_sql("r.created_at")),
            ),
        ),
    )
}
