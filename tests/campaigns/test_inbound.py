"""POST /campaigns/inbound/<token>: responses from outside, proven by the campaign's secret."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from saas.auth.throttle import SignInThrottle
from saas.http import create_app
from saas.runtime import Runtime
from tests.campaigns.support import READ, create_campaign, launch, table_counts
from tests.conftest import GraphQLClient, TenantHandle


@pytest.fixture
def client(runtime: Runtime, graphql_engine: Any) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, graphql_engine)) as test_client:
        yield test_client


def _launched(owner: GraphQLClient) -> tuple[str, str]:
    campaign = create_campaign(owner, audience={})
    return campaign["id"], launch(owner, campaign["id"])["inboundToken"]


def test_an_inbound_registration_makes_a_pool_lead(owner: GraphQLClient, client: TestClient) -> None:
    campaign_id, token = _launched(owner)
    response = client.post(f"/campaigns/inbound/{token}", json={"kind": "REGISTERED", "email": "fan@example.org"})
    assert response.status_code == 201, response.text
    lead_id = response.json()["response"]["lead"]
    assert lead_id
    lead = owner.data("query($id: ID!) { lead(id: $id) { status email channel { name } } }", {"id": lead_id})["lead"]
    assert lead == {"status": "POOL", "email": "fan@example.org", "channel": {"name": "E-mail"}}
    read = owner.data(READ, {"id": campaign_id})["campaign"]
    assert (read["responses"], read["leadsCreated"]) == (1, 1)


def test_a_new_token_replaces_the_old_one(owner: GraphQLClient, client: TestClient) -> None:
    campaign_id, old = _launched(owner)
    issued = owner.data(
        "mutation($id: ID!) { issueCampaignInboundToken(input: {id: $id}) { inboundToken userErrors { code } } }",
        {"id": campaign_id},
    )["issueCampaignInboundToken"]
    assert issued["userErrors"] == [] and issued["inboundToken"] != old
    assert (
        client.post(f"/campaigns/inbound/{old}", json={"kind": "OPENED", "email": "a@example.org"}).status_code == 404
    )
    new = client.post(f"/campaigns/inbound/{issued['inboundToken']}", json={"kind": "OPENED", "email": "a@example.org"})
    assert new.status_code == 201 and new.json()["response"]["lead"] is None  # OPENED is not positive


def test_a_draft_has_no_token(owner: GraphQLClient) -> None:
    draft = create_campaign(owner, audience={})
    issued = owner.data(
        "mutation($id: ID!) { issueCampaignInboundToken(input: {id: $id}) { inboundToken userErrors { code } } }",
        {"id": draft["id"]},
    )["issueCampaignInboundToken"]
    assert issued == {"inboundToken": None, "userErrors": [{"code": "NOT_LAUNCHED"}]}


@pytest.mark.parametrize(
    ("mangle", "body", "status", "code"),
    [
        (lambda t: t[:-2] + "xx", {"kind": "OPENED", "email": "a@example.org"}, 404, "NOT_FOUND"),
        (lambda t: "garbage", {"kind": "OPENED", "email": "a@example.org"}, 404, "NOT_FOUND"),
        (lambda t: "0" * 64 + "." + t.split(".")[1], {"kind": "OPENED", "email": "a@example.org"}, 404, "NOT_FOUND"),
        (lambda t: t, {"kind": "OPENED", "email": "a@example.org", "customerId": "x"}, 400, "INVALID"),
        (lambda t: t, ["OPENED"], 400, "INVALID"),
        (lambda t: t, {"kind": "OPENED", "note": "x" * 5000}, 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_refused_posts_write_nothing(
    runtime: Runtime,
    tenant: TenantHandle,
    owner: GraphQLClient,
    client: TestClient,
    mangle: Any,
    body: Any,
    status: int,
    code: str,
) -> None:
    _, token = _launched(owner)
    before = table_counts(runtime, tenant.id)
    response = client.post(f"/campaigns/inbound/{mangle(token)}", json=body)
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert table_counts(runtime, tenant.id) == before


def test_bad_fields_are_user_errors(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, client: TestClient
) -> None:
    _, token = _launched(owner)
    before = table_counts(runtime, tenant.id)
    response = client.post(f"/campaigns/inbound/{token}", json={"kind": "LOVED", "email": "nope"})
    assert response.status_code == 422
    assert {e["code"] for e in response.json()["userErrors"]} == {"INVALID", "INVALID_EMAIL"}
    assert table_counts(runtime, tenant.id) == before
    assert client.post(f"/campaigns/inbound/{token}", content=b"{not json").status_code == 400


@pytest.fixture
def tight_inbound_limits(runtime: Runtime) -> Iterator[None]:
    """Two requests a minute per token, three per address, counted apart from other tests'."""
    settings = runtime.settings.model_copy(
        update={"inbound_per_token_per_minute": 2, "inbound_per_address_per_minute": 3}
    )
    saved = runtime.throttle
    runtime.throttle = SignInThrottle(runtime.redis, runtime.redis_url, settings, key_prefix=f"test:{uuid.uuid4().hex}")
    try:
        yield
    finally:
        runtime.throttle = saved


def test_inbound_posts_are_rate_limited_per_token_and_per_address(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, client: TestClient, tight_inbound_limits: None
) -> None:
    _, token = _launched(owner)
    _, other_token = _launched(owner)
    body = {"kind": "OPENED", "email": "a@example.org"}
    assert [client.post(f"/campaigns/inbound/{token}", json=body).status_code for _ in range(2)] == [201, 201]
    before = table_counts(runtime, tenant.id)
    refused = client.post(f"/campaigns/inbound/{token}", json=body)  # the token's third in the minute
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert table_counts(runtime, tenant.id) == before
    # The address has made three requests: another token from it is refused too, another address is not.
    assert client.post(f"/campaigns/inbound/{other_token}", json=body).status_code == 429
    assert table_counts(runtime, tenant.id) == before
    with TestClient(client.app, client=("203.0.113.7", 50000)) as elsewhere:
        assert elsewhere.post(f"/campaigns/inbound/{other_token}", json=body).status_code == 201
