"""Changing leads, channels and the sales settings: validation, the pool's rules, events.

The lead pool: a lead without an owner is in it (status POOL). `claim_leads` takes leads from
the pool for the caller, all or none, never past the tenant's `leadClaimCap` of open leads per
member; `return_leads` puts claimed leads back with a reason; `disqualify_lead` ends one;
`convert_lead` makes the customer, its primary contact and (when asked) the opportunity in the
caller's one transaction. Concurrency: claims of one member are serialised on an advisory lock
(the cap is counted inside it), and each lead row is locked (`FOR UPDATE`, in id order) before
its state is read, so two members claiming, or two requests converting, the same lead never
both succeed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.accounts.models import Membership
from saas.accounts.ownership import may_own_for
from saas.audit.log import record_change, snapshot
from saas.auth.permissions import (
    CHANNELS_MANAGE,
    CUSTOMERS_WRITE,
    LEADS_READ,
    LEADS_WRITE,
    SALES_SETTINGS_MANAGE,
    require,
)
from saas.auth.principal import Principal
from saas.custom_fields.models import CustomFieldEntity
from saas.custom_fields.validation import validate_custom_fields
from saas.customers import duplicates
from saas.customers import service as customers
from saas.customers.models import Contact, Customer, CustomerKind, LifecycleStage
from saas.customers.rules import SqlCondition
from saas.deals.models import Opportunity
from saas.deals.service import create_opportunity
from saas.errors import ConflictError, FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.leads.graphql.types import Channel as ChannelType
from saas.leads.graphql.types import Lead as LeadType
from saas.leads.models import Channel, Lead, LeadStatus, SalesSettings
from saas.leads.rules import (
    MAX_LEAD_CLAIM_CAP,
    MAX_PUBLIC_POOL_DAYS,
    SalesSettingsValues,
    lead_claim_cap,
    lead_visibility,
    sales_settings,
)
from saas.products.service import parse_price
from saas.schema.relay import to_global_id
from saas.validation import Checker, camel_case

MAX_IDS = 100
CURRENCY_LENGTH = 3


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    customer: Customer
    contact: Contact
    opportunity: Opportunity | None


def _now() -> datetime:
    return datetime.now(UTC)


def _invalid(path: list[str], code: UserErrorCode, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", *path], code, message)])


def _lead_event(
    session: Session, principal: Principal, action: str, lead: Lead, before: dict[str, Any] | None, **related: Any
) -> None:
    """The audit entry and the domain event (the lead as the API returns it, with its references)."""
    record_change(session, principal, action, "Lead", lead.id, before, snapshot(lead))
    payload = api_object(
        LeadType.from_model(lead),
        owner=node_ref("Member", lead.owner_id),
        channel=node_ref("Channel", lead.channel_id),
        **related,
    )
    emit_event(session, action, {"lead": payload})


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError() from exc


# -- sales settings ------------------------------------------------------------------------


def get_sales_settings(session: Session, principal: Principal) -> SalesSettingsValues:
    require(principal.permissions, LEADS_READ)
    return sales_settings(session, principal.tenant_id)


def _bounded_int(check: Checker, field: str, maximum: int) -> None:
    if field not in check.data:
        return
    value, name = check.data[field], camel_case(field)
    if value is None:
        check.fail(field, UserErrorCode.REQUIRED, f"{name} must not be null")
    elif isinstance(value, bool) or not isinstance(value, int):
        check.fail(field, UserErrorCode.INVALID, f"{name} must be a whole number")
    elif not 1 <= value <= maximum:
        check.fail(field, UserErrorCode.OUT_OF_RANGE, f"{name} must be between 1 and {maximum}")
    else:
        check.clean[field] = value


def update_sales_settings(session: Session, principal: Principal, data: dict[str, Any]) -> SalesSettingsValues:
    """Change the given settings (admins); the others keep their values."""
    require(principal.permissions, SALES_SETTINGS_MANAGE)
    check = Checker(data)
    _bounded_int(check, "lead_claim_cap", MAX_LEAD_CLAIM_CAP)
    _bounded_int(check, "public_pool_days", MAX_PUBLIC_POOL_DAYS)
    clean = check.done()
    # One row per tenant, locked while it changes: two admins' changes apply one after the other.
    session.execute(
        text(
            "INSERT INTO sales_settings (tenant_id, lead_claim_cap, public_pool_days) "
            "VALUES (:tenant_id, :cap, :days) ON CONFLICT (tenant_id) DO NOTHING"
        ),
        {
            "tenant_id": principal.tenant_id,
            "cap": SalesSettingsValues().lead_claim_cap,
            "days": SalesSettingsValues().public_pool_days,
        },
    )
    row = session.scalars(
        select(SalesSettings).where(SalesSettings.tenant_id == principal.tenant_id).with_for_update()
    ).one()
    before = snapshot(row)
    for key, value in clean.items():
        setattr(row, key, value)
    row.updated_at = _now()
    session.flush()
    values = SalesSettingsValues(lead_claim_cap=row.lead_claim_cap, public_pool_days=row.public_pool_days)
    record_change(
        session, principal, "sales_settings.updated", "SalesSettings", principal.tenant_id, before, snapshot(row)
    )
    emit_event(
        session,
        "sales_settings.updated",
        {"salesSettings": {"leadClaimCap": values.lead_claim_cap, "publicPoolDays": values.public_pool_days}},
    )
    return values


# -- channels --------------------------------------------------------------------------------


def create_channel(session: Session, principal: Principal, data: dict[str, Any]) -> Channel:
    require(principal.permissions, CHANNELS_MANAGE)
    check = Checker(data)
    check.text("name", required=True, max_length=100)
    if data.get("cost") is not None:
        try:
            check.clean["cost"] = parse_price(data["cost"])
        except ValueError as exc:
            check.fail("cost", UserErrorCode.INVALID, f"cost {exc}")
    if data.get("currency") is not None:
        currency = str(data["currency"]).strip().upper()
        if len(currency) == CURRENCY_LENGTH and currency.isascii() and currency.isalpha():
            check.clean["currency"] = currency
        else:
            check.fail("currency", UserErrorCode.INVALID, "currency must be an ISO 4217 code such as EUR")
    clean = check.done()
    taken = select(Channel.id).where(func.lower(Channel.name) == clean["name"].lower())
    if session.scalar(taken) is not None:
        raise _invalid(["name"], UserErrorCode.TAKEN, "Another channel has this name")
    channel = Channel(id=uuid.uuid4(), **clean)
    session.add(channel)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "uq_channels_tenant_name" in str(exc.orig):
            raise _invalid(["name"], UserErrorCode.TAKEN, "Another channel has this name") from None
        raise
    session.refresh(channel)
    record_change(session, principal, "channel.created", "Channel", channel.id, None, snapshot(channel))
    emit_event(session, "channel.created", {"channel": api_object(ChannelType.from_model(channel))})
    return channel


# -- leads -------------------------------------------------------------------------------------


def get_lead(session: Session, principal: Principal, lead_id: uuid.UUID, *, lock: bool = False) -> Lead:
    """The lead if it exists in the principal's tenant and is visible to them, else NOT_FOUND."""
    require(principal.permissions, LEADS_READ)
    condition = SqlCondition()
    lead_visibility(principal, "leads", condition)
    query = select(Lead).where(Lead.id == lead_id, text(condition.sql)).params(**condition.params)
    if lock:
        query = query.with_for_update()
    lead = session.scalars(query).first()
    if lead is None:
        raise NotFoundError("Lead not found", id=str(lead_id))
    return lead


