"""Demo work orders: a week of installations, tests, demos and repairs on two technicians' calendars."""

from __future__ import annotations

from datetime import timedelta

from saas.plugin_host.contributions import DemoContext
from saas.workorders import service
from saas.workorders.models import WorkOrderKind

DAYS = 5
KINDS = tuple(WorkOrderKind)


def seed_work_orders(demo: DemoContext) -> None:
    """Each working day from tomorrow, a morning and an afternoon visit for two members acting as
    technicians (never overlapping: fixed slots); the first past one is completed with its hours."""
    if not demo.customer_ids:
        return  # a demo without customers has nobody to serve
    technicians = [member.membership_id for member in demo.members[:2] if member.membership_id is not None]
    start_of_day = (demo.now + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    first_of_yesterday = None
    for day in range(-1, DAYS):
        for technician in technicians:
            for slot_hour in (0, 5):  # 08:00 and 13:00 UTC
                starts_at = start_of_day + timedelta(days=day, hours=slot_hour)
                order = service.create_work_order(
                    demo.session,
                    demo.owner,
                    {
                        "customer_id": demo.customer_ids[demo.rng.randrange(len(demo.customer_ids))],
                        "technician_id": technician,
                        "kind": demo.rng.choice(KINDS).value,
                        "starts_at": starts_at,
                        "ends_at": starts_at + timedelta(hours=demo.rng.choice((2, 3, 4))),
                    },
                )
                if day == -1 and first_of_yesterday is None:
                    first_of_yesterday = order
    if first_of_yesterday is not None:
        service.complete_work_order(
            demo.session, demo.owner, first_of_yesterday.id, "2.50", "Installed and tested; customer signed off."
        )
