"""How Article maps to SQL for the compiled reads."""

from __future__ import annotations

from saas.schema.compiler import Relation, SortKey, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql
from saas.tickets.rules import linked_ticket_visibility


def _ticket() -> SqlType:
    from saas.tickets.graphql.sql import TICKET

    return TICKET


ARTICLE: SqlType = SqlType(
    name="Article",
    table="articles",
    columns={
        "id": global_id_sql("Article", "{t}.id"),
        "title": "{t}.title",
        "problem": "{t}.problem",
        "solution": "{t}.solution",
        "type": "{t}.type",
        "tags": "to_json({t}.tags)",
        "status": "upper({t}.status)",
        "publishedAt": iso_datetime_sql("{t}.published_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
    relations={
        # The ticket whose resolution wrote it, joined under the tickets' own visibility rule.
        "sourceTicket": Relation(_ticket, "tickets", "{t}.id = {p}.source_ticket_id", visible=linked_ticket_visibility),
    },
)

# Newest first.
ARTICLE_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
