"""A tenant keeps an owner even when owners demote or remove each other at the same moment.

The race is run with real concurrent transactions: the first one makes its change and holds
its transaction open; the second starts its own change meanwhile. Only then does the first
commit. Without a lock both checks pass (each sees the other owner still in place) and the
tenant is left with none.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.accounts.models import Membership, User
from saas.accounts.service import remove_member, update_member_role
from saas.auth.permissions import ALL_PERMISSIONS, Role
from saas.auth.principal import Principal
from saas.errors import InputInvalid
from saas.runtime import Runtime
from saas.tenancy.session import make_session, tenant_session
from tests.conftest import TenantHandle

WAIT_SECONDS = 10.0


def _owners(runtime: Runtime, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    with tenant_session(runtime.engine, tenant_id) as session:
        return list(
            session.scalars(
                select(Membership.id).where(Membership.role == Role.OWNER.value, Membership.is_active.is_(True))
            )
        )


def _second_owner(runtime: Runtime, tenant: TenantHandle) -> uuid.UUID:
    with tenant_session(runtime.engine, tenant.id) as session:
        user = User(id=uuid.uuid4(), email=f"co-owner-{uuid.uuid4().hex[:6]}@x.example.com", password_hash="-")
        session.add(user)
        session.flush()
        membership = Membership(id=uuid.uuid4(), user_id=user.id, role=Role.OWNER.value)
        session.add(membership)
    return membership.id


def _as_owner(tenant_id: uuid.UUID, membership_id: uuid.UUID) -> Principal:
    return Principal(
        tenant_id=tenant_id,
        label=f"owner {membership_id}",
        permissions=ALL_PERMISSIONS,
        membership_id=membership_id,
        role=Role.OWNER,
    )


def _blocked_on_a_lock(runtime: Runtime, pid: int) -> bool:
    with runtime.engine.connect() as conn:
        return bool(conn.execute(text("SELECT cardinality(pg_blocking_pids(:pid)) > 0"), {"pid": pid}).scalar())


def _race(runtime: Runtime, tenant_id: uuid.UUID, first: Callable[[Session], Any], second: Callable[[Session], Any]):
    """Run `first` (held open), then `second` concurrently; commit `first`; return both outcomes."""
    outcomes: dict[str, Any] = {}
    first_changed, commit_first = threading.Event(), threading.Event()
    second_pid: list[int] = []
    second_done = threading.Event()

    def run(name: str, work: Callable[[Session], Any], before_commit: Callable[[], None]) -> None:
        session = make_session(runtime.engine, tenant_id)
        try:
            if name == "second":
                second_pid.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            work(session)
            before_commit()
            session.commit()
            outcomes[name] = "changed"
        except InputInvalid as error:
            session.rollback()
            outcomes[name] = [e.code for e in error.errors]
        finally:
            session.close()
            if name == "second":
                second_done.set()

    def hold_first() -> None:
        first_changed.set()
        assert commit_first.wait(WAIT_SECONDS)

    one = threading.Thread(target=run, args=("first", first, hold_first))
    two = threading.Thread(target=run, args=("second", second, lambda: None))
    one.start()
    assert first_changed.wait(WAIT_SECONDS)
    two.start()
    # The second transaction either finishes its change (no lock: the race is on) or waits
    # for the first one's lock; either way, the first may commit now.
    deadline = time.monotonic() + WAIT_SECONDS
    while not second_done.is_set() and not (second_pid and _blocked_on_a_lock(runtime, second_pid[0])):
        assert time.monotonic() < deadline, "the second transaction neither finished nor waited for a lock"
        second_done.wait(0.01)
    commit_first.set()
    one.join(WAIT_SECONDS)
    two.join(WAIT_SECONDS)
    return outcomes


@pytest.mark.parametrize(
    "change",
    [
        lambda principal, target: lambda s: update_member_role(s, principal, target, Role.ADMIN.value),
        lambda principal, target: lambda s: remove_member(s, principal, target),
    ],
    ids=["demote", "remove"],
)
def test_two_owners_cannot_demote_each_other_at_once(runtime: Runtime, tenant: TenantHandle, change: Any) -> None:
    [first_owner] = _owners(runtime, tenant.id)
    second_owner = _second_owner(runtime, tenant)
    outcomes = _race(
        runtime,
        tenant.id,
        change(_as_owner(tenant.id, first_owner), second_owner),
        change(_as_owner(tenant.id, second_owner), first_owner),
    )
    assert outcomes == {"first": "changed", "second": ["LAST_OWNER"]}
    assert _owners(runtime, tenant.id) == [first_owner]


def test_demotions_in_different_tenants_do_not_wait_for_each_other(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """The lock covers one tenant's owners: another tenant's change goes ahead at once."""
    [mine] = _owners(runtime, tenant.id)
    [theirs] = _owners(runtime, other_tenant.id)
    my_second, their_second = _second_owner(runtime, tenant), _second_owner(runtime, other_tenant)
    held = make_session(runtime.engine, tenant.id)
    try:
        update_member_role(held, _as_owner(tenant.id, mine), my_second, Role.ADMIN.value)
        with tenant_session(runtime.engine, other_tenant.id) as session:
            session.execute(text("SET LOCAL lock_timeout = '5s'"))  # fails instead of waiting
            update_member_role(session, _as_owner(other_tenant.id, theirs), their_second, Role.ADMIN.value)
        held.commit()
    finally:
        held.close()
    assert _owners(runtime, tenant.id) == [mine]
    assert _owners(runtime, other_tenant.id) == [theirs]
