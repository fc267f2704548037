"""notifications, markNotificationsRead and the notifications subscription: the caller's own only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from saas.notifications.service import TOPIC, notify
from saas.plugin_api.testing import collect_events
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, add_member

NOTIFICATIONS = """query($first: Int, $after: String, $unreadOnly: Boolean) {
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    edges { cursor node { id kind title body data createdAt readAt } }
    pageInfo { hasNextPage endCursor }
    totalCount unreadCount
  }
}"""
MARK_READ = """mutation($ids: [ID!]!) {
  markNotificationsRead(input: {ids: $ids}) { notifications { id readAt } userErrors { code } }
}"""
ME = "{ me { member { id } } }"
SUBSCRIBE = "subscription { notifications { id kind title body data createdAt readAt } }"


def member_id(client: GraphQLClient) -> uuid.UUID:
    return decode_id(client.data(ME)["me"]["member"]["id"], "Member")


def send(runtime: Runtime, tenant_id: uuid.UUID, recipient: uuid.UUID, title: str, **data: Any) -> None:
    with tenant_session(runtime.engine, tenant_id) as session:
        notify(session, recipient, "test.note", title, body=f"about {title}", data=data)


def titles(client: GraphQLClient, **variables: Any) -> list[str]:
    page = client.data(NOTIFICATIONS, variables)["notifications"]
    return [edge["node"]["title"] for edge in page["edges"]]


def test_the_caller_sees_their_own_notifications_newest_first(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    me = member_id(owner)
    for index in range(3):
        send(runtime, tenant.id, me, f"Note {index}", n=index)
    page = owner.data(NOTIFICATIONS)["notifications"]
    assert [e["node"]["title"] for e in page["edges"]] == ["Note 2", "Note 1", "Note 0"]
    node = page["edges"][0]["node"]
    assert (node["kind"], node["body"], node["data"], node["readAt"]) == ("test.note", "about Note 2", {"n": 2}, None)
    assert (page["totalCount"], page["unreadCount"]) == (3, 3)


def test_paging_unread_and_marking_read(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    me = member_id(owner)
    for index in range(5):
        send(runtime, tenant.id, me, f"Note {index}")
    seen, after = [], None
    while True:
        page = owner.data(NOTIFICATIONS, {"first": 2, "after": after})["notifications"]
        seen.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [n["title"] for n in seen] == [f"Note {i}" for i in reversed(range(5))]
    marked = owner.data(MARK_READ, {"ids": [seen[0]["id"], seen[1]["id"]]})["markNotificationsRead"]
    assert [n["id"] for n in marked["notifications"]] == [seen[0]["id"], seen[1]["id"]]
    assert all(n["readAt"] for n in marked["notifications"])
    assert titles(owner, unreadOnly=True) == ["Note 2", "Note 1", "Note 0"]
    page = owner.data(NOTIFICATIONS, {"unreadOnly": True})["notifications"]
    assert (page["totalCount"], page["unreadCount"]) == (3, 3)
    assert owner.data(NOTIFICATIONS)["notifications"]["totalCount"] == 5
    again = owner.data(MARK_READ, {"ids": [seen[0]["id"]]})["markNotificationsRead"]["notifications"]
    assert again[0]["readAt"] == marked["notifications"][0]["readAt"]  # marking twice keeps the first time
    assert owner.error_codes(NOTIFICATIONS, {"first": 101}) == ["BAD_USER_INPUT"]
    assert owner.error_codes(NOTIFICATIONS, {"after": "garbage"}) == ["BAD_USER_INPUT"]


def test_other_members_and_tenants_see_none_of_them(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    colleague = add_member(owner, tenant, "sales")
    send(runtime, tenant.id, member_id(owner), "For the owner")
    send(runtime, tenant.id, member_id(colleague), "For the colleague")
    assert titles(owner) == ["For the owner"]
    assert titles(colleague) == ["For the colleague"]
    assert titles(other_owner) == []


def test_marking_someone_elses_notification_is_not_found(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime
) -> None:
    colleague = add_member(owner, tenant, "viewer")
    send(runtime, tenant.id, member_id(owner), "Mine")
    send(runtime, other_tenant.id, member_id(other_owner), "Theirs")
    mine = owner.data(NOTIFICATIONS)["notifications"]["edges"][0]["node"]["id"]
    theirs = other_owner.data(NOTIFICATIONS)["notifications"]["edges"][0]["node"]["id"]
    assert other_owner.error_codes(MARK_READ, {"ids": [mine]}) == ["NOT_FOUND"]
    assert colleague.error_codes(MARK_READ, {"ids": [mine]}) == ["NOT_FOUND"]
    assert owner.error_codes(MARK_READ, {"ids": [mine, theirs]}) == ["NOT_FOUND"]  # all or nothing
    assert owner.error_codes(MARK_READ, {"ids": ["not-an-id"]}) == ["NOT_FOUND"]
    assert owner.data(NOTIFICATIONS)["notifications"]["unreadCount"] == 1
    assert other_owner.data(NOTIFICATIONS)["notifications"]["unreadCount"] == 1


def test_api_keys_have_no_notifications(owner: GraphQLClient) -> None:
    key = owner.data(
        'mutation { createApiKey(input: {name: "ci", scopes: ["customers:read"]}) { secret userErrors { code } } }'
    )["createApiKey"]["secret"]
    assert owner.as_token(key).error_codes(NOTIFICATIONS) == ["FORBIDDEN"]


# -- the subscription -------------------------------------------------------------------------


def _run(listener: GraphQLClient, act: Callable[[], None]) -> list[dict[str, Any]]:
    return collect_events(listener, SUBSCRIBE, None, TOPIC, act)


def _payloads(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert all("errors" not in r for r in received), received
    return [r["data"]["notifications"] for r in received]


def test_the_subscription_streams_the_callers_new_notifications_only(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime
) -> None:
    me = member_id(owner)
    colleague = member_id(add_member(owner, tenant, "manager"))
    stranger = member_id(other_owner)

    def act() -> None:
        send(runtime, tenant.id, colleague, "Not yours")
        send(runtime, other_tenant.id, stranger, "Other tenant")
        send(runtime, tenant.id, me, "Yours", due="tomorrow")
        try:
            with tenant_session(runtime.engine, tenant.id) as session:
                notify(session, me, "test.note", "Rolled back")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass

    [live] = _payloads(_run(owner, act))
    stored = owner.data(NOTIFICATIONS)["notifications"]["edges"][0]["node"]
    assert live == stored
    assert (live["title"], live["data"], live["readAt"]) == ("Yours", {"due": "tomorrow"}, None)


def test_the_subscription_of_another_tenant_receives_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    me = member_id(owner)
    received = _run(other_owner, lambda: send(runtime, tenant.id, me, "Private"))
    assert received == []


def _first_payload(client: GraphQLClient, principal: Any) -> dict[str, Any]:
    engine = client.engine

    async def main() -> list[dict[str, Any]]:
        stream = await engine.subscribe(engine.prepare(SUBSCRIBE, None, principal), None, principal, "sub")
        return [payload async for payload in stream]

    return asyncio.run(main())[0]


def test_the_subscription_needs_a_member(owner: GraphQLClient, anonymous: GraphQLClient) -> None:
    payload = _first_payload(anonymous, None)
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["UNAUTHENTICATED"]
    key = owner.data(
        'mutation { createApiKey(input: {name: "ci", scopes: ["customers:read"]}) { secret userErrors { code } } }'
    )["createApiKey"]["secret"]
    principal = owner.engine.runtime.authenticate(f"Bearer {key}")
    payload = _first_payload(owner, principal)
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["FORBIDDEN"]
