"""Demo data: a realistic tenant, deterministic, created once."""

from __future__ import annotations

import secrets
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from saas.accounts.models import Membership
from saas.audit.models import AuditEntry
from saas.cli import main
from saas.customers.models import Contact, Customer
from saas.demo import DEMO_PASSWORD, seed_demo
from saas.tenancy.session import tenant_session

ROOT = Path(__file__).resolve().parents[1]


def _slug() -> str:
    return f"demo-{secrets.token_hex(4)}"


def test_seed_demo_creates_a_realistic_tenant(runtime):
    info = seed_demo(runtime.engine, 40, slug=_slug())
    assert info.created and info.customers == 40
    assert info.owner_email == f"owner@{info.slug}.example.com"
    with tenant_session(runtime.engine, info.tenant_id) as session:
        members = session.scalars(select(Membership)).all()
        customers = session.scalars(select(Customer)).all()
        contacts = session.scalars(select(Contact)).all()
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
    # Made through the services: every change is in the audit log.
    assert audited["customer.created"] == 40 and audited["contact.created"] == info.contacts
    assert audited["member.added"] == 3


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
        assert session.scalar(select(func.count()).select_from(Customer)) == 15


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


def test_demo_command_prints_credentials(runtime, settings, migrated, monkeypatch):
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    slug = _slug()
    runner = CliRunner()
    result = runner.invoke(main, ["demo", "--customers", "5", "--slug", slug], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Demo tenant '{slug}' created: 5 customers" in result.output
    assert "Plugins enabled with demo data: automotive, loyalty, manufacturing." in result.output
    assert f"owner@{slug}.example.com" in result.output and DEMO_PASSWORD in result.output
    assert "curl -s http://127.0.0.1:8000/graphql" in result.output and "login(input:" in result.output

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
