"""Demo data: a realistic tenant, deterministic, created once."""

from __future__ import annotations

import secrets
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from saas.accounts.models import Membership
from saas.audit.models import AuditEntry
from saas.automation.models import AutomationRule
from saas.campaigns.models import Campaign, CampaignMember, CampaignResponse
from saas.cli import main
from saas.customers.models import Contact, Customer
from saas.demo import DEMO_PASSWORD, seed_demo, step_customer_ids
from saas.imports.models import ImportJob, ImportRow
from saas.leads.models import Lead
from saas.tenancy.session import tenant_session
from saas.tickets.models import AgentSkills, ClassificationRule, SlaPolicy, Ticket

ROOT = Path(__file__).resolve().parents[1]


def _slug() -> str:
    return f"demo-{secrets.token_hex(4)}"


def test_seed_demo_creates_a_realistic_tenant(runtime):
    info = seed_demo(runtime.engine, 40, slug=_slug())
    assert info.created and info.customers == 40
    assert info.owner_email == f"owner@{info.slug}.example.com"
    with tenant_session(runtime.engine, info.tenant_id) as session:
        members = session.scalars(select(Membership)).all()
        # The customers the steps made (converted leads, imported rows) are not the generated ones.
        converted = set(session.scalars(step_customer_ids()))
        customers = [c for c in session.scalars(select(Customer)) if c.id not in converted]
        contacts = [c for c in session.scalars(select(Contact)) if c.customer_id not in converted]
        audited = Counter(session.scalars(select(AuditEntry.action)))

    assert sorted(m.role for m in members) == ["manager", "owner", "sales", "sales"]
    assert len(customers) == 40 and len(contacts) == info.contacts
    per_customer = Counter(c.customer_id for c in contacts)
    primaries = Counter(c.customer_id for c in contacts if c.is_primary)
    assert set(per_customer) == {c.id for c in customers}
    assert all(1 <= n <= 3 for n in per_customer.values())
    assert primaries == Counter({c.id: 1 for c in customers})
    # Varied data: several owners and an unowned pool, several stages, industries, tags.
    assert None in {c.owner_id for c in customers} and len({c.owner_id for c in customers}) >= 3
    assert len({c.lifecycle_stage for c in customers}) >= 3
    assert len({c.industry for c in customers}) >= 5
    assert any(c.tags for c in customers) and {c.kind for c in customers} == {"company", "person"}
    assert len({c.name for c in customers}) == 40
    # The tax ids are stored encrypted, never in plaintext.
    sealed = [c.custom_fields["taxId"] for c in customers if "taxId" in c.custom_fields]
    assert sealed and all(set(v) == {"$sensitive", "bi", "mask"} and "DE2" not in v["$sensitive"] for v in sealed)
    # Made through the services: every change is in the audit log.
    # (and the demo leads converted by the sales step and the imported rows: a customer and its
    # primary contact each)
    assert converted and audited["customer.created"] == 40 + len(converted)
    assert audited["contact.created"] == info.contacts + len(converted)
    assert audited["member.added"] == 3
    # The after-sales service: rules, skills, policies and Chinese and English tickets.
    with tenant_session(runtime.engine, info.tenant_id) as session:
        tickets = session.scalars(select(Ticket)).all()
        rules = session.scalar(select(func.count()).select_from(ClassificationRule))
        skills = session.scalar(select(func.count()).select_from(AgentSkills))
        policies = session.scalar(select(func.count()).select_from(SlaPolicy))
    assert (rules, skills, policies) == (5, 3, 6) and len(tickets) == 12
    assert any("退货" in t.subject for t in tickets) and any("Refund" in t.subject for t in tickets)
    assert {t.type for t in tickets} >= {"return", "repair", "complaint", "onsite", "exchange", "inquiry"}
    assert all(t.assignee_id is not None for t in tickets) and {t.status for t in tickets} >= {"resolved", "closed"}
    assert all(t.resolution_due_at is not None for t in tickets)
    # Automation rules, made last so that they act on what happens from now on.
    with tenant_session(runtime.engine, info.tenant_id) as session:
        automation = session.scalars(select(AutomationRule.trigger).order_by(AutomationRule.created_at)).all()
    assert sorted(automation) == ["customer.created", "customer.created", "opportunity.created", "ticket.created"]
    # Campaigns: the newsletter launched, with members, responses and the pool lead of a stranger.
    with tenant_session(runtime.engine, info.tenant_id) as session:
        campaigns = {c.name: c for c in session.scalars(select(Campaign))}
        members = session.scalar(select(func.count()).select_from(CampaignMember))
        responses = session.scalars(select(CampaignResponse)).all()
        campaign_leads = session.scalars(select(Lead).where(Lead.campaign_id.is_not(None))).all()
    assert campaigns["Spring newsletter"].status == "launched" and campaigns["VIP customer evening"].status == "draft"
    assert members == campaigns["Spring newsletter"].audience_size and members > 0
    assert {r.kind for r in responses} >= {"OPENED", "REGISTERED"}
    assert [(lead.email, lead.status) for lead in campaign_leads] == [("chen.jing@example.cn", "pool")]
    # The import: a GB18030 file with Chinese headers, previewed, then committed as previewed.
    with tenant_session(runtime.engine, info.tenant_id) as session:
        (job,) = session.scalars(select(ImportJob)).all()
        rows = session.scalars(select(ImportRow).order_by(ImportRow.row_number)).all()
    assert (job.status, job.dry_run, job.encoding, job.committed_at is not None) == ("completed", True, "gb18030", True)
    assert job.mapping["客户名称"] == "name" and job.mapping["手机"] == "phone" and job.mapping["邮箱"] == "email"
    assert (job.total_rows, job.created, job.updated, job.skipped, job.failed) == (6, 2, 1, 1, 2)
    assert [r.outcome for r in rows] == ["create", "update", "skip", "fail", "create", "fail"]
    assert [e["code"] for r in rows for e in r.errors] == ["INVALID_EMAIL", "DUPLICATE_IN_FILE"]
    assert rows[1].diff == {"industry": {"from": rows[1].diff["industry"]["from"], "to": "Renewable energy"}}
    assert rows[0].values["phone"] == "+8613812345678" and rows[0].values["email"] == "wang.lei@yunfan.example.cn"
    assert len(converted & {r.record_id for r in rows if r.outcome == "create"}) == 2


