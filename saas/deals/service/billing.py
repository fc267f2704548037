"""Payment plans, payments, and invoice requests through their approval.

Rules (docs/api.md, "Pipeline and deals"):
- a contract has at most one payment plan, whose installments add up exactly to the contract's amount;
- a payment may be partial; one that would take an installment past its amount is refused, and
  payments of one installment are serialised by a row lock, so concurrent ones never overpay;
- invoice requests of a contract never add up to more than its amount: requested, approved and
  issued invoices count, rejected ones free their amount (requests are serialised per contract);
- the roles in the tenant's `invoiceApproverRoles` approve or reject, never their own request.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.audit.log import snapshot
from saas.auth.permissions import DEALS_READ, DEALS_WRITE, require
from saas.auth.principal import Principal
from saas.deals import rules
from saas.deals.errors import DealErrorCode
from saas.deals.graphql.types import Installment as InstallmentType
from saas.deals.graphql.types import Invoice as InvoiceType
from saas.deals.graphql.types import Payment as PaymentType
from saas.deals.graphql.types import PaymentPlan as PaymentPlanType
from saas.deals.models import Contract, DealSettings, Installment, Invoice, InvoiceStatus, Payment, PaymentPlan
from saas.deals.service.common import (
    check_amount,
    check_date,
    check_version,
    flush,
    invalid,
    now,
    record,
    require_visible,
    today,
)
from saas.deals.service.pipeline import ensure_pipeline
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.events.payloads import api_object, node_ref
from saas.validation import Checker

MAX_INSTALLMENTS = 120
# A payment may be dated at most this far ahead of the server's (UTC) date: time zones differ.
RECEIVED_ON_LEEWAY = timedelta(days=1)


def _contract(session: Session, principal: Principal, contract_id: Any, *, lock: bool = False) -> Contract:
    contract: Contract = require_visible(
        session, principal, Contract, contract_id, rules.customer_record_conditions, "contractId", lock=lock
    )
    return contract


def create_payment_plan(session: Session, principal: Principal, data: dict[str, Any]) -> PaymentPlan:
    require(principal.permissions, DEALS_WRITE)
    items = data.get("installments") or []
    if not items:
        raise invalid(["installments"], UserErrorCode.REQUIRED, "A payment plan needs at least one installment")
    if len(items) > MAX_INSTALLMENTS:
        raise invalid(["installments"], UserErrorCode.INVALID, f"At most {MAX_INSTALLMENTS} installments")
    errors: list[FieldError] = []
    clean: list[tuple[date, Decimal]] = []
    for index, item in enumerate(items):
        check = Checker(item, prefix=("input", "installments", str(index)))
        check_date(check, "due_on", required=True)
        check_amount(check, "amount")
        errors += check.errors
        if not check.errors:
            clean.append((check.clean["due_on"], check.clean["amount"]))
    if errors:
        raise InputInvalid(errors)
    for index in range(1, len(clean)):
        if clean[index][0] < clean[index - 1][0]:
            raise invalid(["installments", index, "dueOn"], UserErrorCode.INVALID, "Installments go by due date")
    # Locking the contract serialises plans of one contract (and the check below).
    contract = _contract(session, principal, data.get("contract_id"), lock=True)
    if session.scalar(select(PaymentPlan.id).where(PaymentPlan.contract_id == contract.id)) is not None:
        raise invalid(["contractId"], DealErrorCode.PLAN_EXISTS, "The contract has a payment plan already")
    total = sum((amount for _, amount in clean), Decimal("0.00"))
    if total != contract.amount:
        raise invalid(
            ["installments"],
            DealErrorCode.SUM_MISMATCH,
            f"The installments add up to {total}; the contract's amount is {contract.amount}",
        )
    plan = PaymentPlan(
        id=uuid.uuid4(),
        contract_id=contract.id,
        customer_id=contract.customer_id,
        currency=contract.currency,
        total=total,
    )
    session.add(plan)
    session.flush()
    rows = [
        Installment(id=uuid.uuid4(), plan_id=plan.id, position=i + 1, due_on=due, amount=amount, received_amount=0)
        for i, (due, amount) in enumerate(clean)
    ]
    session.add_all(rows)
    flush(session)
    session.refresh(plan)
    for row in rows:
        session.refresh(row)
    payload = api_object(
        PaymentPlanType.from_model(plan),
        contract=node_ref("Contract", plan.contract_id),
        customer=node_ref("Customer", plan.customer_id),
        installments=[InstallmentType.from_model(row) for row in rows],
    )
    record(session, principal, "payment_plan.created", plan, None, {"paymentPlan": payload})
    return plan


def record_payment(session: Session, principal: Principal, data: dict[str, Any]) -> Payment:
    """A payment towards an installment; partial is fine, more than what is outstanding is OVERPAYMENT.

    The installment's row is locked first, so two payments of it run one after the other and the
    second sees what the first received."""
    require(principal.permissions, DEALS_WRITE)
    check = Checker(data)
    check_amount(check, "amount")
    check_date(check, "received_on", required=True)
    clean = check.done()
    if clean["received_on"] > today() + RECEIVED_ON_LEEWAY:
        raise invalid(["receivedOn"], UserErrorCode.INVALID, "receivedOn must not be in the future")
    installment: Installment = require_visible(
        session, principal, Installment, data.get("installment_id"), rules.installment_conditions, "installmentId",
        lock=True,
    )  # fmt: skip
    outstanding = installment.amount - installment.received_amount
    if clean["amount"] > outstanding:
        raise invalid(
            ["amount"],
            DealErrorCode.OVERPAYMENT,
            f"The installment needs {outstanding} more; {clean['amount']} is too much",
        )
    installment.received_amount = installment.received_amount + clean["amount"]
    payment = Payment(
        id=uuid.uuid4(),
        installment_id=installment.id,
        amount=clean["amount"],
        received_on=clean["received_on"],
        recorded_by_id=principal.membership_id,
    )
    session.add(payment)
    flush(session)
    session.refresh(payment)
    session.refresh(installment)
    plan = session.get(PaymentPlan, (principal.tenant_id, installment.plan_id))
    assert plan is not None
    payload = {
        "payment": api_object(PaymentType.from_model(payment)),
        "installment": api_object(InstallmentType.from_model(installment)),
        "paymentPlan": node_ref("PaymentPlan", plan.id),
        "contract": node_ref("Contract", plan.contract_id),
        "customer": node_ref("Customer", plan.customer_id),
    }
    record(session, principal, "payment.recorded", payment, None, payload)
    return payment


def _invoice_payload(row: Invoice) -> dict[str, Any]:
    return {
        "invoice": api_object(
            InvoiceType.from_model(row),
            contract=node_ref("Contract", row.contract_id),
            customer=node_ref("Customer", row.customer_id),
            requested_by=node_ref("Member", row.requested_by_id),
            decided_by=node_ref("Member", row.decided_by_id),
        )
    }


def invoiced_amount(session: Session, contract_id: uuid.UUID) -> Decimal:
    """What a contract's invoices take of its amount: those requested, approved or issued."""
    total = session.scalar(
        select(func.coalesce(func.sum(Invoice.amount), 0)).where(
            Invoice.contract_id == contract_id, Invoice.status != InvoiceStatus.REJECTED.value
        )
    )
    return Decimal(total or 0).quantize(Decimal("0.01"))


