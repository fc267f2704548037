"""Envelope encryption's keys: the master keys from settings, and each tenant's wrapped keys.

Each tenant has data keys (random 256-bit AES-GCM keys, versioned: `saas keys reencrypt` adds a
version and moves every value to it) and one index key (the HMAC key of blind indexes; it never
changes, so that equality search works throughout a re-encryption). Both are stored only wrapped
(AES-GCM) by a master key from `ENCRYPTION_MASTER_KEYS`, each row naming its master key;
`saas keys rotate` re-wraps every row under the current master key. The associated data of a
wrapped key binds tenant, purpose and version: a wrapped key copied to another tenant fails.

Unwrapped keys are kept in this process (by tenant, purpose and version: a version's key material
never changes, re-wrapping changes only how it is stored), so a read that opens values needs no
statement for its keys after the first.
"""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from saas.config import ConfigurationError, Settings
from saas.sensitive.envelope import KEY_BYTES, NONCE_BYTES, new_key
from saas.sensitive.models import TenantKey

DATA = "data"
INDEX = "index"
DERIVED_KEY_ID = "secret-key"
# How long this process believes a tenant has no index key yet (equality search then skips the
# blind index): another process may create it meanwhile.
NO_INDEX_KEY_SECONDS = 10.0


class UnknownMasterKey(LookupError):
    """A wrapped key names a master key that is not configured (ENCRYPTION_MASTER_KEYS)."""


@dataclass(frozen=True)
class MasterKeys:
    """The configured master keys by id; the first wraps, every one unwraps."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def get(self, key_id: str) -> bytes:
        for candidate, key in self.keys:
            if candidate == key_id:
                return key
        raise UnknownMasterKey(f"master key {key_id} is not configured (ENCRYPTION_MASTER_KEYS)")

    @classmethod
    def parse(cls, entries: Sequence[str]) -> MasterKeys:
        """`id:base64` entries; ConfigurationError names what is wrong (never a key)."""
        keys: list[tuple[str, bytes]] = []
        for position, entry in enumerate(entries, start=1):
            key_id, _, encoded = entry.partition(":")
            key_id = key_id.strip()
            try:
                key = base64.b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4), altchars=b"-_")
            except ValueError:
                key = b""
            if not key_id or len(key_id) > 64 or len(key) != KEY_BYTES:
                raise ConfigurationError(
                    f"ENCRYPTION_MASTER_KEYS entry {position} must be id:base64 of {KEY_BYTES} random bytes"
                )
            if any(key_id == known for known, _ in keys):
                raise ConfigurationError(f"ENCRYPTION_MASTER_KEYS names the key id {key_id} twice")
            keys.append((key_id, key))
        return cls(tuple(keys))

    @classmethod
    def from_settings(cls, settings: Settings) -> MasterKeys:
        if settings.encryption_master_keys:
            return cls.parse(settings.encryption_master_keys)
        derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"saas/master-key/v1").derive(
            settings.secret_key.encode()
        )
        return cls(((DERIVED_KEY_ID, derived),))


_lock = threading.Lock()
_master: MasterKeys | None = None
_batch_size = 500
_unwrapped: dict[tuple[uuid.UUID, str, int], bytes] = {}
_index_keys: dict[uuid.UUID, bytes] = {}
_no_index_key: dict[uuid.UUID, float] = {}
MAX_CACHED_KEYS = 100_000


def use_master_keys(settings: Settings) -> MasterKeys:
    """Configure this process's master keys (the runtime and the CLI call it at start)."""
    global _master, _batch_size
    keys = MasterKeys.from_settings(settings)
    with _lock:
        _master, _batch_size = keys, settings.reencrypt_batch_size
        _unwrapped.clear()
        _index_keys.clear()
        _no_index_key.clear()
    return keys


def set_master_keys(keys: MasterKeys) -> None:
    """Configure these master keys (forgetting every unwrapped key): a rotation's own process."""
    global _master
    with _lock:
        _master = keys
        _unwrapped.clear()
        _index_keys.clear()
        _no_index_key.clear()


def batch_size() -> int:
    """Rows per re-encryption batch (REENCRYPT_BATCH_SIZE)."""
    return _batch_size


def master_keys() -> MasterKeys:
    if _master is None:
        return use_master_keys(Settings())
    return _master


def _associated_data(tenant_id: uuid.UUID, purpose: str, version: int) -> bytes:
    return f"tenant-key|{tenant_id}|{purpose}|{version}".encode()


def wrap(master_id: str, tenant_id: uuid.UUID, purpose: str, version: int, key: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(master_keys().get(master_id)).encrypt(nonce, key, _associated_data(tenant_id, purpose, version))
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unwrap(row: TenantKey) -> bytes:
    return unwrap_stored(row.tenant_id, row.purpose, row.version, row.master_key_id, row.wrapped)


def unwrap_stored(tenant_id: uuid.UUID, purpose: str, version: int, master_key_id: str, wrapped: str) -> bytes:
    """The key material of a stored wrapped key of `tenant_id` (e.g. a row of an export archive)."""
    raw = base64.urlsafe_b64decode(wrapped)
    master = master_keys().get(master_key_id)
    try:
        return AESGCM(master).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(tenant_id, purpose, version)
        )
    except InvalidTag as exc:
        raise UnknownMasterKey(f"the tenant key cannot be unwrapped by master key {master_key_id}") from exc


