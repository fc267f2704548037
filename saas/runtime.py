"""The process-wide parts a server or worker needs, created once at start."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine

from saas.auth.principal import CredentialCache, Principal, authenticate
from saas.config import Settings
from saas.db.engine import create_app_engine, create_read_engine


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    redis_url: str
    engine: Engine
    read_engine: Engine
    redis: redis.Redis
    credentials: CredentialCache = field(default_factory=CredentialCache)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """Blocking (it may read the database): call it from a worker thread."""
        return authenticate(self.engine, self.settings, self.credentials, authorization)

    def close(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
        self.redis.close()


def create_runtime(settings: Settings, database_url: str, redis_url: str) -> Runtime:
    return Runtime(
        settings=settings,
        database_url=database_url,
        redis_url=redis_url,
        engine=create_app_engine(settings, database_url),
        read_engine=create_read_engine(settings, database_url),
        redis=redis.Redis.from_url(redis_url),
    )
