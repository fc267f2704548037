"""GraphQL types of tickets, their comments, types, classification rules, agents' skills and SLA policies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from saas.accounts.graphql.loaders import member_of
from saas.accounts.graphql.types import Member
from saas.customers.graphql.types import Contact, Customer
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id, to_global_id
from saas.tickets import models
from saas.tickets.models import TicketPriority, TicketStatus
from saas.tickets.rules import TicketFilter, reads_internal_fields, ticket_number

if TYPE_CHECKING:
    from saas.knowledge.graphql.types import Article

# The domain's enums are the GraphQL enums: exposed once, here, under their own names.
strawberry.enum(
    TicketStatus,
    name="TicketStatus",
    description="NEW → ASSIGNED → IN_PROGRESS ⇄ WAITING → RESOLVED → CLOSED; reopening goes back to IN_PROGRESS.",
)
strawberry.enum(TicketPriority, name="TicketPriority")


@strawberry.type(description="A comment on a ticket; portal tokens see the public ones only.")
class TicketComment(Node):
    body: str
    public: bool
    from_customer: bool = strawberry.field(description="Written through the customer's portal.")
    created_at: datetime
    author_id: strawberry.Private[uuid.UUID | None]
    # Who wrote it as recorded: a member's e-mail, or the portal contact.
    author_label: strawberry.Private[str]

    @strawberry.field(
        description="Who wrote it: the member's e-mail, or the portal contact. A portal token reads a member "
        "by display name only (as `Ticket.assigneeName`)."
    )
    async def author_name(self, info: Info[RequestContext, None]) -> str:
        if self.author_id is None or reads_internal_fields(info.context.require_principal()):
            return self.author_label
        member = await member_of(info.context, self.author_id)
        return "" if member is None else member.name

    @strawberry.field(description="The member who wrote it; null for the customer's portal contact.")
    async def author(self, info: Info[RequestContext, None]) -> Member | None:
        if info.context.require_principal().scope:
            return None
        return await member_of(info.context, self.author_id)

    @classmethod
    def from_model(cls, row: models.TicketComment) -> TicketComment:
        return cls(
            id=strawberry.ID(to_global_id("TicketComment", row.id)),
            body=row.body,
            public=row.public,
            from_customer=row.from_customer,
            created_at=row.created_at,
            author_id=row.author_id,
            author_label=row.author_label,
        )


TicketCommentConnection = CountedConnection[TicketComment]


@strawberry.type(description="A rule of auto-classification: all the conditions it gives must hold.")
class ClassificationRule(Node):
    name: str
    keywords: list[str] = strawberry.field(description="Any one of them in the subject or body, ignoring case.")
    pattern: str | None = strawberry.field(description="An RE2 regular expression, ignoring case.")
    customer_tier: str | None
    channel: str | None
    set_type: str
    set_priority: TicketPriority
    position: int = strawberry.field(description="Rules are tried from the lowest position on.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.ClassificationRule) -> ClassificationRule:
        return cls(
            id=strawberry.ID(to_global_id("ClassificationRule", row.id)),
            name=row.name,
            keywords=list(row.keywords),
            pattern=row.pattern,
            customer_tier=row.customer_tier,
            channel=row.channel,
            set_type=row.set_type,
            set_priority=TicketPriority(row.set_priority),
            position=row.position,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A customer's service request.")
class Ticket(Node):
    number: str = strawberry.field(description="Per tenant, e.g. T-000123.")
    subject: str
    body: str
    type: str = strawberry.field(description="A ticket type's key (`ticketTypes`).")
    priority: TicketPriority
    status: TicketStatus
    channel: str | None
    breached: bool = strawberry.field(description="The SLA job found a due time passed (set once).")
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    breached_at: datetime | None
    assigned_at: datetime | None
    first_responded_at: datetime | None = strawberry.field(
        description="The first public staff comment or the first status move past ASSIGNED."
    )
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    customer_id: strawberry.Private[uuid.UUID]
    contact_id: strawberry.Private[uuid.UUID | None]
    assignee_id: strawberry.Private[uuid.UUID | None]
    classified_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def customer(self, info: Info[RequestContext, None]) -> Customer | None:
        from saas.tickets.graphql.loaders import ticket_customer_loader

        return await ticket_customer_loader(info.context).load(self.customer_id)

    @strawberry.field
    async def contact(self, info: Info[RequestContext, None]) -> Contact | None:
        from saas.tickets.graphql.loaders import ticket_contact_loader

        return None if self.contact_id is None else await ticket_contact_loader(info.context).load(self.contact_id)

    @strawberry.field(description="The member handling it; null for a portal token (it reads `assigneeName`).")
    async def assignee(self, info: Info[RequestContext, None]) -> Member | None:
        if not reads_internal_fields(info.context.require_principal()):
            return None
        return await member_of(info.context, self.assignee_id)

    @strawberry.field(
        description="The display name of the member handling it, for staff and the customer's portal alike."
    )
    async def assignee_name(self, info: Info[RequestContext, None]) -> str | None:
        member = await member_of(info.context, self.assignee_id)
        return None if member is None else member.name

    @strawberry.field(
        description="The rule that set the type and priority; null when none matched, and for a portal token."
    )
    async def classified_by(self, info: Info[RequestContext, None]) -> ClassificationRule | None:
        from saas.tickets.graphql.loaders import rule_loader

        if self.classified_by_id is None or not reads_internal_fields(info.context.require_principal()):
            return None
        return await rule_loader(info.context).load(self.classified_by_id)

    @strawberry.field(
        description="The article written when it was resolved (`resolveTicket`); portal principals see it once published."
    )
    async def article(
        self, info: Info[RequestContext, None]
    ) -> Annotated[Article, strawberry.lazy("saas.knowledge.graphql.types")] | None:
        from saas.knowledge.graphql.loaders import ticket_article_loader

        return await ticket_article_loader(info.context).load(self.raw_id)

    @strawberry.field(description="Oldest first; portal tokens see the public ones only.")
    async def comments(
        self, info: Info[RequestContext, None], first: int | None = 50, after: str | None = None
    ) -> TicketCommentConnection:
        from saas.tickets.graphql.loaders import ticket_comments

        return await ticket_comments(info.context, self.raw_id, first, after)

    @classmethod
    def from_model(cls, row: models.Ticket) -> Ticket:
        return cls(
            id=strawberry.ID(to_global_id("Ticket", row.id)),
            number=ticket_number(row.number),
            subject=row.subject,
            body=row.body,
            type=row.type,
            priority=TicketPriority(row.priority),
            status=TicketStatus(row.status),
            channel=row.channel,
            breached=row.breached_at is not None,
            first_response_due_at=row.first_response_due_at,
            resolution_due_at=row.resolution_due_at,
            breached_at=row.breached_at,
            assigned_at=row.assigned_at,
            first_responded_at=row.first_responded_at,
            resolved_at=row.resolved_at,
            closed_at=row.closed_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_id=row.id,
            customer_id=row.customer_id,
            contact_id=row.contact_id,
            assignee_id=row.assignee_id,
            classified_by_id=row.classified_by_id,
        )


TicketConnection = CountedConnection[Ticket]


@strawberry.input(description="All given conditions must hold.")
class TicketFilterInput:
    type: str | None = strawberry.field(default=None, description="A ticket type's key.")
    status: TicketStatus | None = None
    assignee_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    breached: bool | None = None
    search: str | None = strawberry.field(default=None, description="Part of the number, subject or body, any case.")

    def to_rule(self) -> TicketFilter:
        return TicketFilter(
            type=self.type,
            status=self.status,
            assignee_id=decode_id(self.assignee_id, "Member") if self.assignee_id else None,
            customer_id=decode_id(self.customer_id, "Customer") if self.customer_id else None,
            breached=self.breached,
            search=self.search,
        )


def ticket_filter_of(given: Any) -> TicketFilter | None:
    """The rule's filter of a `TicketFilterInput` as resolvers get it, or as the compiler reads the
    argument (a dict by GraphQL name, enums as their values)."""
    if given is None:
        return None
    if isinstance(given, TicketFilterInput):
        return given.to_rule()
    status = given.get("status")
    return TicketFilterInput(
        type=given.get("type"),
        status=None if status is None else TicketStatus(getattr(status, "value", status)),
        assignee_id=given.get("assigneeId", given.get("assignee_id")),
        customer_id=given.get("customerId", given.get("customer_id")),
        breached=given.get("breached"),
        search=given.get("search"),
    ).to_rule()


@strawberry.type(name="TicketType", description="A kind of ticket and the skills that qualify an agent for it.")
class TicketTypeInfo:
    key: str
    name: str
    skills: list[str] = strawberry.field(description="An agent with any of these skills may be given its tickets.")

    @classmethod
    def from_model(cls, row: models.TicketType) -> TicketTypeInfo:
        return cls(key=row.key, name=row.name, skills=list(row.skills))


@strawberry.type(description="How soon tickets of a type and priority must be answered and resolved.")
class SlaPolicy:
    type: str
    priority: TicketPriority
    first_response_minutes: int
    resolution_minutes: int

    @classmethod
    def from_model(cls, row: models.SlaPolicy) -> SlaPolicy:
        return cls(
            type=row.type,
            priority=TicketPriority(row.priority),
            first_response_minutes=row.first_response_minutes,
            resolution_minutes=row.resolution_minutes,
        )


@strawberry.type(description="A member's skills for auto-dispatch.")
class AgentSkills:
    skills: list[str]
    last_assigned_at: datetime | None
    member_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def member(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.member_id)

    @classmethod
    def from_model(cls, row: models.AgentSkills) -> AgentSkills:
        return cls(skills=list(row.skills), last_assigned_at=row.last_assigned_at, member_id=row.membership_id)
