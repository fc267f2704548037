"""The loyalty settings a tenant admin sets when enabling the plugin (validated by the host)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class LoyaltySettings(BaseModel):
    """Stored and shown in camelCase, like the rest of the API: `{"welcomePoints": 100}`.

    Settings stored under their snake_case names by earlier versions are still read.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="forbid"
    )

    welcome_points: int = Field(default=100, ge=0, le=100_000, description="Points a new customer gets; 0: none.")
