"""The sign-in throttle: failed logins per account and tenant, every failure per client address."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from saas.accounts.models import Membership, User
from saas.auth.throttle import SignInThrottle, address_key, bind_client_address, unbind_client_address
from saas.auth.tokens import issue_token
from saas.config import Settings
from saas.http import create_app
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import LOGIN, TEST_PASSWORD, TenantHandle

DEFAULT_LIMIT = Settings.model_fields["throttle_account_failures"].default
DEFAULT_ADDRESS_LIMIT = Settings.model_fields["throttle_address_failures"].default
DEFAULT_WINDOW = Settings.model_fields["throttle_window_seconds"].default
WRONG = "wrong password!!"


def _throttle(runtime: Runtime, **limits: int) -> SignInThrottle:
    """A throttle with the default limits (or those given), its counters apart from other tests'."""
    settings = runtime.settings.model_copy(
        update={
            "throttle_account_failures": DEFAULT_LIMIT,
            "throttle_address_failures": DEFAULT_ADDRESS_LIMIT,
            "throttle_window_seconds": DEFAULT_WINDOW,
            **limits,
        }
    )
    return SignInThrottle(runtime.redis, runtime.redis_url, settings, key_prefix=f"test:{uuid.uuid4().hex}")


@pytest.fixture
def use_throttle(runtime: Runtime) -> Iterator[Any]:
    saved = runtime.throttle

    def use(**limits: int) -> SignInThrottle:
        runtime.throttle = _throttle(runtime, **limits)
        return runtime.throttle

    use()
    yield use
    runtime.throttle = saved


@pytest.fixture
def from_address() -> Iterator[Any]:
    """Run in-process requests as if they came from an address (the HTTP middleware's job)."""
    tokens: list[Any] = []

    def bind(host: str) -> None:
        tokens.append(bind_client_address(host))

    yield bind
    for token in reversed(tokens):
        unbind_client_address(token)


def _login(client: Any, email: str, password: str, slug: str) -> dict[str, Any]:
    return client.execute(LOGIN, {"input": {"email": email, "password": password, "tenant": slug}})


def _code(answer: dict[str, Any]) -> str:
    if answer.get("errors"):
        return answer["errors"][0]["extensions"]["code"]
    errors = answer["data"]["login"]["userErrors"]
    return errors[0]["code"] if errors else "OK"


def test_logins_are_refused_after_ten_failures_even_with_the_right_password(
    anonymous: Any, tenant: TenantHandle, use_throttle: Any
) -> None:
    answers = [_login(anonymous, tenant.owner_email, WRONG, tenant.slug) for _ in range(DEFAULT_LIMIT)]
    assert {_code(a) for a in answers} == {"INVALID_CREDENTIALS"}
    refused = _login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)
    assert refused["data"] is None
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfter"] <= DEFAULT_WINDOW
    assert error["path"] == ["login"]
    # e-mail and slug are normalised before they are counted: other spellings are refused too
    assert _code(_login(anonymous, tenant.owner_email.upper(), TEST_PASSWORD, f" {tenant.slug} ")) == "RATE_LIMITED"


def test_an_unknown_account_is_throttled_exactly_like_a_known_one(
    anonymous: Any, tenant: TenantHandle, use_throttle: Any
) -> None:
    def attempts(email: str) -> list[tuple[str, Any]]:
        answers = [_login(anonymous, email, WRONG, tenant.slug) for _ in range(DEFAULT_LIMIT + 2)]
        return [(_code(a), (a.get("errors") or [{}])[0].get("message")) for a in answers]

    known = attempts(tenant.owner_email)
    unknown = attempts(f"nobody-{secrets.token_hex(3)}@{tenant.slug}.example.com")
    assert known == unknown
    assert [code for code, _ in known] == ["INVALID_CREDENTIALS"] * DEFAULT_LIMIT + ["RATE_LIMITED"] * 2


def test_the_throttle_is_per_account_and_tenant(
    anonymous: Any, runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle, use_throttle: Any
) -> None:
    # the owner of `tenant` is also a member of `other_tenant`
    with tenant_session(runtime.engine, None) as session:
        user_id = session.query(User.id).filter(User.email == tenant.owner_email).scalar()
    with tenant_session(runtime.engine, other_tenant.id) as session:
        session.add(Membership(id=uuid.uuid4(), user_id=user_id, role="viewer"))
    for _ in range(DEFAULT_LIMIT):
        _login(anonymous, tenant.owner_email, WRONG, tenant.slug)
    assert _code(_login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)) == "RATE_LIMITED"
    assert _code(_login(anonymous, tenant.owner_email, TEST_PASSWORD, other_tenant.slug)) == "OK"
    assert _code(_login(anonymous, other_tenant.owner_email, TEST_PASSWORD, other_tenant.slug)) == "OK"


