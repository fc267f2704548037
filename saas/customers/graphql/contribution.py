"""The customers domain's GraphQL, contributed the way a plugin's is: roots, types and compiled `node(id)` reads."""

from __future__ import annotations

from saas.customers.graphql.mutations import CustomerMutations
from saas.customers.graphql.queries import (
    CustomerQueries,
    contact_condition,
    customer_condition,
    load_contact,
    load_customer,
)
from saas.customers.graphql.sql import CONTACT, CUSTOMER
from saas.customers.graphql.subscriptions import CustomerSubscriptions
from saas.customers.graphql.types import Contact, Customer
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution

contribution = GraphQLContribution(
    types=(Customer, Contact),
    queries=(CustomerQueries,),
    mutations=(CustomerMutations,),
    subscriptions=(CustomerSubscriptions,),
    compiled_nodes={
        "Customer": CompiledNode(CUSTOMER, customer_condition, load_customer),
        "Contact": CompiledNode(CONTACT, contact_condition, load_contact),
    },
)
