"""A lead is a follow-up subject (declared by the leads domain, saas/leads/followups.py): activities
and tasks about it follow the leads' visibility, in the caller's tenant only."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, add_member
from tests.followups.helpers import LOG_ACTIVITY, NODE, count, errors_of, log_activity
from tests.leads.support import CLAIM, create_lead, member_id, ok


def test_activities_about_a_lead_follow_its_visibility(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    rep = add_member(owner, tenant, "sales")
    other_rep = add_member(owner, tenant, "sales")
    lead = create_lead(owner, company="Acme")
    # A pool lead: every rep sees it, so may log a call about it.
    activity = log_activity(rep, lead["id"], "First call")
    assert activity["subjectId"] == lead["id"] and activity["customer"] is None
    ok(rep, CLAIM, {"ids": [lead["id"]]}, "claimLeads")
    # Claimed by the rep: another rep sees neither the lead nor its follow-ups.
    variables = {"input": {"subjectId": lead["id"], "kind": "NOTE", "summary": "Mine now?"}}
    assert errors_of(other_rep, LOG_ACTIVITY, variables, "logActivity") == [(["input", "subjectId"], "NOT_FOUND")]
    assert other_rep.error_codes(NODE, {"id": activity["id"]}) == ["NOT_FOUND"]
    assert rep.data(NODE, {"id": activity["id"]})["node"]["summary"] == "First call"
    assert member_id(rep) == activity["actor"]["id"]
    # Another tenant, with the lead's id: nothing.
    assert errors_of(other_owner, LOG_ACTIVITY, variables, "logActivity") == [(["input", "subjectId"], "NOT_FOUND")]
    assert count(runtime, tenant.id, "activities") == 1
