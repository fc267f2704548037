"""Per-tenant settings of the plugin (validated by `enablePlugin` / `updatePluginSettings`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from saas_insurance.models import Line

CONFIG = ConfigDict(
    alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="forbid"
)


class CrossSellRule(BaseModel):
    """Customers holding an active `holds` policy (of at least `minSumInsured`) and none of `offer` get a lead."""

    model_config = CONFIG

    holds: Line
    offer: Line
    min_sum_insured: Decimal = Field(default=Decimal("0"), ge=0, le=Decimal("1e12"))

    @model_validator(mode="after")
    def _two_lines(self) -> CrossSellRule:
        if self.holds == self.offer:
            raise ValueError("holds and offer must be different lines")
        return self


class InsuranceSettings(BaseModel):
    """Stored and shown in camelCase, like the rest of the API: `{"currency": "EUR", "renewalHorizonDays": 60}`."""

    model_config = CONFIG

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="ISO currency of premiums and claims.")
    renewal_horizon_days: int = Field(default=60, ge=1, le=365, description="Policies expiring within this are scored.")
    retention_tasks_per_run: int = Field(
        default=10, ge=0, le=1000, description="Riskiest policies given a task per run."
    )
    retention_threshold: Decimal = Field(default=Decimal("0.5"), ge=0, le=1, description="Least score for a task.")
    no_contact_days: int = Field(default=90, ge=1, le=3650, description="No activity for this long is a churn signal.")
    complaint_window_days: int = Field(
        default=90, ge=1, le=3650, description="Complaint tickets created within this are a churn signal."
    )
    cross_sell_rules: list[CrossSellRule] = Field(
        default_factory=lambda: [
            CrossSellRule(holds=Line.AUTO, offer=Line.HOME),
            CrossSellRule(holds=Line.HOME, offer=Line.LIFE, min_sum_insured=Decimal("200000")),
        ],
        max_length=20,
    )

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()
