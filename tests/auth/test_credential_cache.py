"""A credential checked moments ago is answered from the cache, with no I/O; anything else is not."""

from __future__ import annotations

from typing import Any

from saas.db.statements import counting
from saas.runtime import Runtime
from tests.conftest import GraphQLClient


def test_a_recently_checked_token_is_answered_without_the_database(runtime: Runtime, owner: GraphQLClient) -> None:
    header = f"Bearer {owner.token}"
    checked = runtime.authenticate(header)
    with counting() as statements:
        cached = runtime.cached_principal(header)
    assert cached == checked and statements[0] == 0


def test_the_cache_answers_nothing_it_has_not_checked(runtime: Runtime, owner: GraphQLClient) -> None:
    assert runtime.cached_principal(None) is None
    assert runtime.cached_principal("Bearer not-a-token") is None
    assert runtime.cached_principal("Bearer crm_00_11_unknown") is None
    header = f"Bearer {owner.token}"
    principal = runtime.authenticate(header)
    assert principal is not None
    runtime.credentials.forget_tenant(principal.tenant_id)  # e.g. a member was removed here
    assert runtime.cached_principal(header) is None


def test_what_a_principal_keeps_is_its_own(runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    """The strings formed once per principal or token (`Principal.tenant_text`, `derived`,
    `TokenClaims.member_key`) are the values formatted again, per principal: a principal made by
    `dataclasses.replace` starts with nothing kept, and neither equality nor the hash sees it."""
    import dataclasses

    from saas.accounts.credentials import member_cache_key
    from saas.auth.tokens import read_token

    mine = runtime.authenticate(f"Bearer {owner.token}")
    theirs = runtime.authenticate(f"Bearer {other_owner.token}")
    assert mine is not None and theirs is not None
    assert mine.tenant_text == str(mine.tenant_id) and theirs.tenant_text == str(theirs.tenant_id)
    assert mine.tenant_text != theirs.tenant_text
    assert runtime.cached_principal(f"Bearer {owner.token}") is mine  # the kept text goes with it

    def label(principal: Any) -> str:
        return f"{principal.label}:{principal.tenant_id}"

    assert mine.derived(label, label) == label(mine) and theirs.derived(label, label) == label(theirs)
    assert mine.derived(label, lambda _: "never built again") == label(mine)
    renamed = dataclasses.replace(mine, label="someone else")
    assert renamed.derived(label, label) == f"someone else:{mine.tenant_id}"
    assert renamed != mine and dataclasses.replace(mine) == mine and hash(dataclasses.replace(mine)) == hash(mine)
    assert "_derived" not in repr(mine)

    claims = read_token(runtime.settings, owner.token)
    assert member_cache_key(claims) == (
        f"m:{claims.tenant_id}:{claims.user_id}:{claims.membership_id}:{claims.generation}"
    )
    assert member_cache_key(read_token(runtime.settings, other_owner.token)) != member_cache_key(claims)
