"""Who sees which tickets and comments, the list filters, and the allowed status moves: as SQL and values.

The compiled reads, the loaders, the services and the `ticketEvents` subscription all call these,
so a rule cannot differ between listing tickets, changing one and hearing about it.

Visibility: owners, admins, managers, viewers and API keys see every ticket; service agents the
tickets assigned to them and the unassigned queue; sales reps those of the customers they see
(their own and the pool's, `customer_visibility`) and those assigned to them; a portal token only
its own customer's. Portal tokens see public comments only.

Internal fields: a portal token reads a ticket's own fields and who handles it by display name
(`assigneeName`), never the assignee as a member (`assignee`: its e-mail, role, …) nor the
classification rule that typed it (`classifiedBy`): both read as null for it. `reads_internal_fields`
(resolvers) and `internal_link_visibility` (the compiled reads' joins) are that one rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from saas.auth.permissions import TICKETS_READ, Role
from saas.auth.principal import Principal
from saas.customers.rules import LOWERED_SEARCH, contains_pattern
from saas.db.conditions import SqlCondition
from saas.deals.rules import visible_customer_sql
from saas.tickets.models import TicketPriority, TicketStatus

# Roles that see every ticket of the tenant (with API keys, which have no role).
ROLES_SEEING_ALL_TICKETS = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER, Role.VIEWER})
# Roles notified when a ticket finds no qualified agent or breaches its SLA.
TICKET_MANAGER_ROLES = (Role.OWNER, Role.ADMIN, Role.MANAGER)

DEFAULT_TYPE = "inquiry"
DEFAULT_PRIORITY = TicketPriority.NORMAL

# The default ticket types: key, name, the skills that qualify an agent (the key itself).
DEFAULT_TYPES: tuple[tuple[str, str], ...] = (
    ("return", "Return"),
    ("exchange", "Exchange"),
    ("complaint", "Complaint"),
    ("repair", "Repair"),
    ("inquiry", "Inquiry"),
    ("onsite", "On-site service"),
)

# Status moves `updateTicketStatus` may make. ASSIGNED is reached by `assignTicket` only; a
# resolved or closed ticket reopens to IN_PROGRESS.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.ASSIGNED: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.WAITING: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.IN_PROGRESS}),
    TicketStatus.CLOSED: frozenset({TicketStatus.IN_PROGRESS}),
}
# Statuses a ticket may be (re)assigned in.
ASSIGNABLE = frozenset({TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING})


def may_move(current: TicketStatus, wanted: TicketStatus) -> bool:
    return wanted in TRANSITIONS[current]


def portal_customer(principal: Principal) -> str | None:
    """The customer a portal (scoped) principal is limited to; None for staff and API keys."""
    return principal.scoped("customer_id")


def sees_all_tickets(principal: Principal) -> bool:
    return principal.scoped("customer_id") is None and (
        principal.role is None or principal.role in ROLES_SEEING_ALL_TICKETS
    )


def ticket_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    """The tickets under `alias` the principal sees (the compiler or the session adds the tenant)."""
    scoped = portal_customer(principal)
    if scoped is not None:
        condition.add(f"{alias}.customer_id = CAST(:scoped_customer_id AS uuid)", scoped_customer_id=scoped)
        return
    if sees_all_tickets(principal):
        return
    if principal.role == Role.SERVICE:
        condition.add(
            f"({alias}.assignee_id IS NULL OR {alias}.assignee_id = :viewer_membership_id)",
            viewer_membership_id=principal.membership_id,
        )
        return
    customer = SqlCondition()
    visible_customer_sql(principal, f"{alias}.customer_id", customer)
    params = {**customer.params, "viewer_membership_id": principal.membership_id}
    condition.add(f"({alias}.assignee_id = :viewer_membership_id OR {customer.sql})", **params)


def reads_internal_fields(principal: Principal) -> bool:
    """Staff and API keys read a ticket's assignee and classification rule; a portal token does not."""
    return portal_customer(principal) is None


def internal_link_visibility(principal: Principal, alias: str) -> SqlCondition:
    """`reads_internal_fields` as the join condition of a ticket's internal links (`assignee`,
    `classifiedBy`) in a compiled read: no row, so null, for a portal token."""
    condition = SqlCondition()
    if not reads_internal_fields(principal):
        condition.add("FALSE")
    return condition


