"""Customer reads: keyset paging over 250 customers, orderings, filters, statement counts, and the
compiled SQL path answering exactly as the resolver (ORM) path does."""

from __future__ import annotations

import random
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from saas.accounts.service import create_tenant
from saas.customers import service
from saas.tenancy.session import tenant_session
from tests.conftest import TEST_PASSWORD, GraphQLClient, TenantHandle, add_member, login
from tests.schema.helpers import (
    CUSTOMER,
    CUSTOMERS,
    FULL_CUSTOMER,
    NODE,
    TIME_KEYS,
    UPDATE_CUSTOMER,
    codes,
    create_contact,
    create_customer,
    cursor_of,
    define_custom_fields,
    global_id,
    my_member_id,
    normalise_times,
    raw_id,
)

ORDERINGS = ["NAME_ASC", "NAME_DESC", "CREATED_AT_ASC", "CREATED_AT_DESC", "UPDATED_AT_ASC", "UPDATED_AT_DESC"]
SPECIAL_NAMES = [
    "Same Name", "Same Name", "Same Name", "Same Name", "Same Name", "Same Name",
    "Ångström AB", "Émile & Fils", "Zoë Café", "日本商事", "Ölmühle GmbH", "Straße 5", "Ærø", "ünïcode",
    "100% Pure", "100 Pure", "a_b Ltd", "axb Ltd", "Back\\slash", "ACME corp", "acme Corp", "Acme", "Acmeish",
    "O'Brien & Co", 'Quote "Q" Ltd', "Zzz", "aaa",
]  # fmt: skip


@dataclass
class Catalogue:
    """A tenant with 250 customers (some deleted), owners, tags, stages and contacts."""

    tenant: TenantHandle
    owner: GraphQLClient
    sales: GraphQLClient
    sales_member: uuid.UUID
    rows: list[dict[str, Any]] = field(default_factory=list)

    def active(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["deleted_at"] is None]


