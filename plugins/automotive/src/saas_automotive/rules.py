"""Who may do what: the permission strings the plugin checks, and which roles hold them by default.

Vehicles and their reminders follow the core's customer visibility (`service/vehicles.py`);
the supply chain and freight are the tenant's, seen by every holder of the read permission.
A supplier's API key holds `auto:supplier` only and sees its own supplier's call-offs
(`service/suppliers.py` `supplier_of`).
"""

from __future__ import annotations

from saas.plugin_api import PermissionSpec, Role

VEHICLES_READ = "auto:vehicles:read"
VEHICLES_WRITE = "auto:vehicles:write"
SUPPLY_READ = "auto:supply:read"
SUPPLY_WRITE = "auto:supply:write"
FREIGHT_READ = "auto:freight:read"
FREIGHT_WRITE = "auto:freight:write"
REMINDERS_MANAGE = "auto:reminders:manage"
# The scope of supplier API keys (`createSupplierApiKey`): their own call-offs, along the allowed
# transitions. Owners and admins hold it so that they may issue such keys (a key's scopes are a
# subset of its creator's); it grants members nothing by itself.
SUPPLIER = "auto:supplier"

EVERYONE = (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.VIEWER)
MANAGERS = (Role.OWNER, Role.ADMIN, Role.MANAGER)

PERMISSIONS = [
    PermissionSpec(VEHICLES_READ, "See vehicles, their service history and reminders (of visible customers)", EVERYONE),
    PermissionSpec(
        VEHICLES_WRITE, "Register vehicles, record mileage and services", (*MANAGERS, Role.SALES, Role.SERVICE)
    ),
    PermissionSpec(SUPPLY_READ, "See suppliers, parts, vehicle orders, call-offs and supplier performance", EVERYONE),
    PermissionSpec(SUPPLY_WRITE, "Create suppliers, parts and vehicle orders; move call-offs", MANAGERS),
    PermissionSpec(FREIGHT_READ, "See freight shipments and their tracking", EVERYONE),
    PermissionSpec(FREIGHT_WRITE, "Create freight shipments and record tracking events", (*MANAGERS, Role.SERVICE)),
    PermissionSpec(REMINDERS_MANAGE, "Create service and sales reminder rules", MANAGERS),
    PermissionSpec(
        SUPPLIER, "Supplier API keys: see and move the key's own supplier's call-offs", (Role.OWNER, Role.ADMIN)
    ),
]


# -- VINs (ISO 3779) ---------------------------------------------------------------------------

VIN_LENGTH = 17
VIN_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")  # no I, O or Q
_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_form_problem(vin: str) -> str | None:
    """Why `vin` (upper case) is not a VIN's form: 17 characters of digits and letters without I, O, Q."""
    if len(vin) != VIN_LENGTH:
        return f"A VIN has {VIN_LENGTH} characters"
    if not set(vin) <= VIN_ALPHABET:
        return "A VIN has only digits and the letters A-Z without I, O and Q"
    return None


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) of a well-formed VIN: the weighted sum of the transliterated
    characters modulo 11, written `X` for 10."""
    total = sum(_TRANSLITERATION[char] * weight for char, weight in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)
