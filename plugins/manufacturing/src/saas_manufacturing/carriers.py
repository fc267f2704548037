"""Carriers plug in through this plugin's own hook, `mfg_carriers` (project `saas_manufacturing`).

A logistics integration is a Python package registering a module under the entry point group
`saas_manufacturing.carriers` that implements:

    from saas_manufacturing.carriers import Booking, ShipmentRequest, carrier_hookimpl

    class Dhl:
        code = "dhl"
        name = "DHL Express"

        def book(self, request: ShipmentRequest) -> Booking:
            ...  # call the carrier's API; return its tracking number

    @carrier_hookimpl
    def mfg_carriers() -> list[Dhl]:
        return [Dhl()]

`book` runs inside the database transaction that creates the shipment: if it raises
`CarrierError` the shipment is not created and the caller gets `CARRIER_FAILED`.
The built-in `manual` carrier books nothing: the user types the tracking number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Protocol, runtime_checkable

import pluggy

PROJECT = "saas_manufacturing"
ENTRY_POINT_GROUP = "saas_manufacturing.carriers"
carrier_hookspec = pluggy.HookspecMarker(PROJECT)
carrier_hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class ShipmentRequest:
    """What a carrier is asked to carry."""

    tenant_id: uuid.UUID
    shipment_id: uuid.UUID
    order_id: uuid.UUID
    warehouse_code: str
    warehouse_address: str | None
    customer_id: uuid.UUID
    tracking_number: str | None
    parcels: int = 1


@dataclass(frozen=True)
class Booking:
    tracking_number: str | None
    tracking_url: str | None = None


class CarrierError(Exception):
    """The carrier refused or failed the booking; the message is shown to the user."""


@runtime_checkable
class Carrier(Protocol):
    code: str
    name: str

    def book(self, request: ShipmentRequest) -> Booking: ...


class CarrierSpecs:
    @carrier_hookspec
    def mfg_carriers(self) -> list[Carrier]:  # type: ignore[empty-body]
        """The carriers a package provides; their `code`s must be unique across packages."""


class ManualCarrier:
    """Shipments booked outside the system: the tracking number is the one the user gives."""

    code = "manual"
    name = "Manual (tracking number entered by hand)"

    def book(self, request: ShipmentRequest) -> Booking:
        return Booking(tracking_number=request.tracking_number)


class _BuiltIn:
    @carrier_hookimpl
    def mfg_carriers(self) -> list[Carrier]:
        return [ManualCarrier()]


def carrier_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(CarrierSpecs)
    manager.register(_BuiltIn(), name="builtin")
    if load_entry_points:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return manager


def collect(manager: pluggy.PluginManager) -> dict[str, Carrier]:
    """Carriers by code; a second carrier with a taken code is refused loudly at start."""
    carriers: dict[str, Carrier] = {}
    for batch in manager.hook.mfg_carriers():
        for carrier in batch or []:
            if not isinstance(carrier, Carrier):
                raise TypeError(f"{carrier!r} is not a carrier (code, name, book)")
            if carrier.code in carriers:
                raise ValueError(f"two carriers use the code {carrier.code!r}")
            carriers[carrier.code] = carrier
    return carriers


@cache
def registry() -> dict[str, Carrier]:
    """The installed carriers (built-in and from entry points), read once per process."""
    return collect(carrier_manager())
