"""Operations and helpers shared by the schema tests (they run through the real engine)."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text

from saas.errors import AppError
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session

MEMBER_FIELDS = "id email name role active createdAt"
CONTACT_FIELDS = "id name title email phone isPrimary customFields version createdAt updatedAt"
CUSTOMER_FIELDS = (
    "id name kind industry tier lifecycleStage source tags customFields notes lastContactedAt nextFollowUpAt "
    "version createdAt updatedAt deletedAt"
)
FULL_CUSTOMER = f"{CUSTOMER_FIELDS} owner {{ {MEMBER_FIELDS} }} contacts {{ {CONTACT_FIELDS} }}"
USER_ERRORS = "userErrors { field code message }"

CREATE_CUSTOMER = f"""mutation Create($input: CreateCustomerInput!) {{
  createCustomer(input: $input) {{ customer {{ {FULL_CUSTOMER} }} {USER_ERRORS} }}
}}"""
UPDATE_CUSTOMER = f"""mutation Update($input: UpdateCustomerInput!) {{
  updateCustomer(input: $input) {{ customer {{ {FULL_CUSTOMER} }} {USER_ERRORS} }}
}}"""
DELETE_CUSTOMER = f"""mutation Delete($input: DeleteCustomerInput!) {{
  deleteCustomer(input: $input) {{ customer {{ id version deletedAt }} {USER_ERRORS} }}
}}"""
RESTORE_CUSTOMER = f"""mutation Restore($input: RestoreCustomerInput!) {{
  restoreCustomer(input: $input) {{ customer {{ id version deletedAt }} {USER_ERRORS} }}
}}"""
CREATE_CONTACT = f"""mutation CreateContact($input: CreateContactInput!) {{
  createContact(input: $input) {{ contact {{ {CONTACT_FIELDS} customer {{ id name }} }} {USER_ERRORS} }}
}}"""
UPDATE_CONTACT = f"""mutation UpdateContact($input: UpdateContactInput!) {{
  updateContact(input: $input) {{ contact {{ {CONTACT_FIELDS} }} {USER_ERRORS} }}
}}"""
DELETE_CONTACT = f"""mutation DeleteContact($input: DeleteContactInput!) {{
  deleteContact(input: $input) {{ contact {{ id version }} {USER_ERRORS} }}
}}"""
CUSTOMER = f"query Customer($id: ID!) {{ customer(id: $id) {{ {FULL_CUSTOMER} }} }}"
CONTACT = f"query Contact($id: ID!) {{ contact(id: $id) {{ {CONTACT_FIELDS} customer {{ id name }} }} }}"
NODE = "query Node($id: ID!) { node(id: $id) { id ... on Customer { name } ... on Contact { name } ... on Member { email } } }"
CUSTOMERS = """query Customers($first: Int, $after: String, $filter: CustomerFilterInput, $orderBy: CustomerOrder) {
  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name createdAt updatedAt } }
  }
}"""
ME = "{ me { email role permissions member { id email role } tenant { id slug } } }"
MEMBERS = "{ members { id email role active } }"
ADD_MEMBER = f"""mutation AddMember($input: AddMemberInput!) {{
  addMember(input: $input) {{ invitation {{ id email name role state }} invitationToken {USER_ERRORS} }}
}}"""
ACCEPT_INVITATION = f"""mutation Accept($input: AcceptInvitationInput!) {{
  acceptInvitation(input: $input) {{ member {{ id email name role active }} token {USER_ERRORS} }}
}}"""
REVOKE_INVITATION = f"""mutation RevokeInvitation($input: RevokeInvitationInput!) {{
  revokeInvitation(input: $input) {{ invitation {{ id state revokedAt }} {USER_ERRORS} }}
}}"""
INVITATIONS = """query Invitations($state: InvitationState) {
  invitations(state: $state) { id email name role state createdAt expiresAt acceptedAt revokedAt invitedBy { id } }
}"""
UPDATE_MEMBER_ROLE = f"""mutation UpdateRole($input: UpdateMemberRoleInput!) {{
  updateMemberRole(input: $input) {{ member {{ id email role }} {USER_ERRORS} }}
}}"""
REMOVE_MEMBER = f"""mutation Remove($input: RemoveMemberInput!) {{
  removeMember(input: $input) {{ member {{ id active }} {USER_ERRORS} }}
}}"""
CREATE_API_KEY = f"""mutation CreateKey($input: CreateApiKeyInput!) {{
  createApiKey(input: $input) {{ apiKey {{ id name scopes createdAt revokedAt }} secret {USER_ERRORS} }}
}}"""
REVOKE_API_KEY = f"""mutation RevokeKey($input: RevokeApiKeyInput!) {{
  revokeApiKey(input: $input) {{ apiKey {{ id revokedAt }} {USER_ERRORS} }}
}}"""
API_KEYS = "{ apiKeys { id name scopes createdAt lastUsedAt revokedAt } }"
AUDIT_LOG = """query Audit(
  $first: Int, $after: String, $entityId: ID, $kinds: [AuditKind!] = [CHANGE], $actionPrefix: String
) {
  auditLog(first: $first, after: $after, entityId: $entityId, kinds: $kinds, actionPrefix: $actionPrefix) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node { id kind action entityType entityId actor before after requestId clientAddress userAgent createdAt }
    }
  }
}"""


def global_id(type_name: str, raw_id: uuid.UUID | str) -> str:
    return base64.b64encode(f"{type_name}:{raw_id}".encode()).decode()


def raw_id(gid: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(gid).decode().partition(":")[2])


def cursor_of(values: Any) -> str:
    return base64.b64encode(orjson.dumps(values)).decode()


def codes(result: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in result.get("errors", [])]


def user_errors(result: dict[str, Any], field: str) -> list[dict[str, Any]]:
    assert "errors" not in result, result
    return result["data"][field]["userErrors"]


def create_customer(client: Any, **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "Acme Ltd")
    payload = client.data(CREATE_CUSTOMER, {"input": fields})["createCustomer"]
    assert payload["userErrors"] == [], payload
    return payload["customer"]


def create_contact(client: Any, customer_id: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "Jane Doe")
    payload = client.data(CREATE_CONTACT, {"input": {"customerId": customer_id, **fields}})["createContact"]
    assert payload["userErrors"] == [], payload
    return payload["contact"]


def my_member_id(client: Any) -> str:
    return client.data(ME)["me"]["member"]["id"]


def count_rows(runtime: Runtime, tenant_id: uuid.UUID, table: str, where: str = "TRUE", **params: Any) -> int:
    """Rows of the tenant in `table` (read as the application role, so under RLS)."""
    with tenant_session(runtime.engine, tenant_id) as session:
        return int(
            session.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t AND {where}"), {"t": tenant_id, **params}
            ).scalar_one()
        )


def snapshot_counts(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows of the tenant's tables a refused change must not add to (the audit log's changes:
    a refused login is recorded, as an access)."""
    counts = {
        table: count_rows(runtime, tenant_id, table)
        for table in ("customers", "contacts", "memberships", "api_keys", "invitations")
    }
    return counts | {"audit_log": count_rows(runtime, tenant_id, "audit_log", "kind = 'change'")}