def _load_rows(runtime: Any, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    with tenant_session(runtime.engine, tenant_id) as session:
        result = session.execute(
            text(
                "SELECT id, name, created_at, updated_at, deleted_at, owner_id, tags, lifecycle_stage, "
                "row_number() OVER (ORDER BY name, id) AS name_rank FROM customers"
            )
        )
        return [dict(row._mapping) for row in result]


@pytest.fixture(scope="module")
def catalogue(runtime: Any, graphql_engine: Any, cheap_password_hashing: Any) -> Catalogue:
    slug = f"cat-{secrets.token_hex(4)}"
    email = f"owner@{slug}.example.com"
    tenant_row = create_tenant(runtime.engine, slug, f"Tenant {slug}", email, TEST_PASSWORD)
    handle = TenantHandle(tenant_row.id, slug, email)
    owner = login(GraphQLClient(graphql_engine), email, TEST_PASSWORD, slug)
    sales = add_member(owner, handle, "sales")
    sales_member = raw_id(my_member_id(sales))
    principal = runtime.authenticate(f"Bearer {owner.token}")
    rng = random.Random(20261125)
    names = [f"Customer {i:03d}" for i in range(250 - len(SPECIAL_NAMES))] + SPECIAL_NAMES
    rng.shuffle(names)
    stages = ["lead", "prospect", "customer", "churned"]
    created: list[uuid.UUID] = []
    # Ten transactions: created_at ties inside each batch (now() is the transaction's start).
    for batch in range(10):
        with tenant_session(runtime.engine, handle.id) as session:
            for index in range(batch * 25, batch * 25 + 25):
                data: dict[str, Any] = {
                    "name": names[index],
                    "lifecycle_stage": stages[index % 4],
                    "tags": ["gold"] if index % 3 == 0 else (["silver", "x"] if index % 3 == 1 else []),
                    "allow_duplicate": True,  # the catalogue has ties on purpose
                }
                if index % 5 == 0:
                    data["owner_id"] = sales_member
                elif index % 5 == 1:
                    data["owner_id"] = principal.membership_id
                customer = service.create_customer(session, principal, data)
                created.append(customer.id)
                if index % 4 == 0:
                    for n in range(index % 3 + 1):
                        service.create_contact(
                            session, principal, customer.id, {"name": f"Contact {n}", "email": f"c{n}@x.example.com"}
                        )
    # Some updates in their own transactions (distinct updated_at), and some soft deletes.
    for customer_id in rng.sample(created, 40):
        with tenant_session(runtime.engine, handle.id) as session:
            row = service.get_customer(session, principal, customer_id)
            service.update_customer(session, principal, customer_id, row.version, {"notes": "touched"})
    for customer_id in rng.sample(created, 15):
        with tenant_session(runtime.engine, handle.id) as session:
            service.delete_customer(session, principal, customer_id, None)
    result = Catalogue(handle, owner, sales, sales_member)
    result.rows = _load_rows(runtime, handle.id)
    assert len(result.rows) == 250
    return result


def page_all(
    client: GraphQLClient, first: int, order_by: str = "NAME_ASC", filter_: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Follow endCursor until hasNextPage is false, checking every page's own consistency."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    total: int | None = None
    for _ in range(1000):
        variables = {"first": first, "after": after, "orderBy": order_by, "filter": filter_}
        page = client.data(CUSTOMERS, variables)["customers"]
        edges, info = page["edges"], page["pageInfo"]
        assert len(edges) <= first
        assert info["hasPreviousPage"] is (after is not None)
        if total is None:
            total = page["totalCount"]
        assert page["totalCount"] == total, "totalCount changes from page to page"
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
            assert len({e["cursor"] for e in edges}) == len(edges)
        nodes.extend(e["node"] for e in edges)
        if not info["hasNextPage"]:
            assert len(edges) <= first
            break
        assert len(edges) == first, "a page before the last one is short"
        after = info["endCursor"]
    else:  # pragma: no cover
        raise AssertionError("paging did not end")
    assert total is not None
    return nodes, total


def expected_ids(rows: list[dict[str, Any]], order_by: str) -> list[str]:
    if order_by.startswith("NAME"):
        ordered = sorted(rows, key=lambda r: r["name_rank"])  # the database's own collation
    else:
        column = "created_at" if order_by.startswith("CREATED") else "updated_at"
        ordered = sorted(rows, key=lambda r: (r[column], r["id"]))
    if order_by.endswith("DESC"):
        ordered.reverse()
    return [global_id("Customer", r["id"]) for r in ordered]


# --- paging ------------------------------------------------------------------------------------


@pytest.mark.parametrize("order_by", ORDERINGS)
@pytest.mark.parametrize("first", [100, 37])
def test_paging_returns_every_customer_once_in_order(catalogue: Catalogue, order_by: str, first: int) -> None:
    nodes, total = page_all(catalogue.owner, first, order_by)
    ids = [n["id"] for n in nodes]
    active = catalogue.active()
    assert total == len(active) == 235
    assert len(ids) == len(set(ids)), "a customer appears twice"
    assert ids == expected_ids(active, order_by)


@pytest.mark.parametrize("order_by", ["NAME_ASC", "CREATED_AT_DESC", "UPDATED_AT_ASC"])
def test_paging_one_at_a_time(catalogue: Catalogue, order_by: str) -> None:
    nodes, total = page_all(catalogue.owner, 1, order_by)
    assert [n["id"] for n in nodes] == expected_ids(catalogue.active(), order_by)
    assert total == 235


def test_the_catalogue_has_the_ties_the_paging_tests_rely_on(catalogue: Catalogue) -> None:
    active = catalogue.active()
    created = [r["created_at"] for r in active]
    assert len(set(created)) < len(created) / 5, "created_at should tie within batches"
    assert sum(1 for r in active if r["name"] == "Same Name") >= 4
    assert any(not r["name"].isascii() for r in active)


def test_name_order_is_by_name_then_id(catalogue: Catalogue) -> None:
    nodes, _ = page_all(catalogue.owner, 100, "NAME_ASC")
    numbered = [int(m.group(1)) for n in nodes if (m := re.fullmatch(r"Customer (\d{3})", n["name"]))]
    assert numbered == sorted(numbered) and len(numbered) > 150
    ties = [raw_id(n["id"]) for n in nodes if n["name"] == "Same Name"]
    assert len(ties) >= 4
    assert ties == sorted(ties)
    descending = [raw_id(n["id"]) for n in page_all(catalogue.owner, 100, "NAME_DESC")[0] if n["name"] == "Same Name"]
    assert descending == sorted(ties, reverse=True)


def test_time_orders_follow_the_timestamps(catalogue: Catalogue) -> None:
    for order_by, key in (("CREATED_AT_ASC", "createdAt"), ("UPDATED_AT_DESC", "updatedAt")):
        nodes, _ = page_all(catalogue.owner, 100, order_by)
        stamps = [(datetime.fromisoformat(n[key]), raw_id(n["id"])) for n in nodes]
        assert stamps == sorted(stamps, reverse=order_by.endswith("DESC"))


def test_first_over_the_maximum_is_refused(catalogue: Catalogue) -> None:
    result = catalogue.owner.execute(CUSTOMERS, {"first": 101})
    assert codes(result) == ["BAD_USER_INPUT"]
    assert result["data"] is None
    assert catalogue.owner.data(CUSTOMERS, {"first": 100})["customers"]["edges"].__len__() == 100


def test_negative_first_is_refused(catalogue: Catalogue) -> None:
    assert codes(catalogue.owner.execute(CUSTOMERS, {"first": -1})) == ["BAD_USER_INPUT"]


def test_first_zero_returns_no_edges(catalogue: Catalogue) -> None:
    page = catalogue.owner.data(CUSTOMERS, {"first": 0})["customers"]
    assert page["edges"] == []
    assert page["totalCount"] == 235
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["startCursor"] is None and page["pageInfo"]["endCursor"] is None


def test_default_page_size_is_20(catalogue: Catalogue) -> None:
    page = catalogue.owner.data("{ customers { edges { node { id } } pageInfo { hasNextPage } } }")["customers"]
    assert len(page["edges"]) == 20
    assert page["pageInfo"]["hasNextPage"] is True


def test_last_page_has_no_next_page(catalogue: Catalogue) -> None:
    first = catalogue.owner.data(CUSTOMERS, {"first": 100, "orderBy": "NAME_DESC"})["customers"]
    second = catalogue.owner.data(
        CUSTOMERS, {"first": 100, "after": first["pageInfo"]["endCursor"], "orderBy": "NAME_DESC"}
    )["customers"]
    third = catalogue.owner.data(
        CUSTOMERS, {"first": 100, "after": second["pageInfo"]["endCursor"], "orderBy": "NAME_DESC"}
    )["customers"]
    assert len(third["edges"]) == 35
    assert third["pageInfo"]["hasNextPage"] is False
    past = catalogue.owner.data(
        CUSTOMERS, {"first": 100, "after": third["pageInfo"]["endCursor"], "orderBy": "NAME_DESC"}
    )["customers"]
    assert past["edges"] == [] and past["pageInfo"]["hasNextPage"] is False and past["totalCount"] == 235


def test_cursor_from_an_edge_continues_after_that_edge(catalogue: Catalogue) -> None:
    page = catalogue.owner.data(CUSTOMERS, {"first": 10, "orderBy": "CREATED_AT_ASC"})["customers"]
    after_third = catalogue.owner.data(
        CUSTOMERS, {"first": 3, "after": page["edges"][2]["cursor"], "orderBy": "CREATED_AT_ASC"}
    )
    assert [e["node"]["id"] for e in after_third["customers"]["edges"]] == [e["node"]["id"] for e in page["edges"][3:6]]


@pytest.mark.parametrize(
    "cursor",
    ["garbage!", "bm90IGpzb24=", cursor_of({"a": 1}), cursor_of(["only one"]), cursor_of([1, 2, 3]), cursor_of("text")],
    ids=["not-base64", "not-json", "object", "too-short", "too-long", "string"],
)
def test_garbage_after_cursor_is_bad_user_input(catalogue: Catalogue, cursor: str) -> None:
    result = catalogue.owner.execute(CUSTOMERS, {"first": 5, "after": cursor})
    assert codes(result) == ["BAD_USER_INPUT"], result


@pytest.mark.parametrize(
    ("order_by", "values"),
    [("NAME_ASC", ["a", "not-a-uuid"]), ("NAME_ASC", ["a", 5]), ("CREATED_AT_ASC", ["not a time", str(uuid.uuid4())])],
    ids=["bad-uuid", "number-for-uuid", "bad-timestamp"],
)
def test_well_formed_cursor_with_wrong_values_is_bad_user_input(
    catalogue: Catalogue, order_by: str, values: list[Any]
) -> None:
    result = catalogue.owner.execute(CUSTOMERS, {"first": 5, "after": cursor_of(values), "orderBy": order_by})
    assert codes(result) == ["BAD_USER_INPUT"], result


# --- filters -----------------------------------------------------------------------------------


def _ids(rows: list[dict[str, Any]]) -> set[str]:
    return {global_id("Customer", r["id"]) for r in rows}


def _filtered(catalogue: Catalogue, filter_: dict[str, Any], client: GraphQLClient | None = None) -> set[str]:
    nodes, total = page_all(client or catalogue.owner, 100, "NAME_ASC", filter_)
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) == total
    return set(ids)


@pytest.mark.parametrize(
    ("search", "matches"),
    [
        ("acme", lambda n: "acme" in n.lower()),
        ("ACME CORP", lambda n: "acme corp" in n.lower()),
        ("  Acme  ", lambda n: "acme" in n.lower()),
        ("%", lambda n: "%" in n),
        ("100%", lambda n: "100%" in n),
        ("_", lambda n: "_" in n),
        ("a_b", lambda n: "a_b" in n),
        ("\\", lambda n: "\\" in n),
        ("'", lambda n: "'" in n),
        ("Customer 00", lambda n: n.startswith("Customer 00")),
        ("no such thing", lambda n: False),
    ],
)
def test_search_is_case_insensitive_and_literal(catalogue: Catalogue, search: str, matches: Any) -> None:
    expected = _ids([r for r in catalogue.active() if matches(r["name"])])
    assert _filtered(catalogue, {"search": search}) == expected
    if search in ("%", "_", "a_b", "100%"):
        assert expected, "the catalogue must contain a match"
        assert len(expected) < 5, "wildcards would match (nearly) everything"


def test_search_matches_non_ascii(catalogue: Catalogue) -> None:
    assert _filtered(catalogue, {"search": "日本"}) == _ids([r for r in catalogue.active() if "日本" in r["name"]])
    assert len(_filtered(catalogue, {"search": "Ångström"})) == sum(
        1 for r in catalogue.active() if r["name"] == "Ångström AB"
    )


@pytest.mark.parametrize("tag", ["gold", "GOLD", " Silver ", "x", "none"])
def test_tag_filter(catalogue: Catalogue, tag: str) -> None:
    wanted = tag.strip().lower()
    assert _filtered(catalogue, {"tag": tag}) == _ids([r for r in catalogue.active() if wanted in r["tags"]])


@pytest.mark.parametrize("stage", ["LEAD", "PROSPECT", "CUSTOMER", "CHURNED"])
def test_lifecycle_stage_filter(catalogue: Catalogue, stage: str) -> None:
    expected = _ids([r for r in catalogue.active() if r["lifecycle_stage"] == stage.lower()])
    assert expected
    assert _filtered(catalogue, {"lifecycleStage": stage}) == expected


def test_owner_and_unowned_filters(catalogue: Catalogue) -> None:
    active = catalogue.active()
    sales_id = global_id("Member", catalogue.sales_member)
    assert _filtered(catalogue, {"ownerId": sales_id}) == _ids(
        [r for r in active if r["owner_id"] == catalogue.sales_member]
    )
    assert _filtered(catalogue, {"unowned": True}) == _ids([r for r in active if r["owner_id"] is None])
    assert _filtered(catalogue, {"unowned": False}) == _ids([r for r in active if r["owner_id"] is not None])
    assert _filtered(catalogue, {"unowned": None}) == _ids(active)


def test_owner_filter_with_bad_id_is_not_found(catalogue: Catalogue) -> None:
    assert codes(catalogue.owner.execute(CUSTOMERS, {"filter": {"ownerId": "garbage"}})) == ["NOT_FOUND"]


def test_state_filter(catalogue: Catalogue) -> None:
    rows = catalogue.rows
    assert _filtered(catalogue, {"state": "ACTIVE"}) == _ids([r for r in rows if r["deleted_at"] is None])
    assert _filtered(catalogue, {"state": "DELETED"}) == _ids([r for r in rows if r["deleted_at"] is not None])
    assert _filtered(catalogue, {"state": "ALL"}) == _ids(rows)
    assert len(_filtered(catalogue, {"state": "DELETED"})) == 15


def test_filters_combine(catalogue: Catalogue) -> None:
    expected = _ids(
        [
            r
            for r in catalogue.rows
            if "gold" in r["tags"] and r["lifecycle_stage"] == "lead" and "customer" in r["name"].lower()
        ]
    )
    assert expected
    assert (
        _filtered(catalogue, {"tag": "gold", "lifecycleStage": "LEAD", "search": "customer", "state": "ALL"})
        == expected
    )


def test_filtered_paging_in_every_order(catalogue: Catalogue) -> None:
    rows = [r for r in catalogue.active() if "silver" in r["tags"]]
    for order_by in ORDERINGS:
        nodes, total = page_all(catalogue.owner, 7, order_by, {"tag": "silver"})
        assert total == len(rows)
        assert [n["id"] for n in nodes] == expected_ids(rows, order_by)


def test_sales_rep_pages_only_their_own_and_the_pool(catalogue: Catalogue) -> None:
    visible = [r for r in catalogue.active() if r["owner_id"] in (None, catalogue.sales_member)]
    for order_by in ("NAME_ASC", "UPDATED_AT_DESC"):
        nodes, total = page_all(catalogue.sales, 37, order_by)
        assert total == len(visible)
        assert [n["id"] for n in nodes] == expected_ids(visible, order_by)
    # a filter on another owner shows nothing to a sales rep
    other = next(r["owner_id"] for r in catalogue.active() if r["owner_id"] not in (None, catalogue.sales_member))
    assert _filtered(catalogue, {"ownerId": global_id("Member", other)}, catalogue.sales) == set()


# --- statement counts --------------------------------------------------------------------------

LIST_WITH_NESTED = f"""query Page($first: Int) {{
  customers(first: $first) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {FULL_CUSTOMER} }} }} }}
}}"""


def test_list_statement_count_does_not_grow_with_the_page(catalogue: Catalogue) -> None:
    counts = {}
    for first in (1, 10, 50, 100):
        data = catalogue.owner.data(LIST_WITH_NESTED, {"first": first})
        assert len(data["customers"]["edges"]) == first
        counts[first] = catalogue.owner.last_statements
    assert any(e["node"]["contacts"] for e in data["customers"]["edges"])
    assert any(e["node"]["owner"] for e in data["customers"]["edges"])
    assert set(counts.values()) == {1}, counts


def test_single_reads_are_one_statement(catalogue: Catalogue) -> None:
    some = next(r for r in catalogue.active() if r["owner_id"] is not None)
    catalogue.owner.data(CUSTOMER, {"id": global_id("Customer", some["id"])})
    assert catalogue.owner.last_statements == 1
    catalogue.owner.data(NODE, {"id": global_id("Customer", some["id"])})
    assert catalogue.owner.last_statements == 1


def test_mutation_payload_statement_count_does_not_grow_with_contacts(owner: GraphQLClient) -> None:
    member = my_member_id(owner)
    counts = {}
    for contacts in (0, 1, 5, 20):
        customer = create_customer(owner, name=f"With {contacts}", ownerId=member)
        for n in range(contacts):
            create_contact(owner, customer["id"], name=f"C{n}")
        payload = owner.data(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "tier": "t"}})[
            "updateCustomer"
        ]
        assert len(payload["customer"]["contacts"]) == contacts
        assert payload["customer"]["owner"]["id"] == member
        counts[contacts] = owner.last_statements
    assert len(set(counts.values())) == 1, counts
    assert counts[0] <= 10, counts


