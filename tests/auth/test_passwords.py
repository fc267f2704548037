"""Password hashing: a burst of logins never runs more Argon2 hashes at once than the bound."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from argon2.exceptions import VerifyMismatchError

from saas.auth import passwords
from saas.runtime import Runtime
from tests.conftest import LOGIN, TenantHandle

# How long an instrumented hash keeps its slot: long enough that a burst overlaps, and it ends
# early as soon as the bound is broken (the count is what the test checks, not the time).
HOLD_SECONDS = 0.2
BURST = 30


class CountingHasher:
    """Stands in for argon2's PasswordHasher and counts how many calls run at the same time."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.active = self.peak = self.calls = 0
        self.lock = threading.Lock()
        self.broken = threading.Event()

    def _run(self) -> None:
        with self.lock:
            self.active += 1
            self.calls += 1
            self.peak = max(self.peak, self.active)
            if self.active > self.bound:
                self.broken.set()
        self.broken.wait(HOLD_SECONDS)
        with self.lock:
            self.active -= 1

    def hash(self, password: str) -> str:
        self._run()
        return "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"

    def verify(self, password_hash: str, password: str) -> bool:
        self._run()
        raise VerifyMismatchError


@pytest.fixture
def counting_hasher(runtime: Runtime) -> Iterator[CountingHasher]:
    saved = passwords._hasher
    hasher = CountingHasher(passwords.concurrent_hash_limit())
    passwords._hasher = hasher  # type: ignore[assignment]
    try:
        yield hasher
    finally:
        passwords._hasher = saved


def test_the_runtime_sets_the_bound_from_the_settings(runtime: Runtime) -> None:
    assert passwords.concurrent_hash_limit() == runtime.settings.password_hash_concurrency


def test_concurrent_wrong_password_logins_hash_within_the_bound(
    anonymous: Any, tenant: TenantHandle, counting_hasher: CountingHasher
) -> None:
    # Distinct e-mails, so that the per-account login throttle does not stop the burst early.
    emails = [f"guess-{i}-{secrets.token_hex(2)}@{tenant.slug}.example.com" for i in range(BURST - 1)]
    emails.append(tenant.owner_email)
    start = threading.Barrier(BURST)
    answers: list[Any] = []

    def attempt(email: str) -> None:
        start.wait()
        variables = {"input": {"email": email, "password": "wrong password!!", "tenant": tenant.slug}}
        answers.append(anonymous.execute(LOGIN, variables))

    threads = [threading.Thread(target=attempt, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == BURST
    assert all(a["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS" for a in answers), answers
    assert counting_hasher.calls == BURST  # every login hashed, known e-mail or not
    assert counting_hasher.peak <= passwords.concurrent_hash_limit()


def test_a_caller_that_cannot_get_a_slot_in_time_is_rate_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASH_WAIT_SECONDS", 0.05)
    held = passwords._slots
    taken = 0
    while held.acquire(blocking=False):
        taken += 1
    try:
        with pytest.raises(passwords.RateLimitedError) as refused:
            passwords.verify_password(None, "anything at all")
        assert refused.value.retry_after == passwords.BUSY_RETRY_AFTER_SECONDS
    finally:
        for _ in range(taken):
            held.release()
    assert taken == passwords.concurrent_hash_limit()
