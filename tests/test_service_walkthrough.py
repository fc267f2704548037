"""docs/api.md's "After-sales service from ticket to answer" runs: its operations are read out of the
guide and executed, exactly as written and in the written order, against a new tenant with one
service agent, with the ids the earlier steps returned put in for the `<step.path>` placeholders;
each answer must be the one the guide shows after the step (its `json response` block), where
`<id>`, `<time>` and `<rank>` stand for values that change from run to run and `<step.path>` for
what an earlier step returned. A change of the API that breaks the walk-through, or changes an
answer, fails here, not in a reader's hands."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.test_sale_walkthrough import PLACEHOLDER, resolve, substitute
from tests.walkthrough import Step, section_steps

SECTION = "## After-sales service from ticket to answer"
STEPS = (
    "createCustomer",
    "members",
    "setAgentSkills",
    "createClassificationRule",
    "createTicket",
    "commentOnTicket",
    "resolveTicket",
    "publishArticle",
    "searchKnowledgeBase",
    "createTicket",
    "resolveTicket",
    "publishArticle",
    "searchKnowledgeBase",
    "createProduct",
    "createOrder",
    "createReturnRequest",
    "approveReturn",
    "receiveReturn",
    "refundReturn",
    "serviceReport",
)
# The agent answers the tickets; the owner does the rest.
AGENT_STEPS = {6, 7, 8, 9, 11, 12, 13}
# What changes from run to run, in a documented answer.
ANY = {"<id>", "<time>", "<rank>"}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def walkthrough() -> list[Step]:
    """The section's operations in order, with their variables and documented answers."""
    return section_steps(SECTION)


def mismatches(documented: Any, actual: Any, answers: dict[str, Any], where: str = "data") -> list[str]:
    """Where the answer differs from the documented one."""
    if isinstance(documented, str) and documented in ANY:
        if actual is None:
            return [f"{where}: {documented} documented, null answered"]
        if documented == "<time>" and not TIME.match(str(actual)):
            return [f"{where}: {actual!r} is no time"]
        if documented == "<rank>" and not isinstance(actual, float):
            return [f"{where}: {actual!r} is no rank"]
        return []
    if isinstance(documented, str) and PLACEHOLDER.match(documented):
        documented = substitute(documented, answers)
    if isinstance(documented, dict) and isinstance(actual, dict):
        if documented.keys() != actual.keys():
            return [f"{where}: keys {sorted(documented)} documented, {sorted(actual)} answered"]
        return [m for key in documented for m in mismatches(documented[key], actual[key], answers, f"{where}.{key}")]
    if isinstance(documented, list) and isinstance(actual, list):
        if len(documented) != len(actual):
            return [f"{where}: {len(documented)} items documented, {len(actual)} answered"]
        return [
            m
            for i, (d, a) in enumerate(zip(documented, actual, strict=True))
            for m in mismatches(d, a, answers, f"{where}[{i}]")
        ]
    return [] if documented == actual else [f"{where}: {documented!r} documented, {actual!r} answered"]


def test_the_walkthrough_is_the_whole_service_in_order() -> None:
    steps = walkthrough()
    assert tuple(step.field for step in steps) == STEPS
    assert all(step.response is not None for step in steps), "every step shows its answer"


def test_the_documented_service_runs_from_ticket_to_refund(owner: GraphQLClient, tenant: TenantHandle) -> None:
    agent = add_member(owner, tenant, "service")
    answers: dict[str, Any] = {}
    for number, step in enumerate(walkthrough(), start=1):
        client = agent if number in AGENT_STEPS else owner
        data = client.data(step.source, substitute(step.variables, answers))
        answer = data[step.field]
        if isinstance(answer, dict) and "userErrors" in answer:
            assert answer["userErrors"] == [], (number, step.field, answer)
        differences = mismatches(step.response["data"], data, answers)
        assert not differences, (number, step.field, differences, json.dumps(data, ensure_ascii=False))
        answers[step.field] = answer

    assert resolve("members[role=SERVICE].id", answers) == agent.data("{ me { member { id } } }")["me"]["member"]["id"]
