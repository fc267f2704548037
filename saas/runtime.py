"""The process-wide parts a server or worker needs, created once at start."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine

from saas.accounts.credentials import authenticate, bind_credential_cache, cached_principal
from saas.auth.passwords import limit_concurrent_hashes
from saas.auth.principal import CredentialCache, Principal, ScopeCheck, WithScopeChecks
from saas.auth.throttle import SignInThrottle, client_address
from saas.config import Settings
from saas.customers.rules import scope_stands as customer_scope_stands
from saas.db.async_reads import AsyncReadPool
from saas.db.engine import create_app_engine, create_read_pool
from saas.jobs.broker import Binding
from saas.plugin_host.access import PluginFeatures
from saas.plugin_host.host import PluginHost
from saas.portal.rules import portal_access_stands, portal_reads_field
from saas.quota.budget import TenantBudget
from saas.realtime import bind_publisher
from saas.schema.field_limits import FieldLimit
from saas.sensitive.keys import use_master_keys
from saas.webhooks.delivery import WebhookSender

# The core domains' say on every scoped token, asked before the enabled plugins': the customers
# domain's, that the customer and contact the scope names still exist undeleted; the portal's, that
# a portal token's access was neither revoked nor has expired.
CORE_SCOPE_CHECKS: tuple[ScopeCheck, ...] = (customer_scope_stands, portal_access_stands)
# The fields scoped tokens may not select (`saas/schema/field_limits.py`): the portal's say on what
# its tokens read of the types they reach.
CORE_FIELD_LIMITS: tuple[FieldLimit, ...] = (portal_reads_field,)


@dataclass
class Runtime:
    settings: Settings
    # Out of `repr` (logs, error reports): the URLs may embed passwords.
    database_url: str = field(repr=False)
    redis_url: str = field(repr=False)
    engine: Engine
    read_pool: AsyncReadPool
    redis: redis.Redis
    throttle: SignInThrottle
    plugins: PluginHost = field(default_factory=PluginHost)
    credentials: CredentialCache = field(default_factory=CredentialCache)
    # The job broker and runner, once `saas.jobs.broker.setup(runtime)` bound the jobs.
    jobs: Binding | None = None
    # Webhook delivery: the secret box for this runtime's keys, its settings, its retry policy
    # (the delivery jobs of its broker get it through `JobContext.webhook_sender`).
    webhook_sender: WebhookSender = field(init=False)
    # Each tenant's query-cost limits and its bucket in Redis (`saas.quota`).
    budget: TenantBudget = field(init=False)

    def __post_init__(self) -> None:
        self.webhook_sender = WebhookSender(self.settings)
        self.budget = TenantBudget(self.engine, self.redis, self.settings)
        # What the services do after a commit reaches this runtime through its engine, whoever
        # opened the session (a request, a job, a plugin): the changes that end credentials make
        # this cache forget the tenant (`forget_credentials_after_commit`), and live messages go
        # out on this Redis (`publish_after_commit`).
        bind_credential_cache(self.engine, self.credentials)
        bind_publisher(self.engine, self.redis)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """Blocking (it may read the database): call it from a worker thread.

        A client address that failed too often is refused before the check, and a refused
        credential counts against it (`saas.auth.throttle`)."""
        if not authorization:
            return None  # anonymous: nothing to check, nothing to throttle
        with self.throttle.credential_check(client_address()):
            features = WithScopeChecks(PluginFeatures(self.plugins), CORE_SCOPE_CHECKS)
            return authenticate(self.engine, self.settings, self.credentials, authorization, features)

    @property
    def field_limits(self) -> tuple[FieldLimit, ...]:
        """What scoped tokens may not select, asked by the engine before it runs an operation."""
        return CORE_FIELD_LIMITS

    def cached_principal(self, authorization: str | None) -> Principal | None:
        """Non-blocking: the principal if its credential was checked moments ago, else None."""
        return cached_principal(self.settings, self.credentials, authorization)

    def close(self) -> None:
        self.engine.dispose()
        self.read_pool.close()
        self.redis.close()


def load_plugins() -> PluginHost:
    """The installed plugins (entry points `saas.plugins`), checked; broken ones are kept out."""
    host = PluginHost()
    host.load_entry_points()
    return host


def create_runtime(settings: Settings, database_url: str, redis_url: str, plugins: PluginHost | None = None) -> Runtime:
    limit_concurrent_hashes(settings.password_hash_concurrency)
    use_master_keys(settings)
    client = redis.Redis.from_url(redis_url)
    runtime = Runtime(
        plugins=plugins if plugins is not None else load_plugins(),
        settings=settings,
        database_url=database_url,
        redis_url=redis_url,
        engine=create_app_engine(settings, database_url),
        read_pool=create_read_pool(settings, database_url),
        redis=client,
        throttle=SignInThrottle(client, redis_url, settings),
    )
    return runtime
