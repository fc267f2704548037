"""Logging in: e-mail, password and tenant slug in, a signed token out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from saas.auth.passwords import verify_password
from saas.auth.tokens import issue_token
from saas.config import Settings
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.tenancy.models import Membership, Tenant, User
from saas.tenancy.session import tenant_session

BAD_CREDENTIALS = FieldError(["input"], UserErrorCode.INVALID_CREDENTIALS, "Wrong e-mail, password or tenant")


@dataclass(frozen=True)
class LoginResult:
    token: str
    membership: Membership


def login(engine: Engine, settings: Settings, email: str, password: str, tenant_slug: str) -> LoginResult:
    """The same answer for an unknown e-mail, a wrong password and a foreign tenant."""
    with tenant_session(engine, None) as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        tenant = session.scalar(select(Tenant).where(Tenant.slug == tenant_slug.strip().lower()))
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or tenant is None or not password_ok or not user.is_active:
        raise InputInvalid([BAD_CREDENTIALS])
    with tenant_session(engine, tenant.id) as session:
        membership = session.scalar(
            select(Membership).where(Membership.user_id == user.id, Membership.is_active.is_(True))
        )
        if membership is None:
            raise InputInvalid([BAD_CREDENTIALS])
        token = issue_token(settings, user.id, tenant.id, membership.id, membership.token_generation)
        return LoginResult(token, membership)
