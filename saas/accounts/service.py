"""Creating tenants and managing their members (operators' CLI and admins' mutations).

Every change records its audit entry and domain event in its own transaction; a change that
ends or narrows a member's credentials (a role changed, a member removed) also makes the
credential cache forget the tenant once committed (`forget_credentials_after_commit`). Both
happen here, so the CLI, a job or a plugin calling these does exactly what the mutations do.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from saas.accounts.credentials import forget_credentials_after_commit
from saas.accounts.graphql.types import Invitation as InvitationType
from saas.accounts.graphql.types import Member as MemberType
from saas.accounts.models import Invitation, Membership, Tenant, User
from saas.audit.log import record_change, snapshot
from saas.auth.passwords import hash_password
from saas.auth.permissions import MEMBERS_MANAGE, Role, require
from saas.auth.principal import Principal
from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.tenancy.session import tenant_session
from saas.validation import Checker

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MIN_PASSWORD_LENGTH = 10
# The first key of `lock_account_email`'s advisory locks (the second is the address's hash).
ACCOUNT_EMAIL_LOCK = 7_310_001


def _check_role(check: Checker, field: str = "role") -> None:
    check.choice(field, [r.value for r in Role], required=True)


def check_password(check: Checker, field: str = "password") -> None:
    value = check.data.get(field)
    if not value:
        check.fail(field, UserErrorCode.REQUIRED, "password is required")
    elif len(value) < MIN_PASSWORD_LENGTH:
        check.fail(field, UserErrorCode.TOO_SHORT, f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    elif len(value) > 256:
        check.fail(field, UserErrorCode.TOO_LONG, "password must be at most 256 characters")
    else:
        check.clean[field] = value


def lock_account_email(session: Session, email: str) -> None:
    """Hold the e-mail address for the rest of the transaction (a transaction-level advisory lock).

    Accounts are created by whoever first finds none for an address: an operator's command, or
    invitations of several tenants accepted at the same moment. Taking this lock before looking
    for the account makes the later creators wait and then find the first one's account, instead
    of failing on the unique e-mail index.
    """
    session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:email))"),
        {"namespace": ACCOUNT_EMAIL_LOCK, "email": email.strip().lower()},
    )


def find_or_create_user(session: Session, email: str, password: str | None, name: str | None) -> User:
    lock_account_email(session, email)
    user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None:
        if password is None:
            raise InputInvalid(
                [FieldError(["input", "password"], UserErrorCode.REQUIRED, "A new user needs a password")]
            )
        user = User(id=uuid.uuid4(), email=email, name=name or "", password_hash=hash_password(password))
        session.add(user)
        session.flush()
    return user


def create_tenant(
    engine: Engine, slug: str, name: str, admin_email: str, admin_password: str, *, admin_name: str | None = None
) -> Tenant:
    """A new tenant with its first owner (the operator's `saas tenant create`).

    An existing user with the e-mail becomes the owner as they are (password and name unchanged):
    only operators create tenants, and they may see every account.
    """
    check = Checker(
        {"slug": slug, "name": name, "email": admin_email, "password": admin_password, "admin_name": admin_name}
    )
    check.text("slug", required=True, max_length=63)
    if "slug" in check.clean and not SLUG_PATTERN.match(check.clean["slug"]):
        check.fail("slug", UserErrorCode.INVALID, "slug must be lowercase letters, digits and dashes")
    check.text("name", required=True, max_length=200)
    check.email("email", required=True)
    check.text("admin_name", max_length=200)
    check_password(check)
    clean = check.done()
    tenant_id = uuid.uuid4()
    with tenant_session(engine, tenant_id) as session:
        if session.scalar(select(Tenant.id).where(Tenant.slug == clean["slug"])):
            raise InputInvalid([FieldError(["input", "slug"], UserErrorCode.TAKEN, "slug is taken")])
        tenant = Tenant(id=tenant_id, slug=clean["slug"], name=clean["name"])
        session.add(tenant)
        session.flush()
        user = find_or_create_user(session, clean["email"], clean["password"], clean.get("admin_name"))
        session.add(Membership(id=uuid.uuid4(), tenant_id=tenant_id, user_id=user.id, role=Role.OWNER.value))
    return tenant


def add_member(session: Session, principal: Principal, data: dict[str, Any]) -> Membership:
    """Add a user directly, for operators (`saas user add`, demo data): an existing user as they
    are, a new one with the given password. Tenant admins invite instead (`invite_member`):
    only an operator may see and add accounts of other tenants."""
    require(principal.permissions, MEMBERS_MANAGE)
    check = Checker(data)
    check.email("email", required=True)
    _check_role(check)
    check.text("name", max_length=200)
    if data.get("password") is not None:
        check_password(check)
    clean = check.done()
    forbid_owner_grant(principal, clean["role"])
    user = find_or_create_user(session, clean["email"], clean.get("password"), clean.get("name"))
    return join(session, principal, user, clean["role"], ["input", "email"])


def join(session: Session, actor: Principal, user: User, role: str, field: list[str]) -> Membership:
    """Make `user` an active member with `role`: a new membership, or their ended one again
    (its token generation moved on when it ended, so old tokens stay dead). TAKEN on `field`
    if they are an active member already."""
    existing = session.scalar(select(Membership).where(Membership.user_id == user.id))
    if existing is not None and existing.is_active:
        raise InputInvalid([FieldError(field, UserErrorCode.TAKEN, "Already a member")])
    if existing is not None:
        before = snapshot(existing)
        existing.is_active, existing.role = True, role
        session.flush()
        record_member_change(session, actor, "member.added", existing, before)
        return existing
    membership = Membership(id=uuid.uuid4(), user_id=user.id, role=role)
    session.add(membership)
    session.flush()
    session.refresh(membership)
    record_member_change(session, actor, "member.added", membership, None)
    return membership


def record_member_change(
    session: Session, actor: Principal, action: str, row: Membership | Invitation, before: dict[str, Any] | None
) -> None:
    """The audit entry and the domain event of a change of a member or an invitation (outbox,
    same transaction); `action` names both.

    The event carries the member or the invitation as the API returns it (`api_object` of the
    GraphQL type), with `invitedBy` and, once accepted, the new `member` as references. The
    invitation's token and its digest are no field of the type, so no payload can carry them.
    """
    payload: dict[str, Any]
    if isinstance(row, Membership):
        record_change(session, actor, action, "Member", row.id, before, snapshot(row))
        payload = {"member": api_object(MemberType.from_model(row))}
    else:
        record_change(session, actor, action, "Invitation", row.id, before, snapshot(row))
        invited_by = node_ref("Member", row.invited_by_membership_id)
        payload = {"invitation": api_object(InvitationType.from_model(row), invited_by=invited_by)}
        if row.accepted_membership_id is not None:
            payload["member"] = node_ref("Member", row.accepted_membership_id)
    emit_event(session, action, payload)


def forbid_owner_grant(principal: Principal, role: str) -> None:
    if role == Role.OWNER.value and principal.role != Role.OWNER:
        raise InputInvalid([FieldError(["input", "role"], UserErrorCode.INVALID, "Only an owner can make owners")])


def get_member(session: Session, membership_id: uuid.UUID) -> Membership:
    membership = session.scalar(
        select(Membership).where(Membership.id == membership_id, Membership.is_active.is_(True))
    )
    if membership is None:
        raise NotFoundError("Member not found", id=str(membership_id))
    return membership


def _ensure_owner_remains(session: Session, membership: Membership) -> None:
    """Refuse to demote or remove the tenant's last owner, also when owners change at the same moment.

    The tenant's active owner rows are locked (`SELECT … FOR UPDATE`) until the transaction
    ends, so two changes of owners in one tenant happen one after the other: the second waits,
    then PostgreSQL re-reads the locked rows (an owner demoted meanwhile no longer matches) and
    the second change sees the first one's result. Other tenants' owners are not locked.
    """
    if membership.role != Role.OWNER.value:
        return
    owners = session.scalars(
        select(Membership.id)
        .where(Membership.role == Role.OWNER.value, Membership.is_active.is_(True))
        .with_for_update()
    ).all()
    if not set(owners) - {membership.id}:
        raise InputInvalid([FieldError(["input", "id"], UserErrorCode.LAST_OWNER, "A tenant keeps at least one owner")])


def update_member_role(session: Session, principal: Principal, membership_id: uuid.UUID, role: str) -> Membership:
    require(principal.permissions, MEMBERS_MANAGE)
    check = Checker({"role": role})
    _check_role(check)
    clean = check.done()
    membership = get_member(session, membership_id)
    if membership.role == Role.OWNER.value and principal.role != Role.OWNER:
        raise InputInvalid([FieldError(["input", "id"], UserErrorCode.INVALID, "Only an owner can change an owner")])
    forbid_owner_grant(principal, clean["role"])
    if clean["role"] != Role.OWNER.value:
        _ensure_owner_remains(session, membership)
    before = snapshot(membership)
    membership.role = clean["role"]
    session.flush()
    record_member_change(session, principal, "member.role_changed", membership, before)
    forget_credentials_after_commit(session, membership.tenant_id)
    return membership


def remove_member(session: Session, principal: Principal, membership_id: uuid.UUID) -> Membership:
    require(principal.permissions, MEMBERS_MANAGE)
    membership = get_member(session, membership_id)
    if membership.role == Role.OWNER.value and principal.role != Role.OWNER:
        raise InputInvalid([FieldError(["input", "id"], UserErrorCode.INVALID, "Only an owner can remove an owner")])
    _ensure_owner_remains(session, membership)
    before = snapshot(membership)
    membership.is_active = False
    membership.token_generation += 1
    session.flush()
    record_member_change(session, principal, "member.removed", membership, before)
    forget_credentials_after_commit(session, membership.tenant_id)
    return membership
