"""Duplicate policies against the database: SKIP, UPDATE (with a field diff) and CREATE, for each entity."""

from __future__ import annotations

from tests.imports.support import commit, csv_bytes, customer_count, job, rows_of, run_to_end, start

SEED = [
    ["Name", "Industry", "Contact", "Email", "Phone"],
    ["Acme", "Retail", "Ann", "ann@acme.example", "+8613800138000"],
]


def _import(runtime, tenant, client, rows, **options):
    started = start(client, csv_bytes(rows), **options)
    assert started["userErrors"] == [], started
    run_to_end(runtime, tenant.id, started["job"]["id"])
    return job(client, started["job"]["id"])


def _seed(runtime, tenant, owner) -> str:
    done = _import(runtime, tenant, owner, SEED, dry_run=False)
    assert done["status"] == "COMPLETED" and done["created"] == 1
    return rows_of(done)[0]["recordId"]


ROWS = [
    ["Name", "Industry", "Email"],
    ["ACME", "Wholesale", ""],  # the name, any case
    ["Other name", "Retail", "ANN@acme.example"],  # a contact's e-mail
    ["Newcomer", "Retail", ""],
]


def test_skip(runtime, tenant, owner) -> None:
    acme = _seed(runtime, tenant, owner)
    done = _import(runtime, tenant, owner, ROWS, policy="SKIP")
    found = rows_of(done)
    assert [r["outcome"] for r in found] == ["SKIP", "SKIP", "CREATE"]
    assert found[0]["matchedId"] == acme and found[1]["matchedId"] == acme


def test_update_shows_a_field_diff_and_applies_it(runtime, tenant, owner) -> None:
    acme = _seed(runtime, tenant, owner)
    done = _import(runtime, tenant, owner, ROWS[:2] + ROWS[3:], policy="UPDATE")
    found = rows_of(done)
    assert [r["outcome"] for r in found] == ["UPDATE", "CREATE"]
    assert found[0]["diff"] == {
        "name": {"from": "Acme", "to": "ACME"},
        "industry": {"from": "Retail", "to": "Wholesale"},
    }
    commit(owner, done["id"])
    run_to_end(runtime, tenant.id, done["id"])
    customer = owner.data("query($id: ID!) { customer(id: $id) { name industry version } }", {"id": acme})["customer"]
    assert customer == {"name": "ACME", "industry": "Wholesale", "version": 2}
    assert customer_count(runtime, tenant.id) == 2


def test_update_without_changes_is_a_skip(runtime, tenant, owner) -> None:
    _seed(runtime, tenant, owner)
    done = _import(runtime, tenant, owner, [["Name", "Industry"], ["Acme", "Retail"]], policy="UPDATE")
    assert [r["outcome"] for r in rows_of(done)] == ["SKIP"]


def test_create_makes_another_record(runtime, tenant, owner) -> None:
    _seed(runtime, tenant, owner)
    done = _import(runtime, tenant, owner, [["Name"], ["Acme"]], policy="CREATE", dry_run=False)
    assert (done["created"], done["failed"]) == (1, 0)
    assert customer_count(runtime, tenant.id, "acme") == 2


def test_contacts_match_within_their_customer(runtime, tenant, owner) -> None:
    _seed(runtime, tenant, owner)
    _import(runtime, tenant, owner, [["Name"], ["Beta"]], dry_run=False)
    rows = [
        ["Customer", "Name", "Email", "Title"],
        ["Acme", "Ann", "ann@acme.example", "CEO"],  # Acme's contact by e-mail
        ["Beta", "Ann", "ann@acme.example", "CEO"],  # the same e-mail at another customer: a new contact
    ]
    done = _import(runtime, tenant, owner, rows, entity="CONTACT", policy="UPDATE")
    found = rows_of(done)
    assert [r["outcome"] for r in found] == ["UPDATE", "CREATE"]
    assert found[0]["diff"] == {"title": {"from": None, "to": "CEO"}}
    commit(owner, done["id"])
    run_to_end(runtime, tenant.id, done["id"])
    assert job(owner, done["id"])["updated"] == 1