def test_seed_demo_is_idempotent_and_deterministic(runtime):
    first = seed_demo(runtime.engine, 15, slug=_slug())
    again = seed_demo(runtime.engine, 15, slug=first.slug)
    assert not again.created
    assert (again.tenant_id, again.customers, again.contacts) == (first.tenant_id, 15, first.contacts)
    twin = seed_demo(runtime.engine, 15, slug=_slug())

    def names(tenant_id):
        with tenant_session(runtime.engine, tenant_id) as session:
            return sorted(session.scalars(select(Customer.name)))

    assert names(first.tenant_id) == names(twin.tenant_id)
    with tenant_session(runtime.engine, first.tenant_id) as session:
        generated = Customer.id.not_in(step_customer_ids())
        assert session.scalar(select(func.count()).select_from(Customer).where(generated)) == 15


def test_seed_demo_enables_the_named_plugins_and_lets_them_add_their_data(runtime):
    """The loyalty plugin is enabled on the demo tenant and its `saas_demo` hook awards points,
    acting as the owner with the permission the plugin grants (refused without it)."""
    from saas_plugin_loyalty.models import LoyaltyEntry

    from saas.plugin_host.enabled import enabled_plugins

    info = seed_demo(runtime.engine, 12, slug=_slug(), plugins=runtime.plugins, plugin_names=["loyalty"])
    twin = seed_demo(runtime.engine, 12, slug=_slug(), plugins=runtime.plugins, plugin_names=["loyalty"])

    def entries(tenant_id):
        with tenant_session(runtime.engine, tenant_id) as session:
            assert set(enabled_plugins(session, runtime.plugins)) == {"loyalty"}
            rows = session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.reason == "Demo purchase")).all()
            names = dict(session.execute(select(Customer.id, Customer.name)).all())
            return sorted((names[row.customer_id], row.points) for row in rows)

    demo_points = entries(info.tenant_id)
    assert len(demo_points) == 5 and all(50 <= points < 500 for _, points in demo_points)
    assert entries(twin.tenant_id) == demo_points  # seeded for the plugin: the same on every run