def test_successful_logins_are_not_counted(anonymous: Any, tenant: TenantHandle, use_throttle: Any) -> None:
    for _ in range(DEFAULT_LIMIT + 2):
        assert _code(_login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)) == "OK"


def test_logins_work_again_once_the_window_has_passed(anonymous: Any, tenant: TenantHandle, use_throttle: Any) -> None:
    use_throttle(throttle_account_failures=2, throttle_window_seconds=1)
    for _ in range(2):
        _login(anonymous, tenant.owner_email, WRONG, tenant.slug)
    refused = _login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)
    assert refused["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1}
    deadline = time.monotonic() + 5
    while _code(answer := _login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)) == "RATE_LIMITED":
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    assert _code(answer) == "OK"


def test_failures_from_one_address_refuse_its_logins_for_any_account(
    anonymous: Any, tenant: TenantHandle, use_throttle: Any, from_address: Any
) -> None:
    from_address("203.0.113.7")
    for i in range(DEFAULT_ADDRESS_LIMIT):  # one failure each for many (unknown) accounts
        assert _code(_login(anonymous, f"guess{i}@{tenant.slug}.example.com", WRONG, tenant.slug)) == (
            "INVALID_CREDENTIALS"
        )
    assert _code(_login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)) == "RATE_LIMITED"
    from_address("198.51.100.20")
    assert _code(_login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)) == "OK"


def test_ipv6_clients_are_counted_by_their_64_network() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:203.0.113.7") == address_key("203.0.113.7") == "203.0.113.7"
    assert address_key("testclient") == "testclient"


def test_redis_unavailable_lets_logins_through(anonymous: Any, runtime: Runtime, tenant: TenantHandle) -> None:
    saved = runtime.throttle
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    runtime.throttle = SignInThrottle(dead, "redis://127.0.0.1:1/0", runtime.settings)
    try:
        assert _code(_login(anonymous, tenant.owner_email, WRONG, tenant.slug)) == "INVALID_CREDENTIALS"
        assert _code(_login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)) == "OK"
    finally:
        runtime.throttle = saved


# --- API keys and tokens, over HTTP (the test client's address is "testclient") ----------------


@pytest.fixture
def http(runtime: Runtime, graphql_engine: Any) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, graphql_engine)) as client:
        yield client


def _post(http: TestClient, query: str, credential: str | None = None, variables: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    return http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def _http_login(http: TestClient, tenant: TenantHandle, password: str = TEST_PASSWORD) -> Any:
    variables = {"input": {"email": tenant.owner_email, "password": password, "tenant": tenant.slug}}
    return _post(http, LOGIN, variables=variables)


def test_bad_api_keys_and_tokens_from_one_address_refuse_its_credentials_and_logins(
    http: TestClient, tenant: TenantHandle, use_throttle: Any
) -> None:
    token = _http_login(http, tenant).json()["data"]["login"]["token"]  # valid, not yet checked (not cached)
    bad = [f"crm_{uuid.uuid4().hex}_{uuid.uuid4().hex}_guess{i}" for i in range(DEFAULT_ADDRESS_LIMIT // 2)]
    bad += [f"eyJhbGciOiJIUzI1NiJ9.e30.forged{i}" for i in range(DEFAULT_ADDRESS_LIMIT - len(bad))]
    for credential in bad:
        assert _post(http, "{ me { email } }", credential).status_code == 401
    refused = _post(http, "{ me { email } }", token)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= DEFAULT_WINDOW
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": int(refused.headers["Retry-After"])}
    login = _http_login(http, tenant).json()
    assert login["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_expired_tokens_are_not_counted_as_guesses(
    http: TestClient, runtime: Runtime, tenant: TenantHandle, use_throttle: Any
) -> None:
    token = _http_login(http, tenant).json()["data"]["login"]["token"]
    claims = runtime.authenticate(f"Bearer {token}")
    assert claims is not None
    expired = issue_token(
        runtime.settings.model_copy(update={"token_ttl_seconds": -60}),
        claims.user_id,
        claims.tenant_id,
        claims.membership_id,
        1,
    )
    runtime.credentials.forget_tenant(tenant.id)
    for _ in range(DEFAULT_ADDRESS_LIMIT + 2):
        assert _post(http, "{ me { email } }", expired).status_code == 401
    assert _post(http, "{ me { email } }", token).json()["data"]["me"]["email"] == tenant.owner_email
