"""Tenant-scoped real-time channels on Redis pub/sub (works across server processes)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis


def channel(tenant_id: uuid.UUID, topic: str) -> str:
    return f"saas:tenant:{tenant_id}:{topic}"


def publish(client: redis.Redis, tenant_id: uuid.UUID, topic: str, message: dict[str, Any]) -> None:
    client.publish(channel(tenant_id, topic), orjson.dumps(message))


async def listen(redis_url: str, tenant_id: uuid.UUID, topic: str) -> AsyncIterator[dict[str, Any]]:
    """Messages published to the tenant's topic from now on, until the consumer stops."""
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel(tenant_id, topic))
    try:
        async for message in pubsub.listen():
            if message.get("type") == "message":
                yield orjson.loads(message["data"])
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()
        await client.aclose()
