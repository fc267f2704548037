"""Dead letters: messages out of retries, kept by dramatiq, indexed per tenant for the tenant's admins.

dramatiq's Redis broker moves a failed message to `<ns>:<queue>.XQ` (a sorted set of ids by
failure time) and `<ns>:<queue>.XQ.msgs` (id → message), and drops it after `dead_message_ttl`.
The message stored there is the one last enqueued, so it lacks the final failure; and finding a
tenant's messages there would mean decoding everyone's. So when a message is rejected,
`DeadLetterIndex` also records it under its tenant (the first message argument):

    <ns>:dead:<tenant_id>        sorted set: redis message id, scored by failure time (ms)
    <ns>:dead:<tenant_id>:info   hash: redis message id → {"queue", "reason", "traceback", "failed_at"}

Both expire with the dead letters themselves; entries whose message is gone are pruned on read.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import q_name
from dramatiq.middleware import Middleware
from sqlalchemy.orm import Session

from saas.audit.log import record_change
from saas.auth.principal import Principal
from saas.events.outbox import emit_event
from saas.jobs.runner import parse_tenant

REASON_LIMIT = 500
# Options a failed delivery left on the message; a retried dead letter starts afresh.
FAILURE_OPTIONS = ("retries", "traceback", "requeue_timestamp", "eta", "redis_message_id")

# Removes one dead letter atomically, so that two concurrent retries enqueue it once.
_TAKE_SCRIPT = """
local data = redis.call("hget", KEYS[2], ARGV[1])
if not data then return nil end
redis.call("zrem", KEYS[1], ARGV[1])
redis.call("hdel", KEYS[2], ARGV[1])
redis.call("zrem", KEYS[3], ARGV[1])
redis.call("hdel", KEYS[4], ARGV[1])
return data
"""


def tenant_index_key(namespace: str, tenant_id: uuid.UUID) -> str:
    return f"{namespace}:dead:{tenant_id}"


def dead_queue_keys(namespace: str, queue: str) -> tuple[str, str]:
    xq = f"{namespace}:{q_name(queue)}.XQ"
    return xq, f"{xq}.msgs"


def _reason(message: Any) -> tuple[str, str]:
    """The failure as one line (type and message), and the traceback for operators."""
    exception = getattr(message, "_exception", None)
    trace = message.options.get("traceback") or ""
    if exception is not None:
        line = f"{type(exception).__name__}: {exception}".rstrip(": ")
        trace = trace or "".join(traceback.format_exception(exception))
    else:
        line = trace.strip().splitlines()[-1] if trace.strip() else "failed"
    return line[:REASON_LIMIT], trace


class DeadLetterIndex(Middleware):
    """Indexes every rejected message under its tenant, with the reason of its last failure."""

    def __init__(self, ttl_ms: int) -> None:
        self.ttl_ms = ttl_ms

    def after_nack(self, broker: Any, message: Any) -> None:
        tenant_id = parse_tenant(message.args[0]) if message.args else None
        if tenant_id is None or not isinstance(broker, RedisBroker):
            return
        reason, trace = _reason(message)
        failed_at = int(time.time() * 1000)
        record = {"queue": q_name(message.queue_name), "reason": reason, "traceback": trace, "failed_at": failed_at}
        redis_id = message.options["redis_message_id"]
        index = tenant_index_key(broker.namespace, tenant_id)
        pipe = broker.client.pipeline()
        pipe.zadd(index, {redis_id: failed_at})
        pipe.hset(f"{index}:info", redis_id, json.dumps(record))
        pipe.pexpire(index, self.ttl_ms)
        pipe.pexpire(f"{index}:info", self.ttl_ms)
        pipe.execute()


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the broker's id of this delivery (unique per enqueue)
    message_id: str  # dramatiq's message id, kept across retries
    job: str
    queue: str
    args: list[Any]  # without the tenant
    kwargs: dict[str, Any]
    reason: str
    failed_at: datetime
    attempts: int
    message: Message


def _load(client: redis.Redis, namespace: str, tenant_id: uuid.UUID, redis_id: str) -> DeadLetter | None:
    index = tenant_index_key(namespace, tenant_id)
    raw = client.hget(f"{index}:info", redis_id)
    if raw is None:
        return None
    record = json.loads(raw)
    data = client.hget(dead_queue_keys(namespace, record["queue"])[1], redis_id)
    if data is None:
        return None
    message = Message.decode(cast(bytes, data))
    if not message.args or parse_tenant(message.args[0]) != tenant_id:
        return None  # never another tenant's message, whatever the index says
    return DeadLetter(
        id=redis_id,
        message_id=message.message_id,
        job=message.actor_name,
        queue=record["queue"],
        args=list(message.args[1:]),
        kwargs=dict(message.kwargs),
        reason=record["reason"],
        failed_at=datetime.fromtimestamp(record["failed_at"] / 1000, UTC),
        attempts=int(message.options.get("retries", 0)) + 1,
        message=message,
    )


def list_dead_letters(
    client: redis.Redis, namespace: str, tenant_id: uuid.UUID, first: int, ttl_ms: int
) -> list[DeadLetter]:
    """The tenant's dead letters, newest first; stale index entries are pruned on the way."""
    index = tenant_index_key(namespace, tenant_id)
    client.zremrangebyscore(index, 0, int(time.time() * 1000) - ttl_ms)
    found: list[DeadLetter] = []
    start = 0
    while len(found) < first:
        ids = [i.decode() for i in cast(list[bytes], client.zrevrange(index, start, start + first - 1))]
        if not ids:
            break
        start += len(ids)
        for redis_id in ids:
            letter = _load(client, namespace, tenant_id, redis_id)
            if letter is None:
                client.zrem(index, redis_id)
                client.hdel(f"{index}:info", redis_id)
                start -= 1
            elif len(found) < first:
                found.append(letter)
    return found


