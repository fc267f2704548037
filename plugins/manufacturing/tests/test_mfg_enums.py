"""The plugin's enums are defined once: each GraphQL `Mfg…` enum is the domain's own Enum class."""

from __future__ import annotations

from enum import Enum

import pytest
from saas_manufacturing import models
from saas_manufacturing.graphql import types  # noqa: F401  (exposes the enums to GraphQL)

from saas.events.payloads import api_value

DOMAIN_ENUMS: dict[str, type[Enum]] = {
    "MfgMovementKind": models.MovementKind,
    "MfgManualMovementKind": models.ManualMovementKind,
    "MfgOrderStatus": models.OrderStatus,
    "MfgShipmentStatus": models.ShipmentStatus,
}


@pytest.mark.parametrize("graphql_name", sorted(DOMAIN_ENUMS))
def test_graphql_enum_is_the_domain_enum(graphql_name: str) -> None:
    domain_enum = DOMAIN_ENUMS[graphql_name]
    definition = getattr(domain_enum, "__strawberry_definition__", None)
    assert definition is not None and definition.name == graphql_name
    for member in domain_enum:
        assert api_value(member) == member.name == str(member.value).upper()


def test_manual_kinds_are_movement_kinds() -> None:
    assert {k.value for k in models.ManualMovementKind} < {k.value for k in models.MovementKind}


def test_check_constraints_list_the_stored_values() -> None:
    constraint = next(
        c for c in models.StockMovement.__table__.constraints if str(getattr(c, "name", "")).endswith("kind_known")
    )
    assert (
        str(getattr(constraint, "sqltext", ""))
        == "kind IN ('receipt', 'issue', 'adjustment', 'reservation', 'release')"
    )
