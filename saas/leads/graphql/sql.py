"""How Channel and Lead map to SQL for the compiled reads."""

from __future__ import annotations

from saas.accounts.graphql.sql import MEMBER
from saas.schema.compiler import Relation, SortKey, SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql
from saas.sensitive.rules import custom_fields_sql

CHANNEL: SqlType = SqlType(
    name="Channel",
    table="channels",
    columns={
        "id": global_id_sql("Channel", "{t}.id"),
        "name": "{t}.name",
        "cost": "{t}.cost::text",
        "currency": "{t}.currency",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)

LEAD: SqlType = SqlType(
    name="Lead",
    table="leads",
    columns={
        "id": global_id_sql("Lead", "{t}.id"),
        "name": "{t}.name",
        "company": "{t}.company",
        "email": "{t}.email",
        "phone": "{t}.phone",
        "status": "upper({t}.status)",
        "customFields": compact_json(custom_fields_sql("leads")),
        "claimedAt": iso_datetime_sql("{t}.claimed_at"),
        "returnedAt": iso_datetime_sql("{t}.returned_at"),
        "returnReason": "{t}.return_reason",
        "disqualifiedAt": iso_datetime_sql("{t}.disqualified_at"),
        "disqualifyReason": "{t}.disqualify_reason",
        "convertedAt": iso_datetime_sql("{t}.converted_at"),
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
    relations={
        "owner": Relation(target=lambda: MEMBER, table="memberships", join="{t}.id = {p}.owner_id", foreign_key=True),
        "channel": Relation(target=lambda: CHANNEL, table="channels", join="{t}.id = {p}.channel_id"),
    },
)

# Newest first: the order a rep works the pool in.
LEAD_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
