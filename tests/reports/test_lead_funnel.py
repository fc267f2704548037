"""leadFunnel's figures against values worked out by hand from the dataset below, per role, per
owner and team, per date edge and per tenant; one statement whatever the rows; money as strings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from saas.runtime import Runtime
from saas.schema.relay import to_global_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import create_opportunity, member_id, move, stages
from tests.leads.support import CLAIM, CREATE_CHANNEL, DISQUALIFY, RETURN, create_lead, ok
from tests.reports.support import at, raw
from tests.reports.test_reports import MONEY

FUNNEL = """query($filter: ReportFilterInput) {
  leadFunnel(filter: $filter) {
    created claimed converted disqualified conversionRate
    byChannel {
      channel { id name } created claimed converted disqualified conversionRate
      currency cost wonAmount roi wonByCurrency { currency amount }
    }
  }
}"""
CONVERT_WITH_OPPORTUNITY = """mutation($input: ConvertLeadInput!) {
  convertLead(input: $input) { customer { id } opportunity { id } userErrors { field code message } }
}"""


@dataclass
class Funnel:
    owner: GraphQLClient
    rep1: GraphQLClient
    rep2: GraphQLClient
    manager: GraphQLClient
    rep1_id: str
    rep2_id: str
    team_id: str
    channels: dict[str, str]


def _channel(owner: GraphQLClient, name: str, cost: str, currency: str) -> str:
    payload = ok(owner, CREATE_CHANNEL, {"name": name, "cost": cost, "currency": currency}, "createChannel")
    return str(payload["channel"]["id"])


def _created_at(runtime: Runtime, tenant: TenantHandle, lead_id: str, when: str) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(text("UPDATE leads SET created_at = :at WHERE id = :id"), {"at": at(when), "id": raw(lead_id)})


def _convert(client: GraphQLClient, lead_id: str, amount: str, *, won: bool) -> str:
    """Convert with an opportunity of `amount` EUR, moved to Won when `won`; the customer's id."""
    opportunity = {"name": "First order", "amount": amount, "currency": "EUR"}
    payload = client.data(CONVERT_WITH_OPPORTUNITY, {"input": {"id": lead_id, "opportunity": opportunity}})
    converted = payload["convertLead"]
    assert converted["userErrors"] == [], converted
    if won:
        assert move(client, converted["opportunity"]["id"], stages(client)["Won"]["id"])["userErrors"] == []
    return str(converted["customer"]["id"])


def build(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> Funnel:
    """Channels: Web 1000.00 EUR, Fair 0.00 EUR, Radio 250.00 USD (no leads). Leads (created, UTC):

    L1 Web   2025-01-10       rep1 claims it from the pool, converts it: 3000.00 EUR won
    L2 Web   2025-01-20       created owned by rep1, disqualified
    L3 Web   2025-02-05       in the pool, never claimed
    L4 Web   2025-01-31 23:59:59  rep2 claims it, returns it to the pool (claimed, now unowned)
    L5 Web   2025-02-01 00:00 rep2 claims it, converts it: 500.00 EUR won, then 200.00 USD won and
                              900.00 EUR open on the same customer
    L6 Fair  2025-01-15       created owned by rep1, converted: 800.00 EUR open
    L7 none  2025-02-10       created owned by rep2, converted: 100.00 EUR won
    L8 none  2025-03-01       in the pool

    The team: the manager and rep2.
    """
    rep1, rep2, manager = (add_member(owner, tenant, role) for role in ("sales", "sales", "manager"))
    rep1_id, rep2_id = member_id(rep1), member_id(rep2)
    team = owner.data(
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } userErrors { code } } }",
        {"input": {"name": "East", "managerId": member_id(manager), "memberIds": [rep2_id]}},
    )["createTeam"]
    assert team["userErrors"] == []
    channels = {
        "Web": _channel(owner, "Web", "1000.00", "EUR"),
        "Fair": _channel(owner, "Fair", "0", "EUR"),
        "Radio": _channel(owner, "Radio", "250.00", "USD"),
    }

    def lead(client: GraphQLClient, name: str, channel: str | None, created: str, **extra: Any) -> str:
        fields: dict[str, Any] = {"name": name, "allowDuplicate": True, **extra}
        if channel is not None:
            fields["channelId"] = channels[channel]
        lead_id = str(create_lead(client, **fields)["id"])
        _created_at(runtime, tenant, lead_id, created)
        return lead_id

    l1 = lead(owner, "L1", "Web", "2025-01-10T10:00:00")
    ok(rep1, CLAIM, {"ids": [l1]}, "claimLeads")
    _convert(rep1, l1, "3000.00", won=True)
    l2 = lead(rep1, "L2", "Web", "2025-01-20T10:00:00", ownerId=rep1_id)
    ok(rep1, DISQUALIFY, {"id": l2, "reason": "No budget"}, "disqualifyLead")
    lead(owner, "L3", "Web", "2025-02-05T10:00:00")
    l4 = lead(owner, "L4", "Web", "2025-01-31T23:59:59")
    ok(rep2, CLAIM, {"ids": [l4]}, "claimLeads")
    ok(rep2, RETURN, {"ids": [l4], "reason": "Wrong region"}, "returnLeads")
    l5 = lead(owner, "L5", "Web", "2025-02-01T00:00:00")
    ok(rep2, CLAIM, {"ids": [l5]}, "claimLeads")
    customer5 = _convert(rep2, l5, "500.00", won=True)
    usd = create_opportunity(rep2, customer5, "200.00", "USD")
    assert move(rep2, usd["id"], stages(rep2)["Won"]["id"])["userErrors"] == []
    create_opportunity(rep2, customer5, "900.00", "EUR")
    l6 = lead(rep1, "L6", "Fair", "2025-01-15T10:00:00", ownerId=rep1_id)
    _convert(rep1, l6, "800.00", won=False)
    l7 = lead(rep2, "L7", None, "2025-02-10T10:00:00", ownerId=rep2_id)
    _convert(rep2, l7, "100.00", won=True)
    lead(owner, "L8", None, "2025-03-01T10:00:00")
    return Funnel(owner, rep1, rep2, manager, rep1_id, rep2_id, str(team["team"]["id"]), channels)


