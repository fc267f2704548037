"""Operations and helpers of the follow-up tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session

USER_ERRORS = "userErrors { field code message }"
TASK_FIELDS = "id title dueAt remindAt completedAt createdAt subjectId assignee { id } customer { id }"
ACTIVITY_FIELDS = "id kind summary occurredAt subjectId actor { id } customer { id lastContactedAt }"

LOG_ACTIVITY = f"""mutation Log($input: LogActivityInput!) {{
  logActivity(input: $input) {{ activity {{ {ACTIVITY_FIELDS} }} {USER_ERRORS} }}
}}"""
CREATE_TASK = f"""mutation CreateTask($input: CreateTaskInput!) {{
  createTask(input: $input) {{ task {{ {TASK_FIELDS} }} {USER_ERRORS} }}
}}"""
COMPLETE_TASK = f"""mutation CompleteTask($input: CompleteTaskInput!) {{
  completeTask(input: $input) {{ task {{ id completedAt }} {USER_ERRORS} }}
}}"""
CLAIM = f"""mutation Claim($input: ClaimCustomersInput!) {{
  claimCustomers(input: $input) {{ customers {{ id owner {{ id }} version }} {USER_ERRORS} }}
}}"""
TRANSFER = f"""mutation Transfer($input: TransferCustomersInput!) {{
  transferCustomers(input: $input) {{ customers {{ id owner {{ id }} }} tasks {{ id assignee {{ id }} }} {USER_ERRORS} }}
}}"""
AGENDA = "{ myAgenda { overdue { id title dueAt } today { id title dueAt } upcoming { id title dueAt } } }"
TIMELINE = """query Timeline($id: ID!, $first: Int, $after: String) {
  customer(id: $id) {
    timeline(first: $first, after: $after) {
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { kind occurredAt summary recordId actor { id } } }
    }
  }
}"""
NODE = """query Node($id: ID!) { node(id: $id) { __typename id
  ... on Activity { kind summary actor { id } }
  ... on Task { title assignee { id } }
  ... on CustomerHandover { handoverKind: kind note toMember { id } fromMember { id } }
} }"""
ME = "{ me { member { id } } }"


def member_id(client: Any) -> str:
    return str(client.data(ME)["me"]["member"]["id"])


def create_customer(client: Any, name: str = "Acme Ltd", **fields: Any) -> str:
    fields.setdefault("allowDuplicate", True)  # tests reuse the default name: not the duplicate check's business
    payload = client.data(
        "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }",
        {"input": {"name": name, **fields}},
    )["createCustomer"]
    assert payload["userErrors"] == [], payload
    return str(payload["customer"]["id"])


def create_contact(client: Any, customer_id: str, name: str = "Jane Doe") -> str:
    payload = client.data(
        "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } userErrors { code } } }",
        {"input": {"customerId": customer_id, "name": name}},
    )["createContact"]
    assert payload["userErrors"] == [], payload
    return str(payload["contact"]["id"])


def log_activity(client: Any, subject_id: str, summary: str = "Called about renewal", **fields: Any) -> dict[str, Any]:
    payload = client.data(
        LOG_ACTIVITY, {"input": {"subjectId": subject_id, "kind": "CALL", "summary": summary, **fields}}
    )
    assert payload["logActivity"]["userErrors"] == [], payload
    return dict(payload["logActivity"]["activity"])


def create_task(
    client: Any, subject_id: str, due_at: str, title: str = "Send the offer", **fields: Any
) -> dict[str, Any]:
    payload = client.data(CREATE_TASK, {"input": {"subjectId": subject_id, "title": title, "dueAt": due_at, **fields}})
    assert payload["createTask"]["userErrors"] == [], payload
    return dict(payload["createTask"]["task"])


def errors_of(client: Any, query: str, variables: dict[str, Any], field: str) -> list[tuple[list[str], str]]:
    result = client.execute(query, variables)
    assert "errors" not in result, result
    return [(e["field"], e["code"]) for e in result["data"][field]["userErrors"]]


def rows(runtime: Runtime, tenant_id: uuid.UUID, sql: str, **params: Any) -> list[Any]:
    """Rows of a statement run for the tenant as the application role (under RLS)."""
    with tenant_session(runtime.engine, tenant_id) as session:
        return list(session.execute(text(sql), params))


def count(runtime: Runtime, tenant_id: uuid.UUID, table: str, where: str = "TRUE", **params: Any) -> int:
    return int(rows(runtime, tenant_id, f"SELECT count(*) FROM {table} WHERE {where}", **params)[0][0])


def events(runtime: Runtime, tenant_id: uuid.UUID, event_type: str) -> list[dict[str, Any]]:
    return [
        r[0]
        for r in rows(
            runtime, tenant_id, "SELECT payload FROM outbox_events WHERE type = :t ORDER BY seq", t=event_type
        )
    ]


def set_column(runtime: Runtime, tenant_id: uuid.UUID, sql: str, **params: Any) -> None:
    with tenant_session(runtime.engine, tenant_id) as session:
        session.execute(text(sql), params)