# --- compiled reads equal the resolver path ----------------------------------------------------


def _customer_with_everything(owner: GraphQLClient) -> dict[str, Any]:
    define_custom_fields(
        owner, vat="TEXT", ratio="NUMBER", modules=("MULTI_SELECT", ["a", "b"]), vip="BOOLEAN", emoji="TEXT"
    )
    # microseconds with trailing zeros: PostgreSQL and Python write those differently unless told not to
    customer = create_customer(
        owner,
        name='Ünïcode "Quoted" Co',
        kind="PERSON",
        industry="Retail",
        tier="gold",
        lifecycleStage="CUSTOMER",
        source="referral",
        tags=["VIP", "north"],
        customFields={"vat": "GB123", "ratio": 2.5, "modules": ["a", "b"], "vip": True, "emoji": "😀"},
        notes="first line\nsecond line",
        ownerId=my_member_id(owner),
        lastContactedAt="2024-01-02T03:04:05.120000+00:00",
        nextFollowUpAt="2030-06-01T00:00:00+02:00",
    )
    create_contact(
        owner, customer["id"], name="Zed Primary", email="Zed@Example.com", phone="+44 20 7946 0958", title="CEO"
    )
    create_contact(owner, customer["id"], name="Amy Second")
    create_contact(owner, customer["id"], name="Bob Third", email="bob@example.com")
    return customer


