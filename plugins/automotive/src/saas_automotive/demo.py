"""Demo data of the plugin (`saas_demo`): vehicles with service history, suppliers and parts, a
vehicle order with its call-offs, a delayed freight shipment, reminder rules and their reminders.

Made through the plugin's services as the demo owner, so every row has its events; drawn only
from `demo.rng` (the same data on every run) and dated from `demo.now`.
"""

from __future__ import annotations

from datetime import timedelta

from saas.plugin_api import DemoContext
from saas_automotive.rules import VIN_ALPHABET, vin_check_digit
from saas_automotive.service import call_offs, freight, reminders, suppliers, vehicles
from saas_automotive.service.common import Actor

MODELS = [("Volvo", "XC60"), ("Volvo", "V90"), ("BYD", "Seal"), ("Toyota", "RAV4"), ("Skoda", "Octavia")]


def _vin(demo: DemoContext) -> str:
    alphabet = sorted(VIN_ALPHABET)
    body = "".join(demo.rng.choice(alphabet) for _ in range(17))
    return body[:8] + vin_check_digit(body) + body[9:]


def _no_secret(plain: str) -> str:
    raise RuntimeError("demo suppliers have no endpoint")  # pragma: no cover


def seed(demo: DemoContext) -> None:
    session, actor = demo.session, Actor(demo.owner)
    today = demo.now.date()
    registered = []
    for customer_id in demo.customer_ids[: min(8, len(demo.customer_ids))]:
        make, model = demo.rng.choice(MODELS)
        purchased = today - timedelta(days=demo.rng.randrange(200, 1400))
        data = {
            "vin": _vin(demo),
            "make": make,
            "model": model,
            "year": purchased.year,
            "mileage": demo.rng.randrange(5_000, 60_000),
            "purchased_on": purchased,
            "warranty_ends_on": purchased + timedelta(days=3 * 365),
            "finance_ends_on": purchased + timedelta(days=4 * 365),
        }
        vehicle = vehicles.register_vehicle(session, actor, customer_id, data)
        service = {
            "performed_on": today - timedelta(days=demo.rng.randrange(30, 400)),
            "mileage": vehicle.mileage,
            "kind": "Annual inspection",
        }
        vehicles.record_service(session, actor, vehicle.id, service)
        registered.append(vehicle)

    seats, _ = suppliers.create_supplier(
        session, actor, {"code": "NORDSEAT", "name": "Nordic Seating AB", "jit_window_minutes": 120}, _no_secret
    )
    glass, _ = suppliers.create_supplier(
        session, actor, {"code": "CLEARVUE", "name": "ClearVue Glass", "jit_window_minutes": 90}, _no_secret
    )
    seat = suppliers.create_part(
        session, actor, seats.id, {"part_number": "SEAT-FR-01", "name": "Front seat", "lead_time_hours": 6}
    )
    screen = suppliers.create_part(
        session, actor, glass.id, {"part_number": "WS-200", "name": "Windscreen", "lead_time_hours": 12}
    )
    if demo.customer_ids:
        lines = [call_offs.PartLine(seat.id, 2), call_offs.PartLine(screen.id, 1)]
        slot = (demo.now + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
        _, made = call_offs.create_vehicle_order(
            session, actor, demo.customer_ids[0], {"model": "XC60", "build_slot_at": slot}, lines
        )
        call_offs.update_status(session, actor, made[0].id, "sent", None)
        call_offs.update_status(session, actor, made[0].id, "confirmed", "Confirmed by phone")
        planned = demo.now + timedelta(days=2)
        shipment = freight.create_shipment(
            session,
            actor,
            made[0].id,
            {
                "carrier": "DSV Road",
                "tracking_number": f"DSV{demo.rng.randrange(10**6, 10**7)}",
                "planned_departure_at": demo.now - timedelta(hours=6),
                "planned_arrival_at": planned,
                "cost": None,
                "currency": None,
            },
            [("Jönköping", "Malmö"), ("Malmö", "Gothenburg plant")],
        )
        freight.add_tracking_event(
            session,
            actor,
            shipment.id,
            {
                "at": demo.now - timedelta(hours=2),
                "location": "Jönköping",
                "status": "departed",
                "eta": planned,
                "note": None,
            },
        )
        late = planned + timedelta(minutes=demo.rng.randrange(90, 240))
        freight.add_tracking_event(
            session,
            actor,
            shipment.id,
            {
                "at": demo.now,
                "location": "E4 near Helsingborg",
                "status": "delayed",
                "eta": late,
                "note": "Queue at the bridge",
            },
        )

    for rule in (
        {"kind": "service_time", "everyMonths": 12, "daysBefore": None, "everyKm": None},
        {"kind": "service_mileage", "everyKm": 15_000, "daysBefore": None, "everyMonths": None},
        {"kind": "warranty_end", "daysBefore": 60, "everyKm": None, "everyMonths": None},
        {"kind": "finance_end", "daysBefore": 90, "everyKm": None, "everyMonths": None},
    ):
        reminders.create_rule(session, actor, rule)
    reminders.generate(session, demo.owner, today, 30)
