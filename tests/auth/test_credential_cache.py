"""A credential checked moments ago is answered from the cache, with no I/O; anything else is not."""

from __future__ import annotations

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