def _member_id(principal: Principal) -> uuid.UUID:
    if principal.membership_id is None:
        raise _invalid([], UserErrorCode.INVALID, "Only a member can hold leads (not an API key)")
    return principal.membership_id


def _lock_holdings(session: Session, principal: Principal, owner_id: uuid.UUID) -> int:
    """Serialise changes of what `owner_id` holds; the number of free places under the cap."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"lead-holdings:{principal.tenant_id}:{owner_id}"},
    )
    held = session.scalar(
        select(func.count()).select_from(Lead).where(Lead.owner_id == owner_id, Lead.status == LeadStatus.CLAIMED.value)
    )
    return lead_claim_cap(session, principal.tenant_id) - int(held or 0)


def _cap_error(path: list[str], free: int, wanted: int, cap_holder: str) -> InputInvalid:
    return _invalid(
        path,
        UserErrorCode.CLAIM_CAP_EXCEEDED,
        f"{cap_holder} may hold {max(free, 0)} more open lead(s) under the tenant's cap; {wanted} asked for",
    )


def _check_lead(data: dict[str, Any]) -> dict[str, Any]:
    check = Checker(data)
    check.text("name", required=True, max_length=200)
    check.text("company", max_length=200)
    check.email("email")
    check.phone("phone")
    check.json_object("custom_fields", max_bytes=20_000)
    for name in ("channel_id", "owner_id"):
        check.passthrough(name)
    return check.done()


def check_lead_input(data: dict[str, Any]) -> dict[str, Any]:
    """A new lead's fields checked and normalised as `create_lead` checks them (for a preview)."""
    return _check_lead(data)


