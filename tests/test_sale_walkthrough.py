"""docs/api.md's "A sale from lead to invoice" runs: its operations are read out of the guide and
executed, exactly as written and in the written order, against a new tenant, with the ids the
earlier steps returned put in for the `<step.path>` placeholders. A change of the API that breaks
the walk-through fails here, not in a reader's hands."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.walkthrough import Step, section_steps

SECTION = "## A sale from lead to invoice"
# The walk-through's order, as the product describes a sale.
STEPS = (
    "createLead",
    "claimLeads",
    "convertLead",
    "createOpportunity",
    "pipelineStages",
    "moveOpportunity",
    "createContract",
    "createPaymentPlan",
    "recordPayment",
    "requestInvoice",
    "approveInvoice",
    "issueInvoice",
)
# Deciding on an invoice is for an approver who did not request it: the owner.
OWNER_STEPS = {"approveInvoice", "issueInvoice"}
PLACEHOLDER = re.compile(r"^<(?P<path>[^<>]+)>$")
SEGMENT = re.compile(r"^(?P<name>\w+)(?:\[(?:(?P<index>\d+)|(?P<key>\w+)=(?P<value>[^\]]+))\])?$")


def walkthrough() -> list[Step]:
    """The section's operations in order, with their variables and documented answers."""
    return section_steps(SECTION)


def resolve(path: str, answers: dict[str, Any]) -> Any:
    """`createLead.lead.id`, `pipelineStages[kind=WON].id`, `x.items[0].id` in the earlier answers."""
    value: Any = answers
    for segment in path.split("."):
        match = SEGMENT.match(segment)
        assert match, f"bad placeholder segment {segment!r} in <{path}>"
        assert match["name"] in value, f"<{path}>: no {match['name']!r} in an earlier answer"
        value = value[match["name"]]
        if match["index"] is not None:
            value = value[int(match["index"])]
        elif match["key"] is not None:
            value = next(item for item in value if str(item[match["key"]]) == match["value"])
    return value


def substitute(value: Any, answers: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: substitute(item, answers) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, answers) for item in value]
    if isinstance(value, str) and (match := PLACEHOLDER.match(value)):
        return resolve(match["path"], answers)
    return value


def test_the_walkthrough_is_the_whole_sale_in_order() -> None:
    assert tuple(step.field for step in walkthrough()) == STEPS


def test_the_documented_sale_runs_from_lead_to_issued_invoice(owner: GraphQLClient, tenant: TenantHandle) -> None:
    rep = add_member(owner, tenant, "sales")
    answers: dict[str, Any] = {}
    for step in walkthrough():
        client = owner if step.field in OWNER_STEPS else rep
        answer = client.data(step.source, substitute(step.variables, answers))[step.field]
        if isinstance(answer, dict) and "userErrors" in answer:
            assert answer["userErrors"] == [], (step.field, answer)
        answers[step.field] = answer

    rep_id = rep.data("{ me { member { id } } }")["me"]["member"]["id"]
    assert answers["claimLeads"]["leads"][0]["owner"]["id"] == rep_id
    assert answers["convertLead"]["lead"]["status"] == "CONVERTED"
    assert answers["convertLead"]["customer"]["owner"]["id"] == rep_id
    moved = answers["moveOpportunity"]["opportunity"]
    assert moved["status"] == "WON" and moved["closedAt"] and moved["stageHistory"][-1]["toStage"]["name"] == "Won"
    assert answers["recordPayment"]["payment"]["installment"]["outstandingAmount"] == "0.00"
    assert answers["requestInvoice"]["invoice"]["status"] == "REQUESTED"
    assert answers["approveInvoice"]["invoice"]["status"] == "APPROVED"
    issued = answers["issueInvoice"]["invoice"]
    assert issued["status"] == "ISSUED" and issued["number"] == "INV-2026-0107"
    invoice = owner.data(
        "query($id: ID!) { node(id: $id) { ... on Invoice { status contract { uninvoicedAmount } } } }",
        {"id": issued["id"]},
    )["node"]
    assert invoice == {"status": "ISSUED", "contract": {"uninvoicedAmount": "0.00"}}
