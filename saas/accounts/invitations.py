"""Invitations: how a tenant admin adds a person, and how that person accepts as themselves.

Guarantees:
- Inviting (`addMember`) looks at nothing outside the tenant: its answer is the same whether
  or not the e-mail has an account with another tenant, and it never names or changes one.
- Only the holder of the invited e-mail's account joins: a signed-in caller whose e-mail is
  the invitation's, or, without a credential, the account's own password (or a new account
  for an e-mail that has none). The token alone grants nothing to another account.
- The token (`inv_<tenant>_<invitation id>_<secret>`, 256 random bits) is shown once; only a
  SHA-256 digest of its secret is stored. It expires (`INVITATION_TTL_DAYS`), can be revoked,
  and is used at most once: acceptance locks the invitation row (`FOR UPDATE`).
- At most one invitation per e-mail is open in a tenant (a partial unique index); inviting
  the e-mail again revokes the open one, so a lost token is replaced by asking again.
- Password acceptance goes through the sign-in throttle and the hashing bound, like `login`.
- Every change records an audit entry and a domain event (`invitation.created`,
  `invitation.revoked`, `invitation.accepted`, and `member.added` on acceptance).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from saas.accounts.login import BAD_CREDENTIALS
from saas.accounts.models import Invitation, InvitationState, Membership, Tenant, User
from saas.accounts.service import check_password, forbid_owner_grant, join, lock_account_email, record_member_change
from saas.audit.log import snapshot
from saas.auth import api_keys
from saas.auth.passwords import hash_password, verify_password
from saas.auth.permissions import MEMBERS_MANAGE, Role, require
from saas.auth.principal import Principal
from saas.auth.throttle import SignInThrottle, account_key
from saas.auth.tokens import issue_token
from saas.config import Settings
from saas.errors import FieldError, ForbiddenError, InputInvalid, NotFoundError, UserErrorCode
from saas.tenancy.session import tenant_session
from saas.validation import Checker

TOKEN_PREFIX = "inv_"
TOKEN_FIELD = ["input", "token"]
NOT_VALID = FieldError(TOKEN_FIELD, UserErrorCode.INVALID, "This invitation is not valid")


def _now() -> datetime:
    return datetime.now(UTC)


def invite_member(
    session: Session, principal: Principal, data: dict[str, Any], ttl: timedelta
) -> tuple[Invitation, str]:
    """A new invitation and its token (to show once). TAKEN when an active member has the e-mail."""
    require(principal.permissions, MEMBERS_MANAGE)
    check = Checker(data)
    check.email("email", required=True)
    check.choice("role", [r.value for r in Role], required=True)
    check.text("name", max_length=200)
    clean = check.done()
    forbid_owner_grant(principal, clean["role"])
    email = clean["email"]
    member = session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(func.lower(User.email) == email.lower(), Membership.is_active.is_(True))
    )
    if member is not None:
        raise InputInvalid([FieldError(["input", "email"], UserErrorCode.TAKEN, "Already a member")])
    for open_one in session.scalars(
        select(Invitation)
        .where(
            func.lower(Invitation.email) == email.lower(),
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .with_for_update()
    ):
        _revoke(session, principal, open_one)
    invitation_id, token, secret_hash = api_keys.new_secret_token(TOKEN_PREFIX, principal.tenant_id)
    invitation = Invitation(
        id=invitation_id,
        email=email,
        name=clean.get("name"),
        role=clean["role"],
        secret_hash=secret_hash,
        invited_by_membership_id=principal.membership_id,
        expires_at=_now() + ttl,
    )
    session.add(invitation)
    session.flush()
    session.refresh(invitation)
    record_member_change(session, principal, "invitation.created", invitation, None)
    return invitation, token


def _revoke(session: Session, principal: Principal, invitation: Invitation) -> None:
    before = snapshot(invitation)
    invitation.revoked_at = _now()
    session.flush()
    record_member_change(session, principal, "invitation.revoked", invitation, before)


def get_invitation(session: Session, principal: Principal, invitation_id: uuid.UUID) -> Invitation:
    require(principal.permissions, MEMBERS_MANAGE)
    invitation = session.scalar(select(Invitation).where(Invitation.id == invitation_id))
    if invitation is None:
        raise NotFoundError("Invitation not found", id=str(invitation_id))
    return invitation


def revoke_invitation(session: Session, principal: Principal, invitation_id: uuid.UUID) -> Invitation:
    """The token stops working at once. INVALID if the invitation was accepted or revoked already."""
    invitation = get_invitation(session, principal, invitation_id)
    session.refresh(invitation, with_for_update=True)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InputInvalid([FieldError(["input", "id"], UserErrorCode.INVALID, "This invitation is not open")])
    _revoke(session, principal, invitation)
    return invitation


def list_invitations(session: Session, principal: Principal, state: InvitationState | None) -> list[Invitation]:
    """The tenant's invitations, newest first; only those in `state` when given."""
    require(principal.permissions, MEMBERS_MANAGE)
    query = select(Invitation).order_by(Invitation.created_at.desc(), Invitation.id)
    now = _now()
    if state == InvitationState.PENDING:
        query = query.where(
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > now
        )
    elif state == InvitationState.EXPIRED:
        query = query.where(
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at <= now
        )
    elif state == InvitationState.ACCEPTED:
        query = query.where(Invitation.accepted_at.is_not(None))
    elif state == InvitationState.REVOKED:
        query = query.where(Invitation.revoked_at.is_not(None))
    return list(session.scalars(query))