def _remember(row: TenantKey, key: bytes) -> bytes:
    with _lock:
        if len(_unwrapped) >= MAX_CACHED_KEYS:
            _unwrapped.clear()
            _index_keys.clear()
        _unwrapped[(row.tenant_id, row.purpose, row.version)] = key
        if row.purpose == INDEX:
            _index_keys[row.tenant_id] = key
            _no_index_key.pop(row.tenant_id, None)
    return key


def _lock_keys(session: Session, tenant_id: uuid.UUID) -> None:
    """Key creation, new versions and re-wrapping of one tenant, one at a time."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": f"keys:{tenant_id}"})


def _create(session: Session, tenant_id: uuid.UUID, purpose: str, version: int) -> TenantKey:
    key = new_key()
    master_id = master_keys().current_id
    row = TenantKey(
        tenant_id=tenant_id,
        purpose=purpose,
        version=version,
        master_key_id=master_id,
        wrapped=wrap(master_id, tenant_id, purpose, version, key),
    )
    session.add(row)
    session.flush()
    _remember(row, key)
    return row


def _current_row(session: Session, purpose: str) -> TenantKey | None:
    return session.scalars(
        select(TenantKey)
        .where(TenantKey.purpose == purpose, TenantKey.retired_at.is_(None))
        .order_by(TenantKey.version.desc())
        .limit(1)
    ).first()


def ensure_keys(session: Session, tenant_id: uuid.UUID) -> TenantKey:
    """The tenant's current data key row, creating the first data key and the index key if needed."""
    row = _current_row(session, DATA)
    if row is not None:
        return row
    _lock_keys(session, tenant_id)
    row = _current_row(session, DATA)
    if row is None:
        row = _create(session, tenant_id, DATA, 1)
    if _current_row(session, INDEX) is None:
        _create(session, tenant_id, INDEX, 1)
    return row


def current_data_key(session: Session, tenant_id: uuid.UUID) -> tuple[int, bytes]:
    """The version and key that seal new values."""
    row = ensure_keys(session, tenant_id)
    cached = _unwrapped.get((tenant_id, DATA, row.version))
    return row.version, cached if cached is not None else _remember(row, unwrap(row))


def data_key(session: Session, tenant_id: uuid.UUID, version: int) -> bytes | None:
    """The data key of `version` (None: the tenant has no such version)."""
    cached = _unwrapped.get((tenant_id, DATA, version))
    if cached is not None:
        return cached
    row = session.scalars(select(TenantKey).where(TenantKey.purpose == DATA, TenantKey.version == version)).first()
    return None if row is None else _remember(row, unwrap(row))


def cached_data_key(tenant_id: uuid.UUID, version: int) -> bytes | None:
    return _unwrapped.get((tenant_id, DATA, version))


def index_key(session: Session, tenant_id: uuid.UUID, *, create: bool) -> bytes | None:
    """The tenant's blind-index key; None when it has none and `create` is False."""
    cached = _index_keys.get(tenant_id)
    if cached is not None:
        return cached
    if not create and _no_index_key.get(tenant_id, 0.0) > time.monotonic():
        return None
    if create:
        ensure_keys(session, tenant_id)
    row = _current_row(session, INDEX)
    if row is None:
        with _lock:
            _no_index_key[tenant_id] = time.monotonic() + NO_INDEX_KEY_SECONDS
        return None
    return _remember(row, unwrap(row))


def new_data_key_version(session: Session, tenant_id: uuid.UUID) -> int:
    """A new data key version, which seals every value from now on (older ones still open)."""
    ensure_keys(session, tenant_id)
    _lock_keys(session, tenant_id)
    latest = session.scalar(select(func.max(TenantKey.version)).where(TenantKey.purpose == DATA)) or 0
    return _create(session, tenant_id, DATA, latest + 1).version


def retire_data_keys_before(session: Session, version: int) -> int:
    """Mark the older data key versions retired once no value uses them; how many were."""
    rows = session.scalars(
        select(TenantKey).where(TenantKey.purpose == DATA, TenantKey.version < version, TenantKey.retired_at.is_(None))
    ).all()
    for row in rows:
        row.retired_at = datetime.now(UTC)
    return len(rows)


def rewrap(session: Session, tenant_id: uuid.UUID) -> list[TenantKey]:
    """Every key row of the tenant not under the current master key, re-wrapped under it."""
    _lock_keys(session, tenant_id)
    current = master_keys().current_id
    rows = session.scalars(select(TenantKey).where(TenantKey.master_key_id != current)).all()
    for row in rows:
        key = unwrap(row)
        row.wrapped = wrap(current, tenant_id, row.purpose, row.version, key)
        row.master_key_id = current
        row.rewrapped_at = datetime.now(UTC)
    session.flush()
    return list(rows)
