"""How Ticket (with its comments, a nested page), TicketComment and ClassificationRule map to SQL for the
compiled reads, and `Customer.tickets`."""

from __future__ import annotations

from typing import Any

from saas.accounts.graphql.sql import MEMBER
from saas.customers.graphql.sql import CONTACT, CUSTOMER
from saas.db.conditions import SqlCondition
from saas.knowledge.rules import linked_article_visibility
from saas.schema.compiler import PagedRelation, Relation, SortKey, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql
from saas.tenancy.session import TENANT_PARAM, tenant_predicate
from saas.tickets.rules import comment_visibility, customer_ticket_conditions, internal_link_visibility


def _article() -> SqlType:
    from saas.knowledge.graphql.sql import ARTICLE

    return ARTICLE


CLASSIFICATION_RULE: SqlType = SqlType(
    name="ClassificationRule",
    table="classification_rules",
    columns={
        "id": global_id_sql("ClassificationRule", "{t}.id"),
        "name": "{t}.name",
        "keywords": "to_json({t}.keywords)",
        "pattern": "{t}.pattern",
        "customerTier": "{t}.customer_tier",
        "channel": "{t}.channel",
        "setType": "{t}.set_type",
        "setPriority": "upper({t}.set_priority)",
        "position": "{t}.position",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
)


def _comment_author_visibility(principal: Any, alias: str) -> SqlCondition:
    """A comment's `author`, as its resolver reads it: null for a scoped token (the portal's)."""
    condition = SqlCondition()
    if principal.scope:
        condition.add("FALSE")
    return condition


TICKET_COMMENT: SqlType = SqlType(
    name="TicketComment",
    table="ticket_comments",
    columns={
        "id": global_id_sql("TicketComment", "{t}.id"),
        "body": "{t}.body",
        "public": "{t}.public",
        "fromCustomer": "{t}.from_customer",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        # `authorName` depends on the caller (a portal token reads a member's display name): the
        # resolver answers it.
    },
    relations={
        "author": Relation(
            target=lambda: MEMBER,
            table="memberships",
            join="{t}.id = {p}.author_id",
            visible=_comment_author_visibility,
        ),
    },
)

# Oldest first, as a conversation reads (`loaders.ticket_comments`).
COMMENT_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=False)


def _comment_rows(principal: Any) -> tuple[str, dict[str, Any]]:
    """The comments the caller sees (`rules.comment_visibility`: only the public ones for the portal)."""
    condition = SqlCondition()
    comment_visibility(principal, "tc", condition)
    rows = f"(SELECT tc.* FROM ticket_comments tc WHERE {tenant_predicate('tc')} AND {condition.sql}) {{t}}"
    return rows, {TENANT_PARAM: principal.tenant_id, **condition.params}


TICKET: SqlType = SqlType(
    name="Ticket",
    table="tickets",
    columns={
        "id": global_id_sql("Ticket", "{t}.id"),
        "number": "('T-' || lpad({t}.number::text, 6, '0'))",
        "subject": "{t}.subject",
        "body": "{t}.body",
        "type": "{t}.type",
        "priority": "upper({t}.priority)",
        "status": "upper({t}.status)",
        "channel": "{t}.channel",
        "breached": "({t}.breached_at IS NOT NULL)",
        "firstResponseDueAt": iso_datetime_sql("{t}.first_response_due_at"),
        "resolutionDueAt": iso_datetime_sql("{t}.resolution_due_at"),
        "breachedAt": iso_datetime_sql("{t}.breached_at"),
        "assignedAt": iso_datetime_sql("{t}.assigned_at"),
        "firstRespondedAt": iso_datetime_sql("{t}.first_responded_at"),
        "resolvedAt": iso_datetime_sql("{t}.resolved_at"),
        "closedAt": iso_datetime_sql("{t}.closed_at"),
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
        # Who handles it, by display name: the one thing of the assignee a portal token reads.
        "assigneeName": (
            f"(SELECT (SELECT u.name FROM users u WHERE u.id = am.user_id) FROM memberships am"
            f" WHERE {tenant_predicate('am')} AND am.id = {{t}}.assignee_id)"
        ),
    },
    relations={
        "customer": Relation(target=lambda: CUSTOMER, table="customers", join="{t}.id = {p}.customer_id"),
        "contact": Relation(target=lambda: CONTACT, table="contacts", join="{t}.id = {p}.contact_id"),
        # Internal links: null for a portal token (`saas/tickets/rules.py` `internal_link_visibility`).
        "assignee": Relation(
            target=lambda: MEMBER,
            table="memberships",
            join="{t}.id = {p}.assignee_id",
            visible=internal_link_visibility,
        ),
        "classifiedBy": Relation(
            target=lambda: CLASSIFICATION_RULE,
            table="classification_rules",
            join="{t}.id = {p}.classified_by_id",
            visible=internal_link_visibility,
        ),
        # The article its resolution wrote (one per ticket), under the articles' own visibility rule.
        "article": Relation(_article, "articles", "{t}.source_ticket_id = {p}.id", visible=linked_article_visibility),
        "comments": PagedRelation(lambda: TICKET_COMMENT, _comment_rows, "{t}.ticket_id = {p}.id", COMMENT_SORT),
    },
)

# Newest first: the order an agent works the queue in.
TICKET_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)


def _customer_ticket_rows(principal: Any) -> tuple[str, dict[str, Any]]:
    """The tenant's tickets; the page narrows them to the caller's and the filter's (`where`)."""
    return f"(SELECT ct.* FROM tickets ct WHERE {tenant_predicate('ct')}) {{t}}", {TENANT_PARAM: principal.tenant_id}


def _customer_ticket_where(principal: Any, arguments: dict[str, Any], alias: str) -> SqlCondition:
    from saas.tickets.graphql.types import ticket_filter_of

    return customer_ticket_conditions(principal, alias, ticket_filter_of(arguments.get("filter")))


# The fields tickets add to Customer (`CustomerTicketFields`), compiled into the customer's statement.
CUSTOMER_TICKET_FIELDS: dict[str, PagedRelation] = {
    "tickets": PagedRelation(
        lambda: TICKET, _customer_ticket_rows, "{t}.customer_id = {p}.id", TICKET_SORT, where=_customer_ticket_where
    ),
}
