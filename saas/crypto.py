"""Encryption at rest for secrets we must read back (webhook secrets, …), with rotatable keys.

Each configured secret key is stretched with HKDF-SHA256 into a Fernet key (AES-128-CBC +
HMAC-SHA256). A `SecretBox` holds a list of them: the first encrypts, every one decrypts, so a
key is rotated by putting the new one first and keeping the old ones until `reencrypt` has
moved every stored value to the new key.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from saas.config import Settings

# Binds derived keys to this use: the same secret key signs tokens for another purpose.
PURPOSE = b"saas/secrets-at-rest/v1"


class DecryptionFailed(ValueError):
    """The value was not encrypted with any of the configured keys (or was tampered with)."""


def derive_fernet_key(secret_key: str, purpose: bytes = PURPOSE) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) derived from a configured secret key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


class SecretBox:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet([Fernet(derive_fernet_key(k)) for k in secret_keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionFailed("cannot decrypt: unknown key or tampered value") from exc

    def reencrypt(self, token: str) -> str:
        """The same plaintext under the current (first) key, for a rotation sweep."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionFailed("cannot re-encrypt: unknown key or tampered value") from exc


def secret_box(settings: Settings) -> SecretBox:
    """The box for the configured keys: `SECRET_KEY` first, then retired keys still decrypting.

    Retired keys come from `SECRET_KEY_FALLBACKS` (`Settings.secret_key_fallbacks`).
    """
    return SecretBox([settings.secret_key, *settings.secret_key_fallbacks])