def request_invoice(session: Session, principal: Principal, data: dict[str, Any]) -> Invoice:
    require(principal.permissions, DEALS_WRITE)
    check = Checker(data)
    check_amount(check, "amount")
    clean = check.done()
    contract = _contract(session, principal, data.get("contract_id"), lock=True)
    uninvoiced = contract.amount - invoiced_amount(session, contract.id)
    if clean["amount"] > uninvoiced:
        raise invalid(
            ["amount"],
            DealErrorCode.EXCEEDS_UNINVOICED,
            f"The contract has {uninvoiced} {contract.currency} left to invoice",
        )
    invoice = Invoice(
        id=uuid.uuid4(),
        contract_id=contract.id,
        customer_id=contract.customer_id,
        amount=clean["amount"],
        currency=contract.currency,
        status=InvoiceStatus.REQUESTED.value,
        requested_by_id=principal.membership_id,
        requested_at=now(),
    )
    session.add(invoice)
    flush(session)
    session.refresh(invoice)
    record(session, principal, "invoice.requested", invoice, None, _invoice_payload(invoice))
    return invoice


def _invoice(session: Session, principal: Principal, invoice_id: Any) -> Invoice:
    require(principal.permissions, DEALS_READ)
    invoice: Invoice = require_visible(
        session, principal, Invoice, invoice_id, rules.customer_record_conditions, "id", lock=True
    )
    return invoice


