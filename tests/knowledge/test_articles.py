"""Articles: created as drafts, published and unpublished (INVALID_TRANSITION otherwise), updated,
listed and read by id in one statement, events, bad input, permissions, other tenants and portal
contacts (published only)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.knowledge.rules import ArticleFilter, article_conditions, article_visibility
from saas.runtime import Runtime
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.knowledge.support import (
    CREATE_ARTICLE,
    PUBLISH,
    UNPUBLISH,
    UPDATE_ARTICLE,
    create_article,
    events_of,
    principal_of,
)

ARTICLES = """query($first: Int, $after: String, $filter: ArticleFilterInput) {
  articles(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title type tags status publishedAt } }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Article { title status } } }"


def _create(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    return dict(client.data(CREATE_ARTICLE, {"input": fields})["createArticle"])


def test_an_article_is_a_draft_until_published(owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle) -> None:
    created = _create(
        owner, title=" Reset a password ", problem="Forgot it.", solution="Use the link.", tags=["Login", "login"]
    )
    assert created["userErrors"] == []
    article = created["article"]
    assert article | {"id": None} == {
        "id": None,
        "title": "Reset a password",
        "problem": "Forgot it.",
        "solution": "Use the link.",
        "type": "inquiry",
        "tags": ["login"],
        "status": "DRAFT",
        "publishedAt": None,
    }
    published = owner.data(PUBLISH, {"input": {"id": article["id"]}})["publishArticle"]
    assert published["article"]["status"] == "PUBLISHED" and published["article"]["publishedAt"]
    again = owner.data(PUBLISH, {"input": {"id": article["id"]}})["publishArticle"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]
    back = owner.data(UNPUBLISH, {"input": {"id": article["id"]}})["unpublishArticle"]
    assert back["article"] == {"id": article["id"], "status": "DRAFT", "publishedAt": None}
    twice = owner.data(UNPUBLISH, {"input": {"id": article["id"]}})["unpublishArticle"]
    assert [e["code"] for e in twice["userErrors"]] == ["INVALID_TRANSITION"]

    kinds = ["article.created", "article.published", "article.unpublished"]
    payloads = {kind: events_of(runtime, tenant.id, kind) for kind in kinds}
    assert [len(p) for p in payloads.values()] == [1, 1, 1]
    assert payloads["article.published"][0]["article"]["status"] == "PUBLISHED"
    assert payloads["article.created"][0]["article"]["id"] == article["id"]


def test_update_changes_only_what_is_given(owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle) -> None:
    article = create_article(owner, "Old title", "Old problem", "Old solution", type="repair", publish=False)
    changed = owner.data(UPDATE_ARTICLE, {"input": {"id": article, "title": "New title", "tags": ["a"]}})
    assert changed["updateArticle"]["article"] | {"id": None} == {
        "id": None,
        "title": "New title",
        "problem": "Old problem",
        "solution": "Old solution",
        "type": "repair",
        "tags": ["a"],
        "status": "DRAFT",
        "publishedAt": None,
    }
    assert events_of(runtime, tenant.id, "article.updated")[0]["article"]["title"] == "New title"


def test_bad_input_is_a_user_error_and_writes_nothing(
    owner: GraphQLClient, counts: Callable[[], dict[str, int]]
) -> None:
    article = create_article(owner, "Exists", publish=False)
    before = counts()
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        (CREATE_ARTICLE, {"title": "", "problem": "p", "solution": "s"}, "createArticle", "REQUIRED"),
        (CREATE_ARTICLE, {"title": "t" * 201, "problem": "p", "solution": "s"}, "createArticle", "TOO_LONG"),
        (CREATE_ARTICLE, {"title": "t", "problem": "p" * 20_001, "solution": "s"}, "createArticle", "TOO_LONG"),
        (
            CREATE_ARTICLE,
            {"title": "t", "problem": "p", "solution": "s", "type": "x" * 51},
            "createArticle",
            "TOO_LONG",
        ),
        (
            CREATE_ARTICLE,
            {"title": "t", "problem": "p", "solution": "s", "tags": ["x" * 51]},
            "createArticle",
            "TOO_LONG",
        ),
        (UPDATE_ARTICLE, {"id": article, "title": "  "}, "updateArticle", "REQUIRED"),
        (UPDATE_ARTICLE, {"id": article, "solution": None}, "updateArticle", "REQUIRED"),
        (UPDATE_ARTICLE, {"id": "bm90LWFuLWlk"}, "updateArticle", "NOT_FOUND"),
        (
            PUBLISH,
            {"id": "Q3VzdG9tZXI6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"},
            "publishArticle",
            "NOT_FOUND",
        ),
    ]
    for query, variables, field, code in cases:
        payload = owner.data(query, {"input": variables})[field]
        assert [e["code"] for e in payload["userErrors"]] == [code], (variables, payload)
    wrong_type = owner.execute(CREATE_ARTICLE, {"input": {"title": 1, "problem": "p", "solution": "s"}})
    assert [e["extensions"]["code"] for e in wrong_type["errors"]] == ["BAD_USER_INPUT"]
    assert counts() == before


