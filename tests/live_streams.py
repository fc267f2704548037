"""Running a subscription to its end in tests: every payload it sends until it ends by itself."""

from __future__ import annotations

import asyncio
from typing import Any

from saas.plugin_api.testing import GraphQLClient

STREAM_TIMEOUT = 20.0


def payloads_until_end(
    client: GraphQLClient, subscription: str, variables: dict[str, Any], timeout: float = STREAM_TIMEOUT
) -> list[dict[str, Any]]:
    """What `client` receives on `subscription` until the stream ends; fails if it has not ended
    within `timeout` seconds (a subscription waiting for a message that never comes)."""
    engine = client.engine

    async def main() -> list[dict[str, Any]]:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        stream = await engine.subscribe(engine.prepare(subscription, None, principal), variables, principal, "sub")
        if isinstance(stream, dict):
            return [stream]
        received: list[dict[str, Any]] = []

        async def pump() -> None:
            async for payload in stream:
                received.append(payload)

        try:
            await asyncio.wait_for(pump(), timeout)
        except TimeoutError:
            raise AssertionError(f"the subscription did not end; it sent {received}") from None
        finally:
            await stream.aclose()
        return received

    return asyncio.run(main())
