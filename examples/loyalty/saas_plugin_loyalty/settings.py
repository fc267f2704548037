"""The loyalty settings a tenant admin sets when enabling the plugin (validated by the host)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoyaltySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    welcome_points: int = Field(default=100, ge=0, le=100_000, description="Points a new customer gets; 0: none.")
