"""saas.plugin_api.service: complaint tickets per customer, in the session's tenant only, in one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from saas.plugin_api import complaint_counts
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.tickets.support import CREATE_CUSTOMER, CREATE_TICKET, RECLASSIFY, ok


def _customer(client: GraphQLClient, name: str) -> str:
    return str(ok(client, CREATE_CUSTOMER, {"name": name}, "createCustomer")["customer"]["id"])


def _ticket(client: GraphQLClient, customer: str, type_: str) -> str:
    ticket = ok(client, CREATE_TICKET, {"customerId": customer, "subject": "Unhappy", "body": "…"}, "createTicket")
    ticket_id = str(ticket["ticket"]["id"])
    ok(client, RECLASSIFY, {"id": ticket_id, "type": type_}, "reclassifyTicket")
    return ticket_id


def test_complaints_are_counted_per_customer_since_a_moment_in_the_tenant_only(
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    runtime: Runtime,
) -> None:
    angry, calm, quiet = (_customer(owner, name) for name in ("Angry", "Calm", "Quiet"))
    _ticket(owner, angry, "complaint")
    _ticket(owner, angry, "complaint")
    _ticket(owner, calm, "inquiry")
    foreign = _customer(other_owner, "Elsewhere")
    _ticket(other_owner, foreign, "complaint")
    ids = [decode_id(c, "Customer") for c in (angry, calm, quiet)]
    foreign_id = decode_id(foreign, "Customer")
    since = datetime.now(UTC) - timedelta(days=90)

    with tenant_session(runtime.engine, tenant.id) as session:
        assert complaint_counts(session, [*ids, foreign_id, uuid.uuid4()], since=since) == {ids[0]: 2}
        assert complaint_counts(session, ids, since=datetime.now(UTC) + timedelta(minutes=1)) == {}
        assert complaint_counts(session, [], since=since) == {}
    with tenant_session(runtime.engine, other_tenant.id) as session:
        assert complaint_counts(session, [*ids, foreign_id], since=since) == {foreign_id: 1}
