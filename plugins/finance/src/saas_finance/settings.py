"""Per-tenant settings of the plugin (validated by `enablePlugin` / `updatePluginSettings`)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

CAMEL = ConfigDict(
    alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="forbid"
)


class CostMethod(StrEnum):
    FIFO = "FIFO"
    AVERAGE_COST = "AVERAGE_COST"


class FeedSource(BaseModel):
    """One feed the periodic job polls: an adapter's code and what it reads (a URL or a file name)."""

    model_config = CAMEL

    feed: str = Field(min_length=1, max_length=50, description="The adapter's code, e.g. `file` or `simulated`.")
    source: str | None = Field(default=None, max_length=2_000, description="The adapter's input, e.g. a URL.")

    @field_validator("feed")
    @classmethod
    def _installed(cls, code: str) -> str:
        """Only a feed installed on the server (built in, or from a `saas_finance.feeds` package)."""
        from saas_finance.feeds import registry

        if code not in registry():
            raise ValueError(f"no quote feed {code!r}; installed: {', '.join(sorted(registry()))}")
        return code


class FinanceSettings(BaseModel):
    """Stored and shown in camelCase, like the rest of the API: `{"costMethod": "AVERAGE_COST"}`."""

    model_config = CAMEL

    cost_method: CostMethod = Field(
        default=CostMethod.FIFO, description="How sales take their cost: FIFO lots, or the average cost."
    )
    feeds: list[FeedSource] = Field(default_factory=list, max_length=20, description="Quote feeds polled every minute.")
