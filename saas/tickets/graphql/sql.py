"""How Ticket and ClassificationRule map to SQL for the compiled reads."""

from __future__ import annotations

from saas.accounts.graphql.sql import MEMBER
from saas.customers.graphql.sql import CONTACT, CUSTOMER
from saas.schema.compiler import Relation, SortKey, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql

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
    },
    relations={
        "customer": Relation(target=lambda: CUSTOMER, table="customers", join="{t}.id = {p}.customer_id"),
        "contact": Relation(target=lambda: CONTACT, table="contacts", join="{t}.id = {p}.contact_id"),
        "assignee": Relation(target=lambda: MEMBER, table="memberships", join="{t}.id = {p}.assignee_id"),
        "classifiedBy": Relation(
            target=lambda: CLASSIFICATION_RULE, table="classification_rules", join="{t}.id = {p}.classified_by_id"
        ),
    },
)

# Newest first: the order an agent works the queue in.
TICKET_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
