"""Protections that act before execution: depth and alias limits, parse and validation errors."""

from __future__ import annotations

from typing import Any

import pytest

from saas.db.statements import counting
from tests.schema.helpers import ME, codes, create_contact, create_customer

MAX_DEPTH = 12
MAX_ALIASES = 30


def deep_customer_query(depth: int) -> str:
    """`customer(id) { contacts { customer { contacts { ... id } } } }` whose deepest field is at `depth`."""
    chain = ["customer(id: $id)"] + ["contacts" if i % 2 == 0 else "customer" for i in range(depth - 2)]
    return "query($id: ID!) { " + " { ".join(chain) + " { id" + " }" * len(chain) + " }"


def deep_via_fragments(depth: int) -> str:
    """The same depth, reached through a chain of named fragments."""
    fields = ["contacts" if i % 2 == 0 else "customer" for i in range(depth - 2)]
    fragments = []
    for index, name in enumerate(fields):
        on = "Customer" if index % 2 == 0 else "Contact"
        inner = f"...F{index + 1}" if index + 1 < len(fields) else "id"
        fragments.append(f"fragment F{index} on {on} {{ {name} {{ {inner} }} }}")
    return "query($id: ID!) { customer(id: $id) { ...F0 } }\n" + "\n".join(fragments)


def aliases_query(count: int) -> str:
    return "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(count)) + " }"


def refused_before_execution(client: Any, query: str, variables: dict[str, Any] | None = None) -> list[str]:
    client.data(ME)  # the credential is cached now: authentication runs no statement either
    with counting() as statements:
        result = client.execute(query, variables)
    assert "data" not in result, result
    assert statements[0] == 0, "a statement ran"
    return codes(result)


@pytest.fixture
def customer_id(owner: Any) -> str:
    customer = create_customer(owner, name="Deep")
    create_contact(owner, customer["id"])
    return customer["id"]


def test_depth_at_the_limit_runs(owner: Any, customer_id: str) -> None:
    data = owner.data(deep_customer_query(MAX_DEPTH), {"id": customer_id})
    node = data["customer"]
    for level in range(MAX_DEPTH - 2):
        node = node["contacts"][0] if level % 2 == 0 else node["customer"]
    assert node["id"]


def test_depth_over_the_limit_is_refused_before_execution(owner: Any, customer_id: str) -> None:
    result_codes = refused_before_execution(owner, deep_customer_query(MAX_DEPTH + 1), {"id": customer_id})
    assert result_codes == ["QUERY_TOO_COMPLEX"]
    assert "exceeds" in owner.execute(deep_customer_query(MAX_DEPTH + 1), {"id": customer_id})["errors"][0]["message"]


def test_depth_through_fragments_counts(owner: Any, customer_id: str) -> None:
    assert owner.data(deep_via_fragments(MAX_DEPTH), {"id": customer_id})["customer"]
    assert refused_before_execution(owner, deep_via_fragments(MAX_DEPTH + 1), {"id": customer_id}) == [
        "QUERY_TOO_COMPLEX"
    ]


def test_depth_through_inline_fragments_counts(owner: Any, customer_id: str) -> None:
    query = (
        deep_customer_query(MAX_DEPTH + 1).replace("customer(id: $id) {", "customer(id: $id) { ... on Customer {", 1)
        + " }"
    )
    assert refused_before_execution(owner, query, {"id": customer_id}) == ["QUERY_TOO_COMPLEX"]


def test_depth_limit_applies_to_mutations(owner: Any, customer_id: str) -> None:
    inner = " { ".join(["contacts" if i % 2 == 0 else "customer" for i in range(MAX_DEPTH - 2)])
    closing = " }" * (MAX_DEPTH - 2)
    query = f'mutation {{ createCustomer(input: {{name: "x"}}) {{ customer {{ {inner} {{ id{closing} }} }} }}'
    before = owner.data("{ customers(filter: {state: ALL}) { totalCount } }")["customers"]["totalCount"]
    assert refused_before_execution(owner, query) == ["QUERY_TOO_COMPLEX"]
    assert owner.data("{ customers(filter: {state: ALL}) { totalCount } }")["customers"]["totalCount"] == before


