"""The only place that changes the knowledge base or searches it: permissions, input checks, the
search columns, the audit log and events.

Every write of an article's text rewrites its search columns in the same statement's row
(`_index`), so search never sees text without its words. Status changes lock the row, so that
two publishers cannot both publish (one gets INVALID_TRANSITION).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, desc, func, literal, or_, select, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from saas.audit.log import record_change, snapshot
from saas.auth.permissions import KNOWLEDGE_READ, KNOWLEDGE_WRITE, require
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.errors import BadUserInputError, FieldError, ForbiddenError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.knowledge import text as search_text
from saas.knowledge.graphql.types import Article as ArticleType
from saas.knowledge.models import Article, ArticleStatus
from saas.knowledge.rules import article_visibility, reads_drafts
from saas.validation import Checker

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_TYPE = 50
MAX_QUERY = 200
MAX_HITS = 50
# A trigram match adds at most this much to the rank: a whole-word match always counts for more.
TRIGRAM_WEIGHT = 0.1
SNIPPET_OPTIONS = (
    'StartSel=<b>, StopSel=</b>, MaxWords=30, MinWords=10, ShortWord=0, MaxFragments=2, FragmentDelimiter=" … "'
)
_SEARCH_COLUMNS = ("search_vector", "search_text")


def _now() -> datetime:
    return datetime.now(UTC)


def _invalid(field: str, code: str, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", field], code, message)])


def _snapshot(article: Article) -> dict[str, Any]:
    """The audit snapshot without the search columns (derived from the text, and large)."""
    return {key: value for key, value in snapshot(article).items() if key not in _SEARCH_COLUMNS}


def _record(
    session: Session, principal: Principal, action: str, article: Article, before: dict[str, Any] | None
) -> None:
    """The audit entry and the domain event (the article as the API returns it); `action` names both."""
    record_change(session, principal, action, "Article", article.id, before, _snapshot(article))
    emit_event(session, action, {"article": api_object(ArticleType.from_model(article))})


def _check(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    check = Checker(data)
    check.text("title", required=creating, max_length=MAX_TITLE)
    check.text("problem", required=creating, max_length=MAX_BODY)
    check.text("solution", required=creating, max_length=MAX_BODY)
    check.text("type", max_length=MAX_TYPE)
    check.tags("tags")
    clean = check.done()
    for field in ("title", "problem", "solution", "type"):
        if field in clean and clean[field] is None:
            if field == "type" and creating:
                clean.pop(field)
                continue
            raise _invalid(field, UserErrorCode.REQUIRED, f"{field} must not be empty")
    if clean.get("type") is not None:
        clean["type"] = clean["type"].lower()
    return clean


def _index(article: Article) -> None:
    """Rewrite the search columns from the article's text (same flush as the text)."""
    article.search_vector = search_text.document_vector(
        [(article.title, "A"), (" ".join(article.tags or []), "A"), (article.problem, "B"), (article.solution, "C")]
    )
    article.search_text = search_text.spaced_text(article.title, article.problem, article.solution)


def _readable(session: Session, principal: Principal, article_id: uuid.UUID, *, lock: bool = False) -> Article | None:
    condition = SqlCondition()
    article_visibility(principal, "articles", condition)
    query = select(Article).where(Article.id == article_id, text(condition.sql)).params(**condition.params)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def _writable(session: Session, principal: Principal, article_id: uuid.UUID) -> Article:
    require(principal.permissions, KNOWLEDGE_WRITE)
    article = _readable(session, principal, article_id, lock=True)
    if article is None:
        raise _invalid("id", UserErrorCode.NOT_FOUND, "No such article")
    return article


def get_article(session: Session, principal: Principal, article_id: uuid.UUID) -> Article:
    require(principal.permissions, KNOWLEDGE_READ)
    article = _readable(session, principal, article_id)
    if article is None:
        raise NotFoundError("Article not found", id=str(article_id))
    return article