@pytest.fixture
def data(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> Funnel:
    return build(runtime, tenant, owner)


def funnel(client: GraphQLClient, **filter: Any) -> dict[str, Any]:
    return dict(client.data(FUNNEL, {"filter": filter or None})["leadFunnel"])


def totals(result: dict[str, Any]) -> tuple[int, int, int, int, str | None]:
    return (
        result["created"],
        result["claimed"],
        result["converted"],
        result["disqualified"],
        result["conversionRate"],
    )


def channels(result: dict[str, Any]) -> dict[str | None, tuple[Any, ...]]:
    """Per channel name (None: the leads without one): counts, rate, currency, cost, won, roi, won per currency."""
    return {
        (row["channel"] or {}).get("name"): (
            row["created"],
            row["claimed"],
            row["converted"],
            row["disqualified"],
            row["conversionRate"],
            row["currency"],
            row["cost"],
            row["wonAmount"],
            row["roi"],
            {w["currency"]: w["amount"] for w in row["wonByCurrency"]},
        )
        for row in result["byChannel"]
    }


FAIR_EMPTY = (0, 0, 0, 0, None, "EUR", "0.00", "0.00", None, {})
RADIO_EMPTY = (0, 0, 0, 0, None, "USD", "250.00", "0.00", "-1.0000", {})  # (0 - 250) / 250
WEB_EMPTY = (0, 0, 0, 0, None, "EUR", "1000.00", "0.00", "-1.0000", {})


def test_every_figure_for_the_owner(data: Funnel) -> None:
    result = funnel(data.owner)
    # created L1..L8; claimed: L1, L2, L4, L5, L6, L7 (L4 was returned: still claimed once); converted
    # L1, L5, L6, L7; disqualified L2; rate 4 / 8
    assert totals(result) == (8, 6, 4, 1, "0.5000")
    assert channels(result) == {
        # Web: L1..L5; won in EUR 3000.00 + 500.00 (the open 900.00 is not won); roi (3500 - 1000) / 1000
        "Web": (5, 4, 2, 1, "0.4000", "EUR", "1000.00", "3500.00", "2.5000", {"EUR": "3500.00", "USD": "200.00"}),
        # Fair: L6 converted, its opportunity open; cost 0: no roi
        "Fair": (1, 1, 1, 0, "1.0000", "EUR", "0.00", "0.00", None, {}),
        "Radio": RADIO_EMPTY,
        # no channel: L7 (100.00 EUR won) and L8; no cost, no currency, no roi
        None: (2, 1, 1, 0, "0.5000", None, None, None, None, {"EUR": "100.00"}),
    }
    # by name, the leads without a channel last
    assert [(row["channel"] or {}).get("id") for row in result["byChannel"]] == [
        data.channels["Fair"], data.channels["Radio"], data.channels["Web"], None,
    ]  # fmt: skip


def test_the_cohort_is_the_leads_created_in_the_range(data: Funnel) -> None:
    # January (to is inclusive: L4 at 23:59:59 is in): L1, L2, L4 (Web), L6 (Fair)
    january = funnel(data.owner, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert totals(january) == (4, 4, 2, 1, "0.5000")
    assert channels(january) == {
        # 1 / 3 = 0.3333; L1's 3000.00 EUR won (in February, but L1 is January's lead)
        "Web": (3, 3, 1, 1, "0.3333", "EUR", "1000.00", "3000.00", "2.0000", {"EUR": "3000.00"}),
        "Fair": (1, 1, 1, 0, "1.0000", "EUR", "0.00", "0.00", None, {}),
        "Radio": RADIO_EMPTY,
    }
    # February (from is inclusive: L5 at 00:00 is in): L3, L5 (Web), L7 (none); 2 / 3 = 0.6667
    february = funnel(data.owner, **{"from": "2025-02-01", "to": "2025-02-28"})
    assert totals(february) == (3, 2, 2, 0, "0.6667")
    assert channels(february) == {
        # (500 - 1000) / 1000
        "Web": (2, 1, 1, 0, "0.5000", "EUR", "1000.00", "500.00", "-0.5000", {"EUR": "500.00", "USD": "200.00"}),
        "Fair": FAIR_EMPTY,
        "Radio": RADIO_EMPTY,
        None: (1, 1, 1, 0, "1.0000", None, None, None, None, {"EUR": "100.00"}),
    }
    # nothing created: zeros, no rate, every channel, no row without a channel
    empty = funnel(data.owner, **{"from": "2030-01-01"})
    assert totals(empty) == (0, 0, 0, 0, None)
    assert channels(empty) == {"Web": WEB_EMPTY, "Fair": FAIR_EMPTY, "Radio": RADIO_EMPTY}


def test_owner_team_and_currency_filters(data: Funnel) -> None:
    # rep2 owns L5 and L7 (L4 went back to the pool: no owner)
    rep2 = funnel(data.owner, ownerId=data.rep2_id)
    assert totals(rep2) == (2, 2, 2, 0, "1.0000")
    assert channels(rep2) == {
        "Web": (1, 1, 1, 0, "1.0000", "EUR", "1000.00", "500.00", "-0.5000", {"EUR": "500.00", "USD": "200.00"}),
        "Fair": FAIR_EMPTY,
        "Radio": RADIO_EMPTY,
        None: (1, 1, 1, 0, "1.0000", None, None, None, None, {"EUR": "100.00"}),
    }
    # the team: rep2 and the manager, who owns no leads
    assert funnel(data.owner, teamId=data.team_id) == rep2
    assert totals(funnel(data.owner, teamId=data.team_id, ownerId=data.rep1_id)) == (0, 0, 0, 0, None)
    # rep1: L1, L2, L6
    assert totals(funnel(data.owner, ownerId=data.rep1_id)) == (3, 3, 2, 1, "0.6667")
    # `currency` narrows wonByCurrency only: the counts and the channel's own figures stay
    usd = funnel(data.owner, currency="USD")
    assert totals(usd) == (8, 6, 4, 1, "0.5000")
    assert channels(usd)["Web"] == (
        5, 4, 2, 1, "0.4000", "EUR", "1000.00", "3500.00", "2.5000", {"USD": "200.00"},
    )  # fmt: skip
    assert channels(usd)[None][-1] == {}


def test_each_role_counts_what_it_sees(data: Funnel) -> None:
    # rep1 sees its own (L1, L2, L6) and the pool (L3, L4, L8), and only its own opportunities
    rep1 = funnel(data.rep1)
    assert totals(rep1) == (6, 4, 2, 1, "0.3333")
    assert channels(rep1) == {
        "Web": (4, 3, 1, 1, "0.2500", "EUR", "1000.00", "3000.00", "2.0000", {"EUR": "3000.00"}),
        "Fair": (1, 1, 1, 0, "1.0000", "EUR", "0.00", "0.00", None, {}),
        "Radio": RADIO_EMPTY,
        None: (1, 0, 0, 0, "0.0000", None, None, None, None, {}),
    }
    # the manager sees its team's (rep2: L5, L7), its own (none) and the pool (L3, L4, L8)
    manager = funnel(data.manager)
    assert totals(manager) == (5, 3, 2, 0, "0.4000")
    assert channels(manager) == {
        "Web": (3, 2, 1, 0, "0.3333", "EUR", "1000.00", "500.00", "-0.5000", {"EUR": "500.00", "USD": "200.00"}),
        "Fair": FAIR_EMPTY,
        "Radio": RADIO_EMPTY,
        None: (2, 1, 1, 0, "0.5000", None, None, None, None, {"EUR": "100.00"}),
    }
    # a rep asking for another rep's figures gets nothing
    assert totals(funnel(data.rep1, ownerId=data.rep2_id)) == (0, 0, 0, 0, None)
    assert totals(funnel(data.rep1, teamId=data.team_id)) == (0, 0, 0, 0, None)


def test_another_tenant_is_never_counted(data: Funnel, other_tenant: TenantHandle, other_owner: GraphQLClient) -> None:
    assert totals(funnel(other_owner)) == (0, 0, 0, 0, None)
    assert funnel(other_owner)["byChannel"] == []
    payload = ok(other_owner, CREATE_CHANNEL, {"name": "Web", "cost": "10.00", "currency": "EUR"}, "createChannel")
    other_lead = create_lead(other_owner, name="Other", channelId=payload["channel"]["id"])
    _convert(other_owner, other_lead["id"], "9999.00", won=True)
    assert totals(funnel(other_owner)) == (1, 0, 1, 0, "1.0000")
    assert channels(funnel(other_owner)) == {
        "Web": (1, 0, 1, 0, "1.0000", "EUR", "10.00", "9999.00", "998.9000", {"EUR": "9999.00"})
    }
    # the first tenant's figures are unchanged
    assert totals(funnel(data.owner)) == (8, 6, 4, 1, "0.5000")
    assert channels(funnel(data.owner))["Web"][7] == "3500.00"
    # the first tenant's member and team ids are unknown here
    assert other_owner.error_codes(FUNNEL, {"filter": {"ownerId": data.rep1_id}}) == ["NOT_FOUND"]
    assert other_owner.error_codes(FUNNEL, {"filter": {"teamId": data.team_id}}) == ["NOT_FOUND"]


def test_money_and_rates_are_decimal_strings(data: Funnel) -> None:
    result = funnel(data.owner)
    amounts = [row[key] for row in result["byChannel"] for key in ("cost", "wonAmount") if row[key] is not None]
    amounts += [w["amount"] for row in result["byChannel"] for w in row["wonByCurrency"]]
    assert len(amounts) >= 8 and all(isinstance(a, str) and MONEY.match(a) for a in amounts), amounts
    rates = [result["conversionRate"]] + [row[key] for row in result["byChannel"] for key in ("conversionRate", "roi")]
    rates = [r for r in rates if r is not None]
    assert len(rates) >= 6 and all(isinstance(r, str) and len(r.split(".")[1]) == 4 for r in rates), rates


def test_bad_filters_and_permissions(owner: GraphQLClient, anonymous: GraphQLClient) -> None:
    assert owner.error_codes(FUNNEL, {"filter": {"from": "2025-02-02", "to": "2025-02-01"}}) == ["BAD_USER_INPUT"]
    assert owner.error_codes(FUNNEL, {"filter": {"ownerId": to_global_id("Member", uuid.uuid4())}}) == ["NOT_FOUND"]
    assert owner.error_codes(FUNNEL, {"filter": {"teamId": to_global_id("Team", uuid.uuid4())}}) == ["NOT_FOUND"]
    assert owner.error_codes(FUNNEL, {"filter": {"currency": "EURO"}}) == ["BAD_USER_INPUT"]
    assert anonymous.error_codes(FUNNEL) == ["UNAUTHENTICATED"]


def test_one_statement_whatever_the_rows(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> None:
    owner.data(FUNNEL)
    empty = owner.last_statements
    build(runtime, tenant, owner)
    owner.data(FUNNEL)
    # the report's one statement, the read transaction's tenant setting in front of it (one message)
    assert (empty, owner.last_statements) == (1, 1)
