"""`saas keys`: generate, status, reencrypt (foreground, and resumed), rotate; and the retired
SECRET_KEYs of the secrets at rest."""

from __future__ import annotations

import base64

import pytest
from click.testing import CliRunner, Result

from saas.cli import main
from saas.config import Settings
from saas.crypto import DecryptionFailed, SecretBox, secret_box
from saas.runtime import Runtime
from tests.schema.helpers import count_rows
from tests.sensitive.helpers import CUSTOMER, NATIONAL_ID, customer_with_national_id


@pytest.fixture
def cli(settings: Settings, migrated: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("ENCRYPTION_MASTER_KEYS", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_generate_prints_a_usable_entry(cli) -> None:
    result = cli("keys", "generate", "--id", "2026-12")
    assert result.exit_code == 0
    key_id, _, encoded = result.output.strip().partition(":")
    assert key_id == "2026-12" and len(base64.urlsafe_b64decode(encoded)) == 32
    assert cli("keys", "generate", "--id", "a:b").exit_code == 2


def test_reencrypt_in_the_foreground_then_status(cli, owner, runtime: Runtime, tenant) -> None:
    customer = customer_with_national_id(owner)
    result = cli("keys", "reencrypt", "--tenant", tenant.slug, "--foreground")
    assert result.exit_code == 0, result.output
    assert "toward data key version 2" in result.output and ": done" in result.output
    assert count_rows(runtime, tenant.id, "customers", "custom_fields::text LIKE '%v1:2:%'") == 1
    assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["customFields"] == {"nationalId": NATIONAL_ID}
    status = cli("keys", "status", "--tenant", tenant.slug)
    assert status.exit_code == 0
    assert "current master key: secret-key" in status.output
    assert f"{tenant.slug}  data     1        secret-key  retired" in status.output
    assert "done" in status.output
    assert NATIONAL_ID not in status.output


def test_unknown_tenant_is_a_usage_error(cli) -> None:
    result = cli("keys", "reencrypt", "--tenant", "no-such-tenant", "--foreground")
    assert result.exit_code == 2 and "no tenant with slug" in result.output


def test_rotate_with_the_same_key_rewraps_nothing(cli, owner) -> None:
    customer_with_national_id(owner)
    result = cli("keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "0 left on other master keys" in result.output


def test_retired_secret_keys_still_decrypt_secrets_at_rest() -> None:
    old = SecretBox(["an-old-secret-key-of-at-least-32-characters"])
    token = old.encrypt("webhook secret")
    current = Settings(SECRET_KEY="a-new-secret-key-of-at-least-32-characters!")
    with pytest.raises(DecryptionFailed):
        secret_box(current).decrypt(token)
    rotated = Settings(
        SECRET_KEY="a-new-secret-key-of-at-least-32-characters!",
        SECRET_KEY_FALLBACKS="an-old-secret-key-of-at-least-32-characters",
    )
    assert secret_box(rotated).decrypt(token) == "webhook secret"
