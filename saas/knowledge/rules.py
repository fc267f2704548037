"""Who reads which articles, as SQL: the one place for the list, `node(id)`, loaders and search.

Staff (members and API keys holding `knowledge:read`) read drafts and published articles alike;
search finds published ones unless they ask for drafts too (`includeDrafts`). A scoped principal
(a customer's portal contact) reads published articles only, whatever it asks: drafts are
unreviewed answers, often written from one customer's ticket. Conditions name no tenant: the
compiler adds it to compiled reads, and the ORM paths run on the tenant-bound session under
row-level security.
"""

from __future__ import annotations

from dataclasses import dataclass

from saas.auth.permissions import KNOWLEDGE_READ
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.knowledge.models import ArticleStatus


def reads_drafts(principal: Principal) -> bool:
    """Staff read drafts; a scoped principal (a portal contact) never does."""
    return not principal.scope


def article_visibility(principal: Principal, alias: str, condition: SqlCondition, *, drafts: bool = True) -> None:
    """The articles the principal may read; with `drafts=False` (search without `includeDrafts`),
    published ones only for everyone."""
    if not (drafts and reads_drafts(principal)):
        condition.add(f"{alias}.status = :published_status", published_status=ArticleStatus.PUBLISHED.value)


def linked_article_visibility(principal: Principal, alias: str) -> SqlCondition:
    """An article reached through a link (a ticket's `article`): `article_visibility`, and nothing
    without `knowledge:read`, so that the link reads null when the article is not the caller's."""
    condition = SqlCondition()
    if KNOWLEDGE_READ not in principal.permissions:
        condition.add("FALSE")
        return condition
    article_visibility(principal, alias, condition)
    return condition


@dataclass(frozen=True)
class ArticleFilter:
    status: ArticleStatus | None = None
    type: str | None = None


def article_conditions(principal: Principal, alias: str, flt: ArticleFilter | None = None) -> SqlCondition:
    """`articles(filter)`: what the principal reads, narrowed by the filter."""
    condition = SqlCondition()
    article_visibility(principal, alias, condition)
    if flt is not None:
        condition.given(f"{alias}.status", "f_status", flt.status, convert=lambda v: ArticleStatus(v).value)
        condition.given(f"{alias}.type", "f_type", flt.type, convert=lambda v: v.strip().lower())
    return condition
