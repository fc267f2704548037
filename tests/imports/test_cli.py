"""`saas import FILE --entity … --tenant … [--dry-run] [--policy …]`, run in-process against the test database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from saas.cli import main
from saas.config import Settings
from tests.imports.support import csv_bytes, customer_count, xlsx_bytes


@pytest.fixture
def cli(settings: Settings, migrated: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_dry_run_then_import(cli, runtime, tenant, tmp_path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes([["客户名称", "手机"], ["华为", "13800138000"], ["", ""], ["Acme", "bad"]], "gb18030"))
    preview = cli("import", str(path), "--entity", "customer", "--tenant", tenant.slug, "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "2 rows: 1 would be created, 0 would be updated, 0 would be skipped, 1 failed" in preview.output
    assert "row 3 手机:" in preview.output and "[INVALID_PHONE]" in preview.output
    assert customer_count(runtime, tenant.id) == 0

    done = cli("import", str(path), "--entity", "CUSTOMER", "--tenant", tenant.slug)
    assert done.exit_code == 0, done.output
    assert "1 were created" in done.output
    assert customer_count(runtime, tenant.id) == 1
    again = cli("import", str(path), "--entity", "customer", "--tenant", tenant.slug, "--policy", "skip")
    assert "0 were created, 0 were updated, 1 were skipped" in again.output
    assert customer_count(runtime, tenant.id) == 1


def test_xlsx_leads(cli, runtime, tenant, tmp_path) -> None:
    path = tmp_path / "leads.xlsx"
    path.write_bytes(xlsx_bytes([["姓名", "公司", "邮箱"], ["王伟", "王氏", "wang@example.com"]]))
    result = cli("import", str(path), "--entity", "lead", "--tenant", tenant.slug)
    assert result.exit_code == 0, result.output
    assert "1 were created" in result.output


def test_bad_input(cli, tenant, tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = cli("import", str(empty), "--entity", "customer", "--tenant", tenant.slug)
    assert result.exit_code == 2 and "[REQUIRED]" in result.output
    unknown = cli("import", str(empty), "--entity", "customer", "--tenant", "no-such-tenant")
    assert unknown.exit_code == 2 and "no tenant with slug" in unknown.output
    wrong_entity = cli("import", str(empty), "--entity", "planet", "--tenant", tenant.slug)
    assert wrong_entity.exit_code == 2
