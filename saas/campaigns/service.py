"""Creating and launching campaigns, recording responses: validation, the frozen audience, the
pool leads of unknown responders, events.

- **The audience** is a saved customer filter (the `customers` list's `filter` input as JSON),
  checked on create with coded `userErrors` and applied to the whole tenant (not the creator's
  view). Its size is counted on create; `launchCampaign` freezes the members with one
  `INSERT … SELECT` and stores their number.
- **Launch once.** The campaign row is locked; a second launch (also a concurrent one) finds it
  LAUNCHED: `ALREADY_LAUNCHED`, and no second set of members.
- **A positive response from an unknown e-mail** (no contact has it) makes a lead in the pool,
  through `saas.leads.service.create_lead`, with the campaign's channel and the campaign; the
  same e-mail answering again is linked to that lead, not made a second one, also when both
  answers come at once (an advisory transaction lock on tenant and e-mail orders them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from saas.audit.log import record_change, snapshot
from saas.auth.permissions import CHANNELS_MANAGE, LEADS_READ, LEADS_WRITE, require
from saas.auth.principal import Principal
from saas.campaigns.models import Campaign, CampaignResponse, CampaignStatus
from saas.campaigns.rules import POSITIVE_KINDS, RESPONSE_KINDS
from saas.customers.graphql.types import CustomerFilterInput
from saas.customers.models import Contact, Customer
from saas.customers.rules import customer_conditions
from saas.db.conditions import SqlCondition
from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import node_ref
from saas.exports.filters import filter_input, filter_rule
from saas.leads.models import Channel, Lead
from saas.leads.service import create_channel, create_lead
from saas.money import parse_amount, parse_currency
from saas.schema.relay import to_global_id
from saas.tenancy.session import TENANT_PARAM
from saas.validation import Checker

AUDIENCE_PATH = ["input", "audience"]
MAX_AUDIENCE_BYTES = 10_000


@dataclass(frozen=True)
class Launch:
    campaign: Campaign
    inbound_token: str


def _invalid(path: list[str], code: UserErrorCode, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", *path], code, message)])


def campaign_status(campaign: Campaign, today: date | None = None) -> CampaignStatus:
    """As `campaign_status_sql`: ENDED once a launched campaign's last day has passed."""
    today = today or datetime.now(UTC).date()
    if campaign.status == CampaignStatus.LAUNCHED.value and campaign.ends_on < today:
        return CampaignStatus.ENDED
    return CampaignStatus(campaign.status)


def campaign_payload(campaign: Campaign) -> dict[str, Any]:
    """The campaign as events carry it (GraphQL shapes: global ids, enum values, decimal strings)."""
    return {
        "id": to_global_id("Campaign", campaign.id),
        "name": campaign.name,
        "channel": node_ref("Channel", campaign.channel_id),
        "budget": str(campaign.budget),
        "currency": campaign.currency,
        "startsOn": campaign.starts_on.isoformat(),
        "endsOn": campaign.ends_on.isoformat(),
        "status": campaign_status(campaign).name,
        "audience": campaign.audience,
        "audienceSize": campaign.audience_size,
    }


def _whole_tenant(principal: Principal) -> Principal:
    """The audience is the tenant's, whoever saved it: read as a principal that sees every customer."""
    return Principal(tenant_id=principal.tenant_id, label=principal.label, permissions=frozenset())


def audience_condition(principal: Principal, audience: Any, alias: str = "c") -> SqlCondition:
    """The audience's customers as a condition over `alias`; `InputInvalid` under `input.audience`."""
    flt = filter_input(CustomerFilterInput, audience, AUDIENCE_PATH)
    condition: SqlCondition = filter_rule(
        lambda: customer_conditions(_whole_tenant(principal), alias, flt.to_rule() if flt else None), AUDIENCE_PATH
    )
    return condition


def _count_audience(session: Session, principal: Principal, condition: SqlCondition) -> int:
    sql = f"SELECT count(*) FROM customers c WHERE c.tenant_id = :{TENANT_PARAM} AND {condition.sql}"
    return int(session.execute(text(sql), {**condition.params, TENANT_PARAM: principal.tenant_id}).scalar_one())


def _channel_id(session: Session, principal: Principal, name: str) -> uuid.UUID:
    """The channel of that name (any case), made when the tenant has none yet."""
    found = session.scalar(select(Channel.id).where(func.lower(Channel.name) == name.lower()))
    if found is not None:
        return found
    return create_channel(session, principal, {"name": name}).id


