"""The reports' GraphQL, contributed like every domain's: the report queries and their row types."""

from __future__ import annotations

from saas.plugin_host.contributions import GraphQLContribution
from saas.reports.graphql.queries import ReportQueries
from saas.reports.graphql.types import (
    ArticleUseCount,
    ChannelFunnelRow,
    CurrencyAmount,
    CurrencyCollection,
    LeadFunnel,
    MemberWorkload,
    PaymentCollection,
    PipelineStageRow,
    RepRow,
    ServiceReport,
    TicketStatusCount,
    TicketTypeCount,
    TrendPoint,
)

contribution = GraphQLContribution(
    types=(
        PipelineStageRow,
        TrendPoint,
        RepRow,
        PaymentCollection,
        CurrencyCollection,
        LeadFunnel,
        ChannelFunnelRow,
        CurrencyAmount,
        ServiceReport,
        TicketTypeCount,
        TicketStatusCount,
        ArticleUseCount,
        MemberWorkload,
    ),
    queries=(ReportQueries,),
)
