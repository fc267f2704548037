"""Demo data: a tenant with a team, realistic customers and every domain's data, for `saas demo` and benchmark seeding.

Everything goes through the services (so the audit log and the outbox are filled as in real use)
in one transaction, from a fixed random seed, so two runs with the same arguments give the same
data. After the customers, each core domain's step in `CORE_STEPS` (saas/demo/steps.py) adds its
data, then each plugin named in `plugins` is enabled on the tenant and its `saas_demo` hook adds
the plugin's.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import CompoundSelect, Engine, func, select
from sqlalchemy.orm import Session

from saas.accounts.credentials import membership_principal
from saas.accounts.models import Membership, Tenant, User
from saas.accounts.service import add_member, create_tenant
from saas.auth.permissions import Role
from saas.auth.principal import Principal
from saas.customers.models import Contact, Customer
from saas.customers.service import create_contact, create_customer
from saas.demo.customers import CustomerGenerator
from saas.demo.steps import CORE_STEPS
from saas.imports.models import ImportRow, RowOutcome
from saas.leads.models import Lead
from saas.plugin_host.access import PluginFeatures
from saas.plugin_host.contributions import DemoContext, PluginContext
from saas.plugin_host.enablement import enable_plugin
from saas.tenancy.session import tenant_session

if TYPE_CHECKING:
    from saas.plugin_host.host import PluginHost

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-password-123"
DEMO_SEED = 20_240_917

# The team besides the owner: (e-mail local part, name, role).
TEAM = (
    ("manager", "Morgan Hayes", Role.MANAGER),
    ("sam", "Sam Okafor", Role.SALES),
    ("riley", "Riley Chen", Role.SALES),
)


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role


@dataclass(frozen=True)
class DemoInfo:
    """What `seed_demo` made (or found): enough to log in and to check the data. `customers` and
    `contacts` are the generated ones (not the customers the sales step made by converting leads)."""

    tenant_id: uuid.UUID
    slug: str
    password: str
    users: tuple[DemoUser, ...]
    customers: int
    contacts: int
    created: bool

    @property
    def owner_email(self) -> str:
        return self.users[0].email


def demo_users(slug: str) -> tuple[DemoUser, ...]:
    domain = f"{slug}.example.com"
    owner = DemoUser(f"owner@{domain}", "Olivia Owner", Role.OWNER)
    return (owner, *(DemoUser(f"{local}@{domain}", name, role) for local, name, role in TEAM))


def step_customer_ids() -> CompoundSelect:
    """The customers the demo steps made, not the generator: the sales step's converted leads and
    the rows the import step created."""
    converted = select(Lead.converted_customer_id).where(Lead.converted_customer_id.is_not(None))
    imported = select(ImportRow.record_id).where(
        ImportRow.outcome == RowOutcome.CREATE.value, ImportRow.record_id.is_not(None)
    )
    return converted.union(imported)


def seed_demo(
    engine: Engine,
    customers: int = 200,
    *,
    slug: str = DEMO_SLUG,
    tenant_name: str = "Demo Company",
    seed: int = DEMO_SEED,
    plugins: PluginHost | None = None,
    plugin_names: Iterable[str] = (),
) -> DemoInfo:
    """Create the demo tenant with its team, `customers` customers and every domain's demo data.

    Does nothing if the tenant has customers. A tenant left without customers (an earlier run
    that failed half-way) is filled in. `plugin_names` (installed in `plugins`) are enabled on
    the tenant first, those they require before them, and fill in their own data last.
    """
    users = demo_users(slug)
    with tenant_session(engine, None) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    if tenant_id is None:
        tenant_id = create_tenant(engine, slug, tenant_name, users[0].email, DEMO_PASSWORD).id
    with tenant_session(engine, tenant_id) as session:
        # The generated customers: those the steps made (converted leads, imported rows) are not counted.
        generated = (Customer.deleted_at.is_(None), Customer.id.not_in(step_customer_ids()))
        existing = session.scalar(select(func.count()).select_from(Customer).where(*generated))
        if existing:
            contacts = session.scalar(
                select(func.count())
                .select_from(Contact)
                .where(Contact.deleted_at.is_(None), Contact.customer_id.in_(select(Customer.id).where(*generated)))
            )
            return DemoInfo(tenant_id, slug, DEMO_PASSWORD, users, existing, contacts or 0, created=False)
        owner = _owner_principal(session, users[0].email)
        team = [add_member(session, owner, _member_input(user)) for user in users[1:]]
        enabled = _enable_plugins(session, owner, plugins, plugin_names) if plugins is not None else {}
        if enabled:  # the team acts with what the plugins grant, as after a fresh login
            features = PluginFeatures(plugins)  # type: ignore[arg-type]
            owner = _owner_principal(session, users[0].email, features, frozenset(enabled))
            members = tuple(membership_principal(m, features, frozenset(enabled)) for m in team)
        else:
            members = tuple(membership_principal(m) for m in team)
        generator = CustomerGenerator(random.Random(seed), owner, team)
        contact_count = 0
        customer_ids: list[uuid.UUID] = []
        for _ in range(customers):
            customer_input, contact_inputs = generator.next_customer()
            customer = create_customer(session, owner, customer_input)
            customer_ids.append(customer.id)
            for contact_input in contact_inputs:
                create_contact(session, owner, customer.id, contact_input)
            contact_count += len(contact_inputs)

        def context(step: str) -> DemoContext:
            rng = random.Random(f"{seed}:{step}")
            return DemoContext(tenant_id, session, owner, members, tuple(customer_ids), rng, generator.now)

        for name, step in CORE_STEPS:
            step(context(name))
        for name, settings in enabled.items():
            hook_context = PluginContext(tenant_id, session, settings, lambda *_: None)
            plugins.hook_for([name]).saas_demo(context=hook_context, demo=context(f"plugin:{name}"))  # type: ignore[union-attr]
    return DemoInfo(tenant_id, slug, DEMO_PASSWORD, users, customers, contact_count, created=True)


def _enable_plugins(
    session: Session, owner: Principal, plugins: PluginHost, names: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Enable each named plugin, those it requires first; their settings by name, in that order."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        plugin = plugins.get(name)
        if plugin is None or plugin.broken or name in ordered:
            return
        for required in plugin.meta.requires if plugin.meta else ():
            visit(required)
        ordered.append(name)

    for name in names:
        visit(name)
    return {name: enable_plugin(session, owner, plugins, name, None).settings for name in ordered}


def _owner_principal(
    session: Session, email: str, features: PluginFeatures | None = None, enabled: frozenset[str] = frozenset()
) -> Principal:
    membership = session.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.role == Role.OWNER.value, Membership.is_active.is_(True))
        .order_by(func.lower(User.email) != email.lower(), Membership.created_at)
    ).first()
    if membership is None:
        raise RuntimeError("the demo tenant has no owner")
    return membership_principal(membership, features, enabled)


def _member_input(user: DemoUser) -> dict[str, Any]:
    return {"email": user.email, "name": user.name, "role": user.role.value, "password": DEMO_PASSWORD}