def create_campaign(session: Session, principal: Principal, data: dict[str, Any]) -> Campaign:
    require(principal.permissions, CHANNELS_MANAGE)
    check = Checker(data)
    check.text("name", required=True, max_length=200)
    check.text("channel", required=True, max_length=100)
    try:
        check.clean["budget"] = parse_amount(data.get("budget"), positive=True)
    except ValueError as exc:
        check.fail("budget", UserErrorCode.INVALID, f"budget {exc}")
    try:
        check.clean["currency"] = parse_currency(data.get("currency"))
    except ValueError as exc:
        check.fail("currency", UserErrorCode.INVALID, f"currency {exc}")
    starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
    if isinstance(starts_on, date) and isinstance(ends_on, date) and ends_on < starts_on:
        check.fail("ends_on", UserErrorCode.INVALID, "endsOn must not be before startsOn")
    audience = data.get("audience")
    if not isinstance(audience, dict):
        check.fail("audience", UserErrorCode.WRONG_TYPE, "audience must be a JSON object (a customers filter)")
    elif len(str(audience)) > MAX_AUDIENCE_BYTES:
        check.fail("audience", UserErrorCode.TOO_LONG, "audience is too large")
    clean = check.done()
    condition = audience_condition(principal, audience)
    campaign = Campaign(
        id=uuid.uuid4(),
        name=clean["name"],
        channel_id=_channel_id(session, principal, clean["channel"]),
        budget=clean["budget"],
        currency=clean["currency"],
        starts_on=starts_on,
        ends_on=ends_on,
        audience=audience,
        status=CampaignStatus.DRAFT.value,
        audience_size=_count_audience(session, principal, condition),
        created_by_id=principal.membership_id,
    )
    session.add(campaign)
    session.flush()
    session.refresh(campaign)
    record_change(session, principal, "campaign.created", "Campaign", campaign.id, None, snapshot(campaign))
    emit_event(session, "campaign.created", {"campaign": campaign_payload(campaign)})
    return campaign