def test_deep_introspection_is_refused(owner: Any) -> None:
    nested = "fields { type { " * 6 + "name" + " } }" * 6
    result_codes = refused_before_execution(owner, f'{{ __type(name: "Customer") {{ {nested} }} }}')
    assert result_codes and set(result_codes) <= {"QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED"}


def test_aliases_at_the_limit_run(owner: Any) -> None:
    data = owner.data(aliases_query(MAX_ALIASES))
    assert len(data) == MAX_ALIASES


def test_aliases_over_the_limit_are_refused_before_execution(owner: Any) -> None:
    assert refused_before_execution(owner, aliases_query(MAX_ALIASES + 1)) == ["QUERY_TOO_COMPLEX"]


def test_aliases_are_counted_everywhere(owner: Any, customer_id: str) -> None:
    nested = " ".join(f"n{i}: name" for i in range(16))
    in_fragment = " ".join(f"f{i}: id" for i in range(15))
    query = f"query($id: ID!) {{ customer(id: $id) {{ {nested} ...F }} }} fragment F on Customer {{ {in_fragment} }}"
    assert refused_before_execution(owner, query, {"id": customer_id}) == ["QUERY_TOO_COMPLEX"]
    fewer = query.replace("n15: name", "")
    assert len(owner.data(fewer, {"id": customer_id})["customer"]) == 30


def test_unknown_field_is_a_validation_error(owner: Any) -> None:
    assert refused_before_execution(owner, "{ customers { edges { node { id password } } } }") == [
        "GRAPHQL_VALIDATION_FAILED"
    ]
    assert refused_before_execution(owner, "{ nope }") == ["GRAPHQL_VALIDATION_FAILED"]


def test_unknown_argument_and_missing_variable_are_validation_errors(owner: Any) -> None:
    assert refused_before_execution(owner, "{ customers(last: 5) { totalCount } }") == ["GRAPHQL_VALIDATION_FAILED"]
    assert refused_before_execution(owner, "{ customer(id: $undefined) { id } }") == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.parametrize(
    "query", ["{ me { email }", "query {", "{ me { email } } }", "mutation { createCustomer(input: {name: }) }", ""]
)
def test_syntax_error_is_a_parse_error(owner: Any, query: str) -> None:
    assert refused_before_execution(owner, query) == ["GRAPHQL_PARSE_FAILED"]


def test_anonymous_gets_limit_errors_too(anonymous: Any) -> None:
    with counting() as statements:
        result = anonymous.execute(aliases_query(MAX_ALIASES + 1))
    assert codes(result) == ["QUERY_TOO_COMPLEX"] and statements[0] == 0


def test_several_operations_need_an_operation_name(owner: Any) -> None:
    document = "query A { me { email } } query B { me { role } }"
    assert codes(owner.execute(document)) == ["BAD_USER_INPUT"]
    assert owner.execute(document, operation_name="B")["data"] == {"me": {"role": "OWNER"}}
    assert codes(owner.execute(document, operation_name="C")) == ["BAD_USER_INPUT"]