def test_compiled_read_equals_mutation_payload(owner: GraphQLClient) -> None:
    customer = _customer_with_everything(owner)
    payload = owner.data(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "tier": "platinum"}})[
        "updateCustomer"
    ]["customer"]
    read = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]
    assert len(read["contacts"]) == 3 and read["owner"] is not None
    assert list(read.keys()) == list(payload.keys())
    assert read == payload
    node = owner.data(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Customer {{ {FULL_CUSTOMER} }} }} }}", {"id": customer["id"]}
    )["node"]
    assert node == payload


def test_compiled_read_values_are_the_stored_values(owner: GraphQLClient) -> None:
    customer = _customer_with_everything(owner)
    read = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]
    assert normalise_times(read, TIME_KEYS)["lastContactedAt"] == datetime.fromisoformat("2024-01-02T03:04:05.12+00:00")
    assert normalise_times(read, TIME_KEYS)["nextFollowUpAt"] == datetime.fromisoformat("2030-05-31T22:00:00+00:00")
    assert read["customFields"] == {"vat": "GB123", "ratio": 2.5, "modules": ["a", "b"], "vip": True, "emoji": "😀"}
    assert read["tags"] == ["vip", "north"]
    assert [c["name"] for c in read["contacts"]] == ["Zed Primary", "Amy Second", "Bob Third"]
    assert read["contacts"][0]["phone"] == "+442079460958"
    assert read["contacts"][0]["email"] == "Zed@example.com"
    # every date-time in one form: UTC with microseconds
    for value in (
        read["createdAt"],
        read["updatedAt"],
        read["lastContactedAt"],
        read["owner"]["createdAt"],
        read["contacts"][1]["createdAt"],
    ):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", value), value