def retry_dead_letter(broker: RedisBroker, tenant_id: uuid.UUID, redis_id: str) -> DeadLetter | None:
    """Enqueue the tenant's dead letter again with fresh retries; None if it is not the tenant's."""
    letter = _load(broker.client, broker.namespace, tenant_id, redis_id)
    if letter is None:
        return None
    xq, xq_msgs = dead_queue_keys(broker.namespace, letter.queue)
    index = tenant_index_key(broker.namespace, tenant_id)
    taken = broker.client.eval(_TAKE_SCRIPT, 4, xq, xq_msgs, index, f"{index}:info", redis_id)
    if taken is None:
        return None  # retried or expired meanwhile
    options = {k: v for k, v in letter.message.options.items() if k not in FAILURE_OPTIONS}
    # The same message id: it never took effect (a failure rolls back), and keeping it
    # lets the exactly-once record catch any delivery of the old copy still in flight.
    fresh: Message[Any] = Message(
        queue_name=letter.queue,
        actor_name=letter.message.actor_name,
        args=letter.message.args,
        kwargs=letter.message.kwargs,
        options=options,
        message_id=letter.message.message_id,
        message_timestamp=letter.message.message_timestamp,
    )
    broker.enqueue(fresh)
    return letter


def retry_and_record(
    session: Session, principal: Principal, broker: RedisBroker, redis_id: str, global_id: str
) -> DeadLetter | None:
    """`retry_dead_letter` for the session's tenant, with its audit entry and `dead_letter.retried`
    event in the same transaction (None, and nothing recorded, when the letter is not there).

    The letter is requeued before the commit: a transaction that then fails leaves a retried job
    without its entry, never an entry for a job that was not retried."""
    letter = retry_dead_letter(broker, principal.tenant_id, redis_id)
    if letter is None:
        return None
    shape = {
        "id": global_id,
        "messageId": letter.message_id,
        "job": letter.job,
        "attempts": letter.attempts,
        "failedAt": letter.failed_at.isoformat(),
    }
    record_change(session, principal, "dead_letter.retried", "DeadLetter", redis_id, None, shape)
    emit_event(session, "dead_letter.retried", {"deadLetter": shape})
    return letter
