"""Per-tenant settings of the plugin (validated by `enablePlugin` / `updatePluginSettings`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ManufacturingSettings(BaseModel):
    """Stored and shown in camelCase, like the rest of the API: `{"lowStockThreshold": 5}`."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="forbid"
    )

    low_stock_threshold: int = Field(
        default=0, ge=0, le=1_000_000, description="Alert when available stock drops below this (0: never)."
    )
    default_warehouse_name: str = Field(
        default="Main warehouse", min_length=1, max_length=200, description="Name of the warehouse created on enable."
    )
