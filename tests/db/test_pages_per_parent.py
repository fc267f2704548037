"""`pages_per_parent`: each parent's keyset page (first/after, both directions), its count, the
caller's conditions, and nothing of another tenant's parents."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from saas.auth.principal import Principal
from saas.customers import service
from saas.customers.models import Contact
from saas.db.paging import keyset_page, pages_per_parent
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient

NAMES = ("Ann", "Bob", "Cid", "Dee", "Eve")
SORT = (Contact.name, Contact.id)


def _principal(runtime: Runtime, client: GraphQLClient) -> Principal:
    principal = runtime.authenticate(f"Bearer {client.token}")
    assert principal is not None
    return principal


def _customers(runtime: Runtime, principal: Principal, sizes: list[int]) -> list[uuid.UUID]:
    """Customers with the first `size` of NAMES as contacts each (made in reverse name order)."""
    ids = []
    with tenant_session(runtime.engine, principal.tenant_id) as session:
        for n, size in enumerate(sizes):
            customer = service.create_customer(session, principal, {"name": f"Parent {n}"})
            for name in reversed(NAMES[:size]):
                service.create_contact(session, principal, customer.id, {"name": name})
            ids.append(customer.id)
    return ids


def _names(page) -> list[str]:
    return [contact.name for contact in page.rows]


def test_each_parent_gets_the_page_its_own_keyset_page_would(runtime: Runtime, owner: GraphQLClient) -> None:
    principal = _principal(runtime, owner)
    five, two, none = _customers(runtime, principal, [5, 2, 0])
    with tenant_session(runtime.engine, principal.tenant_id) as session:
        first = pages_per_parent(session, Contact, Contact.customer_id, [five, two, none], SORT, 2)
        assert {k: (_names(p), p.has_next_page, p.total_count) for k, p in first.items()} == {
            five: (["Ann", "Bob"], True, 5),
            two: (["Ann", "Bob"], False, 2),
            none: ([], False, 0),
        }
        cursor = [first[five].rows[-1].name, first[five].rows[-1].id]
        after = pages_per_parent(session, Contact, Contact.customer_id, [five, two], SORT, 2, cursor)
        assert (_names(after[five]), after[five].has_next_page, after[five].total_count) == (["Cid", "Dee"], True, 5)
        # The other parent's page starts after the same cursor (its "Bob" only if its id sorts after).
        assert _names(after[two]) in ([], ["Bob"])
        for customer in (five, two):
            single = keyset_page(session, select(Contact).where(Contact.customer_id == customer), SORT, 2, cursor)
            assert [row.name for row in single.rows] == _names(after[customer])

        newest = pages_per_parent(session, Contact, Contact.customer_id, [five], SORT, 3, descending=True, count=False)[
            five
        ]
        assert (_names(newest), newest.has_next_page, newest.total_count) == (["Eve", "Dee", "Cid"], True, None)
        back = [newest.rows[-1].name, newest.rows[-1].id]
        rest = pages_per_parent(session, Contact, Contact.customer_id, [five], SORT, 3, back, descending=True)[five]
        assert (_names(rest), rest.has_next_page) == (["Bob", "Ann"], False)


def test_conditions_narrow_the_rows_and_the_counts(runtime: Runtime, owner: GraphQLClient) -> None:
    principal = _principal(runtime, owner)
    (customer,) = _customers(runtime, principal, [5])
    with tenant_session(runtime.engine, principal.tenant_id) as session:
        pages = pages_per_parent(
            session,
            Contact,
            Contact.customer_id,
            [customer],
            SORT,
            10,
            where=[text("contacts.name <> :hidden")],
            params={"hidden": "Cid"},
        )
    assert (_names(pages[customer]), pages[customer].total_count) == (["Ann", "Bob", "Dee", "Eve"], 4)


def test_another_tenants_parents_get_empty_pages(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    mine = _customers(runtime, _principal(runtime, owner), [3])
    other = _principal(runtime, other_owner)
    theirs = _customers(runtime, other, [2])
    with tenant_session(runtime.engine, other.tenant_id) as session:
        pages = pages_per_parent(session, Contact, Contact.customer_id, [*mine, *theirs], SORT, 10)
    assert {k: (_names(p), p.total_count) for k, p in pages.items()} == {
        mine[0]: ([], 0),
        theirs[0]: (["Ann", "Bob"], 2),
    }
    assert pages_per_parent(session, Contact, Contact.customer_id, [], SORT, 10) == {}
