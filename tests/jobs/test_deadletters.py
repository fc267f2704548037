"""A job failing every retry ends in the dead-letter list, visible to its tenant's admins only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.jobs import sample_jobs
from tests.jobs.helpers import customers_named
from tests.leads.support import events
from tests.schema.helpers import codes, global_id

DEAD_LETTERS = (
    "query($first: Int) { deadLetters(first: $first) { id messageId job args kwargs reason attempts failedAt } }"
)
RETRY = """mutation($input: RetryDeadLetterInput!) {
  retryDeadLetter(input: $input) { deadLetter { id messageId job } userErrors { code } }
}"""


@pytest.fixture
def dead_letter(
    job_broker: RedisBroker, run_jobs: Callable[..., None], tenant: TenantHandle, owner: GraphQLClient
) -> dict[str, Any]:
    """One dead letter of `tenant`: `always_fails` ran twice (one retry) and gave up."""
    message = sample_jobs.always_fails.send(tenant.id, "doomed")
    run_jobs()
    letters = owner.data(DEAD_LETTERS)["deadLetters"]
    assert len(letters) == 1, letters
    assert letters[0]["messageId"] == message.message_id
    return letters[0]


def test_a_job_out_of_retries_is_listed_for_its_tenants_owner(
    runtime: Runtime, tenant: TenantHandle, dead_letter: dict[str, Any]
) -> None:
    assert dead_letter["job"] == "tests.jobs.always_fails"
    assert dead_letter["args"] == ["doomed"]  # the tenant is not repeated
    assert dead_letter["kwargs"] == {}
    assert dead_letter["reason"] == "ValueError: cannot process doomed"
    assert dead_letter["attempts"] == 2
    assert dead_letter["failedAt"]
    # Each failed attempt rolled back its writes.
    assert customers_named(runtime, tenant.id, "doomed") == 0


def test_dead_letters_are_visible_to_admins_not_to_other_tenants_or_sales_reps(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, dead_letter: dict[str, Any]
) -> None:
    admin = add_member(owner, tenant, "admin")
    assert [d["id"] for d in admin.data(DEAD_LETTERS)["deadLetters"]] == [dead_letter["id"]]
    assert other_owner.data(DEAD_LETTERS)["deadLetters"] == []
    sales = add_member(owner, tenant, "sales")
    assert codes(sales.execute(DEAD_LETTERS)) == ["FORBIDDEN"]
    assert codes(sales.execute(RETRY, {"input": {"id": dead_letter["id"]}})) == ["FORBIDDEN"]


def test_retrying_another_tenants_dead_letter_is_not_found(
    runtime: Runtime,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    dead_letter: dict[str, Any],
) -> None:
    assert codes(other_owner.execute(RETRY, {"input": {"id": dead_letter["id"]}})) == ["NOT_FOUND"]
    assert codes(owner.execute(RETRY, {"input": {"id": global_id("DeadLetter", "not-a-uuid")}})) == ["NOT_FOUND"]
    assert codes(owner.execute(RETRY, {"input": {"id": global_id("Customer", dead_letter["messageId"])}})) == [
        "NOT_FOUND"
    ]
    # Still there for its own tenant, and nothing recorded for either.
    assert [d["id"] for d in owner.data(DEAD_LETTERS)["deadLetters"]] == [dead_letter["id"]]
    assert events(runtime, tenant.id, "dead_letter.") == []
    assert events(runtime, other_tenant.id, "dead_letter.") == []


def test_a_retried_dead_letter_runs_again(
    job_broker: RedisBroker,
    run_jobs: Callable[..., None],
    runtime: Runtime,
    tenant: TenantHandle,
    owner: GraphQLClient,
    dead_letter: dict[str, Any],
) -> None:
    payload = owner.data(RETRY, {"input": {"id": dead_letter["id"]}})["retryDeadLetter"]
    assert payload == {"deadLetter": {k: dead_letter[k] for k in ("id", "messageId", "job")}, "userErrors": []}
    assert owner.data(DEAD_LETTERS)["deadLetters"] == []
    # A second retry of the same dead letter finds nothing.
    assert codes(owner.execute(RETRY, {"input": {"id": dead_letter["id"]}})) == ["NOT_FOUND"]
    # The retry is an event and an audit entry, once.
    [(kind, event)] = events(runtime, tenant.id, "dead_letter.")
    assert kind == "dead_letter.retried"
    assert event["deadLetter"] == {
        "id": dead_letter["id"],
        "messageId": dead_letter["messageId"],
        "job": "tests.jobs.always_fails",
        "attempts": 2,
        "failedAt": event["deadLetter"]["failedAt"],
    }
    assert owner.data("{ auditLog(first: 5) { edges { node { action } } } }")["auditLog"]["edges"][0]["node"] == {
        "action": "dead_letter.retried"
    }

    run_jobs()  # it fails every time, so it comes back, as the same message

    again = owner.data(DEAD_LETTERS)["deadLetters"]
    assert [d["messageId"] for d in again] == [dead_letter["messageId"]]
    assert again[0]["id"] != dead_letter["id"] and again[0]["attempts"] == 2


def test_first_limits_the_list(
    job_broker: RedisBroker, run_jobs: Callable[..., None], tenant: TenantHandle, owner: GraphQLClient
) -> None:
    for note in ("one", "two", "three"):
        sample_jobs.always_fails.send(tenant.id, note)
    run_jobs()
    assert len(owner.data(DEAD_LETTERS, {"first": 2})["deadLetters"]) == 2
    newest_first = owner.data(DEAD_LETTERS)["deadLetters"]
    assert sorted(d["args"][0] for d in newest_first) == ["one", "three", "two"]
    assert [d["failedAt"] for d in newest_first] == sorted((d["failedAt"] for d in newest_first), reverse=True)
    assert codes(owner.execute(DEAD_LETTERS, {"first": 101})) == ["BAD_USER_INPUT"]
