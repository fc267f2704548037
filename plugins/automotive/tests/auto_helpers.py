"""Operations and helpers shared by the automotive tests (through the real GraphQL engine)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from saas.plugin_api.testing import PluginTestTenant

USER_ERRORS = "userErrors { field code message }"
ENABLE = f"""mutation($input: EnablePluginInput!) {{ enablePlugin(input: $input) {{ plugin {{ name enabled settings }} {USER_ERRORS} }} }}"""
CREATE_CUSTOMER = (
    "mutation($name: String!) { createCustomer(input: {name: $name, allowDuplicate: true}) { customer { id } } }"
)
VEHICLE = "id vin make model year mileage purchasedOn warrantyEndsOn financeEndsOn customer { id }"
REGISTER = f"mutation($input: AutoRegisterVehicleInput!) {{ registerVehicle(input: $input) {{ vehicle {{ {VEHICLE} }} {USER_ERRORS} }} }}"
MILEAGE = f"mutation($input: AutoRecordMileageInput!) {{ recordMileage(input: $input) {{ vehicle {{ id mileage }} {USER_ERRORS} }} }}"
SERVICE = f"mutation($input: AutoRecordServiceInput!) {{ recordService(input: $input) {{ serviceRecord {{ performedOn mileage kind }} vehicle {{ mileage }} {USER_ERRORS} }} }}"
SUPPLIER = f"mutation($input: AutoCreateSupplierInput!) {{ createSupplier(input: $input) {{ supplier {{ id code name jitWindowMinutes }} signingSecret {USER_ERRORS} }} }}"
SUPPLIER_KEY = f"mutation($input: AutoCreateSupplierApiKeyInput!) {{ createSupplierApiKey(input: $input) {{ apiKeyId key {USER_ERRORS} }} }}"
PART = f"mutation($input: AutoCreatePartInput!) {{ createPart(input: $input) {{ part {{ id partNumber leadTimeHours supplier {{ id }} }} {USER_ERRORS} }} }}"
ORDER = f"""mutation($input: AutoCreateVehicleOrderInput!) {{ createVehicleOrder(input: $input) {{
  order {{ id model callOffs {{ id supplier {{ id code }} dueAt status lines {{ quantity part {{ partNumber }} }} }} }} {USER_ERRORS} }} }}"""
CALL_OFF_STATUS = f"mutation($input: AutoUpdateCallOffStatusInput!) {{ updateCallOffStatus(input: $input) {{ callOff {{ id status }} {USER_ERRORS} }} }}"
CALL_OFFS = "query($filter: AutoCallOffFilterInput) { callOffs(first: 50, filter: $filter) { totalCount edges { node { id status dueAt supplier { id code } } } } }"
SHIPMENT = "id carrier trackingNumber status plannedArrivalAt eta delayMinutes cost currency legs { origin destination } events { at location status note }"
FREIGHT = f"mutation($input: AutoCreateFreightShipmentInput!) {{ createFreightShipment(input: $input) {{ shipment {{ {SHIPMENT} }} {USER_ERRORS} }} }}"
TRACK = f"mutation($input: AutoAddTrackingEventInput!) {{ addTrackingEvent(input: $input) {{ shipment {{ {SHIPMENT} }} {USER_ERRORS} }} }}"
RULE = f"mutation($input: AutoCreateReminderRuleInput!) {{ createReminderRule(input: $input) {{ rule {{ id kind everyKm everyMonths daysBefore }} {USER_ERRORS} }} }}"


def enable(client: Any, settings: dict[str, Any] | None = None) -> Any:
    variables = {"input": {"name": "automotive", **({"settings": settings} if settings else {})}}
    result = client.data(ENABLE, variables)["enablePlugin"]
    assert result["plugin"] and not result["userErrors"], result
    return client


def ok(client: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """The payload of a mutation that must succeed without user errors."""
    payload = client.data(query, variables)[field]
    assert payload["userErrors"] == [], payload
    return payload


def user_error(client: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """The first user error of a mutation that must fail."""
    payload = client.data(query, variables)[field]
    assert payload["userErrors"], payload
    return payload["userErrors"][0]  # type: ignore[no-any-return]


def customer(client: Any, name: str = "Fleet Co") -> str:
    return client.data(CREATE_CUSTOMER, {"name": name})["createCustomer"]["customer"]["id"]  # type: ignore[no-any-return]


def vin() -> str:
    """A random well-formed VIN with a correct check digit."""
    from saas_automotive.rules import vin_check_digit

    alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
    body = "".join(secrets.choice(alphabet) for _ in range(17))
    return body[:8] + vin_check_digit(body) + body[9:]


def register(client: Any, customer_id: str, **extra: Any) -> dict[str, Any]:
    data = {"customerId": customer_id, "vin": vin(), "make": "Volvo", "model": "XC60", "year": 2022, **extra}
    return ok(client, REGISTER, {"input": data}, "registerVehicle")["vehicle"]


def seed_supply(client: Any) -> dict[str, Any]:
    a = ok(
        client, SUPPLIER, {"input": {"code": "ACME", "name": "Acme Seats", "jitWindowMinutes": 120}}, "createSupplier"
    )
    b = ok(
        client, SUPPLIER, {"input": {"code": "BOLT", "name": "Bolt Glass", "jitWindowMinutes": 60}}, "createSupplier"
    )
    seat = ok(
        client,
        PART,
        {"input": {"supplierId": a["supplier"]["id"], "partNumber": "SEAT-1", "name": "Seat", "leadTimeHours": 4}},
        "createPart",
    )["part"]
    glass = ok(
        client,
        PART,
        {"input": {"supplierId": b["supplier"]["id"], "partNumber": "GLS-1", "name": "Windscreen", "leadTimeHours": 8}},
        "createPart",
    )["part"]
    return {"acme": a["supplier"], "bolt": b["supplier"], "seat": seat, "glass": glass, "customer": customer(client)}


def build_slot(days: int = 3) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def place_order(client: Any, supply: dict[str, Any]) -> dict[str, Any]:
    parts = [{"partId": supply["seat"]["id"], "quantity": 4}, {"partId": supply["glass"]["id"], "quantity": 1}]
    data = {"customerId": supply["customer"], "model": "XC60", "buildSlotAt": build_slot().isoformat(), "parts": parts}
    return ok(client, ORDER, {"input": data}, "createVehicleOrder")["order"]


def count_rows(tenant: PluginTestTenant, table: str, where: str = "TRUE", **params: Any) -> int:
    """The tenant's rows in `table`, read as the application role (under RLS)."""
    with tenant.session() as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one())


