"""The client of the current request as the audit log names it: its address and user agent.

The HTTP middleware binds both for every HTTP request and WebSocket connection. The address
is the ASGI scope's client, which uvicorn takes from `X-Forwarded-For` only when the proxy is
trusted (`FORWARDED_ALLOW_IPS`, see docs/operations.md), the same address the sign-in
throttle counts. Context variables follow a request into its worker threads, so services
writing audit entries there see them too; outside a request (CLI, jobs) both are None.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

ADDRESS_LENGTH = 64
USER_AGENT_LENGTH = 300


@dataclass(frozen=True)
class Client:
    address: str | None = None
    user_agent: str | None = None


NO_CLIENT = Client()
_client: ContextVar[Client] = ContextVar("audit_client", default=NO_CLIENT)


def bind_client(address: str | None, user_agent: str | None) -> Token[Client]:
    """Name the current request's client (cut to the audit log's column sizes)."""
    return _client.set(
        Client(
            address=address[:ADDRESS_LENGTH] if address else None,
            user_agent=user_agent[:USER_AGENT_LENGTH] if user_agent else None,
        )
    )


def unbind_client(token: Token[Client]) -> None:
    _client.reset(token)


def current_client() -> Client:
    return _client.get()
