"""Demo sales: a team, channels with costs, custom fields, products, a lead pool worked by the reps,
a pipeline in every stage, and what follows a win (contracts, orders, payment plans, invoices),
with the follow-ups around it.

Every record is written through its domain's service, acting as the member who would do it in
real use: the reps claim, convert and sell (so they own their records), the owner sets things
up, decides on invoices and hands two accounts over from one rep to the other. Choices come from `demo.rng`
only and dates are relative to `demo.now`, so every demo tenant gets the same story, and every
report (pipelineReport, leadFunnel, salesTrend, repLeaderboard, paymentCollection) has figures.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from saas.auth.principal import Principal
from saas.custom_fields.service import define_custom_field
from saas.customers.models import Customer
from saas.customers.service import update_customer
from saas.deals import service as deals
from saas.deals.models import Installment, Opportunity, PipelineStage, StageKind
from saas.followups.pool import transfer_customers
from saas.followups.service import complete_task, create_task, log_activity
from saas.leads import service as leads
from saas.plugin_host.contributions import DemoContext
from saas.products.service import create_product
from saas.schema.relay import to_global_id
from saas.teams.service import create_team

CURRENCY = "EUR"
CHANNELS = (("Website", "1200.00"), ("Trade fair", "4500.00"), ("Referral", "0"), ("LinkedIn ads", "2400.00"))
PRODUCTS = (
    ("CRM-SEAT", "CRM seat, yearly", "480.00"),
    ("ONBOARD", "Onboarding package", "1500.00"),
    ("SUPPORT-PLUS", "Premium support, yearly", "900.00"),
    ("API-PACK", "API call pack (1M)", "250.00"),
    ("TRAINING", "Training day", "1100.00"),
)
SEGMENTS = ("SMB", "Mid-market", "Enterprise")
COMPETITORS = ("Salesforce", "HubSpot", "Pipedrive", "Zoho")
LEAD_COMPANIES = (
    "Alpine Robotics", "Bayview Dental", "Copperleaf Studio", "Driftwood Hotels", "Elmstead Dairy",
    "Fjord Analytics", "Glasshouse Media", "Hearthstone Homes", "Indigo Print", "Jetstream Couriers",
    "Kiln & Co", "Lumen Optics", "Mosaic Tiles", "Nimbus Drones", "Outpost Gear", "Parkline Clinics",
    "Quarry Stoneworks", "Ridgeback Security", "Saltmarsh Seafood", "Tidewater Marinas", "Upland Vineyards",
    "Verdant Gardens", "Wharfside Storage", "Yardarm Sailing",
)  # fmt: skip
LEAD_PEOPLE = (
    "Ada Moreno", "Bram Visser", "Cleo Hart", "Dev Raman", "Esme Laine", "Finn Doyle", "Gia Romano",
    "Hugo Brandt", "Iris Kovac", "Jon Eriksen", "Kaia Brooks", "Leo Marchetti",
)  # fmt: skip
TASK_TITLES = (
    "Follow up on the proposal", "Send the contract draft", "Call about next steps", "Check in after onboarding",
)  # fmt: skip
LOST_REASONS = ("Chose a competitor", "No budget this year", "Project cancelled")
RETURN_REASONS = ("Outside my territory", "Could not reach them after three calls")
DISQUALIFY_REASONS = ("Student project, no budget", "Duplicate of an existing account", "Not a business")


@dataclass
class SalesDemo:
    """The step's state: who acts, what exists so far."""

    demo: DemoContext
    manager: Principal
    reps: tuple[Principal, ...]
    stages: dict[StageKind, list[PipelineStage]] = field(default_factory=dict)
    channels: list[uuid.UUID] = field(default_factory=list)
    products: list[uuid.UUID] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)

    @property
    def rng(self) -> Any:
        return self.demo.rng

    def number(self, prefix: str) -> str:
        self.numbers[prefix] = self.numbers.get(prefix, 0) + 1
        return f"{prefix}-{self.demo.now.year}-{self.numbers[prefix]:04d}"

    def days_ago(self, days: int) -> date:
        return (self.demo.now - timedelta(days=days)).date()

    def at(self, days: float, hour: int = 10) -> datetime:
        """`days` from `demo.now` (negative: in the past), at `hour` o'clock UTC of that day."""
        moment = self.demo.now + timedelta(days=days)
        return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


