"""How Campaign maps to SQL for the compiled reads, with its figures (responses, leads, won amount, ROI)
and its members as a nested page (`Campaign.members`)."""

from __future__ import annotations

from saas.campaigns.rules import (
    campaign_status_sql,
    leads_created_sql,
    member_rows_sql,
    responses_sql,
    roi_sql,
    won_amount_sql,
)
from saas.customers.graphql.sql import CUSTOMER
from saas.schema.compiler import PagedRelation, Relation, SortKey, SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql

CAMPAIGN: SqlType = SqlType(
    name="Campaign",
    table="campaigns",
    columns={
        "id": global_id_sql("Campaign", "{t}.id"),
        "name": "{t}.name",
        "channel": "(SELECT ch.name FROM channels ch WHERE ch.tenant_id = :tenant_id AND ch.id = {t}.channel_id)",
        "budget": "{t}.budget::text",
        "currency": "{t}.currency",
        "startsOn": "{t}.starts_on::text",
        "endsOn": "{t}.ends_on::text",
        "status": campaign_status_sql("{t}"),
        "audience": compact_json("{t}.audience"),
        "audienceSize": "{t}.audience_size",
        "responses": responses_sql("{t}"),
        "leadsCreated": leads_created_sql("{t}"),
        "wonAmount": f"({won_amount_sql('{t}')})::numeric(14, 2)::text",
        "roi": f"({roi_sql('{t}')})::text",
        "launchedAt": iso_datetime_sql("{t}.launched_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "version": "{t}.version",
    },
)

# Newest first, as campaigns are planned.
CAMPAIGN_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
CAMPAIGN_MEMBER: SqlType = SqlType(
    name="CampaignMember",
    table="",  # read only as `Campaign.members`, from `member_rows_sql`
    columns={"addedAt": iso_datetime_sql("{t}.added_at")},
    relations={"customer": Relation(target=lambda: CUSTOMER, table="customers", join="{t}.id = {p}.customer_id")},
    interfaces=frozenset(),
)

# Members by their customer's name (then id), as a mailing list reads.
MEMBER_SORT = SortKey(("customer_name", "customer_id"), ("text", "uuid"), descending=False)

CAMPAIGN_FIELDS = {
    "members": PagedRelation(lambda: CAMPAIGN_MEMBER, member_rows_sql, "{t}.campaign_id = {p}.id", MEMBER_SORT),
}
