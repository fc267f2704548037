"""Marking core fields, re-encryption runs (resumable, nothing left on the old data key) and master
key rotation (nothing left on the old master key); their events; tenant isolation; bad input."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text

from saas.config import Settings
from saas.events.models import OutboxEvent
from saas.jobs.registry import JobContext
from saas.runtime import Runtime
from saas.sensitive import keys
from saas.sensitive.envelope import MARKER, key_version
from saas.sensitive.jobs import reencrypt
from saas.sensitive.models import ReencryptRun, TenantKey
from saas.sensitive.operations import keys_not_on, rotate_master_key, run_to_end, start_or_resume
from saas.tenancy.session import tenant_session
from tests.conftest import add_member
from tests.schema.helpers import count_rows, create_contact, create_customer, global_id, raw_id
from tests.sensitive.helpers import (
    CUSTOMER,
    CUSTOMER_WITH_CONTACTS,
    NATIONAL_ID,
    SET_SENSITIVE,
    customer_with_national_id,
    stored_custom_fields,
)

PHONE = "+442079460958"
RUNS = "{ reencryptRuns { id keyVersion status processed batches } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on ReencryptRun { status } } }"


def _set(client: Any, entity: str, fields: list[Any]) -> dict[str, Any]:
    return client.data(SET_SENSITIVE, {"input": {"entity": entity, "fields": fields}})["setSensitiveFields"]


def _versions(runtime: Runtime, tenant_id: uuid.UUID) -> list[int]:
    """The data key version of every sealed value of the tenant (custom fields and contacts)."""
    with tenant_session(runtime.engine, tenant_id) as session:
        documents = [row[0] for row in session.execute(text("SELECT custom_fields FROM customers"))]
        documents += [row[0] for row in session.execute(text("SELECT sensitive FROM contacts"))]
    return [key_version(v[MARKER]) for d in documents for v in d.values() if isinstance(v, dict) and MARKER in v]


def _events(runtime: Runtime, tenant_id: uuid.UUID, prefix: str) -> list[OutboxEvent]:
    with tenant_session(runtime.engine, tenant_id) as session:
        return list(session.scalars(select(OutboxEvent).where(OutboxEvent.type.startswith(prefix))))


def _finish_runs(runtime: Runtime, tenant_id: uuid.UUID) -> None:
    run_to_end(runtime.engine, tenant_id, 100)


def test_marking_a_contact_field_seals_existing_values_in_the_background(owner, runtime: Runtime, tenant) -> None:
    customer = create_customer(owner, name="Acme")
    contact = create_contact(owner, customer["id"], name="Jane", phone=PHONE)
    payload = _set(owner, "CONTACT", ["phone"])
    assert payload["userErrors"] == []
    assert {(f["entity"], f["field"], f["sensitive"]) for f in payload["sensitiveFields"]} == {
        ("CONTACT", "phone", True),
        ("CONTACT", "email", False),
    }
    assert payload["reencryptRun"]["status"] == "RUNNING"
    assert count_rows(runtime, tenant.id, "contacts", "phone IS NOT NULL") == 1  # not yet moved
    _finish_runs(runtime, tenant.id)
    assert count_rows(runtime, tenant.id, "contacts", "phone IS NULL AND sensitive ? 'phone'") == 1

    read = owner.data(CUSTOMER_WITH_CONTACTS, {"id": customer["id"]})["customer"]["contacts"][0]
    assert read["phone"] == PHONE
    sales = add_member(owner, tenant, "sales")
    assert sales.data(CUSTOMER_WITH_CONTACTS, {"id": customer["id"]})["customer"]["contacts"][0]["phone"] == "•••• 0958"
    # New writes are sealed at once.
    second = create_contact(owner, customer["id"], name="John", phone="+14155550100")
    assert count_rows(runtime, tenant.id, "contacts", "id = :id AND phone IS NULL", id=raw_id(second["id"])) == 1
    assert contact["id"] != second["id"]

    # Unmarked: the values go back to their column.
    assert _set(owner, "CONTACT", [])["reencryptRun"]["status"] == "RUNNING"
    _finish_runs(runtime, tenant.id)
    assert count_rows(runtime, tenant.id, "contacts", "phone IS NOT NULL AND sensitive = '{}'::jsonb") == 2
    assert [e.type for e in _events(runtime, tenant.id, "sensitive_fields.")] == ["sensitive_fields.changed"] * 2
    finished = _events(runtime, tenant.id, "reencryption.finished")
    assert len(finished) == 2 and finished[0].payload["reencryptRun"]["status"] == "DONE"


def test_setting_the_same_fields_again_changes_nothing(owner, runtime: Runtime, tenant) -> None:
    _set(owner, "CONTACT", ["phone"])
    again = _set(owner, "CONTACT", ["phone", "phone"])
    assert again["userErrors"] == [] and again["reencryptRun"] is None
    assert count_rows(runtime, tenant.id, "sensitive_fields") == 1


@pytest.mark.parametrize(
    ("entity", "fields", "code"),
    [
        ("CONTACT", ["nationalId"], "UNKNOWN_FIELD"),
        ("CUSTOMER", ["phone"], "UNKNOWN_FIELD"),
        ("CONTACT", ["x" * 65], "TOO_LONG"),
        ("CONTACT", [""], "UNKNOWN_FIELD"),
        ("CONTACT", ["phone"] * 21, "INVALID"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_written(owner, runtime: Runtime, tenant, entity, fields, code) -> None:
    payload = _set(owner, entity, fields)
    assert payload["sensitiveFields"] is None and payload["reencryptRun"] is None
    assert code in [e["code"] for e in payload["userErrors"]]
    assert count_rows(runtime, tenant.id, "sensitive_fields") == 0
    assert count_rows(runtime, tenant.id, "reencrypt_runs") == 0


def test_a_wrong_type_is_refused_by_the_schema(owner) -> None:
    result = owner.execute(SET_SENSITIVE, {"input": {"entity": "CONTACT", "fields": [12]}})
    assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_USER_INPUT"]


def test_only_owners_and_admins_mark_fields_and_see_runs(owner, runtime: Runtime, tenant) -> None:
    manager = add_member(owner, tenant, "manager")
    assert manager.error_codes(SET_SENSITIVE, {"input": {"entity": "CONTACT", "fields": ["phone"]}}) == ["FORBIDDEN"]
    assert manager.error_codes(RUNS) == ["FORBIDDEN"]
    assert count_rows(runtime, tenant.id, "sensitive_fields") == 0


def test_reencryption_is_resumable_and_leaves_nothing_on_the_old_data_key(
    owner, runtime: Runtime, tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = [customer_with_national_id(owner, f"C{i}", f"ID{i:010d}") for i in range(5)]
    assert set(_versions(runtime, tenant.id)) == {1}
    run, resumed = start_or_resume(runtime.engine, tenant.id)
    assert run is not None and not resumed and run.key_version == 2

    # One batch, then the process dies: the cursor and the count are committed with the rows.
    after_one = run_to_end(runtime.engine, tenant.id, 2, max_batches=1)
    assert after_one is not None and after_one.status == "running" and after_one.processed == 2
    assert sorted(_versions(runtime, tenant.id)) == [1, 1, 1, 2, 2]
    progress = owner.data(RUNS)["reencryptRuns"][0]
    assert progress["status"] == "RUNNING" and progress["processed"] == 2 and progress["batches"] == 1

    # Resumed (as `saas keys reencrypt` does for a running run), through the job.
    again, resumed = start_or_resume(runtime.engine, tenant.id)
    assert again is not None and resumed and again.id == run.id
    monkeypatch.setattr(keys, "_batch_size", 2)
    with tenant_session(runtime.engine, tenant.id) as session:
        reencrypt.function(JobContext(tenant.id, session, "resume-1"))
    assert sorted(_versions(runtime, tenant.id)) == [1, 2, 2, 2, 2]
    done = run_to_end(runtime.engine, tenant.id, 2)
    assert done is not None and done.status == "done"
    assert done.processed == 5  # every row once: none twice, none lost
    assert set(_versions(runtime, tenant.id)) == {2}
    with tenant_session(runtime.engine, tenant.id) as session:
        retired = session.scalars(select(TenantKey).where(TenantKey.purpose == "data", TenantKey.version == 1)).one()
        assert retired.retired_at is not None
    for customer, i in zip(customers, range(5), strict=True):
        assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["customFields"] == {"nationalId": f"ID{i:010d}"}
    # The blind index did not change: search still finds the value.
    found = owner.data(
        "query($f: CustomerFilterInput) { customers(filter: $f) { totalCount } }",
        {"f": {"customField": {"key": "nationalId", "equals": "ID0000000003"}}},
    )
    assert found["customers"]["totalCount"] == 1
    assert {e.type for e in _events(runtime, tenant.id, "reencryption.")} == {
        "reencryption.started",
        "reencryption.finished",
    }


def test_a_writer_holding_a_row_from_before_a_batch_gets_conflict(owner, runtime: Runtime, tenant) -> None:
    customer = customer_with_national_id(owner)
    start_or_resume(runtime.engine, tenant.id)
    run_to_end(runtime.engine, tenant.id, 10)
    stale = owner.execute(
        "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { id } } }",
        {"i": {"id": customer["id"], "version": 1, "customFields": {"nationalId": "NEW0000000001"}}},
    )
    assert [e["extensions"]["code"] for e in stale["errors"]] == ["CONFLICT"]


def test_runs_of_another_tenant_are_not_found(owner, other_owner, runtime: Runtime, tenant) -> None:
    customer_with_national_id(owner)
    run, _ = start_or_resume(runtime.engine, tenant.id)
    assert run is not None
    assert other_owner.data(RUNS)["reencryptRuns"] == []
    assert other_owner.error_codes(NODE, {"id": global_id("ReencryptRun", run.id)}) == ["NOT_FOUND"]
    assert owner.data(NODE, {"id": global_id("ReencryptRun", run.id)})["node"]["status"] == "RUNNING"
    # The other tenant's job finds no run of its own and touches nothing of this one.
    with tenant_session(runtime.engine, other_owner_tenant(runtime, other_owner)) as session:
        assert session.scalars(select(ReencryptRun)).all() == []
    _finish_runs(runtime, tenant.id)


def other_owner_tenant(runtime: Runtime, client: Any) -> uuid.UUID:
    principal = runtime.authenticate(f"Bearer {client.token}")
    assert principal is not None
    return principal.tenant_id


def _entry(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.b64encode(key).decode()}"


@pytest.fixture
def configured_keys(runtime: Runtime) -> Iterator[keys.MasterKeys]:
    """The test's master keys; afterwards every key row is re-wrapped back under the original."""
    original = keys.master_keys()
    yield original
    known = dict(original.keys)
    for key_id, key in keys.master_keys().keys:
        known.setdefault(key_id, key)
    keys.set_master_keys(
        keys.MasterKeys((original.keys[0], *[(k, v) for k, v in known.items() if k != original.current_id]))
    )
    rotate_master_key(runtime.engine)
    keys.set_master_keys(original)


