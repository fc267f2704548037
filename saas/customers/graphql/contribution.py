"""The customers domain's GraphQL, contributed the way a plugin's is: roots, types and compiled `node(id)` reads."""

from __future__ import annotations

import uuid

from saas.auth.permissions import MEMBERS_READ
from saas.customers.graphql.loaders import member_loader
from saas.customers.graphql.mutations import CustomerMutations
from saas.customers.graphql.queries import (
    CustomerQueries,
    contact_condition,
    customer_condition,
    load_contact,
    load_customer,
)
from saas.customers.graphql.sql import CONTACT, CUSTOMER, MEMBER
from saas.customers.graphql.subscriptions import CustomerSubscriptions
from saas.customers.graphql.types import Contact, Customer, Member
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution
from saas.schema.context import RequestContext
from saas.schema.nodes import permission_condition


async def _load_member(context: RequestContext, raw_id: uuid.UUID) -> Member | None:
    return await member_loader(context).load(raw_id)


contribution = GraphQLContribution(
    types=(Customer, Contact, Member),
    queries=(CustomerQueries,),
    mutations=(CustomerMutations,),
    subscriptions=(CustomerSubscriptions,),
    compiled_nodes={
        "Customer": CompiledNode(CUSTOMER, customer_condition, load_customer),
        "Contact": CompiledNode(CONTACT, contact_condition, load_contact),
        "Member": CompiledNode(MEMBER, lambda context: permission_condition(context, MEMBERS_READ), _load_member),
    },
)
