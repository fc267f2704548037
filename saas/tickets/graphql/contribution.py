"""The tickets domain's GraphQL, contributed the way a plugin's is: roots, types, `Customer.tickets`
(with its compiled SQL) and compiled `node(id)` reads."""

from __future__ import annotations

from saas.plugin_host.contributions import CompiledNode, GraphQLContribution
from saas.tickets.graphql.mutations import TicketMutations
from saas.tickets.graphql.queries import (
    CustomerTicketFields,
    TicketQueries,
    load_comment,
    load_rule,
    load_ticket,
    rule_condition,
    ticket_condition,
)
from saas.tickets.graphql.sql import CLASSIFICATION_RULE, CUSTOMER_TICKET_FIELDS, TICKET
from saas.tickets.graphql.subscriptions import TicketEvent, TicketSubscriptions
from saas.tickets.graphql.types import ClassificationRule, Ticket, TicketComment

contribution = GraphQLContribution(
    types=(Ticket, TicketComment, ClassificationRule, TicketEvent),
    queries=(TicketQueries,),
    mutations=(TicketMutations,),
    subscriptions=(TicketSubscriptions,),
    type_fields={"Customer": (CustomerTicketFields,)},
    sql_fields={"Customer": dict(CUSTOMER_TICKET_FIELDS)},
    nodes={"TicketComment": load_comment},
    compiled_nodes={
        "Ticket": CompiledNode(TICKET, ticket_condition, load_ticket),
        "ClassificationRule": CompiledNode(CLASSIFICATION_RULE, rule_condition, load_rule),
    },
)