def _decide(
    session: Session, principal: Principal, invoice_id: Any, version: int | None, status: InvoiceStatus,
    reason: str | None,
) -> Invoice:  # fmt: skip
    invoice = _invoice(session, principal, invoice_id)
    check_version(invoice, version)
    if invoice.status != InvoiceStatus.REQUESTED.value:
        raise invalid(["id"], DealErrorCode.INVALID_STATE, f"The invoice is {invoice.status}, not requested")
    ensure_pipeline(session)
    approvers = session.scalars(select(DealSettings.invoice_approver_roles)).one()
    if principal.role is None or principal.role.value not in approvers:
        raise invalid(["id"], DealErrorCode.NOT_APPROVER, f"Invoices are approved by: {', '.join(approvers)}")
    if invoice.requested_by_id is not None and invoice.requested_by_id == principal.membership_id:
        raise invalid(["id"], DealErrorCode.SELF_APPROVAL, "Someone else must decide on your own request")
    before = snapshot(invoice)
    invoice.status = status.value
    invoice.decided_by_id = principal.membership_id
    invoice.decided_at = now()
    invoice.rejection_reason = reason
    flush(session)
    action = "invoice.approved" if status is InvoiceStatus.APPROVED else "invoice.rejected"
    record(session, principal, action, invoice, before, _invoice_payload(invoice))
    return invoice


def approve_invoice(session: Session, principal: Principal, invoice_id: Any, version: int | None = None) -> Invoice:
    return _decide(session, principal, invoice_id, version, InvoiceStatus.APPROVED, None)


def reject_invoice(
    session: Session, principal: Principal, invoice_id: Any, reason: str | None, version: int | None = None
) -> Invoice:
    check = Checker({"reason": reason})
    check.text("reason", required=True, max_length=1000)
    clean = check.done()
    return _decide(session, principal, invoice_id, version, InvoiceStatus.REJECTED, clean["reason"])


def _invoice_number_taken() -> FieldError:
    return FieldError(["input", "number"], UserErrorCode.TAKEN, "Another invoice has this number")


def issue_invoice(
    session: Session, principal: Principal, invoice_id: Any, number: str | None, version: int | None = None
) -> Invoice:
    """An approved invoice gets its number (unique within the tenant) and is issued."""
    require(principal.permissions, DEALS_WRITE)
    check = Checker({"number": number})
    check.text("number", required=True, max_length=50)
    clean = check.done()
    invoice = _invoice(session, principal, invoice_id)
    check_version(invoice, version)
    if invoice.status != InvoiceStatus.APPROVED.value:
        raise invalid(["id"], DealErrorCode.INVALID_STATE, f"The invoice is {invoice.status}, not approved")
    if session.scalar(select(Invoice.id).where(Invoice.number == clean["number"])) is not None:
        raise InputInvalid([_invoice_number_taken()])
    before = snapshot(invoice)
    invoice.status = InvoiceStatus.ISSUED.value
    invoice.number = clean["number"]
    invoice.issued_by_id = principal.membership_id
    invoice.issued_at = now()
    flush(session, {"uq_invoices_tenant_number": _invoice_number_taken()})
    record(session, principal, "invoice.issued", invoice, before, _invoice_payload(invoice))
    return invoice


__all__ = [
    "approve_invoice",
    "create_payment_plan",
    "invoiced_amount",
    "issue_invoice",
    "record_payment",
    "reject_invoice",
    "request_invoice",
]
