"""Which deals a principal may see, as SQL: the one place for compiled reads, loaders and services.

Opportunities have an owner and follow the ownership rule (`owner_visibility`, no pool). The
records that follow a win (contracts, orders, payment plans, invoices) have no owner of their
own: they are visible when their customer is (`customer_visibility`). Installments and payments
are visible with their plan. A condition names no tenant for its own rows: the compiler adds
the tenant predicate to every table it reads, and the ORM paths run on the tenant-bound session
under row-level security; the tables an EXISTS reads name it (`tenant_predicate`).
"""

from __future__ import annotations

from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition, customer_visibility, owner_visibility
from saas.tenancy.session import TENANT_PARAM, tenant_predicate


def all_rows(principal: Principal, alias: str) -> SqlCondition:
    """Every row of the caller's tenant: no condition beyond the tenant's, which is not written here."""
    return SqlCondition()


def _inner_tenant(principal: Principal, alias: str, condition: SqlCondition) -> None:
    """The tenant predicate of a table read inside an EXISTS (the compiler does not see it)."""
    condition.add(tenant_predicate(alias), **{TENANT_PARAM: principal.tenant_id})


def stage_conditions(principal: Principal, alias: str) -> SqlCondition:
    """Every member sees the tenant's stages."""
    return all_rows(principal, alias)


def opportunity_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    """Reps see the opportunities they own; owners, admins (and the other roles seeing all customers) all.

    A principal scoped to one customer (a portal contact) sees that customer's only."""
    scoped_customer = principal.scoped("customer_id")
    if scoped_customer is not None:
        condition.add(f"{alias}.customer_id = CAST(:scoped_customer_id AS uuid)", scoped_customer_id=scoped_customer)
    owner_visibility(principal, alias, condition, pool=False)


def opportunity_conditions(principal: Principal, alias: str) -> SqlCondition:
    condition = SqlCondition()
    opportunity_visibility(principal, alias, condition)
    return condition


def visible_customer_sql(principal: Principal, customer_column: str, condition: SqlCondition) -> None:
    """`customer_column` names a customer the principal sees (an EXISTS over `customers`)."""
    customer = SqlCondition()
    customer_visibility(principal, "vc", customer)
    condition.add(
        f"EXISTS (SELECT 1 FROM customers vc WHERE {tenant_predicate('vc')} AND vc.id = {customer_column}"
        f" AND vc.deleted_at IS NULL AND {customer.sql})",
        **{TENANT_PARAM: principal.tenant_id},
        **customer.params,
    )


def customer_record_conditions(principal: Principal, alias: str) -> SqlCondition:
    """Contracts, orders, payment plans and invoices: the tenant's, of a customer the principal sees."""
    condition = SqlCondition()
    visible_customer_sql(principal, f"{alias}.customer_id", condition)
    return condition


def plan_child_conditions(principal: Principal, alias: str, plan_column: str) -> SqlCondition:
    """Installments (and through them payments): visible with their payment plan."""
    condition = SqlCondition()
    plan = customer_record_conditions(principal, "vp")
    _inner_tenant(principal, "vp", plan)
    condition.add(f"EXISTS (SELECT 1 FROM payment_plans vp WHERE vp.id = {plan_column} AND {plan.sql})", **plan.params)
    return condition


def installment_conditions(principal: Principal, alias: str) -> SqlCondition:
    return plan_child_conditions(principal, alias, f"{alias}.plan_id")


def payment_conditions(principal: Principal, alias: str) -> SqlCondition:
    return plan_child_conditions(
        principal,
        alias,
        f"(SELECT vi.plan_id FROM payment_installments vi WHERE {tenant_predicate('vi')} AND vi.id = {alias}.installment_id)",
    )


def order_line_conditions(principal: Principal, alias: str) -> SqlCondition:
    condition = SqlCondition()
    order = customer_record_conditions(principal, "vo")
    _inner_tenant(principal, "vo", order)
    condition.add(f"EXISTS (SELECT 1 FROM orders vo WHERE vo.id = {alias}.order_id AND {order.sql})", **order.params)
    return condition


def stage_change_conditions(principal: Principal, alias: str) -> SqlCondition:
    condition = SqlCondition()
    opportunity = opportunity_conditions(principal, "vop")
    _inner_tenant(principal, "vop", opportunity)
    condition.add(
        f"EXISTS (SELECT 1 FROM opportunities vop WHERE vop.id = {alias}.opportunity_id AND {opportunity.sql})",
        **opportunity.params,
    )
    return condition


def weighted_amount_sql(amount: str, probability: str) -> str:
    """amount x probability (a percentage), rounded to the cent half away from zero; as Python does it
    in `weighted_amount`."""
    return f"round({amount} * {probability} / 100, 2)"
