"""How Customer and Contact map to SQL for the compiled reads (a customer's owner is accounts' Member).

The fields other domains add to Customer (its opportunities and after-sale records, its timeline
and tasks) are mapped by those domains (`GraphQLContribution.sql_fields`): customers import none of them.
"""

from __future__ import annotations

from saas.accounts.graphql.sql import MEMBER
from saas.schema.compiler import Relation, SortKey, SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql
from saas.sensitive.rules import core_field_sql, custom_fields_sql

CONTACT: SqlType = SqlType(
    name="Contact",
    table="contacts",
    columns={
        "id": global_id_sql("Contact", "{t}.id"),
        "name": "{t}.name",
        "title": "{t}.title",
        "email": core_field_sql("contacts", "email"),
        "phone": core_field_sql("contacts", "phone"),
        "isPrimary": "{t}.is_primary",
        "customFields": compact_json(custom_fields_sql("contacts")),
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
    relations={
        "customer": Relation(
            target=lambda: CUSTOMER,
            table="customers",
            join="{t}.id = {p}.customer_id",
        ),
    },
)

CUSTOMER: SqlType = SqlType(
    name="Customer",
    table="customers",
    columns={
        "id": global_id_sql("Customer", "{t}.id"),
        "name": "{t}.name",
        "kind": "upper({t}.kind)",
        "industry": "{t}.industry",
        "tier": "{t}.tier",
        "lifecycleStage": "upper({t}.lifecycle_stage)",
        "source": "{t}.source",
        "tags": "to_json({t}.tags)",
        "customFields": compact_json(custom_fields_sql("customers")),
        "notes": "{t}.notes",
        "lastContactedAt": iso_datetime_sql("{t}.last_contacted_at"),
        "nextFollowUpAt": iso_datetime_sql("{t}.next_follow_up_at"),
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
        "deletedAt": iso_datetime_sql("{t}.deleted_at"),
    },
    relations={
        "owner": Relation(target=lambda: MEMBER, table="memberships", join="{t}.id = {p}.owner_id", foreign_key=True),
        "contacts": Relation(
            target=lambda: CONTACT,
            table="contacts",
            join="{t}.customer_id = {p}.id AND {t}.deleted_at IS NULL",
            order="{t}.is_primary DESC, {t}.name, {t}.id",
        ),
    },
)

CUSTOMER_SORTS: dict[str, SortKey] = {
    "NAME_ASC": SortKey(("name", "id"), ("varchar", "uuid"), descending=False),
    "NAME_DESC": SortKey(("name", "id"), ("varchar", "uuid"), descending=True),
    "CREATED_AT_ASC": SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=False),
    "CREATED_AT_DESC": SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True),
    "UPDATED_AT_ASC": SortKey(("updated_at", "id"), ("timestamptz", "uuid"), descending=False),
    "UPDATED_AT_DESC": SortKey(("updated_at", "id"), ("timestamptz", "uuid"), descending=True),
}