def test_leads_update_and_skip(runtime, tenant, owner) -> None:
    first = _import(runtime, tenant, owner, [["Name", "Company", "Email"], ["Wang", "Wang Co", "wang@w.example"]],
                    entity="LEAD", dry_run=False)  # fmt: skip
    assert first["created"] == 1
    rows = [["Name", "Company", "Email"], ["Wang Wei", "Wang Co", "wang@w.example"]]
    skipped = _import(runtime, tenant, owner, rows, entity="LEAD", policy="SKIP")
    assert [r["outcome"] for r in rows_of(skipped)] == ["SKIP"]
    updated = _import(runtime, tenant, owner, rows, entity="LEAD", policy="UPDATE", dry_run=False)
    assert (updated["updated"], updated["failed"]) == (1, 0)
    leads = owner.data("{ leads(first: 5) { edges { node { name company } } } }")["leads"]["edges"]
    assert [edge["node"] for edge in leads] == [{"name": "Wang Wei", "company": "Wang Co"}]


CONTACTS_OF = "query($id: ID!) { customer(id: $id) { version contacts { id name email phone isPrimary version } } }"
UPDATE_CONTACT = """mutation($input: UpdateContactInput!) {
  updateContact(input: $input) { contact { version } userErrors { code } }
}"""


def test_a_customer_update_changes_its_primary_contacts_email_and_phone(runtime, tenant, owner) -> None:
    acme = _seed(runtime, tenant, owner)
    rows = [["Name", "Email", "Phone"], ["Acme", "ann@new.example", "+8613800138000"]]
    done = _import(runtime, tenant, owner, rows, policy="UPDATE")
    (row,) = rows_of(done)
    assert row["outcome"] == "UPDATE"
    assert row["diff"] == {"email": {"from": "ann@acme.example", "to": "ann@new.example"}}  # the phone is the same
    commit(owner, done["id"])
    run_to_end(runtime, tenant.id, done["id"])
    assert job(owner, done["id"])["updated"] == 1
    customer = owner.data(CONTACTS_OF, {"id": acme})["customer"]
    assert customer["version"] == 1  # the customer's own fields did not change
    (contact,) = customer["contacts"]
    assert (contact["email"], contact["phone"], contact["isPrimary"], contact["version"]) == (
        "ann@new.example",
        "+8613800138000",
        True,
        2,
    )


def test_a_primary_contact_changed_since_the_preview_is_stale(runtime, tenant, owner) -> None:
    acme = _seed(runtime, tenant, owner)
    rows = [["Name", "Industry", "Phone"], ["Acme", "Mining", "+8613900139000"]]
    done = _import(runtime, tenant, owner, rows, policy="UPDATE")
    assert rows_of(done)[0]["diff"] == {
        "industry": {"from": "Retail", "to": "Mining"},
        "phone": {"from": "+8613800138000", "to": "+8613900139000"},
    }
    (contact,) = owner.data(CONTACTS_OF, {"id": acme})["customer"]["contacts"]
    changed = owner.data(UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, "title": "CEO"}})
    assert changed["updateContact"]["userErrors"] == []
    commit(owner, done["id"])
    run_to_end(runtime, tenant.id, done["id"])
    (row,) = rows_of(job(owner, done["id"]))
    assert row["outcome"] == "FAIL" and row["errors"][0]["code"] == "STALE"
    customer = owner.data(CONTACTS_OF, {"id": acme})["customer"]
    assert customer["version"] == 1  # neither the customer nor its contact was overwritten
    assert customer["contacts"][0]["phone"] == "+8613800138000"


def test_a_customer_without_contacts_gets_a_primary_one(runtime, tenant, owner) -> None:
    _import(runtime, tenant, owner, [["Name"], ["Solo"]], dry_run=False)
    done = _import(runtime, tenant, owner, [["Name", "Email"], ["Solo", "solo@example.com"]], policy="UPDATE")
    (row,) = rows_of(done)
    assert row["diff"] == {"email": {"from": None, "to": "solo@example.com"}}
    commit(owner, done["id"])
    run_to_end(runtime, tenant.id, done["id"])
    solo = rows_of(job(owner, done["id"]))[0]["recordId"]
    (contact,) = owner.data(CONTACTS_OF, {"id": solo})["customer"]["contacts"]
    assert (contact["name"], contact["email"], contact["isPrimary"]) == ("Solo", "solo@example.com", True)
