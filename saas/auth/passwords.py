"""Password hashing with Argon2id (memory-hard), with a bound on how many hashes run at once.

Each Argon2 hash holds its memory cost (64 MiB with argon2-cffi's defaults) while it runs, so
a burst of logins would otherwise cost memory in proportion to the burst: 30 concurrent
wrong passwords once took a server from 140 MB to 1.9 GB. Every hash and verification in the
process passes through one semaphore (`MAX_CONCURRENT_HASHES`, set from
`PASSWORD_HASH_CONCURRENCY` at start), so hashing never holds more than that many times the
memory cost, whoever calls it. A caller that cannot get a slot within `HASH_WAIT_SECONDS` is
refused with `RATE_LIMITED` rather than holding a worker thread for longer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from saas.errors import RateLimitedError

DEFAULT_CONCURRENT_HASHES = 2
HASH_WAIT_SECONDS = 10.0
BUSY_RETRY_AFTER_SECONDS = 1

_hasher = PasswordHasher()
_slots = threading.BoundedSemaphore(DEFAULT_CONCURRENT_HASHES)
_bound = DEFAULT_CONCURRENT_HASHES

# Verified against when the e-mail is unknown, so that a miss costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def limit_concurrent_hashes(bound: int) -> None:
    """Set how many hashes may run at once in this process (called at start, before any request)."""
    global _slots, _bound
    if bound < 1:
        raise ValueError("at least one hash must be allowed at a time")
    if bound != _bound:
        _slots, _bound = threading.BoundedSemaphore(bound), bound


def concurrent_hash_limit() -> int:
    return _bound


@contextmanager
def _hashing_slot() -> Iterator[None]:
    slots = _slots  # the semaphore acquired is the one released, even if the bound changes meanwhile
    if not slots.acquire(timeout=HASH_WAIT_SECONDS):
        raise RateLimitedError("Too many sign-ins at once; try again in a moment", retry_after=BUSY_RETRY_AFTER_SECONDS)
    try:
        yield
    finally:
        slots.release()


def hash_password(password: str) -> str:
    with _hashing_slot():
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (unknown user) the same work is done and the answer is no."""
    with _hashing_slot():
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
