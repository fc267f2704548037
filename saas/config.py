"""Settings read from the environment, with development defaults and production guards."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-secret-do-not-use-in-production-0123456789"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: Literal["development", "test", "production"] = Field(default="development", alias="SAAS_ENV")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    data_dir: Path = Field(default=Path(".data"), alias="SAAS_DATA_DIR")
    secret_key: str = Field(default=DEVELOPMENT_SECRET, alias="SECRET_KEY")
    token_ttl_seconds: int = Field(default=12 * 3600, alias="TOKEN_TTL_SECONDS", gt=0)
    app_role: str = Field(default="saas_app", alias="SAAS_APP_ROLE")
    app_role_password: str = Field(default="saas_app", alias="SAAS_APP_ROLE_PASSWORD")
    db_pool_size: int = Field(default=20, alias="DB_POOL_SIZE", gt=0)
    max_page_size: int = Field(default=100, alias="MAX_PAGE_SIZE", gt=0)
    max_query_depth: int = Field(default=12, alias="MAX_QUERY_DEPTH", gt=0)
    max_aliases: int = Field(default=30, alias="MAX_ALIASES", gt=0)
    max_query_bytes: int = Field(default=100_000, alias="MAX_QUERY_BYTES", gt=0)
    introspection: bool = Field(default=True, alias="GRAPHQL_INTROSPECTION")
    graphiql: bool = Field(default=True, alias="GRAPHIQL")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_json: bool = Field(default=True, alias="LOG_JSON")
    # Unset: allowed in development only (a local receiver), refused in test and production.
    webhook_allow_private_networks: bool | None = Field(default=None, alias="WEBHOOK_ALLOW_PRIVATE_NETWORKS")

    @model_validator(mode="after")
    def _production_guards(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32:
            problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
        if not self.database_url:
            problems.append("DATABASE_URL must point at the production PostgreSQL")
        if not self.redis_url:
            problems.append("REDIS_URL must point at the production Redis")
        if self.app_role_password == "saas_app":
            problems.append("SAAS_APP_ROLE_PASSWORD must be set for the application role")
        if problems:
            raise ConfigurationError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def allow_private_networks(self) -> bool:
        """May outbound calls (webhooks) reach loopback, private, link-local or reserved addresses?"""
        if self.webhook_allow_private_networks is None:
            return self.environment == "development"
        return self.webhook_allow_private_networks


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def load_settings() -> Settings:
    """Read the settings afresh (the CLI calls this once at start)."""
    get_settings.cache_clear()
    return get_settings()