def test_errors_do_not_leak_internals(owner: Any) -> None:
    result = owner.execute("{ customers(first: 101) { totalCount } }")
    error = result["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Traceback" not in str(result) and "sqlalchemy" not in str(result).lower()


# -- bounds that act before validation --------------------------------------------------------

MAX_TOKENS = 3_000
MAX_SELECTIONS = 300
ANONYMOUS_MAX_BYTES = 2_048


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The documents the engine validates from now on (validation still runs)."""
    from saas.schema import engine

    seen: list[Any] = []
    real = engine.validate

    def recording(schema: Any, document: Any, rules: Any) -> Any:
        seen.append(document)
        return real(schema, document, rules)

    monkeypatch.setattr(engine, "validate", recording)
    return seen


def repeated_field(count: int, field: str = "me { email }") -> str:
    return "{ " + " ".join([field] * count) + " }"


def test_one_field_repeated_thousands_of_times_is_refused_unvalidated(owner: Any, validations: list[Any]) -> None:
    """The 97 KB document that took 2 s of validation is refused without being validated."""
    query = repeated_field(7_500)
    assert len(query) > 97_000
    result = owner.execute(query)
    assert codes(result) == ["QUERY_TOO_COMPLEX"] and "data" not in result
    assert validations == []


def test_tokens_over_the_limit_are_refused_while_parsing(owner: Any, validations: list[Any]) -> None:
    tags = ", ".join(['"t"'] * MAX_TOKENS)
    query = f'mutation {{ createCustomer(input: {{name: "x", tags: [{tags}]}}) {{ customer {{ id }} }} }}'
    assert refused_before_execution(owner, query) == ["QUERY_TOO_COMPLEX"]
    comments = "\n".join(["# note"] * (MAX_TOKENS + 1))
    assert refused_before_execution(owner, comments + "\n{ me { email } }") == ["QUERY_TOO_COMPLEX"]
    assert validations == []


def test_selections_at_the_limit_are_validated_and_run(owner: Any) -> None:
    data = owner.data(repeated_field(MAX_SELECTIONS, "__typename"))
    assert data == {"__typename": "Query"}


def test_selections_over_the_limit_are_refused_unvalidated(owner: Any, validations: list[Any]) -> None:
    assert refused_before_execution(owner, repeated_field(MAX_SELECTIONS + 1, "__typename")) == ["QUERY_TOO_COMPLEX"]
    # Fragments count where they are written, spreads too.
    fragment = "fragment F on Me { " + " ".join(["email"] * (MAX_SELECTIONS - 1)) + " }"
    assert refused_before_execution(owner, "{ me { ...F } } " + fragment) == ["QUERY_TOO_COMPLEX"]
    assert validations == []


def test_anonymous_documents_over_the_small_limit_are_refused_unvalidated(
    anonymous: Any, validations: list[Any]
) -> None:
    query = repeated_field(ANONYMOUS_MAX_BYTES // len("me { member { email } } ") + 1, "me { member { email } }")
    assert len(query.encode()) > ANONYMOUS_MAX_BYTES
    result = anonymous.execute(query)
    assert codes(result) == ["UNAUTHENTICATED"] and "data" not in result
    assert result["errors"][0]["extensions"]["maximum"] == ANONYMOUS_MAX_BYTES
    # Introspection next to another field does not make the document anonymous-sized.
    mixed = "{ me { email } " + " ".join(["__typename"] * 250) + " }"
    assert codes(anonymous.execute(mixed)) == ["UNAUTHENTICATED"]
    assert validations == []


def test_anonymous_small_documents_are_validated_as_before(anonymous: Any) -> None:
    result = anonymous.execute("{ __typename }")
    assert result["data"] == {"__typename": "Query"} and "errors" not in result
    assert codes(anonymous.execute("{ me { email } }")) == ["UNAUTHENTICATED"]


def test_anonymous_login_and_introspection_may_be_larger(anonymous: Any, tenant: Any) -> None:
    from graphql import get_introspection_query

    padding = "\n" + "# " + "x" * ANONYMOUS_MAX_BYTES + "\n"
    introspection = get_introspection_query(descriptions=True) + padding
    assert anonymous.data(introspection)["__schema"]["queryType"]["name"] == "Query"
    login = "mutation Login($input: LoginInput!) { login(input: $input) { token userErrors { code } } }" + padding
    variables = {"input": {"email": tenant.owner_email, "password": tenant.password, "tenant": tenant.slug}}
    assert anonymous.data(login, variables)["login"]["token"]


def test_a_signed_in_caller_may_send_larger_documents(owner: Any) -> None:
    query = "# " + "x" * ANONYMOUS_MAX_BYTES + "\n{ me { email } }"
    assert owner.data(query)["me"]["email"]
