# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""The demo's after-sales service: classification rules, agents' skills, SLA policies and tickets in
Chinese and English, some answered, resolved or closed; made through the tickets services. A resolved
ticket is resolved with its solution (`resolveTicket`), which writes a DRAFT article linked to it."""

from __future__ import annotations

from saas.knowledge.resolution import resolve_ticket
from saas.plugin_host.contributions import DemoContext
from saas.tickets import service
from saas.tickets.models import TicketStatus

# (name, keywords, pattern, type, priority)
RULES: tuple[tuple[str, list[str], str | None, str, str], ...] = (
    ("Returns and refunds", ["退货", "退款", "refund", "return"], None, "return", "HIGH"),
    ("Exchanges", ["换货", "exchange", "wrong size"], None, "exchange", "NORMAL"),
    ("Complaints", ["投诉", "complaint", "unacceptable"], None, "complaint", "HIGH"),
    ("On-site visits", [], r"(上门|on-?site|technician visit)", "onsite", "URGENT"),
    ("Repairs", ["维修", "坏了", "broken", "repair", "not working"], None, "repair", "NORMAL"),
)
# The skills of the demo team (a manager, then the sales reps), by position in `demo.members`.
SKILLS = (["complaint", "onsite"], ["return", "exchange", "inquiry"], ["repair", "onsite", "inquiry"])
# (type, priority, first response minutes, resolution minutes)
POLICIES = (
    ("return", "HIGH", 60, 24 * 60),
    ("exchange", "NORMAL", 4 * 60, 3 * 24 * 60),
    ("complaint", "HIGH", 30, 24 * 60),
    ("repair", "NORMAL", 4 * 60, 5 * 24 * 60),
    ("onsite", "URGENT", 30, 8 * 60),
    ("inquiry", "NORMAL", 8 * 60, 2 * 24 * 60),
)
TICKETS = (
    ("我要退货，尺码不对", "上周买的工作鞋尺码偏小，想退货退款。"),
    ("设备坏了，无法开机", "新买的打印机通电后没有反应，请安排维修。"),
    ("投诉：送货太慢", "订单已经延迟十天，客服一直没有回复。"),
    ("需要上门安装", "生产线的新设备需要技术人员上门安装调试。"),
    ("发票抬头怎么修改？", "请问开票信息填错了怎么更正？"),
    ("换货申请", "收到的颜色不对，希望换货。"),
    ("Refund for a damaged parcel", "The box arrived crushed and two units are broken. Please refund."),
    ("Machine not working after update", "Since yesterday's firmware update the press stops every hour."),
    ("Wrong size delivered", "We ordered size L and received XL; can we exchange them?"),
    ("Technician visit for the annual check", "Please send a technician on-site for the yearly inspection."),
    ("Question about our contract terms", "Does the service plan include spare parts?"),
    ("Complaint about the installation team", "The installers left the site in an unacceptable state."),
)
ANSWERS = ("我们已收到，正在处理。", "Thanks, we are looking into it.")
# The solutions of the tickets that are resolved (by position in TICKETS), with their tags.
SOLUTIONS: dict[int, tuple[str, tuple[str, ...]]] = {
    2: ("已联系物流加急配送，并为延迟订单补偿运费。", ("物流", "投诉")),
    3: ("技术人员已上门完成安装调试，并培训了操作人员。", ("安装", "上门")),
    6: ("Refund the broken units once the carrier confirms the damage; no need to send them back.", ("refund",)),
    7: ("Roll the firmware back to the previous release, then apply the fixed update 2.4.1.", ("firmware", "press")),
    10: ("The service plan covers wear parts; other spare parts are quoted separately.", ("contract",)),
    11: ("Send the site lead to inspect and clean up the same day; credit one visit.", ("installation",)),
}


def seed_service(demo: DemoContext) -> None:
    """Rules, skills and policies first, so the tickets are classified, dispatched and given due times."""
    session, owner = demo.session, demo.owner
    for position, (name, keywords, pattern, type_key, priority) in enumerate(RULES, start=1):
        rule = {"name": name, "set_type": type_key, "set_priority": priority, "position": position}
        if keywords:
            rule["keywords"] = keywords
        if pattern:
            rule["pattern"] = pattern
        service.create_rule(session, owner, rule)
    for member, skills in zip(demo.members, SKILLS, strict=False):
        if member.membership_id is not None:
            service.set_agent_skills(session, owner, member.membership_id, skills)
    for type_key, priority, first_response, resolution in POLICIES:
        service.set_sla_policy(
            session,
            owner,
            {"type": type_key, "priority": priority, "first_response_minutes": first_response,
             "resolution_minutes": resolution},
        )  # fmt: skip
    if not demo.customer_ids:
        return
    for index, (subject, body) in enumerate(TICKETS):
        customer = demo.rng.choice(demo.customer_ids)
        channel = demo.rng.choice(("email", "phone", "web"))
        ticket = service.create_ticket(
            session, owner, {"customer_id": customer, "subject": subject, "body": body, "channel": channel}
        )
        step = index % 4
        if step >= 1:
            service.comment_on_ticket(session, owner, ticket.id, ANSWERS[index >= 6], True)
        if step >= 2:
            solution, tags = SOLUTIONS[index]
            resolve_ticket(session, owner, ticket.id, {"solution": solution, "tags": list(tags)})
        if step == 3:
            service.update_ticket_status(session, owner, ticket.id, TicketStatus.CLOSED)