def auth_error_code(client: Any, query: str, variables: dict[str, Any] | None = None) -> str:
    """The code of a request whose credential is refused (authentication runs before execution:
    one error and no data, as the server answers it)."""
    try:
        result = client.execute(query, variables)
    except AppError as error:
        return error.code.value
    if "data" not in result and len(result.get("errors", [])) == 1:
        return str(result["errors"][0]["extensions"]["code"])
    raise AssertionError(f"the credential was accepted: {result}")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def normalise_times(value: Any, keys: frozenset[str]) -> Any:
    """The same structure with the date-time strings under `keys` parsed (format-independent)."""
    if isinstance(value, dict):
        return {
            k: (parse_time(v) if k in keys and isinstance(v, str) else normalise_times(v, keys))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalise_times(v, keys) for v in value]
    return value


TIME_KEYS = frozenset({"createdAt", "updatedAt", "deletedAt", "lastContactedAt", "nextFollowUpAt"})


CUSTOM_FIELD_DEFINITIONS = (
    "query($e: CustomFieldEntity!) { customFieldDefinitions(entity: $e, includeArchived: true) { key } }"
)
DEFINE_CUSTOM_FIELD = f"""mutation($input: DefineCustomFieldInput!) {{
  defineCustomField(input: $input) {{ customFieldDefinition {{ id key }} {USER_ERRORS} }}
}}"""


def define_custom_fields(client: Any, entity: str = "CUSTOMER", **types: str | tuple[str, list[str]]) -> None:
    """Define the tenant's custom fields `key="TYPE"` (or `key=("SELECT", [options])`) of `entity`,
    those not defined yet: values under undefined keys are refused."""
    defined = {d["key"] for d in client.data(CUSTOM_FIELD_DEFINITIONS, {"e": entity})["customFieldDefinitions"]}
    for key, spec in types.items():
        if key in defined:
            continue
        field_type, options = (spec, None) if isinstance(spec, str) else spec
        field: dict[str, Any] = {"entity": entity, "key": key, "label": key, "type": field_type}
        if options is not None:
            field["options"] = options
        payload = client.data(DEFINE_CUSTOM_FIELD, {"input": field})["defineCustomField"]
        assert payload["userErrors"] == [], payload


def store_custom_fields(runtime: Runtime, tenant_id: uuid.UUID, customer_id: str, value: Any) -> None:
    """Write a customer's `custom_fields` as stored before definitions existed (any JSON)."""
    with tenant_session(runtime.engine, tenant_id) as session:
        session.execute(
            text("UPDATE customers SET custom_fields = CAST(:value AS jsonb) WHERE id = :id"),
            {"value": orjson.dumps(value).decode(), "id": raw_id(customer_id)},
        )
