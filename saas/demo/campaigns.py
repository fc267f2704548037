"""Demo campaigns: a launched newsletter with responses (one making a pool lead) and a draft."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from saas.campaigns import service
from saas.campaigns.models import CampaignMember
from saas.customers.models import Contact
from saas.plugin_host.contributions import DemoContext


def seed_campaigns(demo: DemoContext) -> None:
    """The spring newsletter to the customers tagged `newsletter`, launched ten days ago, with an
    open, a reply from a member's contact and a registration from an unknown e-mail (a pool lead);
    and a VIP event still a draft."""
    today = demo.now.date()
    newsletter = service.create_campaign(
        demo.session,
        demo.owner,
        {
            "name": "Spring newsletter",
            "channel": "Newsletter",
            "budget": "2000.00",
            "currency": "EUR",
            "starts_on": today - timedelta(days=10),
            "ends_on": today + timedelta(days=20),
            "audience": {"tag": "newsletter"},
        },
    )
    service.launch_campaign(demo.session, demo.owner, newsletter.id)
    members = list(
        demo.session.scalars(
            select(CampaignMember.customer_id)
            .where(CampaignMember.campaign_id == newsletter.id)
            .order_by(CampaignMember.customer_id)
        )
    )
    if members:
        opened = members[demo.rng.randrange(len(members))]
        service.record_response(demo.session, demo.owner, newsletter.id, {"kind": "OPENED", "customer_id": opened})
        contact = demo.session.scalar(
            select(Contact)
            .where(Contact.customer_id.in_(members), Contact.email.is_not(None))
            .order_by(Contact.created_at, Contact.id)
            .limit(1)
        )
        if contact is not None:
            service.record_response(
                demo.session,
                demo.owner,
                newsletter.id,
                {"kind": "REPLIED", "email": contact.email, "note": "Asked for the new price list."},
            )
    service.record_response(
        demo.session,
        demo.owner,
        newsletter.id,
        {"kind": "REGISTERED", "email": "chen.jing@example.cn", "note": "注册了春季产品网络研讨会"},
    )
    service.create_campaign(
        demo.session,
        demo.owner,
        {
            "name": "VIP customer evening",
            "channel": "Events",
            "budget": "8500.00",
            "currency": "EUR",
            "starts_on": today + timedelta(days=30),
            "ends_on": today + timedelta(days=30),
            "audience": {"tag": "vip", "lifecycleStage": "CUSTOMER"},
        },
    )
