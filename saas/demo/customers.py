"""Demo customers: varied, plausible companies and persons with their contacts, from a seeded generator."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from saas.accounts.models import Membership
from saas.auth.permissions import Role
from saas.auth.principal import Principal

PhoneMaker = Callable[[random.Random], str]

INDUSTRIES = {
    "Manufacturing": ("Manufacturing", "Industries", "Fabrication", "Components", "Tooling"),
    "Automotive": ("Motors", "Auto Parts", "Automotive", "Mobility"),
    "Financial services": ("Capital", "Financial", "Asset Management", "Credit Union"),
    "Insurance": ("Insurance", "Assurance", "Underwriters"),
    "Retail": ("Retail", "Stores", "Outfitters", "Market"),
    "Logistics": ("Logistics", "Freight", "Shipping", "Transport"),
    "Healthcare": ("Health", "Medical", "Clinics", "Pharma"),
    "Software": ("Software", "Systems", "Labs", "Digital"),
    "Energy": ("Energy", "Power", "Solar", "Utilities"),
    "Food & beverage": ("Foods", "Brewing", "Bakeries", "Farms"),
    "Construction": ("Construction", "Builders", "Engineering"),
    "Education": ("Academy", "Learning", "Education"),
}
NAME_STEMS = (
    "Northwind", "Blue Harbor", "Apex", "Silverline", "Redwood", "Granite", "Brightwater", "Ironbridge",
    "Summit", "Oakfield", "Clearview", "Evergreen", "Lakeside", "Pioneer", "Meridian", "Crescent",
    "Stonegate", "Westbrook", "Highland", "Kestrel", "Aurora", "Cobalt", "Falcon", "Juniper", "Orion",
    "Pinnacle", "Riverside", "Sterling", "Trident", "Vanguard", "Willow", "Zenith", "Alder", "Beacon",
    "Cedar", "Foxglove", "Harbourne", "Larkspur", "Marlow", "Quayside",
)  # fmt: skip
FIRST_NAMES = (
    "Anna", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Keisha", "Liam",
    "Maria", "Noah", "Olivia", "Priya", "Quentin", "Rosa", "Stefan", "Tara", "Umar", "Valeria", "Wei",
    "Yusuf", "Zoe", "Lucas", "Amara", "Mateo", "Ingrid", "Kofi",
)  # fmt: skip
LAST_NAMES = (
    "Berg", "Novak", "Fischer", "Garcia", "Kowalski", "Nakamura", "Okafor", "Petrov", "Rossi", "Schmidt",
    "Silva", "Tanaka", "Walsh", "Dubois", "Jensen", "Khan", "Larsen", "Moreau", "Nguyen", "O'Brien",
    "Patel", "Quinn", "Reyes", "Singh", "Thompson", "Varga", "Weber", "Yilmaz", "Zhang", "Lindqvist",
)  # fmt: skip
TITLES = (
    "CEO", "CFO", "Head of Procurement", "Purchasing Manager", "Operations Director", "IT Manager",
    "Office Manager", "Finance Controller", "Plant Manager", "Sales Director", "Buyer", "COO",
)  # fmt: skip
TIERS = (("strategic", 1), ("key", 3), ("standard", 6))
STAGES = (("lead", 3), ("prospect", 3), ("customer", 3), ("churned", 1))
SOURCES = ("website", "referral", "trade show", "cold call", "partner", "linkedin", "webinar", "inbound call")
TAGS = (
    "vip", "partner", "newsletter", "high-potential", "at-risk", "renewal-due", "pilot", "trade-show-2024",
    "decision-maker-met", "price-sensitive", "multi-site", "public-sector",
)  # fmt: skip
CITIES = ("Leeds", "Boston", "Hamburg", "Lyon", "Sydney", "Denver", "Munich", "Bristol")


def _uk_phone(r: random.Random) -> str:
    return f"+44 20 7946 0{r.randrange(1000):03d}"  # Ofcom's range for drama


def _us_phone(r: random.Random) -> str:
    return f"+1 {r.choice((202, 212, 312, 415, 617))} 555 01{r.randrange(100):02d}"  # 555-01xx: fictional


def _de_phone(r: random.Random) -> str:
    return f"+49 30 {r.randrange(20_000_000, 99_999_999)}"


def _fr_phone(r: random.Random) -> str:
    return f"+33 1 {r.randrange(40, 80)} {r.randrange(10, 99)} {r.randrange(10, 99)} {r.randrange(10, 99)}"


# Per country: the tag, legal forms of company names and how phone numbers look.
COUNTRIES: tuple[tuple[str, tuple[str, ...], PhoneMaker], ...] = (
    ("united-kingdom", ("Ltd", "plc", "Ltd"), _uk_phone),
    ("united-states", ("Inc.", "LLC", "Corp."), _us_phone),
    ("germany", ("GmbH", "AG"), _de_phone),
    ("france", ("SAS", "S.A."), _fr_phone),
)

NOTES = (
    "Met at the spring trade show; interested in a pilot.",
    "Budget approved for next quarter.",
    "Prefers e-mail over calls.",
    "Renewal coming up; check satisfaction first.",
    "Asked for a reference customer in the same industry.",
)


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    values, weights = zip(*choices, strict=False)
    return rng.choices(values, weights)[0]


def _domain_part(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("'", "")).strip("-")


class CustomerGenerator:
    """Varied, plausible customers: companies and private persons, owned by the team or in the pool."""

    def __init__(self, rng: random.Random, owner: Principal, team: list[Membership]) -> None:
        self.rng = rng
        self.now = datetime.now(UTC).replace(microsecond=0)
        # Owners weighted like a real team: reps carry most accounts, the manager some,
        # the owner a few key ones, and about a fifth sit unowned in the public pool.
        reps = [m.id for m in team if m.role == Role.SALES.value]
        managers = [m.id for m in team if m.role == Role.MANAGER.value]
        self.owners: list[tuple[uuid.UUID | None, int]] = [(rep, 30) for rep in reps]
        self.owners += [(m, 12) for m in managers] + [(owner.membership_id, 4), (None, 22)]
        self.used_names: set[str] = set()

    def next_customer(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rng = self.rng
        owner_id = rng.choices([o for o, _ in self.owners], [w for _, w in self.owners])[0]
        stage = rng.choice(("lead", "prospect")) if owner_id is None else _weighted(rng, STAGES)
        country, legal_forms, phone = rng.choice(COUNTRIES)
        is_person = rng.random() < 0.15
        if is_person:
            name, industry, domain = self._person_name(), None, "mail.example.com"
        else:
            industry = rng.choice(list(INDUSTRIES))
            name = self._company_name(industry, rng.choice(legal_forms))
            domain = f"{_domain_part(name)}.example.com"
        data: dict[str, Any] = {
            "name": name,
            "kind": "person" if is_person else "company",
            "industry": industry,
            "tier": _weighted(rng, TIERS),
            "lifecycle_stage": stage,
            "owner_id": owner_id,
            "source": rng.choice(SOURCES),
            "tags": [*rng.sample(TAGS, rng.choice((0, 1, 1, 2, 2, 3))), country],
        }
        if stage != "lead":
            data["last_contacted_at"] = self.now - timedelta(days=rng.randrange(1, 120), hours=rng.randrange(24))
        if stage in ("lead", "prospect", "customer") and owner_id is not None and rng.random() < 0.6:
            data["next_follow_up_at"] = self.now + timedelta(days=rng.randrange(0, 30), hours=rng.randrange(8, 18))
        if rng.random() < 0.25:
            data["notes"] = rng.choice(NOTES)
        wanted = rng.choice((1, 1, 2, 2, 3))
        people = [name] if is_person else []
        people += [self._person_name() for _ in range(wanted - len(people))]
        contacts = [self._contact(person, domain, phone, primary=i == 0) for i, person in enumerate(people)]
        return data, contacts

    def _contact(self, person: str, domain: str, phone: PhoneMaker, *, primary: bool) -> dict[str, Any]:
        rng = self.rng
        local = ".".join(_domain_part(part) for part in person.split())
        return {
            "name": person,
            "title": None if domain == "mail.example.com" else rng.choice(TITLES),
            "email": f"{local}@{domain}" if rng.random() < 0.9 else None,
            "phone": phone(rng) if rng.random() < 0.8 else None,
            "is_primary": primary,
        }

    def _person_name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    def _company_name(self, industry: str, legal_form: str) -> str:
        rng = self.rng
        base = f"{rng.choice(NAME_STEMS)} {rng.choice(INDUSTRIES[industry])}"
        for candidate in (base, f"{base} {rng.choice(CITIES)}"):
            if candidate not in self.used_names:
                break
        else:
            candidate = f"{base} {len(self.used_names) + 1}"
        self.used_names.add(candidate)
        return f"{candidate} {legal_form}"