def test_the_list_is_one_statement_and_filters(owner: GraphQLClient) -> None:
    ids = [
        create_article(owner, f"Article {n}", type="repair" if n % 2 else "inquiry", publish=n < 3) for n in range(5)
    ]
    for first in (1, 2, 5):
        page = owner.data(ARTICLES, {"first": first})["articles"]
        assert owner.last_statements == 1
        assert page["totalCount"] == 5 and len(page["edges"]) == first
    newest_first = [edge["node"]["id"] for edge in owner.data(ARTICLES, {"first": 5})["articles"]["edges"]]
    assert newest_first == ids[::-1]
    first_page = owner.data(ARTICLES, {"first": 2})["articles"]
    rest = owner.data(ARTICLES, {"first": 5, "after": first_page["pageInfo"]["endCursor"]})["articles"]
    assert [edge["node"]["id"] for edge in rest["edges"]] == ids[::-1][2:]
    drafts = owner.data(ARTICLES, {"filter": {"status": "DRAFT"}})["articles"]
    assert {edge["node"]["id"] for edge in drafts["edges"]} == set(ids[3:])
    repairs = owner.data(ARTICLES, {"filter": {"type": "REPAIR"}})["articles"]
    assert {edge["node"]["id"] for edge in repairs["edges"]} == {ids[1], ids[3]}
    node = owner.data(NODE, {"id": ids[0]})["node"]
    assert node == {"__typename": "Article", "id": ids[0], "title": "Article 0", "status": "PUBLISHED"}
    assert owner.last_statements == 1


def test_another_tenant_gets_nothing(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    article = create_article(owner, "Ours", publish=False)
    assert other_owner.data(ARTICLES, {})["articles"]["totalCount"] == 0
    assert other_owner.error_codes(NODE, {"id": article}) == ["NOT_FOUND"]
    for query, field in ((PUBLISH, "publishArticle"), (UNPUBLISH, "unpublishArticle")):
        payload = other_owner.data(query, {"input": {"id": article}})[field]
        assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    payload = other_owner.data(UPDATE_ARTICLE, {"input": {"id": article, "title": "Theirs"}})["updateArticle"]
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    assert owner.data(NODE, {"id": article})["node"]["title"] == "Ours"


def test_readers_read_and_only_writers_write(owner: GraphQLClient, tenant: TenantHandle) -> None:
    create_article(owner, "Readable")
    viewer = add_member(owner, tenant, "viewer")
    sales = add_member(owner, tenant, "sales")
    service = add_member(owner, tenant, "service")
    for reader in (viewer, sales, service):
        assert reader.data(ARTICLES, {})["articles"]["totalCount"] == 1
    for outsider in (viewer, sales):
        assert outsider.error_codes(CREATE_ARTICLE, {"input": {"title": "t", "problem": "p", "solution": "s"}}) == [
            "FORBIDDEN"
        ]
    assert _create(service, title="t", problem="p", solution="s")["userErrors"] == []


def test_a_portal_contact_reads_published_articles_only(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    staff = principal_of(runtime, owner)
    portal = dataclasses.replace(staff, scope=(("customer_id", "c"), ("contact_id", "k")), role=None)
    assert isinstance(portal, Principal)
    drafts_for_staff, drafts_for_portal = SqlCondition(), SqlCondition()
    article_visibility(staff, "a", drafts_for_staff)
    article_visibility(portal, "a", drafts_for_portal)
    assert drafts_for_staff.parts == []
    assert drafts_for_portal.parts == ["a.status = :published_status"]
    asked = article_conditions(portal, "a", ArticleFilter(status=None))
    assert asked.parts == ["a.status = :published_status"]
    # Asking for drafts in search changes nothing for a scoped principal.
    searched = SqlCondition()
    article_visibility(portal, "a", searched, drafts=True)
    assert searched.parts == ["a.status = :published_status"]