def get_campaign(session: Session, principal: Principal, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign:
    require(principal.permissions, LEADS_READ)
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    campaign = session.scalars(query).first()
    if campaign is None:
        raise NotFoundError("Campaign not found", id=str(campaign_id))
    return campaign


def _new_token(campaign: Campaign) -> str:
    """`<tenant and campaign>.<secret>`: the first half finds the campaign, the secret's hash proves it."""
    secret = secrets.token_urlsafe(24)
    campaign.inbound_token_hash = hashlib.sha256(secret.encode()).hexdigest()
    return f"{campaign.tenant_id.hex}{campaign.id.hex}.{secret}"


def launch_campaign(session: Session, principal: Principal, campaign_id: uuid.UUID) -> Launch:
    """DRAFT → LAUNCHED: the audience's customers become its members, in one INSERT … SELECT."""
    require(principal.permissions, CHANNELS_MANAGE)
    campaign = get_campaign(session, principal, campaign_id, lock=True)
    if campaign.status != CampaignStatus.DRAFT.value:
        raise _invalid(["id"], UserErrorCode.ALREADY_LAUNCHED, "This campaign was already launched")
    if campaign.ends_on < datetime.now(UTC).date():
        raise _invalid(["id"], UserErrorCode.INVALID_TRANSITION, "This campaign's last day has passed")
    condition = audience_condition(principal, campaign.audience)
    inserted = session.execute(
        text(
            "INSERT INTO campaign_members (tenant_id, campaign_id, customer_id) "
            f"SELECT c.tenant_id, :campaign_id, c.id FROM customers c WHERE c.tenant_id = :{TENANT_PARAM} "
            f"AND {condition.sql}"
        ),
        {**condition.params, "campaign_id": campaign.id, TENANT_PARAM: principal.tenant_id},
    )
    before = snapshot(campaign)
    now = datetime.now(UTC)
    campaign.status, campaign.launched_at, campaign.updated_at = CampaignStatus.LAUNCHED.value, now, now
    campaign.audience_size = int(inserted.rowcount or 0)  # type: ignore[attr-defined]
    token = _new_token(campaign)
    session.flush()
    record_change(session, principal, "campaign.launched", "Campaign", campaign.id, before, snapshot(campaign))
    emit_event(session, "campaign.launched", {"campaign": campaign_payload(campaign)})
    return Launch(campaign, token)


def issue_inbound_token(session: Session, principal: Principal, campaign_id: uuid.UUID) -> Launch:
    """A new secret for the inbound endpoint (the old one stops working); shown once."""
    require(principal.permissions, CHANNELS_MANAGE)
    campaign = get_campaign(session, principal, campaign_id, lock=True)
    if campaign.status == CampaignStatus.DRAFT.value:
        raise _invalid(["id"], UserErrorCode.NOT_LAUNCHED, "Launch the campaign first")
    token = _new_token(campaign)
    campaign.updated_at = datetime.now(UTC)
    session.flush()
    emit_event(session, "campaign.inbound_token_issued", {"campaign": node_ref("Campaign", campaign.id)})
    return Launch(campaign, token)


def _check_response(data: dict[str, Any]) -> dict[str, Any]:
    check = Checker(data)
    check.text("kind", required=True, max_length=20)
    kind = str(check.clean.get("kind") or "").upper()
    if "kind" in check.clean and kind not in RESPONSE_KINDS:
        check.fail("kind", UserErrorCode.INVALID, f"kind must be one of {', '.join(RESPONSE_KINDS)}")
    check.clean["kind"] = kind
    check.email("email")
    check.text("note", max_length=500)
    check.passthrough("customer_id")
    check.passthrough("contact_id")
    clean = check.done()
    if not any(clean.get(key) for key in ("customer_id", "contact_id", "email")):
        raise _invalid(["email"], UserErrorCode.REQUIRED, "Name the responder: customerId, contactId or email")
    return clean


def _responder(session: Session, clean: dict[str, Any]) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The customer and contact the response is from (checked in the tenant), if known."""
    customer_id, contact_id = clean.get("customer_id"), clean.get("contact_id")
    if customer_id is not None:
        customer = session.scalar(select(Customer).where(Customer.id == customer_id, Customer.deleted_at.is_(None)))
        if customer is None:
            raise _invalid(["customerId"], UserErrorCode.NOT_FOUND, "No such customer")
    if contact_id is not None:
        contact = session.scalar(select(Contact).where(Contact.id == contact_id, Contact.deleted_at.is_(None)))
        if contact is None:
            raise _invalid(["contactId"], UserErrorCode.NOT_FOUND, "No such contact")
        if customer_id is not None and contact.customer_id != customer_id:
            raise _invalid(["contactId"], UserErrorCode.OTHER_CUSTOMER, "This contact is not the customer's")
        customer_id = contact.customer_id
    if customer_id is None and clean.get("email"):
        contact = session.scalar(
            select(Contact)
            .where(func.lower(Contact.email) == clean["email"].lower(), Contact.deleted_at.is_(None))
            .order_by(Contact.created_at, Contact.id)
            .limit(1)
        )
        if contact is not None:
            customer_id, contact_id = contact.customer_id, contact.id
    return customer_id, contact_id


def _pool_lead(session: Session, principal: Principal, campaign: Campaign, email: str) -> Lead:
    """The campaign's lead for this e-mail: the one an earlier response made, or a new one in the pool.

    Two responses from the same e-mail at once are serialised on a transaction advisory lock keyed on
    the tenant and the lower-cased e-mail, taken before the look-up: the second finds the first's lead.
    """
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"campaign-pool-lead:{principal.tenant_id}:{email.strip().lower()}"},
    )
    existing = session.scalar(
        select(Lead).where(Lead.campaign_id == campaign.id, func.lower(Lead.email) == email.lower()).limit(1)
    )
    if existing is not None:
        return existing
    # Recording a response may make a lead: the lead's permissions come with it.
    acting = dataclasses.replace(principal, permissions=principal.permissions | {LEADS_READ, LEADS_WRITE})
    data = {"name": email, "email": email, "channel_id": campaign.channel_id, "allow_duplicate": True}
    lead = create_lead(session, acting, data)
    lead.campaign_id = campaign.id
    session.flush()
    return lead


def record_response(
    session: Session, principal: Principal, campaign_id: uuid.UUID, data: dict[str, Any], *, source: str = "api"
) -> CampaignResponse:
    """A response to a launched campaign; a positive one from an unknown e-mail makes a pool lead."""
    require(principal.permissions, LEADS_WRITE)
    campaign = get_campaign(session, principal, campaign_id)
    clean = _check_response(data)
    if campaign.status == CampaignStatus.DRAFT.value:
        raise _invalid(["campaignId"], UserErrorCode.NOT_LAUNCHED, "This campaign has not been launched")
    customer_id, contact_id = _responder(session, clean)
    lead = None
    if customer_id is None and clean["kind"] in POSITIVE_KINDS and clean.get("email"):
        lead = _pool_lead(session, principal, campaign, clean["email"])
    response = CampaignResponse(
        id=uuid.uuid4(),
        campaign_id=campaign.id,
        kind=clean["kind"],
        customer_id=customer_id,
        contact_id=contact_id,
        email=clean.get("email"),
        note=clean.get("note"),
        lead_id=lead.id if lead is not None else None,
        source=source,
    )
    session.add(response)
    session.flush()
    emit_event(
        session,
        "campaign.response_recorded",
        {
            "campaign": node_ref("Campaign", campaign.id),
            "response": {
                "id": to_global_id("CampaignResponse", response.id),
                "kind": response.kind,
                "customer": node_ref("Customer", customer_id),
                "contact": node_ref("Contact", contact_id),
                "email": response.email,
                "lead": node_ref("Lead", response.lead_id),
                "source": source.upper(),
            },
        },
    )
    return response
