"""The portal principal in the core: a contact's token creates and reads its own customer's tickets,
sees public comments only, and is refused everywhere once revoked or when its contact or customer goes."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import CredentialClock, GraphQLClient, add_member
from tests.tickets.support import (
    ACCESSES,
    ASSIGN,
    COMMENT,
    CREATE_ACCESS,
    CREATE_TICKET,
    REVOKE_ACCESS,
    RULES,
    STATUS,
    TICKET,
    count,
    create_contact,
    create_customer,
    create_ticket,
    errors,
    events,
    listed,
    member_id,
    ok,
)


def portal(owner: GraphQLClient, customer: str) -> tuple[GraphQLClient, dict[str, Any]]:
    contact = create_contact(owner, customer)
    made = ok(owner, CREATE_ACCESS, {"contactId": contact}, "createPortalAccess")
    assert made["token"].startswith("sc_")
    return owner.as_token(made["token"]), made["portalAccess"]


def test_a_portal_token_creates_and_reads_its_own_customers_tickets_only(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    mine, theirs = create_customer(owner), create_customer(owner, "Other")
    client, access = portal(owner, mine)
    assert access["active"] is True and access["customer"]["id"] == mine
    staff_ticket = create_ticket(owner, mine, subject="Opened by staff")
    foreign_ticket = create_ticket(owner, theirs)
    made = create_ticket(client, mine, subject="退货申请", body="尺码不对", channel="email")
    assert made["channel"] == "portal" and made["contact"]["id"] == access["contact"]["id"]
    assert errors(client, CREATE_TICKET, {"customerId": theirs, "subject": "s", "body": "b"}, "createTicket") == [
        (["input", "customerId"], "NOT_FOUND")
    ]
    assert set(listed(client)) == {made["id"], staff_ticket["id"]}
    assert client.error_codes(TICKET, {"id": foreign_ticket["id"]}) == ["NOT_FOUND"]
    assert count(runtime, tenant.id, "tickets", "channel = 'portal' AND portal_access_id IS NOT NULL") == 1


def test_a_portal_token_sees_public_comments_only_and_comments_publicly(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    client, _ = portal(owner, customer)
    ticket = create_ticket(client, customer)["id"]
    internal = ok(owner, COMMENT, {"id": ticket, "body": "Internal: check stock"}, "commentOnTicket")["comment"]
    ok(owner, COMMENT, {"id": ticket, "body": "We will replace it", "public": True}, "commentOnTicket")
    reply = ok(client, COMMENT, {"id": ticket, "body": "Thanks", "public": False}, "commentOnTicket")["comment"]
    assert (reply["public"], reply["fromCustomer"], reply["author"]) == (True, True, None)
    seen = client.data(TICKET, {"id": ticket})["ticket"]["comments"]
    assert [e["node"]["body"] for e in seen["edges"]] == ["We will replace it", "Thanks"] and seen["totalCount"] == 2
    assert owner.data(TICKET, {"id": ticket})["ticket"]["comments"]["totalCount"] == 3
    # In one compiled statement: the portal reads no member as a comment's author; staff do.
    authors = "query($id: ID!) { ticket(id: $id) { comments { edges { node { body author { id } } } } } }"
    seen = client.data(authors, {"id": ticket})["ticket"]["comments"]["edges"]
    assert [e["node"]["author"] for e in seen] == [None, None] and client.last_statements == 1
    staff = owner.data(authors, {"id": ticket})["ticket"]["comments"]["edges"]
    assert [e["node"]["author"] is not None for e in staff] == [True, True, False] and owner.last_statements == 1
    # node(id) of a comment keeps to the same rule.
    node = "query($id: ID!) { node(id: $id) { id ... on TicketComment { body } } }"
    assert owner.data(node, {"id": internal["id"]})["node"]["body"] == "Internal: check stock"
    assert client.error_codes(node, {"id": internal["id"]}) == ["NOT_FOUND"]
    assert client.data(node, {"id": reply["id"]})["node"]["body"] == "Thanks"


def test_a_portal_token_cannot_run_the_service_desk(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    client, _ = portal(owner, customer)
    ticket = create_ticket(client, customer)["id"]
    assert client.error_codes(STATUS, {"input": {"id": ticket, "status": "CLOSED"}}) == ["FORBIDDEN"]
    assert client.error_codes(ASSIGN, {"input": {"id": ticket, "assigneeId": member_id(owner)}}) == ["FORBIDDEN"]
    assert client.data(RULES)["classificationRules"] == []
    assert client.error_codes(CREATE_ACCESS, {"input": {"contactId": create_contact(owner, customer)}}) == ["FORBIDDEN"]
    assert client.error_codes("{ customers(first: 5) { totalCount } }") == ["FORBIDDEN"]


def test_a_revoked_access_is_refused_everywhere(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, credential_clock: CredentialClock
) -> None:
    customer = create_customer(owner)
    client, access = portal(owner, customer)
    ticket = create_ticket(client, customer)["id"]
    revoked = ok(owner, REVOKE_ACCESS, {"id": access["id"]}, "revokePortalAccess")["portalAccess"]
    assert revoked["active"] is False and revoked["revokedAt"] is not None
    assert client.error_codes(TICKET, {"id": ticket}) == ["UNAUTHENTICATED"]
    assert client.error_codes("{ tickets(first: 1) { totalCount } }") == ["UNAUTHENTICATED"]
    assert client.error_codes(CREATE_TICKET, {"input": {"customerId": customer, "subject": "s", "body": "b"}}) == [
        "UNAUTHENTICATED"
    ]
    # Revoking again changes nothing; the access list shows it inactive.
    ok(owner, REVOKE_ACCESS, {"id": access["id"]}, "revokePortalAccess")
    assert owner.data(ACCESSES, {"customerId": customer})["portalAccesses"]["edges"] == [
        {"node": {"id": access["id"], "active": False}}
    ]
    assert [kind for kind, _ in events(runtime, tenant.id, "portal_access.")] == [
        "portal_access.created",
        "portal_access.revoked",
    ]


def test_a_deleted_contact_or_customer_ends_the_token(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    contact = create_contact(owner, customer)
    token = ok(owner, CREATE_ACCESS, {"contactId": contact}, "createPortalAccess")["token"]
    client = owner.as_token(token)
    assert client.data("{ tickets(first: 1) { totalCount } }")["tickets"]["totalCount"] == 0
    owner.data("mutation($id: ID!) { deleteContact(input: {id: $id}) { contact { id } } }", {"id": contact})
    assert client.error_codes("{ tickets(first: 1) { totalCount } }") == ["UNAUTHENTICATED"]
    other, _ = portal(owner, customer)
    owner.data("mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }", {"id": customer})
    assert other.error_codes("{ tickets(first: 1) { totalCount } }") == ["UNAUTHENTICATED"]


def test_portal_access_input_and_tenants(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    customer = create_customer(owner)
    contact = create_contact(owner, customer)
    foreign_contact = create_contact(other_owner, create_customer(other_owner))
    assert errors(owner, CREATE_ACCESS, {"contactId": foreign_contact}, "createPortalAccess") == [
        (["input", "contactId"], "NOT_FOUND")
    ]
    assert errors(owner, CREATE_ACCESS, {"contactId": customer}, "createPortalAccess") == [
        (["input", "contactId"], "NOT_FOUND")
    ]
    for days, code in ((0, "OUT_OF_RANGE"), (366, "OUT_OF_RANGE")):
        assert errors(owner, CREATE_ACCESS, {"contactId": contact, "days": days}, "createPortalAccess") == [
            (["input", "days"], code)
        ]
    assert count(runtime, tenant.id, "portal_accesses") == 0
    _, access = portal(owner, customer)
    assert other_owner.data(ACCESSES, {})["portalAccesses"]["totalCount"] == 0
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert other_owner.error_codes(node, {"id": access["id"]}) == ["NOT_FOUND"]
    assert owner.data(node, {"id": access["id"]})["node"]["id"] == access["id"]
    assert errors(other_owner, REVOKE_ACCESS, {"id": access["id"]}, "revokePortalAccess") == [
        (["input", "id"], "NOT_FOUND")
    ]
    rep = add_member(owner, tenant, "sales")
    assert rep.error_codes(CREATE_ACCESS, {"input": {"contactId": contact}}) == ["FORBIDDEN"]


def test_revoking_from_plain_code_stops_the_token_once_committed(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    """The service forgets the tenant's cached credentials after its commit, whoever calls it (a job, a hook)."""
    from saas.portal.service import revoke_portal_access
    from saas.schema.relay import decode_id
    from saas.tenancy.session import tenant_session

    customer = create_customer(owner)
    client, access = portal(owner, customer)
    header = f"Bearer {client.token}"
    assert runtime.authenticate(header) is not None and runtime.cached_principal(header) is not None
    staff = runtime.authenticate(f"Bearer {owner.token}")
    assert staff is not None
    with tenant_session(runtime.engine, tenant.id) as session:
        revoke_portal_access(session, staff, decode_id(access["id"], "PortalAccess"))
        assert runtime.cached_principal(header) is not None  # not before the commit
        session.commit()
    assert runtime.cached_principal(header) is None
    assert client.error_codes("{ tickets(first: 1) { totalCount } }") == ["UNAUTHENTICATED"]
