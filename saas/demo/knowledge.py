# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""Demo knowledge base: published and draft articles in English and Chinese, found by `searchKnowledgeBase`,
and the tickets they helped with (`recordArticleUse`), so that `serviceReport` lists the most used."""

from __future__ import annotations

from sqlalchemy import select

from saas.demo.service import TICKETS
from saas.knowledge import service
from saas.knowledge.models import Article
from saas.knowledge.resolution import record_article_use
from saas.plugin_host.contributions import DemoContext
from saas.tickets.models import Ticket

# (title, problem, solution, type, tags, published)
ARTICLES: tuple[tuple[str, str, str, str, tuple[str, ...], bool], ...] = (
    (
        "Password reset e-mail never arrives",
        "A user asked for a password reset but no e-mail came, not even after several tries.",
        "Check the spam folder, then make sure the address on the account is right and send the reset again.",
        "inquiry",
        ("login", "e-mail"),
        True,
    ),
    (
        "无法登录账户，密码重置邮件没有收到",
        "客户点击“忘记密码”后一直没有收到密码重置邮件，无法登录账户。",
        "请先检查垃圾邮件文件夹；确认账户邮箱地址正确后，重新发送密码重置邮件。",
        "inquiry",
        ("登录", "邮件"),
        True,
    ),
    (
        "Pump loses pressure after installation",
        "After installation the pump loses pressure within an hour of running.",
        "Tighten the inlet flange and replace the seal kit; test at full load for thirty minutes.",
        "repair",
        ("pump", "installation"),
        True,
    ),
    (
        "设备安装后无法启动",
        "现场安装完成后，设备通电但无法启动，控制面板没有显示。",
        "检查电源相序和急停按钮是否复位；如仍无法启动，请预约技术人员上门检修。",
        "onsite",
        ("安装", "上门"),
        True,
    ),
    (
        "Returning a damaged delivery",
        "Goods arrived damaged and the customer wants to send them back.",
        "Create a return request on the order lines, approve it, and refund once the goods are received.",
        "return",
        ("return",),
        True,
    ),
    (
        "发票抬头错误如何修改",
        "客户收到的发票抬头有误，需要重新开具。",
        "在订单详情中更正抬头后申请重新开票。",
        "complaint",
        ("发票",),
        False,
    ),
)


# Which article (by title: one above, or the subject of the resolved ticket it was written from)
# helped with which demo ticket (by position in saas/demo/service.py TICKETS).
USES: tuple[tuple[str, int], ...] = (
    ("Returning a damaged delivery", 0),
    ("Returning a damaged delivery", 6),
    ("Returning a damaged delivery", 8),
    ("设备安装后无法启动", 3),
    ("设备安装后无法启动", 9),
    ("Pump loses pressure after installation", 7),
    ("Machine not working after update", 1),
)


def seed_knowledge(demo: DemoContext) -> None:
    """The articles above, as the owner; the unpublished one stays a draft. Then the uses: the
    service step ran first, so its tickets and the draft articles their resolutions wrote are there."""
    for title, problem, solution, kind, tags, published in ARTICLES:
        article = service.create_article(
            demo.session,
            demo.owner,
            {"title": title, "problem": problem, "solution": solution, "type": kind, "tags": list(tags)},
        )
        if published:
            service.publish_article(demo.session, demo.owner, article.id)
    tickets = {row.subject: row.id for row in demo.session.execute(select(Ticket.subject, Ticket.id))}
    articles = {row.title: row.id for row in demo.session.execute(select(Article.title, Article.id))}
    for title, position in USES:
        ticket = tickets.get(TICKETS[position][0])
        if ticket is not None and title in articles:
            record_article_use(demo.session, demo.owner, articles[title], ticket)