def test_seed_demo_gives_the_insurance_plugin_years_of_policies_claims_and_a_trained_model(runtime):
    """Several years of policies with renewals and claims, enough past outcomes to train the churn
    model (trained in the demo), and the retention run's scores, tasks and cross-sell leads."""
    from saas_insurance.models import ChurnModel, Claim, CrossSellLead, Policy, RatingTable

    info = seed_demo(runtime.engine, 120, slug=_slug(), plugins=runtime.plugins, plugin_names=["insurance"])
    with tenant_session(runtime.engine, info.tenant_id) as session:
        policies = session.scalars(select(Policy)).all()
        claims = session.scalars(select(Claim)).all()
        model = session.scalars(select(ChurnModel)).one()
        leads = session.scalars(select(CrossSellLead)).all()
        versions = set(session.scalars(select(RatingTable.version).where(RatingTable.line == "auto")))
    years = {p.starts_on.year for p in policies}
    renewals = [p for p in policies if p.renewed_from_id is not None]
    assert len(years) >= 5 and len(renewals) >= 150, (len(years), len(renewals))
    assert {p.status for p in policies} >= {"active", "expired"}
    assert len(claims) >= 50 and {c.status for c in claims} >= {"approved", "denied", "closed"}
    assert model.samples >= 200 and model.auc > Decimal("0.5")
    assert versions == {1, 2} and leads
    assert any(p.renewal_score is not None for p in policies if p.status == "active")


