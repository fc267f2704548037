"""Unexpected exceptions are logged with the request id and masked; expected ones keep their code."""

from __future__ import annotations

import pytest
import structlog
import structlog.testing

from saas.schema import compiled
from tests.conftest import GraphQLClient


def test_an_internal_failure_is_masked(owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object) -> str:
        raise RuntimeError("password=hunter2 at db-internal-7")

    monkeypatch.setattr(compiled, "fetch_compiled", broken)
    with structlog.testing.capture_logs() as logs:
        result = owner.execute("{ customers { totalCount } }")
    assert result["data"] is None
    [error] = result["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "test-request"}
    assert "hunter2" not in str(result)
    [entry] = [e for e in logs if e["log_level"] == "error"]  # the operator still sees what happened
    assert entry["request_id"] == "test-request" and "hunter2" in str(entry["exc_info"])


def test_expected_errors_keep_their_code_and_path(owner: GraphQLClient) -> None:
    result = owner.execute("{ customers(first: 1000) { totalCount } }")
    [error] = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["customers"]


def test_anonymous_calls_to_protected_fields_are_unauthenticated(anonymous: GraphQLClient) -> None:
    for query in (
        "{ customers { totalCount } }",
        "{ me { email } }",
        "{ members { id } }",
        "{ auditLog { edges { cursor } } }",
    ):
        assert anonymous.error_codes(query) == ["UNAUTHENTICATED"], query


def _not_found(result: dict) -> dict:
    [error] = result["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND", result
    return error


def test_not_found_from_a_mutation_echoes_the_global_id_sent(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    """Never the internal UUID: the id the client sent, with the message a query gives."""
    from tests.schema.helpers import CUSTOMER, DELETE_CUSTOMER, create_customer, raw_id

    theirs = create_customer(other_owner, name="Elsewhere")["id"]
    from_query = _not_found(owner.execute(CUSTOMER, {"id": theirs}))
    from_mutation = _not_found(owner.execute(DELETE_CUSTOMER, {"input": {"id": theirs}}))
    assert from_mutation["extensions"] == {"code": "NOT_FOUND", "id": theirs}
    assert from_query["extensions"] == {"code": "NOT_FOUND", "id": theirs}
    assert from_mutation["message"] == from_query["message"] == "Customer not found"
    assert str(raw_id(theirs)) not in str(from_mutation)


def test_not_found_in_a_plugin_mutation_echoes_the_global_id_sent(owner: GraphQLClient) -> None:
    from saas.plugin_api.testing import enable_plugin
    from tests.schema.helpers import global_id

    enable_plugin(owner, "manufacturing")
    missing = global_id("MfgOrder", "00000000-0000-4000-8000-000000000001")
    mutation = "mutation($input: MfgCancelOrderInput!) { cancelOrder(input: $input) { order { id } } }"
    error = _not_found(owner.execute(mutation, {"input": {"id": missing}}))
    assert error["extensions"] == {"code": "NOT_FOUND", "id": missing}
    assert "00000000-0000-4000-8000-000000000001" not in str(error)
