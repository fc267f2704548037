"""GraphQL types of the reports: rows of figures (not nodes), money as `Decimal` with its currency."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from saas.deals.graphql.types import PipelineStage
from saas.deals.models import StageKind
from saas.knowledge.graphql.types import Article
from saas.knowledge.models import ArticleStatus
from saas.leads.graphql.types import Channel
from saas.reports.service import Collection, Period
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id
from saas.tickets.models import TicketStatus

if TYPE_CHECKING:
    from saas.accounts.graphql.types import Member

strawberry.enum(Period, name="TrendPeriod", description="A trend's bucket; weeks start on Monday (ISO 8601), UTC.")

CURRENCY = (
    "The ISO 4217 currency of this row's amounts. Amounts in different currencies are never added"
    " together: a report has a row per currency (null only on the zero rows of a report that found"
    " nothing and was not asked for a currency)."
)


def stage_from_json(row: dict[str, Any]) -> PipelineStage:
    return PipelineStage(
        id=strawberry.ID(to_global_id("PipelineStage", row["id"])),
        name=row["name"],
        probability=Decimal(row["probability"]),
        kind=StageKind(row["kind"]),
        position=row["position"],
        version=row["version"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


@strawberry.type(description="One stage of pipelineReport, in one currency.")
class PipelineStageRow:
    stage: PipelineStage
    currency: str | None = strawberry.field(description=CURRENCY)
    count: int = strawberry.field(description="Opportunities in the stage created in the range.")
    amount: Decimal = strawberry.field(description="Their amounts added up.")
    weighted_amount: Decimal = strawberry.field(
        description="Each one's amount x the stage's probability, rounded to the cent, added up."
    )


@strawberry.type(description="One period of salesTrend, in one currency.")
class TrendPoint:
    period_start: date = strawberry.field(description="The period's first day.")
    currency: str | None = strawberry.field(description=CURRENCY)
    won_count: int = strawberry.field(description="Opportunities won (closedAt) in the period.")
    won_amount: Decimal


@strawberry.type(description="One member of repLeaderboard, in one currency.")
class RepRow:
    member_id: strawberry.Private[uuid.UUID]
    currency: str = strawberry.field(description=CURRENCY)
    won_count: int = strawberry.field(description="Opportunities the member owns won (closedAt) in the range.")
    won_amount: Decimal
    open_pipeline: Decimal = strawberry.field(
        description="Amount of the member's open opportunities created in the range."
    )

    @strawberry.field(description="The owner of the opportunities counted.")
    async def member(
        self, info: Info[RequestContext, None]
    ) -> Annotated[Member, strawberry.lazy("saas.accounts.graphql.types")]:
        from saas.accounts.graphql.loaders import member_loader

        # Opportunities name a member of their own tenant: found.
        return await member_loader(info.context).load(self.member_id)  # type: ignore[return-value]


@strawberry.type(description="paymentCollection in one currency.")
class CurrencyCollection:
    currency: str
    due: Decimal = strawberry.field(description="Amounts of the installments due in the range.")
    received: Decimal = strawberry.field(description="Received toward those installments (partial payments count).")
    overdue: Decimal = strawberry.field(description="Still outstanding on those due before today (UTC).")
    overdue_count: int = strawberry.field(description="Installments due before today and not fully paid.")

    @classmethod
    def of(cls, row: Collection) -> CurrencyCollection:
        return cls(
            currency=row.currency,
            due=row.due,
            received=row.received,
            overdue=row.overdue,
            overdue_count=row.overdue_count,
        )


@strawberry.type(
    description="Installments due in the range (dueOn): due, received toward them, overdue. The top-level"
    " amounts are those of `currency`: the filter's, or the only one found; when several currencies were"
    " found and none asked for, they are null (never added across currencies) and `byCurrency` has each."
)
class PaymentCollection:
    currency: str | None = strawberry.field(description="The currency of due, received and overdue.")
    due: Decimal | None
    received: Decimal | None
    overdue: Decimal | None
    overdue_count: int = strawberry.field(
        description="Installments due before today and not fully paid, all currencies."
    )
    by_currency: list[CurrencyCollection] = strawberry.field(description="The figures per currency, by code.")

    @classmethod
    def of(cls, rows: list[Collection], currency: str | None) -> PaymentCollection:
        if currency is not None and not rows:
            rows = [Collection(currency, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 0)]
        by_currency = [CurrencyCollection.of(row) for row in rows]
        count = sum(row.overdue_count for row in rows)
        if len(rows) == 1:
            only = rows[0]
            return cls(
                currency=only.currency,
                due=only.due,
                received=only.received,
                overdue=only.overdue,
                overdue_count=count,
                by_currency=by_currency,
            )
        zero = None if rows else Decimal("0.00")  # several currencies: no total across them
        return cls(currency=None, due=zero, received=zero, overdue=zero, overdue_count=count, by_currency=by_currency)


def channel_from_json(row: dict[str, Any] | None) -> Channel | None:
    if row is None:
        return None
    return Channel(
        id=strawberry.ID(to_global_id("Channel", row["id"])),
        name=row["name"],
        cost=Decimal(row["cost"]),
        currency=row["currency"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


@strawberry.type(description="An amount in one currency.")
class CurrencyAmount:
    currency: str
    amount: Decimal


RATE = 'converted / created, a decimal string with 4 places ("0.3333"); null when created is 0.'


@strawberry.type(
    description="leadFunnel for one channel (or, with `channel: null`, the leads without one). Its money is in"
    " the channel's currency."
)
class ChannelFunnelRow:
    channel: Channel | None = strawberry.field(description="Null on the row of the leads without a channel.")
    created: int = strawberry.field(description="Leads of the channel created in the range (the cohort).")
    claimed: int = strawberry.field(description="Of those, the ones ever claimed (claimedAt set).")
    converted: int = strawberry.field(description="Of those, the ones converted (whenever).")
    disqualified: int = strawberry.field(description="Of those, the ones disqualified (whenever).")
    conversion_rate: Decimal | None = strawberry.field(description=RATE)
    currency: str | None = strawberry.field(description="The channel's currency: that of cost, wonAmount and roi.")
    cost: Decimal | None = strawberry.field(description="The channel's cost (all of it, whatever the range).")
    won_amount: Decimal | None = strawberry.field(
        description="WON opportunities, in the channel's currency, of the customers the converted leads became;"
        " null on the row without a channel (see wonByCurrency)."
    )
    roi: Decimal | None = strawberry.field(
        description='(wonAmount - cost) / cost, 4 places ("1.5000" is 150 %); null when the cost is 0.'
    )
    won_by_currency: list[CurrencyAmount] = strawberry.field(
        description="The won amount in every currency (only the filter's, when it names one), by code."
    )

    @classmethod
    def of(cls, row: dict[str, Any]) -> ChannelFunnelRow:
        return cls(
            channel=channel_from_json(row["channel"]),
            created=row["created"],
            claimed=row["claimed"],
            converted=row["converted"],
            disqualified=row["disqualified"],
            conversion_rate=row["conversionRate"],
            currency=row["currency"],
            cost=row["cost"],
            won_amount=row["wonAmount"],
            roi=row["roi"],
            won_by_currency=[CurrencyAmount(currency=w["currency"], amount=w["amount"]) for w in row["wonByCurrency"]],
        )


@strawberry.type(
    description="The leads created in the range (createdAt: the cohort) and what became of them, whenever it"
    " happened; per channel with its cost, won amount and return on investment."
)
class LeadFunnel:
    created: int = strawberry.field(description="Leads created in the range.")
    claimed: int = strawberry.field(
        description="Of those, the ones ever claimed: taken from the pool (claimLeads) or created with an owner;"
        " a lead returned to the pool stays counted."
    )
    converted: int
    disqualified: int
    conversion_rate: Decimal | None = strawberry.field(description=RATE)
    by_channel: list[ChannelFunnelRow] = strawberry.field(
        description="Every channel, by name, then the leads without a channel (when there are any)."
    )

    @classmethod
    def of(cls, funnel: dict[str, Any]) -> LeadFunnel:
        return cls(
            created=funnel["created"],
            claimed=funnel["claimed"],
            converted=funnel["converted"],
            disqualified=funnel["disqualified"],
            conversion_rate=funnel["conversionRate"],
            by_channel=[ChannelFunnelRow.of(row) for row in funnel["byChannel"]],
        )


@strawberry.type(description="serviceReport: how many tickets of one type.")
class TicketTypeCount:
    type: str = strawberry.field(description="The ticket type's key.")
    count: int = strawberry.field(description="Tickets of the type created in the range.")


@strawberry.type(description="serviceReport: how many tickets stand in one status now.")
class TicketStatusCount:
    status: TicketStatus
    count: int = strawberry.field(description="Tickets created in the range that are in the status now.")


@strawberry.type(description="serviceReport: an article and how many tickets it helped with.")
class ArticleUseCount:
    article: Article
    uses: int = strawberry.field(description="Tickets it was used on (recordArticleUse) in the range.")


@strawberry.type(description="serviceReport: one member's load.")
class MemberWorkload:
    member_id: strawberry.Private[uuid.UUID]
    open_tickets: int = strawberry.field(
        description="Open tickets (NEW, ASSIGNED, IN_PROGRESS, WAITING) assigned to the member now, whenever created."
    )
    work_order_hours: Decimal = strawberry.field(
        description="hoursWorked of the member's COMPLETED work orders whose visit starts in the range."
    )

    @strawberry.field(description="The agent or technician.")
    async def member(
        self, info: Info[RequestContext, None]
    ) -> Annotated[Member, strawberry.lazy("saas.accounts.graphql.types")]:
        from saas.accounts.graphql.loaders import member_loader

        # Only active members of the caller's tenant are listed: found.
        return await member_loader(info.context).load(self.member_id)  # type: ignore[return-value]


def article_from_json(row: dict[str, Any]) -> Article:
    return Article(
        id=strawberry.ID(to_global_id("Article", row["id"])),
        title=row["title"],
        problem=row["problem"],
        solution=row["solution"],
        type=row["type"],
        tags=list(row["tags"] or []),
        status=ArticleStatus(row["status"]),
        published_at=None if row["published_at"] is None else datetime.fromisoformat(row["published_at"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        source_ticket_id=None if row["source_ticket_id"] is None else uuid.UUID(row["source_ticket_id"]),
    )


@strawberry.type(
    description="After-sales service in a range: the tickets the caller sees created in it (createdAt) by type and"
    " status, how fast they were answered and resolved, how many breached their SLA; the most used articles; each"
    " agent's open tickets and work-order hours. Means and rates are decimals, never floats."
)
class ServiceReport:
    by_type: list[TicketTypeCount] = strawberry.field(description="Every ticket type of the tenant, by key.")
    by_status: list[TicketStatusCount] = strawberry.field(description="Every status, in the workflow's order.")
    mean_first_response_minutes: Decimal | None = strawberry.field(
        description="Mean minutes from creation to the first response (firstRespondedAt) of the answered tickets,"
        " 2 places; null when none was answered."
    )
    mean_resolution_minutes: Decimal | None = strawberry.field(
        description="Mean minutes from creation to resolvedAt of the resolved (or closed) tickets, 2 places; null"
        " when none was resolved."
    )
    sla_breach_rate: Decimal | None = strawberry.field(
        description='Of the tickets with an SLA (due times), the share flagged breached, 4 places ("0.2500" is'
        " 25 %); null when none has an SLA."
    )
    top_articles: list[ArticleUseCount] = strawberry.field(
        description="The most used articles (uses recorded in the range, on tickets the caller sees), at most 10,"
        " most used first."
    )
    workload: list[MemberWorkload] = strawberry.field(
        description="Each active agent (with skills), and each active member with open tickets or work-order"
        " hours: most open tickets first."
    )

    @classmethod
    def of(cls, report: dict[str, Any]) -> ServiceReport:
        return cls(
            by_type=[TicketTypeCount(type=row["type"], count=row["count"]) for row in report["byType"]],
            by_status=[
                TicketStatusCount(status=TicketStatus(row["status"]), count=row["count"]) for row in report["byStatus"]
            ],
            mean_first_response_minutes=report["meanFirstResponseMinutes"],
            mean_resolution_minutes=report["meanResolutionMinutes"],
            sla_breach_rate=report["slaBreachRate"],
            top_articles=[
                ArticleUseCount(article=article_from_json(row["article"]), uses=row["uses"])
                for row in report["topArticles"]
            ],
            workload=[
                MemberWorkload(
                    member_id=uuid.UUID(row["memberId"]),
                    open_tickets=row["openTickets"],
                    work_order_hours=row["workOrderHours"],
                )
                for row in report["workload"]
            ],
        )
