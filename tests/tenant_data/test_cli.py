"""`saas tenant export` and `saas tenant import`: a file out, a tenant in; refusals exit 2 and write nothing."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select

from saas.accounts.models import Tenant
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session


def _tenant(runtime: Runtime, slug: str) -> Tenant | None:
    with tenant_session(runtime.engine, None) as session:
        return session.scalar(select(Tenant).where(Tenant.slug == slug))


def test_export_then_import_under_a_new_slug(cli, runtime: Runtime, tenant, tmp_path: Path) -> None:
    archive = tmp_path / "t.tar.gz"
    exported = cli("tenant", "export", "--slug", tenant.slug, "-o", str(archive))
    assert exported.exit_code == 0, exported.output
    assert archive.is_file() and not archive.with_name("t.tar.gz.partial").exists()
    slug = f"imp-{secrets.token_hex(3)}"
    imported = cli("tenant", "import", str(archive), "--slug", slug, "--name", "Imported")
    assert imported.exit_code == 0, imported.output
    restored = _tenant(runtime, slug)
    assert restored is not None and restored.name == "Imported"

    taken = cli("tenant", "import", str(archive), "--slug", tenant.slug)
    assert taken.exit_code == 2 and "SLUG_TAKEN" in taken.output and "nothing was written" in taken.output


def test_an_unknown_slug_exports_nothing(cli, tmp_path: Path) -> None:
    archive = tmp_path / "none.tar.gz"
    result = cli("tenant", "export", "--slug", "no-such-tenant", "-o", str(archive))
    assert result.exit_code == 2 and "no tenant with slug" in result.output
    assert not archive.exists()
