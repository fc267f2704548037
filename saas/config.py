"""Settings read from the environment, with development defaults and production guards."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_SECRET = "development-secret-do-not-use-in-production-0123456789"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says why."""


class Settings(BaseSettings):
    """The deployment's settings. Values that hold credentials (the URLs may embed passwords)
    stay out of `repr`, so that a settings object in a log line or an error shows no secret."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: Literal["development", "test", "production"] = Field(default="development", alias="SAAS_ENV")
    database_url: str | None = Field(default=None, alias="DATABASE_URL", repr=False)
    redis_url: str | None = Field(default=None, alias="REDIS_URL", repr=False)
    data_dir: Path = Field(default=Path(".data"), alias="SAAS_DATA_DIR")
    secret_key: str = Field(default=DEVELOPMENT_SECRET, alias="SECRET_KEY", repr=False)
    # Retired SECRET_KEYs, comma-separated: secrets kept at rest (webhook secrets, saas/crypto.py)
    # encrypted under one still decrypt until they are re-encrypted under SECRET_KEY.
    secret_key_fallbacks: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), alias="SECRET_KEY_FALLBACKS", repr=False
    )
    # Master keys of the sensitive fields' envelope encryption (saas/sensitive/keys.py), comma-
    # separated `id:base64-of-32-bytes`: the first wraps new and re-wrapped data keys, every one
    # unwraps. Unset: one key derived from SECRET_KEY (id `secret-key`), refused in production.
    encryption_master_keys: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), alias="ENCRYPTION_MASTER_KEYS", repr=False
    )
    # Rows re-encrypted per batch (per job message) by `saas keys reencrypt`.
    reencrypt_batch_size: int = Field(default=500, alias="REENCRYPT_BATCH_SIZE", gt=0)
    token_ttl_seconds: int = Field(default=12 * 3600, alias="TOKEN_TTL_SECONDS", gt=0)
    app_role: str = Field(default="saas_app", alias="SAAS_APP_ROLE")
    app_role_password: str = Field(default="saas_app", alias="SAAS_APP_ROLE_PASSWORD", repr=False)
    db_pool_size: int = Field(default=20, alias="DB_POOL_SIZE", gt=0)
    # Compiled reads as server-side prepared statements (`saas/db/prepared.py`); off for a
    # connection pooler in transaction mode, which does not keep a session's statements.
    db_prepared_reads: bool = Field(default=True, alias="DB_PREPARED_READS")
    # The write path's statements as server-side prepared statements (`saas/db/prepared_writes.py`);
    # off for the same poolers.
    db_prepared_writes: bool = Field(default=True, alias="DB_PREPARED_WRITES")
    # Compiled reads running at once in one process: the size of its pool of asynchronous read
    # connections (`saas/db/async_reads.py`); the others wait their turn on the event loop, first
    # come first served. 0: `DB_POOL_SIZE`.
    db_read_concurrency: int = Field(default=0, alias="DB_READ_CONCURRENCY", ge=0)
    # `saas serve --workers N`: the least-connected worker accepts each new connection
    # (`saas/balanced_accept.py`), instead of whichever worker wins the race for it.
    serve_balanced_accept: bool = Field(default=True, alias="SERVE_BALANCED_ACCEPT")
    max_page_size: int = Field(default=100, alias="MAX_PAGE_SIZE", gt=0)
    max_query_depth: int = Field(default=12, alias="MAX_QUERY_DEPTH", gt=0)
    max_aliases: int = Field(default=30, alias="MAX_ALIASES", gt=0)
    max_query_bytes: int = Field(default=100_000, alias="MAX_QUERY_BYTES", gt=0)
    max_query_tokens: int = Field(default=3_000, alias="MAX_QUERY_TOKENS", gt=0)
    max_query_selections: int = Field(default=300, alias="MAX_QUERY_SELECTIONS", gt=0)
    # Query cost (`saas.schema.cost`): the most one operation may cost, and each tenant's budget
    # of cost per minute (a token bucket); `saas tenant limits` overrides both per tenant.
    max_query_cost: int = Field(default=10_000, alias="MAX_QUERY_COST", gt=0)
    tenant_cost_per_minute: int = Field(default=100_000, alias="TENANT_COST_PER_MINUTE", gt=0)
    tenant_limits_cache_seconds: float = Field(default=10.0, alias="TENANT_LIMITS_CACHE_SECONDS", ge=0)
    anonymous_max_query_bytes: int = Field(default=2_048, alias="ANONYMOUS_MAX_QUERY_BYTES", gt=0)
    introspection: bool = Field(default=True, alias="GRAPHQL_INTROSPECTION")
    graphiql: bool = Field(default=True, alias="GRAPHIQL")
    password_hash_concurrency: int = Field(default=2, alias="PASSWORD_HASH_CONCURRENCY", gt=0)
    throttle_account_failures: int = Field(default=10, alias="THROTTLE_ACCOUNT_FAILURES", gt=0)
    throttle_address_failures: int = Field(default=10, alias="THROTTLE_ADDRESS_FAILURES", gt=0)
    invitation_ttl_days: int = Field(default=7, alias="INVITATION_TTL_DAYS", gt=0)
    throttle_window_seconds: int = Field(default=15 * 60, alias="THROTTLE_WINDOW_SECONDS", gt=0)
    # Requests to the campaign inbound endpoint per minute, per token and per client address.
    inbound_per_token_per_minute: int = Field(default=60, alias="INBOUND_PER_TOKEN_PER_MINUTE", gt=0)
    inbound_per_address_per_minute: int = Field(default=120, alias="INBOUND_PER_ADDRESS_PER_MINUTE", gt=0)
    # The largest file `startImport` takes (base64 content or a multipart upload), in bytes.
    import_max_bytes: int = Field(default=20 * 1024 * 1024, alias="IMPORT_MAX_BYTES", gt=0)
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_json: bool = Field(default=True, alias="LOG_JSON")
    # /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` when set; production requires it.
    metrics_token: str | None = Field(default=None, alias="METRICS_TOKEN", repr=False)
    # Unset: allowed in development only (a local receiver), refused in test and production.
    webhook_allow_private_networks: bool | None = Field(default=None, alias="WEBHOOK_ALLOW_PRIVATE_NETWORKS")
    # `saas tenant delete`: a deleted tenant's rows are erased this many days later (undo until then).
    tenant_deletion_grace_days: int = Field(default=30, alias="TENANT_DELETION_GRACE_DAYS", ge=0)

    @field_validator("secret_key_fallbacks", "encryption_master_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

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
        if not self.metrics_token or len(self.metrics_token) < 32:
            problems.append("METRICS_TOKEN must be set to a random value of at least 32 characters to protect /metrics")
        if not self.encryption_master_keys:
            problems.append(
                "ENCRYPTION_MASTER_KEYS must be set (id:base64 of 32 random bytes, see `saas keys generate`)"
                " so that sensitive fields are not encrypted under a key derived from SECRET_KEY"
            )
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
