"""The cryptography of one sensitive value: sealing, opening, its blind index and its mask.

A value is sealed with AES-GCM under one version of the tenant's data key. The associated data
binds the tenant, the table, the field and the row: a ciphertext copied to another row, field,
table or tenant fails to open. What is stored is a small JSON object (`stored`):

    {"$sensitive": "v1:<data-key-version>:<nonce>:<ciphertext>", "bi": "<blind index>", "mask": "•••• 1234"}

The envelope names the data key version it was sealed with (each version's row names the master
key that wraps it: `saas/sensitive/keys.py`), so re-encryption and rotation know what each value
uses. The blind index is an HMAC-SHA256 under the tenant's index key, for equality search; the
mask is what callers without `sensitive:read` see (the last four characters of a value of at
least eight, else nothing of it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "v1"
# The key of the stored object that holds the envelope; compiled reads look for it.
MARKER = "$sensitive"
MASK = "••••"
MASK_REVEALS_FROM = 8  # characters a value needs before its mask shows the last four
NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionFailed(ValueError):
    """The value cannot be opened: another row's, field's or tenant's, tampered, or an unknown key."""


@dataclass(frozen=True)
class FieldAddress:
    """Where a value lives: the associated data of its ciphertext and the input of its blind index."""

    tenant_id: uuid.UUID
    table: str
    field: str  # a column (`phone`) or a custom field (`custom_fields.nationalId`)
    row_id: uuid.UUID

    def associated_data(self) -> bytes:
        return f"{FORMAT}|{self.tenant_id}|{self.table}|{self.field}|{self.row_id}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> bytes:
    """A random 256-bit key (a data key or an index key)."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(key: bytes, key_version: int, plaintext: str, address: FieldAddress) -> str:
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode(), address.associated_data())
    return f"{FORMAT}:{key_version}:{_b64(nonce)}:{_b64(ciphertext)}"


def key_version(envelope: str) -> int:
    """The data key version an envelope was sealed with; DecryptionFailed when it is not one."""
    parts = envelope.split(":")
    if len(parts) != 4 or parts[0] != FORMAT or not parts[1].isdigit():
        raise DecryptionFailed("not a sealed value")
    return int(parts[1])


def open_sealed(key: bytes, envelope: str, address: FieldAddress) -> str:
    key_version(envelope)
    _, _, nonce, ciphertext = envelope.split(":")
    try:
        return AESGCM(key).decrypt(_unb64(nonce), _unb64(ciphertext), address.associated_data()).decode()
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed("cannot open: another place's value, tampered, or another key") from exc


def blind_index(index_key: bytes, table: str, field: str, value: str) -> str:
    """The keyed hash equality search compares; bound to the field, so equal values of two fields differ."""
    message = f"{table}|{field}|{normalise(value)}".encode()
    return hmac.new(index_key, message, hashlib.sha256).hexdigest()


def normalise(value: str) -> str:
    """What equality compares: the value without surrounding spaces."""
    return value.strip()


def mask(value: str) -> str:
    value = normalise(value)
    return f"{MASK} {value[-4:]}" if len(value) >= MASK_REVEALS_FROM else MASK


def stored(envelope: str, index: str, masked: str) -> dict[str, str]:
    return {MARKER: envelope, "bi": index, "mask": masked}


def is_stored(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and isinstance(value.get(MARKER), str)
