"""Wiring the event pipeline into a process: called once by `create_runtime`.

After `install`, webhook secrets decrypt with the configured keys. (A committed transaction with
events enqueues `dispatch_events` by itself, `outbox.request_dispatch`; the dispatcher reaches the
plugins of the runtime its job broker was set up with, `JobContext.plugins`. Live messages reach
Redis through the publisher the runtime binds to its engine: `saas.realtime.bind_publisher`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from saas.webhooks import delivery

if TYPE_CHECKING:
    from saas.runtime import Runtime


def install(runtime: Runtime) -> None:
    delivery.configure(runtime.settings)