def create_article(
    session: Session, principal: Principal, data: dict[str, Any], *, source_ticket_id: uuid.UUID | None = None
) -> Article:
    """A DRAFT article (type `inquiry` unless given); staff publish it once reviewed.

    `source_ticket_id` is set only by `resolve_ticket` (saas/knowledge/resolution.py), which has
    already read the ticket under the caller's visibility.
    """
    require(principal.permissions, KNOWLEDGE_WRITE)
    clean = _check(data, creating=True)
    now = _now()
    article = Article(
        id=uuid.uuid4(),
        title=clean["title"],
        problem=clean["problem"],
        solution=clean["solution"],
        type=clean.get("type") or "inquiry",
        tags=clean.get("tags") or [],
        status=ArticleStatus.DRAFT.value,
        created_by_id=principal.membership_id,
        source_ticket_id=source_ticket_id,
        created_at=now,
        updated_at=now,
    )
    _index(article)
    session.add(article)
    session.flush()
    _record(session, principal, "article.created", article, None)
    return article


def update_article(session: Session, principal: Principal, article_id: uuid.UUID, data: dict[str, Any]) -> Article:
    """Change the text, type or tags (fields left out stay); the search columns follow."""
    clean = _check(data, creating=False)
    article = _writable(session, principal, article_id)
    before = _snapshot(article)
    for field, value in clean.items():
        setattr(article, field, value)
    article.updated_at = _now()
    _index(article)
    session.flush()
    _record(session, principal, "article.updated", article, before)
    return article


def _move(session: Session, principal: Principal, article_id: uuid.UUID, to: ArticleStatus, action: str) -> Article:
    article = _writable(session, principal, article_id)
    if article.status == to.value:
        raise _invalid("id", UserErrorCode.INVALID_TRANSITION, f"The article is already {to.value}")
    before = _snapshot(article)
    article.status = to.value
    article.published_at = _now() if to is ArticleStatus.PUBLISHED else None
    article.updated_at = _now()
    session.flush()
    _record(session, principal, action, article, before)
    return article


def publish_article(session: Session, principal: Principal, article_id: uuid.UUID) -> Article:
    """DRAFT → PUBLISHED: every reader of the knowledge base finds it from now on."""
    return _move(session, principal, article_id, ArticleStatus.PUBLISHED, "article.published")


def unpublish_article(session: Session, principal: Principal, article_id: uuid.UUID) -> Article:
    """PUBLISHED → DRAFT: back to staff only."""
    return _move(session, principal, article_id, ArticleStatus.DRAFT, "article.unpublished")


@dataclass(frozen=True)
class Hit:
    article: Article
    rank: float
    snippet: str


def search(
    session: Session, principal: Principal, query: str, first: int | None, include_drafts: bool = False
) -> list[Hit]:
    """Articles matching `query`, best first, in one statement.

    A match has every word of the query (the last one as a prefix), or is close to the query by
    trigrams (pg_trgm word similarity: a misspelt or partial word). Rank: `ts_rank_cd` (cover
    density: the query's words close together, in the title rather than the solution) plus at
    most TRIGRAM_WEIGHT for the trigram similarity. The snippet is `ts_headline` of the segmented,
    HTML-escaped text with the matched words in `<b>…</b>`.
    """
    require(principal.permissions, KNOWLEDGE_READ)
    if include_drafts and not reads_drafts(principal):
        raise ForbiddenError("Drafts are for staff: a portal token searches published articles only")
    query = " ".join(query.split())
    if len(query) > MAX_QUERY:
        raise BadUserInputError(f"query must be at most {MAX_QUERY} characters", argument="query")
    limit = 10 if first is None else first
    if not 0 <= limit <= MAX_HITS:
        raise BadUserInputError(f"first must be between 0 and {MAX_HITS}", argument="first")
    terms = search_text.query_terms(query)
    if terms is None or limit == 0:
        return []
    tsquery = bindparam("terms", terms, type_=TSQUERY)
    similarity = func.word_similarity(literal(query), Article.search_text)
    rank = (func.ts_rank_cd(Article.search_vector, tsquery) + TRIGRAM_WEIGHT * similarity).label("rank")
    snippet = func.ts_headline(
        text("'simple'::regconfig"), Article.search_text, tsquery, literal(SNIPPET_OPTIONS)
    ).label("snippet")
    condition = SqlCondition()
    article_visibility(principal, "articles", condition, drafts=include_drafts)
    rows = session.execute(
        select(Article, rank, snippet)
        .where(
            or_(Article.search_vector.op("@@")(tsquery), literal(query).op("<%")(Article.search_text)),
            text(condition.sql),
        )
        .params(**condition.params)
        .order_by(desc(rank), Article.id)
        .limit(limit)
    ).all()
    return [Hit(row[0], float(row[1]), search_text.readable_snippet(row[2])) for row in rows]