def seed_sales(demo: DemoContext) -> None:
    """The sales story of the demo tenant (see the module's docstring)."""
    manager, *reps = demo.members
    sales = SalesDemo(demo, manager, tuple(reps))
    session = demo.session
    create_team(session, demo.owner, "Field sales", manager.membership_id, [rep.membership_id for rep in reps])
    _setup(sales)
    converted = _leads(sales)
    opportunities = converted + _opportunities_on_accounts(sales)
    won = _work_pipeline(sales, opportunities)
    _after_the_win(sales, won)
    _follow_ups(sales, opportunities)
    _hand_over(sales)


def _setup(sales: SalesDemo) -> None:
    """Channels with costs, custom fields on every sales record, the product catalog, the stages."""
    demo = sales.demo
    for name, cost in CHANNELS:
        sales.channels.append(
            leads.create_channel(demo.session, demo.owner, {"name": name, "cost": cost, "currency": CURRENCY}).id
        )
    fields = (
        ("customer", "segment", "Segment", "select", list(SEGMENTS)),
        ("lead", "budget", "Budget (EUR)", "number", None),
        ("opportunity", "competitor", "Main competitor", "text", None),
        ("contact", "linkedin", "LinkedIn profile", "text", None),
        # Stored encrypted: owners and admins read it, the sales reps see its mask.
        ("customer", "taxId", "Tax id", "sensitive", None),
    )
    for entity, key, label, kind, options in fields:
        definition: dict[str, Any] = {"entity": entity, "key": key, "label": label, "type": kind}
        if options:
            definition["options"] = options
        define_custom_field(demo.session, demo.owner, definition)
    for sku, name, price in PRODUCTS:
        product = create_product(
            demo.session, demo.owner, {"sku": sku, "name": name, "unit_price": price, "currency": CURRENCY}
        )
        sales.products.append(product.id)
    deals.ensure_pipeline(demo.session)
    for stage in deals.list_stages(demo.session, demo.owner):
        sales.stages.setdefault(StageKind(stage.kind), []).append(stage)
    for position, customer in enumerate(_customers(sales)[:: max(1, len(demo.customer_ids) // 12)]):
        update_customer(
            demo.session,
            demo.owner,
            customer.id,
            customer.version,
            {"custom_fields": {"segment": sales.rng.choice(SEGMENTS), "taxId": f"DE{281_000_000 + position * 7_919}"}},
        )


def _customers(sales: SalesDemo, owner_id: uuid.UUID | None = None) -> list[Customer]:
    query = select(Customer).where(Customer.id.in_(sales.demo.customer_ids), Customer.deleted_at.is_(None))
    if owner_id is not None:
        query = query.where(Customer.owner_id == owner_id)
    return list(sales.demo.session.scalars(query.order_by(Customer.created_at, Customer.id)))


def _leads(sales: SalesDemo) -> list[Opportunity]:
    """Leads in every state: left in the pool, owned from the start, claimed, returned, disqualified
    and converted (each conversion with its opportunity, owned by the converting rep)."""
    demo, rng, session = sales.demo, sales.rng, sales.demo.session
    made: list[uuid.UUID] = []
    for index, company in enumerate(LEAD_COMPANIES):
        person = LEAD_PEOPLE[index % len(LEAD_PEOPLE)]
        data: dict[str, Any] = {
            "name": person,
            "company": company,
            "email": f"{person.split()[0].lower()}@{_domain(company)}",
            "allow_duplicate": True,
        }
        if rng.random() < 0.85:
            data["channel_id"] = rng.choice(sales.channels)
        if rng.random() < 0.5:
            data["custom_fields"] = {"budget": rng.choice((5_000, 12_000, 25_000, 60_000))}
        if index % 6 == 5:  # a rep entering a lead they found themselves
            rep = sales.reps[index % len(sales.reps)]
            data["owner_id"] = rep.membership_id
            made.append(leads.create_lead(session, rep, data).id)
        else:  # the pool: marketing's leads
            made.append(leads.create_lead(session, demo.owner, data).id)
    pool = [lead_id for index, lead_id in enumerate(made) if index % 6 != 5]
    owned = [lead_id for index, lead_id in enumerate(made) if index % 6 == 5]
    rng.shuffle(pool)
    claimed = {rep.membership_id: pool[i * 7 : i * 7 + 7] for i, rep in enumerate(sales.reps)}
    for rep in sales.reps:
        leads.claim_leads(session, rep, claimed[rep.membership_id])
    converted: list[Opportunity] = []
    for rep in sales.reps:
        held = claimed[rep.membership_id]
        leads.return_leads(session, rep, held[:1], rng.choice(RETURN_REASONS))
        leads.disqualify_lead(session, rep, held[1], rng.choice(DISQUALIFY_REASONS))
        for lead_id in held[2:5]:
            amount = f"{rng.randrange(40, 240) * 100}.00"
            opportunity = {"name": "First order", "amount": amount, "currency": CURRENCY}
            conversion = leads.convert_lead(session, rep, lead_id, opportunity, allow_duplicate=True)
            assert conversion.opportunity is not None
            converted.append(conversion.opportunity)
    # The leads the reps entered themselves: one converted, one disqualified, the rest kept open.
    for lead_id in owned[:1]:
        rep = _owner_of_lead(sales, lead_id)
        conversion = leads.convert_lead(
            session, rep, lead_id, {"name": "Pilot", "amount": "3600.00", "currency": CURRENCY}, allow_duplicate=True
        )
        assert conversion.opportunity is not None
        converted.append(conversion.opportunity)
    for lead_id in owned[1:2]:
        leads.disqualify_lead(session, _owner_of_lead(sales, lead_id), lead_id, DISQUALIFY_REASONS[0])
    return converted


def _domain(company: str) -> str:
    return "-".join(word for word in company.lower().split() if word.isalnum()) + ".example.com"


def _owner_of_lead(sales: SalesDemo, lead_id: uuid.UUID) -> Principal:
    lead = leads.get_lead(sales.demo.session, sales.demo.owner, lead_id)
    return next(rep for rep in sales.reps if rep.membership_id == lead.owner_id)


def _opportunities_on_accounts(sales: SalesDemo) -> list[Opportunity]:
    """New business with existing customers: a few opportunities per rep on the rep's own accounts."""
    rng, session = sales.rng, sales.demo.session
    made = []
    for rep in sales.reps:
        for customer in _customers(sales, rep.membership_id)[:6]:
            made.append(
                deals.create_opportunity(
                    session,
                    rep,
                    customer_id=customer.id,
                    name=rng.choice(("Renewal", "Upsell: more seats", "New site rollout", "Support upgrade")),
                    amount=f"{rng.randrange(20, 300) * 100}.00",
                    currency=CURRENCY,
                    expected_close_on=sales.days_ago(-rng.randrange(7, 90)),
                    custom_fields={"competitor": rng.choice(COMPETITORS)} if rng.random() < 0.5 else None,
                )
            )
    return made


def _owner_principal(sales: SalesDemo, opportunity: Opportunity) -> Principal:
    return next(rep for rep in sales.reps if rep.membership_id == opportunity.owner_id)


def _work_pipeline(sales: SalesDemo, opportunities: list[Opportunity]) -> list[Opportunity]:
    """Move the opportunities along: some stay in each open stage, some are won after several moves,
    some are lost with a reason. Returns the won ones."""
    open_stages = sales.stages[StageKind.OPEN]
    won_stage, lost_stage = sales.stages[StageKind.WON][0], sales.stages[StageKind.LOST][0]
    won = []
    for index, opportunity in enumerate(opportunities):
        rep = _owner_principal(sales, opportunity)
        fate = index % 5  # 0, 1: won; 2: lost; 3, 4: still open, further along or not
        path = open_stages[1 : 1 + (index % len(open_stages))] if fate >= 3 else open_stages[1:]
        for stage in path:
            deals.move_opportunity(sales.demo.session, rep, opportunity.id, stage.id, None)
        if fate in (0, 1):
            won.append(deals.move_opportunity(sales.demo.session, rep, opportunity.id, won_stage.id, None))
        elif fate == 2:
            reason = sales.rng.choice(LOST_REASONS)
            deals.move_opportunity(sales.demo.session, rep, opportunity.id, lost_stage.id, reason)
    return won


def _after_the_win(sales: SalesDemo, won: list[Opportunity]) -> None:
    """Contracts, orders, payment plans (paid, partly paid, overdue, upcoming) and invoices in each state."""
    session, rng, owner = sales.demo.session, sales.rng, sales.demo.owner
    for index, opportunity in enumerate(won):
        rep = _owner_principal(sales, opportunity)
        starts = sales.days_ago(rng.randrange(60, 120))
        contract = deals.create_contract(
            session,
            rep,
            {
                "opportunity_id": opportunity.id,
                "number": sales.number("C"),
                "amount": opportunity.amount,
                "currency": opportunity.currency,
                "starts_on": starts,
                "ends_on": starts + timedelta(days=365),
            },
        )
        products = rng.sample(sales.products, rng.randrange(1, 4))
        lines = [{"product_id": p, "quantity": rng.randrange(1, 12), "unit_price": None} for p in products]
        deals.create_order(
            session, rep, {"customer_id": opportunity.customer_id, "contract_id": contract.id, "lines": lines}
        )
        # Three installments a month apart: the first two past due, the last one upcoming.
        third = (opportunity.amount / 3).quantize(Decimal("0.01"))
        amounts = [third, third, opportunity.amount - 2 * third]
        due = [sales.days_ago(45), sales.days_ago(15), sales.days_ago(-15)]
        plan = deals.create_payment_plan(
            session,
            rep,
            {
                "contract_id": contract.id,
                "installments": [{"due_on": d, "amount": a} for d, a in zip(due, amounts, strict=True)],
            },
        )
        installments = list(
            session.scalars(select(Installment).where(Installment.plan_id == plan.id).order_by(Installment.position))
        )
        # paid on time; then, in turn: paid, half paid (overdue), unpaid (overdue)
        deals.record_payment(
            session, rep, {"installment_id": installments[0].id, "amount": amounts[0], "received_on": due[0]}
        )
        second = index % 3
        if second == 0:
            paid = amounts[1]
        elif second == 1:
            paid = (amounts[1] / 2).quantize(Decimal("0.01"))
        else:
            paid = None
        if paid is not None:
            deals.record_payment(
                session, rep, {"installment_id": installments[1].id, "amount": paid, "received_on": sales.days_ago(10)}
            )
        invoice = deals.request_invoice(session, rep, {"contract_id": contract.id, "amount": amounts[0]})
        state = index % 4  # requested, approved, issued, rejected
        if state in (1, 2):
            deals.approve_invoice(session, owner, invoice.id)
        if state == 2:
            deals.issue_invoice(session, owner, invoice.id, sales.number("INV"))
        if state == 3:
            deals.reject_invoice(session, owner, invoice.id, "Wrong billing address; request it again")


def _follow_ups(sales: SalesDemo, opportunities: list[Opportunity]) -> None:
    """Calls, e-mails and meetings logged in the past weeks; tasks overdue, due today, upcoming and done."""
    session, rng = sales.demo.session, sales.rng
    kinds = ("call", "email", "meeting", "visit", "note")
    summaries = {
        "call": "Discovery call: current tools and pain points",
        "email": "Sent the proposal and pricing sheet",
        "meeting": "Demo with the buying committee",
        "visit": "On-site visit at their main office",
        "note": "Decision expected after their board meeting",
    }
    for index, opportunity in enumerate(opportunities):
        rep = _owner_principal(sales, opportunity)
        subject = (
            to_global_id("Opportunity", opportunity.id)
            if index % 2
            else to_global_id("Customer", opportunity.customer_id)
        )
        for _ in range(rng.randrange(1, 4)):
            kind = rng.choice(kinds)
            log_activity(
                session,
                rep,
                {
                    "subject_id": subject,
                    "kind": kind,
                    "summary": summaries[kind],
                    "occurred_at": sales.at(-rng.randrange(1, 40)),
                },
            )
        when = index % 4  # overdue, due later today, upcoming, done
        due = _task_due(sales, when)
        title = rng.choice(TASK_TITLES)
        task = create_task(
            session, rep, {"subject_id": subject, "title": title, "due_at": due, "remind_at": due - timedelta(hours=1)}
        )
        if when == 3:
            complete_task(session, rep, task.id)


def _task_due(sales: SalesDemo, when: int) -> datetime:
    """0: overdue (a past day); 1: later today, UTC, as the agenda's `today` counts it; 2: a coming
    day; 3: two days ago (a task then done)."""
    now = sales.demo.now
    if when == 1:
        end_of_today = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return now + (end_of_today - now) / 2
    days = {0: -sales.rng.randrange(1, 6), 2: sales.rng.randrange(1, 14), 3: -2}[when]
    return sales.at(days, 9 + 2 * when)


def _hand_over(sales: SalesDemo) -> None:
    """The owner moves two of the first rep's accounts (with their open tasks) to the second rep."""
    first, second = sales.reps[0], sales.reps[-1]
    # The rep's demo accounts; with few demo customers, also those the rep's converted leads became.
    owned = select(Customer).where(Customer.owner_id == first.membership_id, Customer.deleted_at.is_(None))
    accounts = list(sales.demo.session.scalars(owned.order_by(Customer.created_at, Customer.id)))[:2]
    if accounts and second.membership_id is not None:
        transfer_customers(
            sales.demo.session,
            sales.demo.owner,
            [customer.id for customer in accounts],
            second.membership_id,
            "Territory change: these accounts move to the northern region",
        )
