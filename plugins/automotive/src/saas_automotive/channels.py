"""Supplier channels plug in through this plugin's own hook, `auto_supplier_channels` (project `saas_automotive`).

A call-off reaches its supplier through the supplier's channel (`AutoSupplier.channel`). The
built-in `webhook` channel POSTs it to the supplier's `endpointUrl` as a signed message
(`X-Saas-Signature`, the core's webhook signing, with the supplier's own secret). Other transports
(EDI, a supplier portal's API, …) are Python packages registering a module under the entry
point group `saas_automotive.supplier_channels` that implements:

    from saas_automotive.channels import CallOffMessage, channel_hookimpl

    class Edifact:
        code = "edifact"
        name = "EDIFACT DELJIT over AS2"

        def send(self, ctx, supplier, message: CallOffMessage) -> str | None:
            ...  # transmit; None when delivered, else the class of failure (retried)

    @channel_hookimpl
    def auto_supplier_channels() -> list[Edifact]:
        return [Edifact()]

`send` runs in the call-off job (`automotive.send_call_off`), outside the request, retried with
backoff while it returns a failure; it must be idempotent (the message id is the call-off's id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol, runtime_checkable

import pluggy

from saas.plugin_api import JobContext, post_signed

PROJECT = "saas_automotive"
ENTRY_POINT_GROUP = "saas_automotive.supplier_channels"
channel_hookspec = pluggy.HookspecMarker(PROJECT)
channel_hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class CallOffMessage:
    """What a supplier is sent: the call-off as the API shows it (global ids, camelCase)."""

    call_off_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    data: dict[str, Any]


@runtime_checkable
class SupplierChannel(Protocol):
    code: str
    name: str

    def send(self, ctx: JobContext, supplier: Any, message: CallOffMessage) -> str | None: ...


class ChannelSpecs:
    @channel_hookspec
    def auto_supplier_channels(self) -> list[SupplierChannel]:  # type: ignore[empty-body]
        """The channels a package provides; their `code`s must be unique across packages."""


class WebhookChannel:
    """A signed POST to the supplier's endpoint (no endpoint: nothing to send, treated as sent)."""

    code = "webhook"
    name = "Signed HTTPS message to the supplier's endpoint"

    def send(self, ctx: JobContext, supplier: Any, message: CallOffMessage) -> str | None:
        if not supplier.endpoint_url or not supplier.secret_sealed:
            return None
        return post_signed(
            ctx,
            supplier.endpoint_url,
            sealed_secret=supplier.secret_sealed,
            event_type=message.event_type,
            message_id=str(message.call_off_id),
            occurred_at=message.occurred_at,
            data=message.data,
        )


class _BuiltIn:
    @channel_hookimpl
    def auto_supplier_channels(self) -> list[SupplierChannel]:
        return [WebhookChannel()]


def channel_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(ChannelSpecs)
    manager.register(_BuiltIn(), name="builtin")
    if load_entry_points:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return manager


def collect(manager: pluggy.PluginManager) -> dict[str, SupplierChannel]:
    """Channels by code; a second channel with a taken code is refused loudly at start."""
    channels: dict[str, SupplierChannel] = {}
    for batch in manager.hook.auto_supplier_channels():
        for channel in batch or []:
            if not isinstance(channel, SupplierChannel):
                raise TypeError(f"{channel!r} is not a supplier channel (code, name, send)")
            if channel.code in channels:
                raise ValueError(f"two supplier channels use the code {channel.code!r}")
            channels[channel.code] = channel
    return channels


@cache
def registry() -> dict[str, SupplierChannel]:
    """The installed channels (built-in and from entry points), read once per process."""
    return collect(channel_manager())