def test_rotation_rewraps_every_key_and_values_still_open(
    owner, other_owner, runtime: Runtime, tenant, configured_keys
) -> None:
    customer = customer_with_national_id(owner)
    customer_with_national_id(other_owner, "Other", "OTHER0000001")
    old_id = configured_keys.current_id
    new_key = bytes(range(32))
    keys.set_master_keys(keys.MasterKeys((("2026-12", new_key), *configured_keys.keys)))
    assert keys_not_on(runtime.engine, "2026-12") > 0
    rotation = rotate_master_key(runtime.engine)
    assert rotation.master_key_id == "2026-12" and rotation.rewrapped >= 4
    assert rotation.left_on_other_keys == 0
    assert keys_not_on(runtime.engine, "2026-12") == 0
    # With the old master key gone, every value still opens.
    keys.set_master_keys(keys.MasterKeys((("2026-12", new_key),)))
    assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["customFields"] == {"nationalId": NATIONAL_ID}
    events = _events(runtime, tenant.id, "encryption_keys.")
    assert [e.payload for e in events] == [{"masterKeyId": "2026-12", "keys": 2}]
    assert old_id != "2026-12"


def test_master_keys_are_read_from_settings_and_checked() -> None:
    first, second = bytes(32), bytes(range(32))
    settings = Settings(ENCRYPTION_MASTER_KEYS=f"{_entry('b', second)}, {_entry('a', first)}")
    parsed = keys.MasterKeys.from_settings(settings)
    assert parsed.current_id == "b" and parsed.get("a") == first
    assert "ENCRYPTION_MASTER_KEYS" not in repr(settings) and _entry("a", first) not in repr(settings)
    with pytest.raises(Exception, match="entry 1"):
        keys.MasterKeys.from_settings(Settings(ENCRYPTION_MASTER_KEYS="short:AAAA"))
    with pytest.raises(Exception, match="twice"):
        keys.MasterKeys.from_settings(Settings(ENCRYPTION_MASTER_KEYS=f"{_entry('a', first)},{_entry('a', second)}"))
    assert Settings(SECRET_KEY_FALLBACKS="old-one, older-one").secret_key_fallbacks == ("old-one", "older-one")
    assert keys.MasterKeys.from_settings(Settings()).current_id == keys.DERIVED_KEY_ID


