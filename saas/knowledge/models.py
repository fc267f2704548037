"""Knowledge-base articles and the search columns the service keeps beside their text."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKeyConstraint, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class ArticleStatus(StrEnum):
    """DRAFT: being written, seen by staff only; PUBLISHED: found by every reader of the knowledge base."""

    DRAFT = "draft"
    PUBLISHED = "published"


class Article(TenantOwned, Base):
    """A problem and its solution.

    `search_vector` (the words of title, tags, problem and solution, weighted in that order) and
    `search_text` (the same text with its words set apart by spaces, for trigram matching and
    snippets) are written by the service with every change of the text (`saas/knowledge/text.py`):
    Chinese has no spaces, so PostgreSQL alone cannot find its words. Both are deferred: lists
    never load them.
    """

    __tablename__ = "articles"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["memberships.tenant_id", "memberships.id"]),
        ForeignKeyConstraint(["tenant_id", "source_ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        CheckConstraint("status IN ('draft', 'published')", name="status_known"),
        CheckConstraint("(status = 'published') = (published_at IS NOT NULL)", name="published_at_when_published"),
        Index(
            "ux_articles_tenant_source_ticket",
            "tenant_id",
            "source_ticket_id",
            unique=True,
            postgresql_where=text("source_ticket_id IS NOT NULL"),
        ),
        Index("ix_articles_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_articles_tenant_status", "tenant_id", "status", "created_at", "id"),
        # GIN led by tenant_id (btree_gin): one index answers "this tenant's articles with these words".
        Index("ix_articles_search_vector", "tenant_id", "search_vector", postgresql_using="gin"),
        Index(
            "ix_articles_search_trigrams",
            "tenant_id",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    problem: Mapped[str] = mapped_column(Text, nullable=False)
    solution: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(String(50), nullable=False)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), nullable=False, server_default="{}")
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="draft")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    source_ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, nullable=False, server_default=text("''::tsvector"), deferred=True
    )
    search_text: Mapped[str] = mapped_column(Text, nullable=False, server_default="", deferred=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ArticleUse(TenantOwned, Base):
    """An article helped with a ticket: one row per article and ticket (the primary key), so
    recording the same use again adds nothing and `topArticles` counts tickets, not clicks."""

    __tablename__ = "article_uses"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "article_id"], ["articles.tenant_id", "articles.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"], ondelete="CASCADE"),
        Index("ix_article_uses_tenant_ticket", "tenant_id", "ticket_id"),
    )

    article_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    used_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()