def linked_ticket_visibility(principal: Principal, alias: str) -> SqlCondition:
    """A ticket reached through a link (an article's source ticket, a work order's ticket): the
    ticket visibility rule, and nothing without `tickets:read`, so that the link reads null when
    the ticket is not the caller's to read."""
    condition = SqlCondition()
    if TICKETS_READ not in principal.permissions:
        condition.add("FALSE")
        return condition
    ticket_visibility(principal, alias, condition)
    return condition


def comment_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    """Comments under `alias` the principal sees: with their ticket, and only public ones for the portal."""
    if portal_customer(principal) is not None:
        condition.add(f"{alias}.public")


def ticket_visible_to(principal: Principal, message: dict[str, str | None]) -> bool:
    """`ticket_visibility` for one ticket in hand (a live message: its customer, assignee and
    the customer's owner), so that `ticketEvents` tells nobody of a ticket they cannot read; nor a
    portal token of an internal change (an internal comment, which it cannot read either)."""
    scoped = portal_customer(principal)
    if scoped is not None:
        return message.get("customer_id") == scoped and not message.get("internal")
    if sees_all_tickets(principal):
        return True
    me = str(principal.membership_id)
    assignee = message.get("assignee_id")
    if principal.role == Role.SERVICE:
        return assignee is None or assignee == me
    if assignee == me:
        return True
    owner = message.get("customer_owner_id")
    return owner is None or owner == me or owner in {str(m) for m in principal.team_member_ids}


@dataclass(frozen=True)
class TicketFilter:
    type: str | None = None
    status: TicketStatus | None = None
    assignee_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    breached: bool | None = None
    search: str | None = None


def ticket_conditions(principal: Principal, alias: str, flt: TicketFilter | None) -> SqlCondition:
    """Visibility and filter conditions for a tickets list (the compiler adds the tenant)."""
    flt = flt or TicketFilter()
    condition = SqlCondition()
    ticket_visibility(principal, alias, condition)
    condition.given(f"{alias}.type", "ticket_type", flt.type, convert=lambda v: v.strip().lower())
    condition.given(f"{alias}.status", "ticket_status", flt.status, convert=lambda v: v.value)
    condition.given(f"{alias}.assignee_id", "assignee_id", flt.assignee_id)
    condition.given(f"{alias}.customer_id", "customer_id", flt.customer_id)
    if flt.breached is True:
        condition.add(f"{alias}.breached_at IS NOT NULL")
    elif flt.breached is False:
        condition.add(f"{alias}.breached_at IS NULL")
    if flt.search and flt.search.strip():
        term = flt.search.strip()
        # lower(subject), lower(body) (`LOWERED_SEARCH`); the number as quoted, `T-000123`, only
        # for a term it could contain (the only characters whose lower case is one of its own are
        # `T`, `t`, `-` and the digits): building it was a third of the read of every ticket.
        matches = [f"{alias}.subject_key LIKE {LOWERED_SEARCH}", f"{alias}.body_key LIKE {LOWERED_SEARCH}"]
        if set(term) <= NUMBER_CHARACTERS:
            matches.append(f"('t-' || lpad({alias}.number::text, 6, '0')) LIKE {LOWERED_SEARCH}")
        condition.add("(" + " OR ".join(matches) + ")", search=contains_pattern(term))
    return condition


NUMBER_CHARACTERS = frozenset("Tt-0123456789")


def customer_ticket_conditions(principal: Principal, alias: str, flt: TicketFilter | None) -> SqlCondition:
    """`Customer.tickets(filter)`: `ticket_conditions`, and no ticket without `tickets:read` (the
    field sits on a customer, which callers read with `customers:read` alone)."""
    if TICKETS_READ not in principal.permissions:
        condition = SqlCondition()
        condition.add("FALSE")
        return condition
    return ticket_conditions(principal, alias, flt)


def as_priority(value: TicketPriority | str) -> TicketPriority:
    """A priority given as the enum, its value (`high`) or its GraphQL name (`HIGH`)."""
    return value if isinstance(value, TicketPriority) else TicketPriority(str(value).lower())


def ticket_number(number: int) -> str:
    """The number customers quote: `T-000123` (more digits past 999,999)."""
    return f"T-{number:06d}"
