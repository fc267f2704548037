"""resolveTicket: the ticket is RESOLVED and its solution becomes a DRAFT article linked to it, in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from saas.runtime import Runtime
from saas.schema.relay import decode_id
from tests.conftest import GraphQLClient
from tests.tickets.support import STATUS, count, create_customer, create_ticket, errors, events, ok

ERRORS = "userErrors { field code message }"
RESOLVE = f"""mutation($input: ResolveTicketInput!) {{ resolveTicket(input: $input) {{
  ticket {{ id status resolvedAt }} article {{ id title problem solution type tags status }} {ERRORS} }} }}"""


def _ticket(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    return create_ticket(client, create_customer(client, f"Acme {uuid.uuid4().hex[:8]}"), **fields)


def test_resolving_moves_the_ticket_and_writes_a_draft_article(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    ticket = _ticket(owner, subject="打印机卡纸", body="每次打印第二页都会卡纸")
    done = ok(owner, RESOLVE, {"id": ticket["id"], "solution": "清理进纸辊", "tags": ["Printer"]}, "resolveTicket")
    assert done["ticket"]["status"] == "RESOLVED" and done["ticket"]["resolvedAt"] is not None
    article = done["article"]
    assert (article["title"], article["problem"], article["solution"]) == (
        "打印机卡纸",
        "每次打印第二页都会卡纸",
        "清理进纸辊",
    )
    assert (article["type"], article["status"]) == (ticket["type"], "DRAFT")
    assert count(runtime, tenant.id, "articles", f"source_ticket_id = '{_raw(owner, ticket['id'])}'") == 1
    assert [kind for kind, _ in events(runtime, tenant.id, "article.")] == ["article.created"]
    assert "ticket.status_changed" in [kind for kind, _ in events(runtime, tenant.id, "ticket.")]


def test_a_ticket_resolved_again_keeps_its_first_article(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    ticket = _ticket(owner)
    first = ok(owner, RESOLVE, {"id": ticket["id"], "solution": "Restart it"}, "resolveTicket")
    ok(owner, STATUS, {"id": ticket["id"], "status": "IN_PROGRESS"}, "updateTicketStatus")
    again = ok(owner, RESOLVE, {"id": ticket["id"], "solution": "Other"}, "resolveTicket")
    assert again["article"]["id"] == first["article"]["id"]
    assert count(runtime, tenant.id, "articles") == 1


def test_bad_input_writes_nothing(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    ticket = _ticket(owner)
    resolve = lambda **input: errors(owner, RESOLVE, {"id": ticket["id"], **input}, "resolveTicket")  # noqa: E731
    assert resolve(solution="") == [(["input", "solution"], "REQUIRED")]
    assert resolve(solution="x" * 20_001)[0][1] == "TOO_LONG"
    assert errors(owner, RESOLVE, {"id": "nope", "solution": "x"}, "resolveTicket")[0][1] == "NOT_FOUND"
    ok(owner, RESOLVE, {"id": ticket["id"], "solution": "x"}, "resolveTicket")
    # RESOLVED → RESOLVED is not a move: nothing more is written.
    assert resolve(solution="y")[0][1] == "INVALID_TRANSITION"
    assert count(runtime, tenant.id, "articles") == 1


def test_another_tenants_ticket_is_not_found(
    owner: GraphQLClient, other_owner: GraphQLClient, other_tenant: Any, runtime: Runtime
) -> None:
    ticket = _ticket(owner)
    assert errors(other_owner, RESOLVE, {"id": ticket["id"], "solution": "x"}, "resolveTicket")[0][1] == "NOT_FOUND"
    assert count(runtime, other_tenant.id, "articles") == 0


def _raw(client: GraphQLClient, global_id: str) -> str:
    return str(decode_id(global_id, "Ticket"))


def test_the_ticket_and_its_article_name_each_other(owner: GraphQLClient) -> None:
    ticket = _ticket(owner)
    done = ok(owner, RESOLVE, {"id": ticket["id"], "solution": "Restart it"}, "resolveTicket")
    read = owner.data("query($id: ID!) { ticket(id: $id) { article { id status } } }", {"id": ticket["id"]})["ticket"]
    assert read["article"] == {"id": done["article"]["id"], "status": "DRAFT"}
    node = owner.data(
        "query($id: ID!) { node(id: $id) { ... on Article { sourceTicket { id } } } }", {"id": done["article"]["id"]}
    )["node"]
    assert node["sourceTicket"] == {"id": ticket["id"]}
    listed = owner.data("{ tickets(first: 5) { edges { node { id article { id } } } } }")["tickets"]["edges"]
    assert listed[0]["node"]["article"] == {"id": done["article"]["id"]}


def test_a_portal_principal_sees_the_article_once_published_and_cannot_resolve(owner: GraphQLClient) -> None:
    from tests.tickets.test_portal import portal

    customer = create_customer(owner)
    client, _ = portal(owner, customer)
    ticket = create_ticket(client, customer)
    assert client.error_codes(RESOLVE, {"input": {"id": ticket["id"], "solution": "x"}}) == ["FORBIDDEN"]
    done = ok(owner, RESOLVE, {"id": ticket["id"], "solution": "Restart it"}, "resolveTicket")
    query = "query($id: ID!) { ticket(id: $id) { article { id } } }"
    assert client.data(query, {"id": ticket["id"]})["ticket"]["article"] is None
    owner.data(
        "mutation($input: PublishArticleInput!) { publishArticle(input: $input) { article { id } } }",
        {"input": {"id": done["article"]["id"]}},
    )
    assert client.data(query, {"id": ticket["id"]})["ticket"]["article"] == {"id": done["article"]["id"]}


USE = f"""mutation($input: RecordArticleUseInput!) {{ recordArticleUse(input: $input) {{
  counted article {{ id }} ticket {{ id }} {ERRORS} }} }}"""


def test_an_articles_use_counts_once_per_ticket(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    first, second = _ticket(owner), _ticket(owner)
    article = ok(owner, RESOLVE, {"id": first["id"], "solution": "Restart it"}, "resolveTicket")["article"]["id"]
    assert ok(owner, USE, {"articleId": article, "ticketId": second["id"]}, "recordArticleUse")["counted"] is True
    assert ok(owner, USE, {"articleId": article, "ticketId": second["id"]}, "recordArticleUse")["counted"] is False
    assert ok(owner, USE, {"articleId": article, "ticketId": first["id"]}, "recordArticleUse")["counted"] is True
    assert count(runtime, tenant.id, "article_uses") == 2
    assert [kind for kind, _ in events(runtime, tenant.id, "article.used")] == ["article.used"] * 2


def test_article_use_bad_input_and_other_tenants(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime
) -> None:
    ticket = _ticket(owner)
    article = ok(owner, RESOLVE, {"id": ticket["id"], "solution": "x"}, "resolveTicket")["article"]["id"]
    other_ticket = _ticket(other_owner)
    assert errors(owner, USE, {"articleId": "nope", "ticketId": ticket["id"]}, "recordArticleUse")[0] == (
        ["input", "articleId"], "NOT_FOUND"
    )  # fmt: skip
    assert errors(owner, USE, {"articleId": article, "ticketId": other_ticket["id"]}, "recordArticleUse")[0] == (
        ["input", "ticketId"], "NOT_FOUND"
    )  # fmt: skip
    assert errors(other_owner, USE, {"articleId": article, "ticketId": other_ticket["id"]}, "recordArticleUse")[0] == (
        ["input", "articleId"], "NOT_FOUND"
    )  # fmt: skip
    assert count(runtime, tenant.id, "article_uses") == 0 and count(runtime, other_tenant.id, "article_uses") == 0


def test_concurrent_uses_of_one_article_on_one_ticket_count_once(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    from saas.knowledge import resolution
    from tests.knowledge.support import principal_of, race

    ticket = _ticket(owner)
    article = ok(owner, RESOLVE, {"id": ticket["id"], "solution": "x"}, "resolveTicket")["article"]["id"]
    principal = principal_of(runtime, owner)
    ids = (decode_id(article, "Article"), decode_id(ticket["id"], "Ticket"))
    assert (
        race(runtime, tenant, 4, lambda session, _: resolution.record_article_use(session, principal, *ids))
        == ["ok"] * 4
    )
    assert count(runtime, tenant.id, "article_uses") == 1
    assert len(events(runtime, tenant.id, "article.used")) == 1