# --- accepting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    token: str
    membership: Membership


def accept_invitation(
    engine: Engine,
    settings: Settings,
    data: dict[str, Any],
    *,
    principal: Principal | None = None,
    throttle: SignInThrottle | None = None,
    address: str | None = None,
) -> Acceptance:
    """Join the invitation's tenant as the account of its e-mail; returns a token for the new membership.

    Signed in (`principal`, a user's token of any tenant): the user's e-mail must be the
    invitation's. Without a credential, `password` is required: the account's own password
    when the e-mail has an account (counted by the sign-in throttle like a login), else the
    password of the new account, created with `name`.
    """
    check = Checker(data)
    check.text("token", required=True, max_length=500)
    check.text("name", max_length=200)
    if principal is None:
        check.passthrough("password")
        if not data.get("password"):
            check.fail("password", UserErrorCode.REQUIRED, "Sign in, or give the account's password")
    clean = check.done()
    try:
        parsed = api_keys.split_secret_token(TOKEN_PREFIX, clean["token"])
    except ValueError:
        raise InputInvalid([NOT_VALID]) from None
    if principal is not None and principal.user_id is None:
        raise ForbiddenError("Only a signed-in user can accept an invitation")
    with tenant_session(engine, parsed.tenant_id) as session:
        invitation = session.scalar(select(Invitation).where(Invitation.id == parsed.key_id).with_for_update())
        if invitation is None or not api_keys.secret_matches(invitation.secret_hash, parsed.secret):
            raise InputInvalid([NOT_VALID])
        state = invitation.state(_now())
        if state == InvitationState.EXPIRED:
            raise InputInvalid([FieldError(TOKEN_FIELD, UserErrorCode.EXPIRED, "This invitation has expired")])
        if state != InvitationState.PENDING:
            raise InputInvalid([NOT_VALID])
        if principal is not None:
            user = session.get(User, principal.user_id)
            if user is None or user.email.lower() != invitation.email.lower():
                raise InputInvalid(
                    [FieldError(TOKEN_FIELD, UserErrorCode.INVALID, "This invitation is for another e-mail address")]
                )
        else:
            user = _account_by_password(session, invitation, clean, throttle, address)
        actor = Principal(tenant_id=invitation.tenant_id, label=user.email, permissions=frozenset(), user_id=user.id)
        membership = join(session, actor, user, invitation.role, TOKEN_FIELD)
        before = snapshot(invitation)
        invitation.accepted_at = _now()
        invitation.accepted_membership_id = membership.id
        session.flush()
        record_member_change(session, actor, "invitation.accepted", invitation, before)
        token = issue_token(settings, user.id, invitation.tenant_id, membership.id, membership.token_generation)
        return Acceptance(token, membership)


def _account_by_password(
    session: Session,
    invitation: Invitation,
    clean: dict[str, Any],
    throttle: SignInThrottle | None,
    address: str | None,
) -> User:
    """The invited e-mail's account, proven by its password; or a new account with this password."""
    lock_account_email(session, invitation.email)
    user = session.scalar(select(User).where(func.lower(User.email) == invitation.email.lower()))
    if user is None:
        check = Checker(clean)
        check_password(check)
        check.done()
        user = User(
            id=uuid.uuid4(),
            email=invitation.email,
            name=clean.get("name") or invitation.name or "",
            password_hash=hash_password(clean["password"]),
        )
        session.add(user)
        session.flush()
        return user
    tenant = session.get(Tenant, invitation.tenant_id)
    assert tenant is not None
    account = account_key(invitation.email, tenant.slug)
    if throttle is not None:
        throttle.check(account=account, address=address)
    if not verify_password(user.password_hash, clean["password"]) or not user.is_active:
        if throttle is not None:
            throttle.failed(account=account, address=address)
        raise InputInvalid([BAD_CREDENTIALS])
    return user
