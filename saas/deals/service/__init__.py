"""The only place that changes deals: validation, visibility, versions, the audit log and events.

One module per part: `pipeline` (stages, settings, opportunities), `contracts` (contracts and
orders), `billing` (payment plans, payments, invoices). Importable as `saas.deals.service`.
"""

from saas.deals.service.billing import (
    approve_invoice,
    create_payment_plan,
    invoiced_amount,
    issue_invoice,
    record_payment,
    reject_invoice,
    request_invoice,
)
from saas.deals.service.contracts import create_contract, create_order
from saas.deals.service.pipeline import (
    create_opportunity,
    create_stage,
    ensure_pipeline,
    get_opportunity,
    get_settings,
    list_stages,
    move_opportunity,
    move_opportunity_to,
    update_opportunity,
    update_settings,
    update_stage,
)

__all__ = [
    "approve_invoice",
    "create_contract",
    "create_opportunity",
    "create_order",
    "create_payment_plan",
    "create_stage",
    "ensure_pipeline",
    "get_opportunity",
    "get_settings",
    "invoiced_amount",
    "issue_invoice",
    "list_stages",
    "move_opportunity",
    "move_opportunity_to",
    "record_payment",
    "reject_invoice",
    "request_invoice",
    "update_opportunity",
    "update_settings",
    "update_stage",
]
