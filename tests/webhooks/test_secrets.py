"""Webhook secrets at rest (saas.crypto): encrypted, rotatable, tamper-evident; signatures."""

from __future__ import annotations

import pytest

from saas.config import Settings
from saas.crypto import DecryptionFailed, SecretBox, derive_fernet_key, secret_box
from saas.webhooks import signing

OLD, NEW = "old-secret-key-" + "o" * 32, "new-secret-key-" + "n" * 32


def test_round_trip_and_no_plaintext() -> None:
    box = SecretBox([NEW])
    token = box.encrypt("webhook-secret-123")
    assert "webhook-secret-123" not in token
    assert box.decrypt(token) == "webhook-secret-123"
    assert box.encrypt("same") != box.encrypt("same")  # random IV per value


def test_rotation_new_key_first_old_keys_still_decrypt() -> None:
    old_token = SecretBox([OLD]).encrypt("value")
    rotated = SecretBox([NEW, OLD])
    assert rotated.decrypt(old_token) == "value"
    new_token = rotated.reencrypt(old_token)
    assert SecretBox([NEW]).decrypt(new_token) == "value"  # the old key can now be retired
    with pytest.raises(DecryptionFailed):
        SecretBox([NEW]).decrypt(old_token)


def test_tampering_and_unknown_keys_fail() -> None:
    token = SecretBox([NEW]).encrypt("value")
    with pytest.raises(DecryptionFailed):
        SecretBox([NEW]).decrypt(token[:-4] + "AAAA")
    with pytest.raises(DecryptionFailed):
        SecretBox([OLD]).decrypt(token)
    with pytest.raises(ValueError):
        SecretBox([])


def test_keys_are_derived_per_purpose_and_from_settings() -> None:
    assert derive_fernet_key(NEW) != derive_fernet_key(NEW, b"another purpose")
    assert derive_fernet_key(NEW) == derive_fernet_key(NEW)
    settings = Settings(SAAS_ENV="test", SECRET_KEY=NEW)
    assert SecretBox([NEW]).decrypt(secret_box(settings).encrypt("x")) == "x"


def test_signature_is_the_hmac_of_the_body() -> None:
    import hashlib
    import hmac

    body = b'{"event":1}'
    expected = "sha256=" + hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert signing.sign("k" * 16, body) == expected
    assert signing.verify_signature("k" * 16, body, expected)
    assert not signing.verify_signature("k" * 16, body + b" ", expected)
    assert not signing.verify_signature("k" * 16, body, None)
