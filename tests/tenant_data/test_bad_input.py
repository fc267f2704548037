"""Imports that are refused write nothing: bad slug, taken slug, corrupt, truncated, tampered, other revision."""

from __future__ import annotations

import io
import secrets
import tarfile
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from saas.accounts.models import Tenant, User
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from saas.tenant_data.archive import write_archive
from saas.tenant_data.restore import RestoreError, restore_archive


def _counts(runtime: Runtime) -> tuple[int, int]:
    with tenant_session(runtime.engine, None) as session:
        return session.scalar(select(func.count()).select_from(Tenant)), session.scalar(
            select(func.count()).select_from(User)
        )


@pytest.fixture
def archive(runtime: Runtime, tenant, tmp_path: Path) -> Path:
    path = tmp_path / "a.tar.gz"
    with path.open("wb") as out:
        write_archive(runtime.engine, tenant.id, out, plugins=runtime.plugins)
    return path


def _rewrite(source: Path, target: Path, change) -> Path:
    """Copy the archive, passing each member's (name, bytes) through `change`."""
    with tarfile.open(source, "r:gz") as tar, tarfile.open(target, "w:gz") as out:
        for member in tar.getmembers():
            data = change(member.name, tar.extractfile(member).read())  # type: ignore[union-attr]
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return target


def _refused(runtime: Runtime, path: Path, slug: str, code: str) -> None:
    before = _counts(runtime)
    with pytest.raises(RestoreError) as raised:
        restore_archive(runtime.engine, path, slug, plugins=runtime.plugins)
    assert raised.value.code == code, raised.value.message
    assert _counts(runtime) == before


def _new_slug() -> str:
    return f"r-{secrets.token_hex(4)}"


def test_a_bad_or_taken_slug_is_refused(runtime: Runtime, archive: Path, tenant) -> None:
    _refused(runtime, archive, "", "INVALID_SLUG")
    _refused(runtime, archive, "Not A Slug", "INVALID_SLUG")
    _refused(runtime, archive, "x" * 64, "INVALID_SLUG")
    _refused(runtime, archive, tenant.slug, "SLUG_TAKEN")


def test_a_file_that_is_not_an_archive_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "junk.tar.gz"
    path.write_bytes(b"not an archive at all")
    _refused(runtime, path, _new_slug(), "CORRUPT_ARCHIVE")


def test_a_truncated_archive_is_refused(runtime: Runtime, archive: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.tar.gz"
    data = archive.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _refused(runtime, cut, _new_slug(), "CORRUPT_ARCHIVE")


def test_a_changed_file_fails_its_checksum(runtime: Runtime, archive: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        return data.replace(b"example", b"exampla") if name == "users.jsonl" else data

    _refused(runtime, _rewrite(archive, tmp_path / "changed.tar.gz", change), _new_slug(), "CHECKSUM_MISMATCH")


def test_an_archive_of_another_schema_revision_is_refused(runtime: Runtime, archive: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = orjson.loads(data)
        manifest["tables"]["customers"]["revision"] = "0001_older"
        return orjson.dumps(manifest)

    path = _rewrite(archive, tmp_path / "old.tar.gz", change)
    before = _counts(runtime)
    with pytest.raises(RestoreError) as raised:
        restore_archive(runtime.engine, path, _new_slug(), plugins=runtime.plugins)
    assert raised.value.code == "REVISION_MISMATCH" and "customers" in raised.value.message
    assert _counts(runtime) == before


def test_a_failure_while_inserting_rolls_everything_back(runtime: Runtime, archive: Path, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = orjson.loads(data)
        manifest["tables"]["customers"]["columns"].append("ghost")
        return orjson.dumps(manifest)

    _refused(runtime, _rewrite(archive, tmp_path / "ghost.tar.gz", change), _new_slug(), "REVISION_MISMATCH")


def test_sensitive_values_under_a_master_key_not_configured_here_are_refused(
    runtime: Runtime, owner, tenant, tmp_path: Path
) -> None:
    """An archive's keys are wrapped by the source deployment's master key: without it, nothing."""
    from saas.sensitive import keys
    from tests.sensitive.helpers import customer_with_national_id

    customer_with_national_id(owner)
    path = tmp_path / "s.tar.gz"
    with path.open("wb") as out:
        write_archive(runtime.engine, tenant.id, out, plugins=runtime.plugins)
    original = keys.master_keys()
    keys.set_master_keys(keys.MasterKeys((("elsewhere", bytes(range(32))),)))
    try:
        _refused(runtime, path, _new_slug(), "UNKNOWN_MASTER_KEY")
    finally:
        keys.set_master_keys(original)
    assert restore_archive(runtime.engine, path, _new_slug(), plugins=runtime.plugins).rows > 0
