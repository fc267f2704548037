"""The `userErrors` codes of the pipeline and after-sale mutations (besides the shared ones)."""

from __future__ import annotations

from enum import StrEnum


class DealErrorCode(StrEnum):
    REASON_REQUIRED = "REASON_REQUIRED"  # moving an opportunity to a LOST stage without a reason
    NOT_WON = "NOT_WON"  # a contract for an opportunity that is not won
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"  # a currency other than the contract's, an order's products'
    SUM_MISMATCH = "SUM_MISMATCH"  # installments that do not add up to the contract amount
    PLAN_EXISTS = "PLAN_EXISTS"  # a second payment plan for a contract
    OVERPAYMENT = "OVERPAYMENT"  # a payment above what the installment still needs
    EXCEEDS_UNINVOICED = "EXCEEDS_UNINVOICED"  # an invoice above the contract's uninvoiced amount
    INVALID_STATE = "INVALID_STATE"  # approving, rejecting or issuing an invoice not in the right state
    NOT_APPROVER = "NOT_APPROVER"  # the caller's role does not approve invoices in this tenant
    SELF_APPROVAL = "SELF_APPROVAL"  # approving or rejecting one's own request
    LAST_STAGE_OF_KIND = "LAST_STAGE_OF_KIND"  # changing the kind of the only WON or LOST stage