def create_lead(session: Session, principal: Principal, data: dict[str, Any]) -> Lead:
    """A new lead: in the pool, or owned by `owner_id` (reps: themselves; managers: their teams' members).

    A lead matching an existing lead, customer or contact is `DUPLICATE` unless `allow_duplicate`;
    `custom_fields` are checked against the tenant's LEAD definitions (`validate_custom_fields`).
    """
    require(principal.permissions, LEADS_WRITE)
    data = dict(data)
    allow_duplicate = bool(data.pop("allow_duplicate", False))
    clean = _check_lead(data)
    if clean.get("channel_id") is not None and session.get(Channel, (principal.tenant_id, clean["channel_id"])) is None:
        raise _invalid(["channelId"], UserErrorCode.NOT_FOUND, "No such channel")
    owner_id = clean.get("owner_id")
    if owner_id is not None:
        owner = session.get(Membership, (principal.tenant_id, owner_id))
        if owner is None or not owner.is_active:
            raise _invalid(["ownerId"], UserErrorCode.NOT_FOUND, "No such member")
        if not may_own_for(session, principal, owner_id):
            raise _invalid(
                ["ownerId"],
                UserErrorCode.INVALID,
                "Sales reps can only own leads themselves (managers: or their teams' members)",
            )
    if not allow_duplicate:
        duplicates.check_duplicates(
            session,
            principal.tenant_id,
            email=("email", clean.get("email")),
            phone=("phone", clean.get("phone")),
            company=("company", clean.get("company")),
        )
    if owner_id is not None and _lock_holdings(session, principal, owner_id) < 1:
        raise _cap_error(["ownerId"], 0, 1, "The owner")
    lead_id = uuid.uuid4()
    clean["custom_fields"] = validate_custom_fields(
        session, principal.tenant_id, CustomFieldEntity.LEAD, clean.get("custom_fields"), record_id=lead_id
    )
    lead = Lead(
        id=lead_id,
        **clean,
        status=(LeadStatus.CLAIMED if owner_id else LeadStatus.POOL).value,
        claimed_at=_now() if owner_id else None,
    )
    session.add(lead)
    session.flush()
    session.refresh(lead)
    _lead_event(session, principal, "lead.created", lead, None)
    return lead