def test_stored_values_are_not_exposed_by_the_orm_path(owner, runtime: Runtime, tenant) -> None:
    customer = customer_with_national_id(owner)
    created = _events(runtime, tenant.id, "customer.created")
    assert created[-1].payload["customer"]["customFields"] == {"nationalId": "•••• 7890"}
    assert NATIONAL_ID not in str(stored_custom_fields(runtime, tenant.id, customer["id"]))


def test_a_tenants_marking_and_job_stay_its_own(owner, other_owner, runtime: Runtime, tenant, other_tenant) -> None:
    customer = create_customer(owner, name="Acme")
    create_contact(owner, customer["id"], name="Jane", phone=PHONE)
    other_customer = create_customer(other_owner, name="Mine")
    create_contact(other_owner, other_customer["id"], name="Joe", phone="+493012345678")
    _set(owner, "CONTACT", ["phone"])
    marked = {
        (f["entity"], f["field"]): f["sensitive"]
        for f in other_owner.data("{ sensitiveFields { entity field sensitive } }")["sensitiveFields"]
    }
    assert marked[("CONTACT", "phone")] is False
    # The other tenant's job does nothing: its tenant has no run, and this tenant's run waits.
    with tenant_session(runtime.engine, other_tenant.id) as session:
        reencrypt.function(JobContext(other_tenant.id, session, "other-1"))
    assert count_rows(runtime, other_tenant.id, "contacts", "phone IS NOT NULL") == 1
    assert count_rows(runtime, tenant.id, "contacts", "phone IS NOT NULL") == 1
    with tenant_session(runtime.engine, tenant.id) as session:
        reencrypt.function(JobContext(tenant.id, session, "own-1"))
    assert count_rows(runtime, tenant.id, "contacts", "phone IS NULL AND sensitive ? 'phone'") == 1
    assert count_rows(runtime, other_tenant.id, "contacts", "phone IS NOT NULL AND sensitive = '{}'::jsonb") == 1
    # A contact written in the other tenant is not sealed: its marking is its own.
    create_contact(other_owner, other_customer["id"], name="Ann", phone="+493012345679")
    assert count_rows(runtime, other_tenant.id, "contacts", "phone IS NOT NULL") == 2
