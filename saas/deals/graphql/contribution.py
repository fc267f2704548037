"""The deals domain's GraphQL, contributed the way a plugin's is: roots, types, `Customer` fields
(with their compiled SQL) and compiled `node(id)` reads."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from strawberry.dataloader import DataLoader

from saas.deals.graphql import loaders, queries
from saas.deals.graphql.mutations import DealMutations
from saas.deals.graphql.queries import CustomerDealFields, DealQueries
from saas.deals.graphql.sql import (
    CONTRACT,
    CUSTOMER_DEAL_FIELDS,
    INSTALLMENT,
    INVOICE,
    OPPORTUNITY,
    ORDER,
    ORDER_LINE,
    PAYMENT,
    PAYMENT_PLAN,
    PIPELINE_STAGE,
    STAGE_CHANGE,
)
from saas.deals.graphql.types import (
    Contract,
    DealSettings,
    Installment,
    Invoice,
    Opportunity,
    Order,
    OrderLine,
    Payment,
    PaymentPlan,
    PipelineStage,
    StageChange,
)
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution, NodeLoader
from saas.schema.context import RequestContext


def _fallback(loader: Callable[[RequestContext], DataLoader[uuid.UUID, Any]]) -> NodeLoader:
    """`node(id)` through the request's visibility-checked loader, for selections that do not compile."""

    async def load(context: RequestContext, raw_id: uuid.UUID) -> Any:
        return await loader(context).load(raw_id)

    return load


contribution = GraphQLContribution(
    types=(
        PipelineStage,
        Opportunity,
        StageChange,
        Contract,
        Order,
        OrderLine,
        PaymentPlan,
        Installment,
        Payment,
        Invoice,
        DealSettings,
    ),
    queries=(DealQueries,),
    mutations=(DealMutations,),
    type_fields={"Customer": (CustomerDealFields,)},
    sql_fields={"Customer": dict(CUSTOMER_DEAL_FIELDS)},
    compiled_nodes={
        "PipelineStage": CompiledNode(PIPELINE_STAGE, queries.stage_condition, _fallback(loaders.stage_loader)),
        "Opportunity": CompiledNode(OPPORTUNITY, queries.opportunity_condition, queries.load_opportunity),
        "StageChange": CompiledNode(
            STAGE_CHANGE, queries.stage_change_condition, _fallback(loaders.stage_change_loader)
        ),
        "Contract": CompiledNode(CONTRACT, queries.customer_record_condition, _fallback(loaders.contract_loader)),
        "Order": CompiledNode(ORDER, queries.customer_record_condition, _fallback(loaders.order_loader)),
        "OrderLine": CompiledNode(ORDER_LINE, queries.order_line_condition, _fallback(loaders.order_line_loader)),
        "PaymentPlan": CompiledNode(PAYMENT_PLAN, queries.customer_record_condition, _fallback(loaders.plan_loader)),
        "Installment": CompiledNode(INSTALLMENT, queries.installment_condition, _fallback(loaders.installment_loader)),
        "Payment": CompiledNode(PAYMENT, queries.payment_condition, _fallback(loaders.payment_loader)),
        "Invoice": CompiledNode(INVOICE, queries.customer_record_condition, queries.load_invoice),
    },
)
