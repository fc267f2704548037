"""The report queries: each figure comes from one SQL statement (saas/reports/service.py), run
under the caller's visibility; `RepRow.member` is read through the request's member loader."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import strawberry
from strawberry.types import Info

from saas.auth.permissions import DEALS_READ, LEADS_READ, TICKETS_READ, require
from saas.errors import BadUserInputError
from saas.money import parse_currency
from saas.reports import service, service_desk
from saas.reports.graphql.types import (
    CurrencyCollection,
    LeadFunnel,
    PaymentCollection,
    PipelineStageRow,
    RepRow,
    ServiceReport,
    TrendPoint,
    stage_from_json,
)
from saas.reports.rules import ReportWindow
from saas.reports.service import Period
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id

__all__ = ["CurrencyCollection", "ReportFilterInput", "ReportQueries"]


@strawberry.input(
    description="What a report counts; all given conditions hold. `from`/`to` are inclusive days (UTC); each"
    " report says which date it filters on."
)
class ReportFilterInput:
    from_: date | None = strawberry.field(default=None, name="from", description="First day counted (inclusive).")
    to: date | None = strawberry.field(default=None, description="Last day counted (inclusive).")
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="A Member id: their records only.")
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="A Team id: the records its members and its manager own."
    )
    currency: str | None = strawberry.field(default=None, description="Only amounts in this ISO 4217 currency.")

    def window(self) -> ReportWindow:
        currency = None
        if self.currency is not None:
            try:
                currency = parse_currency(self.currency)
            except ValueError as error:
                raise BadUserInputError(f"currency {error}", field="filter.currency") from error
        return ReportWindow(
            from_day=self.from_,
            to_day=self.to,
            owner_id=None if self.owner_id is None else decode_id(self.owner_id, "Member"),
            team_id=None if self.team_id is None else decode_id(self.team_id, "Team"),
            currency=currency,
        )


def _window(info: Info[RequestContext, None], filter: ReportFilterInput | None) -> ReportWindow:
    require(info.context.require_principal().permissions, DEALS_READ)
    return (filter or ReportFilterInput()).window()


@strawberry.type
class ReportQueries:
    @strawberry.field(
        description="Per pipeline stage (by position) and currency: count, amount and weighted amount of the"
        " opportunities the caller sees, filtered on their createdAt."
    )
    async def pipeline_report(
        self, info: Info[RequestContext, None], filter: ReportFilterInput | None = None
    ) -> list[PipelineStageRow]:
        window = _window(info, filter)
        principal = info.context.require_principal()
        rows = await info.context.read(service.pipeline_report, principal, window)
        return [
            PipelineStageRow(
                stage=stage_from_json(row["stage"]),
                currency=row["currency"],
                count=row["count"],
                amount=row["amount"],
                weighted_amount=row["weighted"],
            )
            for row in rows
        ]

    @strawberry.field(
        description="Won opportunities per period (filtered on closedAt) and currency; every period between"
        " from and to is listed, with zeros where nothing was won."
    )
    async def sales_trend(
        self, info: Info[RequestContext, None], period: Period, filter: ReportFilterInput | None = None
    ) -> list[TrendPoint]:
        window = _window(info, filter)
        principal = info.context.require_principal()
        today = datetime.now(UTC).date()
        rows = await info.context.read(service.sales_trend, principal, window, Period(period), today)
        return [
            TrendPoint(
                period_start=row["periodStart"],
                currency=row["currency"],
                won_count=row["wonCount"],
                won_amount=row["wonAmount"],
            )
            for row in rows
        ]

    @strawberry.field(
        description="Per owner and currency: won (filtered on closedAt) count and amount, and the open pipeline"
        " (open opportunities filtered on createdAt); best first."
    )
    async def rep_leaderboard(
        self, info: Info[RequestContext, None], filter: ReportFilterInput | None = None
    ) -> list[RepRow]:
        window = _window(info, filter)
        principal = info.context.require_principal()
        rows = await info.context.read(service.rep_leaderboard, principal, window)
        return [
            RepRow(
                member_id=uuid.UUID(row["memberId"]),
                currency=row["currency"],
                won_count=row["wonCount"],
                won_amount=row["wonAmount"],
                open_pipeline=row["openPipeline"],
            )
            for row in rows
        ]

    @strawberry.field(
        description="Installments the caller sees, filtered on dueOn: due, received and overdue (as of today,"
        " UTC), per currency."
    )
    async def payment_collection(
        self, info: Info[RequestContext, None], filter: ReportFilterInput | None = None
    ) -> PaymentCollection:
        window = _window(info, filter)
        principal = info.context.require_principal()
        today = datetime.now(UTC).date()
        rows = await info.context.read(service.payment_collection, principal, window, today)
        return PaymentCollection.of(rows, window.currency)

    @strawberry.field(
        description="The leads the caller sees created in the range (createdAt), of the owner or team asked for:"
        " how many were claimed, converted and disqualified since, and per channel what its converted leads'"
        " customers won against the channel's cost. `currency` only narrows `wonByCurrency`."
    )
    async def lead_funnel(
        self, info: Info[RequestContext, None], filter: ReportFilterInput | None = None
    ) -> LeadFunnel:
        window = _window(info, filter)
        principal = info.context.require_principal()
        require(principal.permissions, LEADS_READ)
        return LeadFunnel.of(await info.context.read(service.lead_funnel, principal, window))

    @strawberry.field(
        description="After-sales service: the tickets the caller sees created in the range (createdAt) by type and"
        " status, mean first-response and resolution minutes, the SLA breach rate; the most used articles; each"
        " agent's open tickets and work-order hours. `ownerId`/`teamId` narrow it to tickets assigned to them (and"
        " their workload); `currency` narrows nothing (no money is counted)."
    )
    async def service_report(
        self, info: Info[RequestContext, None], filter: ReportFilterInput | None = None
    ) -> ServiceReport:
        principal = info.context.require_principal()
        require(principal.permissions, TICKETS_READ)
        window = (filter or ReportFilterInput()).window()
        return ServiceReport.of(await info.context.read(service_desk.service_report, principal, window))
