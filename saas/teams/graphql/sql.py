"""How Team maps to SQL for the compiled reads."""

from __future__ import annotations

from saas.schema.compiler import Relation, SqlType, register
from saas.schema.relay import global_id_sql, iso_datetime_sql

TEAM = register(
    SqlType(
        name="Team",
        table="teams",
        columns={
            "id": global_id_sql("Team", "{t}.id"),
            "name": "{t}.name",
            "createdAt": iso_datetime_sql("{t}.created_at"),
        },
        relations={
            "manager": Relation(
                target="Member", table="memberships", join="{t}.tenant_id = {p}.tenant_id AND {t}.id = {p}.manager_id"
            ),
            "members": Relation(
                target="Member",
                table="memberships",
                join=(
                    "{t}.tenant_id = {p}.tenant_id AND {t}.id IN (SELECT tm.membership_id FROM team_members tm"
                    " WHERE tm.tenant_id = {p}.tenant_id AND tm.team_id = {p}.id)"
                ),
                order="{t}.created_at, {t}.id",
            ),
        },
    )
)
