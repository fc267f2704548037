"""Ticket and service set-up mutations: thin wrappers over saas/tickets/service."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.schema.common import Payload, provided, referenced_id, run_mutation
from saas.schema.context import RequestContext
from saas.tickets import service
from saas.tickets.graphql.types import (
    AgentSkills,
    ClassificationRule,
    SlaPolicy,
    Ticket,
    TicketComment,
    TicketPriority,
    TicketStatus,
    TicketTypeInfo,
)


@strawberry.input
class CreateTicketInput:
    customer_id: strawberry.ID = strawberry.field(description="A portal token may name its own customer only.")
    subject: str
    body: str
    channel: str | None = strawberry.field(
        default=strawberry.UNSET, description="e.g. email, phone; portal tokens: portal."
    )
    contact_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A contact of the customer; a portal token's own contact."
    )


@strawberry.input
class AssignTicketInput:
    id: strawberry.ID
    assignee_id: strawberry.ID


@strawberry.input
class UpdateTicketStatusInput:
    id: strawberry.ID
    status: TicketStatus


@strawberry.input
class ReclassifyTicketInput:
    id: strawberry.ID
    type: str | None = None
    priority: TicketPriority | None = None


@strawberry.input
class CommentOnTicketInput:
    id: strawberry.ID
    body: str
    public: bool | None = strawberry.field(
        default=None, description="Shown to the customer's portal; internal by default."
    )


@strawberry.input
class SetTicketTypeInput:
    key: str = strawberry.field(description="Lowercase letters, digits, '-' or '_', e.g. warranty.")
    name: str
    skills: list[str] | None = strawberry.field(default=strawberry.UNSET, description="The type's key when left out.")


@strawberry.input
class CreateClassificationRuleInput:
    name: str
    keywords: list[str] | None = strawberry.UNSET
    pattern: str | None = strawberry.UNSET
    customer_tier: str | None = strawberry.UNSET
    channel: str | None = strawberry.UNSET
    set_type: str
    set_priority: TicketPriority | None = strawberry.UNSET
    position: int | None = strawberry.field(default=strawberry.UNSET, description="After the last rule when left out.")


@strawberry.input
class UpdateClassificationRuleInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    keywords: list[str] | None = strawberry.UNSET
    pattern: str | None = strawberry.UNSET
    customer_tier: str | None = strawberry.UNSET
    channel: str | None = strawberry.UNSET
    set_type: str | None = strawberry.UNSET
    set_priority: TicketPriority | None = strawberry.UNSET
    position: int | None = strawberry.UNSET


@strawberry.input
class DeleteClassificationRuleInput:
    id: strawberry.ID


@strawberry.input
class ReorderClassificationRulesInput:
    ids: list[strawberry.ID] = strawberry.field(description="Every rule once, in the order to try them.")


@strawberry.input
class SetAgentSkillsInput:
    member_id: strawberry.ID
    skills: list[str]


@strawberry.input
class SetSlaPolicyInput:
    type: str
    priority: TicketPriority
    first_response_minutes: int
    resolution_minutes: int


@strawberry.type
class TicketPayload(Payload):
    ticket: Ticket | None = None


@strawberry.type
class CommentOnTicketPayload(Payload):
    ticket: Ticket | None = None
    comment: TicketComment | None = None


@strawberry.type
class SetTicketTypePayload(Payload):
    ticket_type: TicketTypeInfo | None = None


@strawberry.type
class ClassificationRulePayload(Payload):
    classification_rule: ClassificationRule | None = None


@strawberry.type
class ReorderClassificationRulesPayload(Payload):
    classification_rules: list[ClassificationRule] = strawberry.field(default_factory=list)


@strawberry.type
class SetAgentSkillsPayload(Payload):
    agent_skills: AgentSkills | None = None


@strawberry.type
class SetSlaPolicyPayload(Payload):
    sla_policy: SlaPolicy | None = None


def _ticket(row: Any) -> dict[str, Any]:
    return {"ticket": Ticket.from_model(row)}


def _rule(row: Any) -> dict[str, Any]:
    return {"classification_rule": ClassificationRule.from_model(row)}


async def _write(info: Info[RequestContext, None], work: Any, *args: Any) -> Any:
    return await info.context.write(work, info.context.require_principal(), *args)


@strawberry.type
class TicketMutations:
    @strawberry.mutation(
        description="A new ticket, classified by the tenant's rules, numbered, given its SLA due times and "
        "dispatched to a qualified agent (or left NEW, the managers notified)."
    )
    async def create_ticket(self, info: Info[RequestContext, None], input: CreateTicketInput) -> TicketPayload:
        async def run() -> dict[str, Any]:
            data = provided(input)
            data["customer_id"] = referenced_id(input.customer_id, "Customer", "customerId")
            if "contact_id" in data:
                data["contact_id"] = referenced_id(data["contact_id"], "Contact", "contactId")
            return _ticket(await _write(info, service.create_ticket, data))

        return await run_mutation(run, TicketPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Give an open ticket to a member (oneself: tickets:write; another: tickets:manage)."
    )
    async def assign_ticket(self, info: Info[RequestContext, None], input: AssignTicketInput) -> TicketPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "Ticket", "id")
            member = referenced_id(input.assignee_id, "Member", "assigneeId")
            return _ticket(await _write(info, service.assign_ticket, raw_id, member))

        return await run_mutation(run, TicketPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Move a ticket; a move its status does not allow is INVALID_TRANSITION.")
    async def update_ticket_status(
        self, info: Info[RequestContext, None], input: UpdateTicketStatusInput
    ) -> TicketPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "Ticket", "id")
            return _ticket(await _write(info, service.update_ticket_status, raw_id, input.status))

        return await run_mutation(run, TicketPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Set a ticket's type and priority by hand; its SLA due times follow.")
    async def reclassify_ticket(self, info: Info[RequestContext, None], input: ReclassifyTicketInput) -> TicketPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "Ticket", "id")
            data = {"type": input.type, "priority": input.priority}
            return _ticket(await _write(info, service.reclassify_ticket, raw_id, data))

        return await run_mutation(run, TicketPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="A comment, internal unless `public`; a portal contact's are public.")
    async def comment_on_ticket(
        self, info: Info[RequestContext, None], input: CommentOnTicketInput
    ) -> CommentOnTicketPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "Ticket", "id")
            context = info.context
            principal = context.require_principal()

            def work(session: Any, principal: Any) -> tuple[Any, Any]:
                comment = service.comment_on_ticket(session, principal, raw_id, input.body, input.public)
                return comment, service.get_ticket(session, principal, raw_id)

            comment, ticket = await context.write(work, principal)
            return {"ticket": Ticket.from_model(ticket), "comment": TicketComment.from_model(comment)}

        return await run_mutation(run, CommentOnTicketPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Create or change a ticket type and its skills (tickets:manage).")
    async def set_ticket_type(
        self, info: Info[RequestContext, None], input: SetTicketTypeInput
    ) -> SetTicketTypePayload:
        async def run() -> dict[str, Any]:
            row = await _write(info, service.set_ticket_type, provided(input))
            return {"ticket_type": TicketTypeInfo.from_model(row)}

        return await run_mutation(run, SetTicketTypePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A classification rule; its pattern must be an RE2 expression. Inserted at `position`."
    )
    async def create_classification_rule(
        self, info: Info[RequestContext, None], input: CreateClassificationRuleInput
    ) -> ClassificationRulePayload:
        async def run() -> dict[str, Any]:
            return _rule(await _write(info, service.create_rule, provided(input)))

        return await run_mutation(run, ClassificationRulePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Change the given fields of a classification rule.")
    async def update_classification_rule(
        self, info: Info[RequestContext, None], input: UpdateClassificationRuleInput
    ) -> ClassificationRulePayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "ClassificationRule", "id")
            return _rule(await _write(info, service.update_rule, raw_id, provided(input, skip=("id",))))

        return await run_mutation(run, ClassificationRulePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="The rule stops classifying new tickets.")
    async def delete_classification_rule(
        self, info: Info[RequestContext, None], input: DeleteClassificationRuleInput
    ) -> ClassificationRulePayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "ClassificationRule", "id")
            return _rule(await _write(info, service.delete_rule, raw_id))

        return await run_mutation(run, ClassificationRulePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Put every classification rule in a new order.")
    async def reorder_classification_rules(
        self, info: Info[RequestContext, None], input: ReorderClassificationRulesInput
    ) -> ReorderClassificationRulesPayload:
        async def run() -> dict[str, Any]:
            ids = [referenced_id(v, "ClassificationRule", "ids", i) for i, v in enumerate(input.ids)]
            rows = await _write(info, service.reorder_rules, ids)
            return {"classification_rules": [ClassificationRule.from_model(row) for row in rows]}

        return await run_mutation(run, ReorderClassificationRulesPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Replace a member's skills for auto-dispatch (tickets:manage).")
    async def set_agent_skills(
        self, info: Info[RequestContext, None], input: SetAgentSkillsInput
    ) -> SetAgentSkillsPayload:
        async def run() -> dict[str, Any]:
            member = referenced_id(input.member_id, "Member", "memberId")
            row = await _write(info, service.set_agent_skills, member, input.skills)
            return {"agent_skills": AgentSkills.from_model(row)}

        return await run_mutation(run, SetAgentSkillsPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="The SLA of a ticket type and priority (tickets:manage).")
    async def set_sla_policy(self, info: Info[RequestContext, None], input: SetSlaPolicyInput) -> SetSlaPolicyPayload:
        async def run() -> dict[str, Any]:
            row = await _write(info, service.set_sla_policy, provided(input))
            return {"sla_policy": SlaPolicy.from_model(row)}

        return await run_mutation(run, SetSlaPolicyPayload)  # type: ignore[no-any-return]
