"""Per-tenant settings of the plugin (validated by `enablePlugin` / `updatePluginSettings`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class AutomotiveSettings(BaseModel):
    """Stored and shown in camelCase, like the rest of the API: `{"strictVin": true}`."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="forbid"
    )

    strict_vin: bool = Field(default=False, description="Verify the ISO 3779 check digit (position 9) of every VIN.")
    freight_delay_threshold_minutes: int = Field(
        default=60, ge=1, le=100_000, description="A shipment whose ETA is this late notifies its owner (once)."
    )
    reminder_days_before: int = Field(
        default=14, ge=0, le=365, description="Lead time of reminders whose rule names no daysBefore."
    )