def run_job(runtime: Any, tenant: PluginTestTenant, job: Any, *args: Any) -> Any:
    """Run a job's function for the tenant in one committed transaction, as the worker's runner does."""
    from saas.plugin_api import JobContext

    with tenant.session() as session:
        ctx = JobContext(
            tenant.id, session, f"test-{uuid.uuid4()}", plugins=None, webhook_sender=runtime.webhook_sender
        )
        return job.function(ctx, *args)


ADD_MEMBER = "mutation($input: AddMemberInput!) { addMember(input: $input) { invitationToken userErrors { code } } }"
ACCEPT = (
    "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { member { id } userErrors { code } } }"
)


def add_member(client: Any, tenant: PluginTestTenant, role: str) -> Any:
    """A new member of `tenant` with `role` (invited, then accepted as a new account), logged in."""
    from saas.plugin_api.testing import TEST_PASSWORD

    email = f"{role}-{secrets.token_hex(3)}@{tenant.slug}.example.com"
    invited = client.data(ADD_MEMBER, {"input": {"email": email, "role": role.upper()}})["addMember"]
    variables = {"input": {"token": invited["invitationToken"], "password": TEST_PASSWORD}}
    assert client.as_token(None).data(ACCEPT, variables)["acceptInvitation"]["member"]
    return client.login(email, TEST_PASSWORD, tenant.slug)
