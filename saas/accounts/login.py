"""Logging in: e-mail, password and tenant slug in, a signed token out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from saas.accounts.models import Membership, Tenant, User
from saas.audit.access import record_failed_login, record_login
from saas.audit.log import NamedActor
from saas.auth.passwords import verify_password
from saas.auth.throttle import SignInThrottle, account_key
from saas.auth.tokens import issue_token
from saas.config import Settings
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.tenancy.session import tenant_session

BAD_CREDENTIALS = FieldError(["input"], UserErrorCode.INVALID_CREDENTIALS, "Wrong e-mail, password or tenant")


@dataclass(frozen=True)
class LoginResult:
    token: str
    membership: Membership


def login(
    engine: Engine,
    settings: Settings,
    email: str,
    password: str,
    tenant_slug: str,
    *,
    throttle: SignInThrottle | None = None,
    address: str | None = None,
) -> LoginResult:
    """The same answer for an unknown e-mail, a wrong password and a foreign tenant.

    With a throttle, an account (e-mail and tenant as given) or address that failed too often
    is refused with `RATE_LIMITED` before anything is looked up, and each failure is counted;
    known and unknown accounts are treated alike (`saas.auth.throttle`).
    """
    account = account_key(email, tenant_slug)
    if throttle is not None:
        throttle.check(account=account, address=address)
    try:
        return _login(engine, settings, email, password, tenant_slug)
    except InputInvalid:
        if throttle is not None:
            throttle.failed(account=account, address=address)
        raise


def _login(engine: Engine, settings: Settings, email: str, password: str, tenant_slug: str) -> LoginResult:
    with tenant_session(engine, None) as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        tenant = session.scalar(
            select(Tenant).where(Tenant.slug == tenant_slug.strip().lower(), Tenant.deleted_at.is_(None))
        )
    password_ok = verify_password(user.password_hash if user else None, password)
    if tenant is None:
        raise InputInvalid([BAD_CREDENTIALS])
    with tenant_session(engine, tenant.id) as session:
        membership = None
        if user is not None and password_ok and user.is_active:
            membership = session.scalar(
                select(Membership).where(Membership.user_id == user.id, Membership.is_active.is_(True))
            )
        if user is None or membership is None:
            record_failed_login(session, tenant.id, email)
        else:
            record_login(session, NamedActor(user.email, user.id), membership.id)
    if user is None or membership is None:  # the failure is recorded (committed) before refusing
        raise InputInvalid([BAD_CREDENTIALS])
    token = issue_token(settings, user.id, tenant.id, membership.id, membership.token_generation)
    return LoginResult(token, membership)