def test_list_node_equals_single_read(owner: GraphQLClient) -> None:
    customer = _customer_with_everything(owner)
    listed = owner.data(LIST_WITH_NESTED, {"first": 5})["customers"]["edges"]
    node = next(e["node"] for e in listed if e["node"]["id"] == customer["id"])
    assert node == owner.data(CUSTOMER, {"id": customer["id"]})["customer"]


def test_aliases_and_fragments_in_compiled_reads(owner: GraphQLClient) -> None:
    customer = _customer_with_everything(owner)
    query = """query($id: ID!) {
      a: customer(id: $id) { ...F who: owner { mail: email } first: contacts { n: name } }
      b: customer(id: $id) { id __typename contacts { __typename isPrimary } }
    }
    fragment F on Customer { label: name version }"""
    data = owner.data(query, {"id": customer["id"]})
    assert data["a"] == {
        "label": customer["name"],
        "version": 1,
        "who": {"mail": customer["owner"]["email"]},
        "first": [{"n": "Zed Primary"}, {"n": "Amy Second"}, {"n": "Bob Third"}],
    }
    assert data["b"]["__typename"] == "Customer"
    assert data["b"]["contacts"][0] == {"__typename": "Contact", "isPrimary": True}


def test_skip_and_include_with_literals(owner: GraphQLClient) -> None:
    customer = _customer_with_everything(owner)
    query = "query($id: ID!) { customer(id: $id) { name contacts @include(if: false) { name } tier @skip(if: true) notes @include(if: true) } }"
    assert owner.data(query, {"id": customer["id"]})["customer"] == {
        "name": customer["name"],
        "notes": customer["notes"],
    }