def _check_ids(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    unique = sorted(set(ids))
    if not unique:
        raise _invalid(["ids"], UserErrorCode.REQUIRED, "ids must name at least one lead")
    if len(unique) > MAX_IDS:
        raise _invalid(["ids"], UserErrorCode.TOO_LONG, f"at most {MAX_IDS} leads at once")
    return unique


def _locked_leads(
    session: Session, principal: Principal, ids: list[uuid.UUID], *, visible: bool = True
) -> dict[uuid.UUID, Lead]:
    """The leads among `ids` (those visible to the principal, unless `visible=False`: the tenant's),
    locked in id order (no deadlock between two batches)."""
    query = select(Lead).where(Lead.id.in_(ids))
    if visible:
        condition = SqlCondition()
        lead_visibility(principal, "leads", condition)
        query = query.where(text(condition.sql)).params(**condition.params)
    rows = session.scalars(query.order_by(Lead.id).with_for_update().execution_options(populate_existing=True))
    return {row.id: row for row in rows}


def _missing(ids: list[uuid.UUID], found: dict[uuid.UUID, Lead]) -> None:
    missing = [i for i in ids if i not in found]
    if missing:
        names = ", ".join(to_global_id("Lead", i) for i in missing)
        raise _invalid(["ids"], UserErrorCode.NOT_FOUND, f"No such lead: {names}")


def claim_leads(session: Session, principal: Principal, ids: Sequence[uuid.UUID]) -> list[Lead]:
    """Take the leads from the pool for the caller: all of them or none."""
    require(principal.permissions, LEADS_WRITE)
    member = _member_id(principal)
    wanted = _check_ids(ids)
    free = _lock_holdings(session, principal, member)
    if len(wanted) > free:
        raise _cap_error(["ids"], free, len(wanted), "You")
    # Every pool lead is visible to every member: a lead that is not (another's, or closed) is
    # NOT_IN_POOL, also when a concurrent claim took it while this one waited for its lock.
    leads = _locked_leads(session, principal, wanted, visible=False)
    _missing(wanted, leads)
    taken = [lead for lead in leads.values() if lead.status != LeadStatus.POOL.value]
    if taken:
        names = ", ".join(to_global_id("Lead", lead.id) for lead in taken)
        raise _invalid(["ids"], UserErrorCode.NOT_IN_POOL, f"Not in the pool (claimed or closed): {names}")
    now = _now()
    claimed = []
    for lead_id in wanted:
        lead = leads[lead_id]
        before = snapshot(lead)
        lead.owner_id, lead.status, lead.claimed_at, lead.updated_at = member, LeadStatus.CLAIMED.value, now, now
        _flush(session)
        _lead_event(session, principal, "lead.claimed", lead, before)
        claimed.append(lead)
    return claimed


def _check_reason(reason: Any) -> str:
    check = Checker({"reason": reason})
    check.text("reason", required=True, max_length=500)
    return str(check.done()["reason"])


def return_leads(session: Session, principal: Principal, ids: Sequence[uuid.UUID], reason: str) -> list[Lead]:
    """Put claimed leads back into the pool, with the reason: all of them or none."""
    require(principal.permissions, LEADS_WRITE)
    clean_reason = _check_reason(reason)
    wanted = _check_ids(ids)
    leads = _locked_leads(session, principal, wanted)
    _missing(wanted, leads)
    not_claimed = [lead for lead in leads.values() if lead.status != LeadStatus.CLAIMED.value]
    if not_claimed:
        names = ", ".join(to_global_id("Lead", lead.id) for lead in not_claimed)
        raise _invalid(["ids"], UserErrorCode.NOT_CLAIMED, f"Not claimed (in the pool or closed): {names}")
    now = _now()
    for lead_id in wanted:
        lead = leads[lead_id]
        before = snapshot(lead)
        previous_owner = lead.owner_id
        lead.owner_id, lead.status, lead.returned_at = None, LeadStatus.POOL.value, now
        lead.return_reason, lead.updated_at = clean_reason, now
        _flush(session)
        _lead_event(session, principal, "lead.returned", lead, before, returned_by=node_ref("Member", previous_owner))
    return [leads[i] for i in wanted]


def update_lead(session: Session, principal: Principal, lead_id: uuid.UUID, version: int, data: dict[str, Any]) -> Lead:
    """Change an open lead's name, company, e-mail, phone or channel (a data import's UPDATE).

    A stale `version` is CONFLICT; a converted or disqualified lead is not changed; new values
    matching another lead, customer or contact are `DUPLICATE` unless `allow_duplicate`.
    """
    require(principal.permissions, LEADS_WRITE)
    data = dict(data)
    allow_duplicate = bool(data.pop("allow_duplicate", False))
    check = Checker(data)
    check.text("name", required="name" in data, max_length=200)
    check.text("company", max_length=200)
    check.email("email")
    check.phone("phone")
    check.passthrough("channel_id")
    clean = check.done()
    lead = get_lead(session, principal, lead_id, lock=True)
    if lead.version != version:
        raise ConflictError(current_version=lead.version)
    closed = _closed_error(lead, ["id"])
    if closed is not None:
        raise closed
    if clean.get("channel_id") is not None and session.get(Channel, (principal.tenant_id, clean["channel_id"])) is None:
        raise _invalid(["channelId"], UserErrorCode.NOT_FOUND, "No such channel")
    if not allow_duplicate:
        duplicates.check_duplicates(
            session,
            principal.tenant_id,
            email=("email", clean.get("email")),
            phone=("phone", clean.get("phone")),
            company=("company", clean.get("company")),
            exclude_ids=frozenset({lead.id}),
        )
    before = snapshot(lead)
    for key, value in clean.items():
        setattr(lead, key, value)
    lead.updated_at = _now()
    _flush(session)
    _lead_event(session, principal, "lead.updated", lead, before)
    return lead


def _closed_error(lead: Lead, path: list[str]) -> InputInvalid | None:
    if lead.status == LeadStatus.CONVERTED.value:
        return _invalid(path, UserErrorCode.ALREADY_CONVERTED, "This lead was already converted")
    if lead.status == LeadStatus.DISQUALIFIED.value:
        return _invalid(path, UserErrorCode.ALREADY_DISQUALIFIED, "This lead was disqualified")
    return None


def disqualify_lead(session: Session, principal: Principal, lead_id: uuid.UUID, reason: str) -> Lead:
    """End an open lead without a customer, saying why."""
    require(principal.permissions, LEADS_WRITE)
    clean_reason = _check_reason(reason)
    lead = get_lead(session, principal, lead_id, lock=True)
    closed = _closed_error(lead, ["id"])
    if closed is not None:
        raise closed
    before = snapshot(lead)
    now = _now()
    lead.status, lead.disqualified_at, lead.disqualify_reason, lead.updated_at = (
        LeadStatus.DISQUALIFIED.value, now, clean_reason, now,
    )  # fmt: skip
    _flush(session)
    _lead_event(session, principal, "lead.disqualified", lead, before)
    return lead


def _prefixed(invalid: InputInvalid, prefix: str) -> InputInvalid:
    """The deals domain's input errors for the opportunity, under `input.opportunity.…`."""
    errors = []
    for error in invalid.errors:
        path = list(error.field)
        rest = path[1:] if path[:1] == ["input"] else path
        errors.append(FieldError(["input", prefix, *rest], error.code, error.message))
    return InputInvalid(errors)


def convert_lead(
    session: Session,
    principal: Principal,
    lead_id: uuid.UUID,
    opportunity: dict[str, Any] | None = None,
    *,
    allow_duplicate: bool = False,
) -> Conversion:
    """The lead becomes a customer with its primary contact and, when `opportunity` is given, an
    opportunity: all in the caller's transaction, or nothing (a user error anywhere rolls it back).

    The lead row is locked first, so a second conversion (also a concurrent one) finds it
    converted: `ALREADY_CONVERTED`, and no second customer.
    """
    require(principal.permissions, LEADS_WRITE)
    require(principal.permissions, CUSTOMERS_WRITE)
    lead = get_lead(session, principal, lead_id, lock=True)
    closed = _closed_error(lead, ["id"])
    if closed is not None:
        raise closed
    if not allow_duplicate:
        duplicates.check_duplicates(
            session,
            principal.tenant_id,
            email=("id", lead.email),
            phone=("id", lead.phone),
            company=("id", lead.company),
            include_leads=False,
        )
    owner_id = lead.owner_id or principal.membership_id
    customer_data: dict[str, Any] = {
        "name": lead.company or lead.name,
        "kind": (CustomerKind.COMPANY if lead.company else CustomerKind.PERSON).value,
        "lifecycle_stage": LifecycleStage.PROSPECT.value,
        "allow_duplicate": True,  # checked above, against customers and contacts
    }
    if lead.channel_id is not None:
        channel = session.get(Channel, (principal.tenant_id, lead.channel_id))
        customer_data["source"] = channel.name if channel is not None else None
    if owner_id is not None:
        customer_data["owner_id"] = owner_id
    customer = customers.create_customer(session, principal, customer_data)
    contact_data: dict[str, Any] = {"name": lead.name, "is_primary": True}
    for key in ("email", "phone"):
        if getattr(lead, key):
            contact_data[key] = getattr(lead, key)
    contact = customers.create_contact(session, principal, customer.id, contact_data)
    made = None
    if opportunity is not None:
        try:
            made = create_opportunity(
                session,
                principal,
                customer_id=customer.id,
                owner_id=owner_id,
                name=str(opportunity.get("name") or ""),
                amount=opportunity.get("amount"),
                currency=str(opportunity.get("currency") or ""),
            )
        except InputInvalid as invalid:
            raise _prefixed(invalid, "opportunity") from None
    before = snapshot(lead)
    now = _now()
    lead.status, lead.converted_at, lead.updated_at = LeadStatus.CONVERTED.value, now, now
    lead.owner_id = lead.owner_id or principal.membership_id
    lead.converted_customer_id, lead.converted_contact_id = customer.id, contact.id
    lead.converted_opportunity_id = made.id if made is not None else None
    _flush(session)
    _lead_event(
        session,
        principal,
        "lead.converted",
        lead,
        before,
        customer=node_ref("Customer", customer.id),
        contact=node_ref("Contact", contact.id),
        opportunity=node_ref("Opportunity", made.id if made is not None else None),
    )
    return Conversion(lead=lead, customer=customer, contact=contact, opportunity=made)
