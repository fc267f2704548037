"""Helpers of the service tests (knowledge base, returns, work orders): build records through the API, count rows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from saas.auth.principal import Principal
from saas.errors import InputInvalid
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle

SERVICE_TABLES = (
    "articles",
    "return_requests",
    "return_lines",
    "work_orders",
    "audit_log",
    "outbox_events",
    "notifications",
)
ERRORS = "userErrors { field code message }"


def service_counts(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, int]:
    with tenant_session(runtime.engine, tenant_id) as session:
        return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in SERVICE_TABLES}


def events_of(runtime: Runtime, tenant_id: uuid.UUID, event_type: str) -> list[dict[str, Any]]:
    with tenant_session(runtime.engine, tenant_id) as session:
        rows = session.execute(
            text("SELECT payload FROM outbox_events WHERE type = :type ORDER BY seq"), {"type": event_type}
        )
        return [row[0] for row in rows]


def principal_of(runtime: Runtime, client: GraphQLClient) -> Principal:
    principal = runtime.authenticate(f"Bearer {client.token}")
    assert principal is not None
    return principal


def race(runtime: Runtime, tenant: TenantHandle, writers: int, work: Callable[[Any, int], Any]) -> list[str]:
    """Run `work(session, n)` in `writers` threads, each in its own transaction, released together;
    the sorted outcomes ("ok" or the first user error's code)."""
    start = threading.Barrier(writers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        start.wait(timeout=20)
        try:
            with tenant_session(runtime.engine, tenant.id) as session:
                work(session, n)
            outcome = "ok"
        except InputInvalid as invalid:
            outcome = str(invalid.errors[0].code)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


ARTICLE_FIELDS = "id title problem solution type tags status publishedAt"
CREATE_ARTICLE = f"""mutation($input: CreateArticleInput!) {{
  createArticle(input: $input) {{ article {{ {ARTICLE_FIELDS} }} {ERRORS} }}
}}"""
UPDATE_ARTICLE = f"""mutation($input: UpdateArticleInput!) {{
  updateArticle(input: $input) {{ article {{ {ARTICLE_FIELDS} }} {ERRORS} }}
}}"""
PUBLISH = f"""mutation($input: PublishArticleInput!) {{
  publishArticle(input: $input) {{ article {{ id status publishedAt }} {ERRORS} }}
}}"""
UNPUBLISH = f"""mutation($input: UnpublishArticleInput!) {{
  unpublishArticle(input: $input) {{ article {{ id status publishedAt }} {ERRORS} }}
}}"""
SEARCH = """query($query: String!, $first: Int, $drafts: Boolean) {
  searchKnowledgeBase(query: $query, first: $first, includeDrafts: $drafts) { article { id title } rank snippet }
}"""


def create_article(
    client: GraphQLClient,
    title: str,
    problem: str = "A problem.",
    solution: str = "A solution.",
    *,
    publish: bool = True,
    **extra: Any,
) -> str:
    payload = client.data(
        CREATE_ARTICLE, {"input": {"title": title, "problem": problem, "solution": solution, **extra}}
    )["createArticle"]
    assert payload["userErrors"] == [], payload
    article_id = str(payload["article"]["id"])
    if publish:
        published = client.data(PUBLISH, {"input": {"id": article_id}})["publishArticle"]
        assert published["userErrors"] == [], published
    return article_id


def search(client: GraphQLClient, query: str, first: int | None = None, drafts: bool | None = None) -> list[Any]:
    return list(client.data(SEARCH, {"query": query, "first": first, "drafts": drafts})["searchKnowledgeBase"])
