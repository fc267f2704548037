"""Changing teams: validation, the audit log, events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.accounts.models import Membership
from saas.audit.log import record_change, snapshot
from saas.auth.permissions import MEMBERS_READ, TEAMS_MANAGE, require
from saas.auth.principal import Principal
from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.teams.models import Team, TeamMember
from saas.validation import Checker

MAX_MEMBERS = 500


def _taken() -> InputInvalid:
    return InputInvalid([FieldError(["input", "name"], UserErrorCode.TAKEN, "Another team has this name")])


def _active_member(session: Session, principal: Principal, member_id: uuid.UUID) -> bool:
    member = session.get(Membership, (principal.tenant_id, member_id))
    return member is not None and member.is_active


def member_ids_of(session: Session, team_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, ...]]:
    """Each team's members, by when they joined the tenant (the order the compiled read gives)."""
    rows = session.execute(
        select(TeamMember.team_id, TeamMember.membership_id)
        .join(
            Membership,
            (Membership.tenant_id == TeamMember.tenant_id) & (Membership.id == TeamMember.membership_id),
        )
        .where(TeamMember.team_id.in_(team_ids))
        .order_by(Membership.created_at, Membership.id)
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for team_id, member_id in rows:
        found.setdefault(team_id, []).append(member_id)
    return {team_id: tuple(found.get(team_id, ())) for team_id in team_ids}


def get_team(session: Session, principal: Principal, team_id: uuid.UUID) -> Team:
    require(principal.permissions, MEMBERS_READ)
    team = session.get(Team, (principal.tenant_id, team_id))
    if team is None:
        raise NotFoundError("Team not found", id=str(team_id))
    return team


def create_team(
    session: Session,
    principal: Principal,
    name: Any,
    manager_id: uuid.UUID | None,
    member_ids: Sequence[uuid.UUID | None],
) -> tuple[Team, tuple[uuid.UUID, ...]]:
    """A team with its manager and members (owners and admins); a name already used is TAKEN."""
    require(principal.permissions, TEAMS_MANAGE)
    check = Checker({"name": name})
    check.text("name", required=True, max_length=100)
    if manager_id is None or not _active_member(session, principal, manager_id):
        check.fail("managerId", UserErrorCode.NOT_FOUND, "No such member")
    if len(member_ids) > MAX_MEMBERS:
        check.fail("memberIds", UserErrorCode.TOO_LONG, f"at most {MAX_MEMBERS} members")
    else:
        for index, member_id in enumerate(member_ids):
            if member_id is None or not _active_member(session, principal, member_id):
                check.errors.append(
                    FieldError(["input", "memberIds", str(index)], UserErrorCode.NOT_FOUND, "No such member")
                )
    clean = check.done()
    if session.scalar(select(Team.id).where(func.lower(Team.name) == clean["name"].lower())) is not None:
        raise _taken()
    assert manager_id is not None
    team = Team(id=uuid.uuid4(), name=clean["name"], manager_id=manager_id)
    session.add(team)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "uq_teams_tenant_name" in str(exc.orig):
            raise _taken() from None
        raise
    unique = list(dict.fromkeys(m for m in member_ids if m is not None))
    session.add_all(TeamMember(team_id=team.id, membership_id=m) for m in unique)
    session.flush()
    session.refresh(team)
    members = member_ids_of(session, [team.id])[team.id]
    from saas.teams.graphql.types import Team as TeamType

    record_change(
        session,
        principal,
        "team.created",
        "Team",
        team.id,
        None,
        {**snapshot(team), "members": [str(m) for m in members]},
    )
    emit_event(
        session,
        "team.created",
        {
            "team": api_object(
                TeamType.from_model(team, members),
                manager=node_ref("Member", team.manager_id),
                members=[node_ref("Member", m) for m in members],
            )
        },
    )
    return team, members
