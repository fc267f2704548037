"""How Team maps to SQL for the compiled reads."""

from __future__ import annotations

from saas.accounts.graphql.sql import MEMBER
from saas.schema.compiler import Relation, SqlType, Through
from saas.schema.relay import global_id_sql, iso_datetime_sql

TEAM: SqlType = SqlType(
    name="Team",
    table="teams",
    columns={
        "id": global_id_sql("Team", "{t}.id"),
        "name": "{t}.name",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "manager": Relation(
            target=lambda: MEMBER, table="memberships", join="{t}.id = {p}.manager_id", foreign_key=True
        ),
        "members": Relation(
            target=lambda: MEMBER,
            table="memberships",
            join="TRUE",
            through=Through(table="team_members", key="membership_id", join="{l}.team_id = {p}.id"),
            order="{t}.created_at, {t}.id",
        ),
    },
)