def test_demo_command_prints_credentials(runtime, settings, migrated, monkeypatch):
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    slug = _slug()
    runner = CliRunner()
    result = runner.invoke(main, ["demo", "--customers", "5", "--slug", slug], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Demo tenant '{slug}' created: 5 customers" in result.output
    assert "Plugins enabled with demo data: automotive, finance, insurance, loyalty, manufacturing." in result.output
    assert f"owner@{slug}.example.com" in result.output and DEMO_PASSWORD in result.output
    assert "curl -s http://127.0.0.1:8000/graphql" in result.output and "login(input:" in result.output

    # The finance plugin's demo: instruments with a year of daily closes, accounts and their ledger.
    with runtime.engine.connect() as conn:
        tenant_id = conn.execute(text("SELECT id FROM tenants WHERE slug = :slug"), {"slug": slug}).scalar_one()
    with tenant_session(runtime.engine, tenant_id) as session:
        counts = {
            table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("fin_instruments", "fin_daily_closes", "fin_accounts", "fin_transactions")
        }
    assert counts["fin_instruments"] == 8 and counts["fin_daily_closes"] >= 8 * 250, counts
    assert counts["fin_accounts"] == 3 and counts["fin_transactions"] >= 3 * 8, counts

    again = runner.invoke(main, ["demo", "--customers", "5", "--slug", slug], catch_exceptions=False)
    assert again.exit_code == 0 and "already exists" in again.output


@pytest.mark.parametrize(
    ("address", "url"),
    [
        (["--port", "8123"], "http://127.0.0.1:8123/graphql"),
        (["--host", "0.0.0.0", "--port", "9000"], "http://127.0.0.1:9000/graphql"),
        (["--host", "::1", "--port", "9001"], "http://[::1]:9001/graphql"),
        (["--host", "crm.internal"], "http://crm.internal:8000/graphql"),
    ],
)
def test_demo_command_prints_the_servers_address(runtime, settings, migrated, monkeypatch, address, url):
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    result = CliRunner().invoke(main, ["demo", "--customers", "0", "--slug", _slug(), *address])
    assert result.exit_code == 0, result.output
    assert f"curl -s {url} -H" in result.output


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], ""),
        (["--port", "8080", "--reload"], "--port 8080"),
        (["--reload", "--port=8081", "--host=0.0.0.0"], "--port 8081 --host 0.0.0.0"),
        (["--host", "::1", "--workers", "2"], "--host ::1"),
    ],
)
def test_scripts_serve_hands_the_servers_address_to_the_demo(arguments, expected):
    """scripts/serve runs `saas demo` with the address options it passes on to `saas serve`."""
    script = ROOT / "scripts" / "serve"
    result = subprocess.run(
        # Sourced (as scripts/test does), scripts/serve only defines its functions.
        ["bash", "-c", 'source "$1"; shift; server_address_options "$@"', "bash", str(script), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.split() == expected.split()


REPORTS = """query {
  pipelineReport { stage { name kind } count amount }
  leadFunnel {
    created claimed converted disqualified conversionRate
    byChannel { channel { name } created converted cost wonAmount roi }
  }
  salesTrend(period: MONTH) { wonCount wonAmount }
  repLeaderboard { member { id } wonCount wonAmount openPipeline }
  paymentCollection { currency due received overdue overdueCount }
}"""


def _counts(runtime, tenant_id, queries: dict[str, str]) -> dict[str, int]:
    with tenant_session(runtime.engine, tenant_id) as session:
        return {name: int(session.execute(text(sql)).scalar_one()) for name, sql in queries.items()}


def test_seed_demo_tells_a_sales_story_every_report_can_show(runtime, anonymous):
    """The sales step: a team, channels, custom fields, products, leads in every state, opportunities
    in every stage (moved several times, lost with reasons), contracts, orders, payment plans with
    paid, partly paid, overdue and upcoming installments, invoices in each state, activities, tasks
    overdue, today, upcoming and done, and a handover; and every report has figures to show."""
    from tests.conftest import login

    info = seed_demo(runtime.engine, 40, slug=_slug())
    today = "(now() AT TIME ZONE 'UTC')::date"
    counts = _counts(
        runtime,
        info.tenant_id,
        {
            "team members": "SELECT count(*) FROM team_members",
            "channels with a cost": "SELECT count(*) FROM channels WHERE cost > 0",
            "custom field definitions": "SELECT count(DISTINCT entity) FROM custom_field_definitions",
            "customers with custom fields": "SELECT count(*) FROM customers WHERE custom_fields <> '{}'",
            "leads with custom fields": "SELECT count(*) FROM leads WHERE custom_fields <> '{}'",
            "opportunities with custom fields": "SELECT count(*) FROM opportunities WHERE custom_fields <> '{}'",
            "products": "SELECT count(*) FROM products",
            "lead statuses": "SELECT count(DISTINCT status) FROM leads",
            "returned leads": "SELECT count(*) FROM leads WHERE returned_at IS NOT NULL",
            "stages in use": "SELECT count(DISTINCT stage_id) FROM opportunities",
            "moved several times": "SELECT count(*) FROM (SELECT opportunity_id FROM opportunity_stage_changes"
            " GROUP BY opportunity_id HAVING count(*) >= 3) moved",
            "lost with a reason": "SELECT count(*) FROM opportunities o JOIN opportunity_stage_changes c"
            " ON c.opportunity_id = o.id WHERE o.status = 'lost' AND c.reason IS NOT NULL",
            "contracts": "SELECT count(*) FROM contracts",
            "order lines": "SELECT count(*) FROM order_lines",
            "paid installments": "SELECT count(*) FROM payment_installments WHERE received_amount = amount",
            "partly paid": "SELECT count(*) FROM payment_installments WHERE received_amount > 0"
            " AND received_amount < amount",
            "overdue": f"SELECT count(*) FROM payment_installments WHERE due_on < {today} AND received_amount < amount",
            "upcoming": f"SELECT count(*) FROM payment_installments WHERE due_on > {today}",
            "invoice states": "SELECT count(DISTINCT status) FROM invoices",
            "activities": "SELECT count(*) FROM activities",
            "tasks overdue": "SELECT count(*) FROM tasks WHERE completed_at IS NULL AND due_at < now()"
            f" AND (due_at AT TIME ZONE 'UTC')::date < {today}",
            "tasks today": f"SELECT count(*) FROM tasks WHERE (due_at AT TIME ZONE 'UTC')::date = {today}",
            "tasks upcoming": f"SELECT count(*) FROM tasks WHERE (due_at AT TIME ZONE 'UTC')::date > {today}",
            "tasks done": "SELECT count(*) FROM tasks WHERE completed_at IS NOT NULL",
            "handovers": "SELECT count(*) FROM customer_handovers",
        },
    )
    assert counts["team members"] == 2 and counts["channels with a cost"] >= 3
    assert counts["custom field definitions"] == 4 and counts["lead statuses"] == 4
    assert counts["invoice states"] == 4 and counts["stages in use"] == 5
    assert all(counts.values()), counts

    owner = login(anonymous, info.owner_email, DEMO_PASSWORD, info.slug)
    reports = owner.data(REPORTS)
    assert {row["stage"]["kind"] for row in reports["pipelineReport"] if row["count"]} == {"OPEN", "WON", "LOST"}
    funnel = reports["leadFunnel"]
    assert funnel["created"] >= 20 and funnel["claimed"] and funnel["converted"] and funnel["disqualified"]
    assert funnel["conversionRate"] not in (None, "0.0000")
    assert any(row["wonAmount"] not in (None, "0.00") and row["roi"] for row in funnel["byChannel"])
    assert sum(point["wonCount"] for point in reports["salesTrend"]) > 0
    assert len(reports["repLeaderboard"]) == 2 and all(row["wonCount"] for row in reports["repLeaderboard"])
    collection = reports["paymentCollection"]
    assert collection["currency"] == "EUR" and collection["overdueCount"] > 0
    assert all(collection[key] != "0.00" for key in ("due", "received", "overdue"))
    # a rep sees figures too: their own records and the pool
    sam = login(anonymous, f"sam@{info.slug}.example.com", DEMO_PASSWORD, info.slug)
    mine = sam.data(REPORTS)
    assert mine["leadFunnel"]["converted"] and len(mine["repLeaderboard"]) == 1


def test_the_manufacturing_demo_stocks_the_products_and_places_orders(runtime):
    """Its `saas_demo`: opening stock of every demo product in the default warehouse, and two orders
    placed by a sales rep for their own customers, reserving stock (the same on every run)."""
    from saas_manufacturing.models import Order, StockLevel

    from saas.products.models import Product

    def stock(tenant_id):
        with tenant_session(runtime.engine, tenant_id) as session:
            products = dict(session.execute(select(Product.id, Product.sku)).all())
            levels = sorted(
                (products[row.product_id], row.on_hand, row.reserved) for row in session.scalars(select(StockLevel))
            )
            orders = session.scalars(select(Order)).all()
            owners = set(
                session.scalars(select(Customer.owner_id).where(Customer.id.in_([o.customer_id for o in orders])))
            )
            return products, levels, sorted((o.status, o.total) for o in orders), owners

    info = seed_demo(runtime.engine, 40, slug=_slug(), plugins=runtime.plugins, plugin_names=["manufacturing"])
    products, levels, orders, owners = stock(info.tenant_id)
    assert len(levels) == len(products) >= 5 and all(on_hand >= 60 for _, on_hand, _ in levels)
    assert sum(reserved for _, _, reserved in levels) > 0
    assert len(orders) == 2 and all(status == "placed" for status, _ in orders)
    assert len(owners) == 1 and None not in owners  # the rep's own customers
    twin = seed_demo(runtime.engine, 40, slug=_slug(), plugins=runtime.plugins, plugin_names=["manufacturing"])
    assert stock(twin.tenant_id)[1:3] == (levels, orders)


SERVICE_REPORT = """{ serviceReport {
  byType { type count } byStatus { status count } meanFirstResponseMinutes meanResolutionMinutes slaBreachRate
  topArticles { article { title } uses } workload { member { id } openTickets workOrderHours }
} }"""


def test_seed_demo_has_service_data_in_english_and_chinese(runtime, anonymous):
    """Published and draft articles in both languages, found by search, the resolved tickets' drafts
    linked to them, articles used on tickets; returns in several states; work orders on the
    technicians' calendars, one completed with its hours; and serviceReport has figures to show."""
    from saas.knowledge import service as knowledge
    from saas.knowledge.models import Article
    from saas.returns.models import ReturnRequest
    from saas.workorders.models import WorkOrder
    from tests.conftest import login

    info = seed_demo(runtime.engine, 12, slug=_slug())
    with tenant_session(runtime.engine, info.tenant_id) as session:
        articles = session.scalars(select(Article)).all()
        returns = session.scalars(select(ReturnRequest)).all()
        work_orders = session.scalars(select(WorkOrder)).all()
        owner = next(iter(session.scalars(select(Membership).where(Membership.role == "owner"))))
        from saas.accounts.credentials import membership_principal

        principal = membership_principal(owner)
        chinese = knowledge.search(session, principal, "密码重置", 5)
        english = knowledge.search(session, principal, "pump pressure", 5)
    assert {a.status for a in articles} == {"published", "draft"}
    assert any(ord(c) > 0x4E00 for a in articles for c in a.title) and any(a.title.isascii() for a in articles)
    assert chinese[0].article.title == "无法登录账户，密码重置邮件没有收到"  # noqa: RUF001
    assert english[0].article.title == "Pump loses pressure after installation"
    assert sorted(r.status for r in returns) == ["refunded", "requested"]
    assert len(work_orders) >= 10 and len({w.technician_id for w in work_orders}) == 2
    assert [w.hours_worked for w in work_orders if w.status == "completed"] == [Decimal("2.50")]
    # every resolved ticket wrote its draft; articles helped with tickets
    with tenant_session(runtime.engine, info.tenant_id) as session:
        resolved = session.scalars(select(Ticket.id).where(Ticket.resolved_at.is_not(None))).all()
        uses = session.scalar(text("SELECT count(*) FROM article_uses"))
    assert len(resolved) == 6 and {a.source_ticket_id for a in articles if a.source_ticket_id} == set(resolved)
    assert all(a.status == "draft" for a in articles if a.source_ticket_id)
    assert uses == 7

    owner = login(anonymous, info.owner_email, DEMO_PASSWORD, info.slug)
    report = owner.data(SERVICE_REPORT)["serviceReport"]
    assert sum(row["count"] for row in report["byType"]) == 12
    assert {row["status"] for row in report["byStatus"] if row["count"]} >= {"ASSIGNED", "RESOLVED", "CLOSED"}
    assert report["meanFirstResponseMinutes"] is not None and report["meanResolutionMinutes"] is not None
    assert report["slaBreachRate"] == "0.0000"  # nothing is overdue minutes after the demo was made
    top = [(row["article"]["title"], row["uses"]) for row in report["topArticles"]]
    assert top[:2] == [("Returning a damaged delivery", 3), ("设备安装后无法启动", 2)]
    assert len(report["workload"]) == 3 and sum(row["openTickets"] for row in report["workload"]) == 6
    assert any(row["workOrderHours"] != "0.00" for row in report["workload"])


def test_seed_demo_fills_the_automotive_plugin(runtime):
    """With the automotive plugin: vehicles with service history, suppliers, an order with one call-off
    per supplier, a shipment whose delay crossed the threshold, and reminder rules."""
    from saas_automotive.models import CallOff, FreightShipment, ReminderRule, ServiceRecord, Supplier, Vehicle

    info = seed_demo(runtime.engine, 12, slug=_slug(), plugins=runtime.plugins, plugin_names=["automotive"])
    with tenant_session(runtime.engine, info.tenant_id) as session:

        def count(model):
            return session.scalar(select(func.count()).select_from(model))

        assert count(Vehicle) == 8 and count(ServiceRecord) == 8
        assert count(Supplier) == 2 and count(CallOff) == 2 and count(ReminderRule) == 4
        shipment = session.scalars(select(FreightShipment)).one()
        assert shipment.status == "delayed" and shipment.delayed_at is not None
