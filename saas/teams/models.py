"""Teams and their members."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class Team(TenantOwned, Base):
    """A sales team: its manager sees the records its members own."""

    __tablename__ = "teams"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "manager_id"], ["memberships.tenant_id", "memberships.id"], ondelete="RESTRICT"
        ),
        Index("uq_teams_tenant_name", "tenant_id", text("lower(name)"), unique=True),
        Index("ix_teams_tenant_manager", "tenant_id", "manager_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    manager_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class TeamMember(TenantOwned, Base):
    """One member of one team (a member may belong to several teams)."""

    __tablename__ = "team_members"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"], ["memberships.tenant_id", "memberships.id"], ondelete="CASCADE"
        ),
        Index("ix_team_members_tenant_member", "tenant_id", "membership_id"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    membership_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    created_at: Mapped[datetime] = created_at_column()