def test_skip_and_include_with_variables(owner: GraphQLClient) -> None:
    customer = _customer_with_everything(owner)
    query = "query($id: ID!, $c: Boolean!) { customer(id: $id) { name contacts @include(if: $c) { name } tier @skip(if: $c) } }"
    assert set(owner.data(query, {"id": customer["id"], "c": True})["customer"]) == {"name", "contacts"}
    assert set(owner.data(query, {"id": customer["id"], "c": False})["customer"]) == {"name", "tier"}


def test_unknown_and_foreign_ids_are_not_found(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    foreign = create_customer(other_owner, name="Theirs")
    for bad in (foreign["id"], "garbage", global_id("Customer", uuid.uuid4()), global_id("Nope", uuid.uuid4())):
        assert codes(owner.execute(CUSTOMER, {"id": bad})) == ["NOT_FOUND"], bad
        assert codes(owner.execute(NODE, {"id": bad})) == ["NOT_FOUND"], bad
    assert foreign["id"] not in {e["node"]["id"] for e in owner.data(CUSTOMERS, {"first": 100})["customers"]["edges"]}


def test_anonymous_cannot_read(anonymous: GraphQLClient) -> None:
    assert codes(anonymous.execute(CUSTOMERS, {"first": 1})) == ["UNAUTHENTICATED"]
    assert codes(anonymous.execute(CUSTOMER, {"id": global_id("Customer", uuid.uuid4())})) == ["UNAUTHENTICATED"]
