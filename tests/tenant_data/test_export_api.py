"""exportTenantData: the owner's alone, its job, its one-time link; another tenant sees nothing."""

from __future__ import annotations

import io
import tarfile

import orjson
from sqlalchemy import select

from saas.audit.models import AuditEntry
from saas.downloads.service import claim, stream
from saas.events.models import OutboxEvent
from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from saas.tenant_data.exports import run_export
from tests.conftest import add_member

EXPORT = "mutation { exportTenantData { export { id status } userErrors { field code message } } }"
STATUS = "query($id: ID!) { tenantExport(id: $id) { id status tablesTotal tablesDone rowsDone downloadUrl } }"


def _export(runtime: Runtime, owner: GraphQLClient, tenant) -> str:
    export = owner.data(EXPORT)["exportTenantData"]["export"]
    assert export["status"] == "PENDING"
    with tenant_session(runtime.engine, tenant.id) as session:
        run_export(session, decode_id(export["id"], "TenantExport"), runtime.plugins)
    return str(export["id"])


def test_the_owner_exports_and_downloads_once(runtime: Runtime, owner: GraphQLClient, tenant) -> None:
    export_id = _export(runtime, owner, tenant)
    first = owner.data(STATUS, {"id": export_id})["tenantExport"]
    assert first["status"] == "COMPLETED" and first["tablesDone"] == first["tablesTotal"] > 0
    assert first["downloadUrl"].startswith("/downloads/")
    assert owner.data(STATUS, {"id": export_id})["tenantExport"]["downloadUrl"] is None
    download = claim(runtime.engine, runtime.settings, first["downloadUrl"].removeprefix("/downloads/"))
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream(runtime.engine, download))), mode="r:gz") as tar:
        manifest = orjson.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["tenant"]["slug"] == tenant.slug
    with tenant_session(runtime.engine, tenant.id) as session:
        types = set(session.scalars(select(OutboxEvent.type)))
        assert {"tenant_export.requested", "tenant_export.completed"} <= types
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "export")) is not None


def test_another_tenant_cannot_read_the_export(runtime: Runtime, owner: GraphQLClient, other_owner, tenant) -> None:
    export_id = _export(runtime, owner, tenant)
    assert other_owner.error_codes(STATUS, {"id": export_id}) == ["NOT_FOUND"]
    assert owner.data(STATUS, {"id": export_id})["tenantExport"]["downloadUrl"]  # still unclaimed for A


def test_only_the_owner_may_export(runtime: Runtime, owner: GraphQLClient, tenant) -> None:
    for role in ("admin", "manager"):
        member = add_member(owner, tenant, role)
        assert member.error_codes(EXPORT) == ["FORBIDDEN"]
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.scalar(select(OutboxEvent.id).where(OutboxEvent.type == "tenant_export.requested")) is None


def test_a_bad_export_id_is_not_found(owner: GraphQLClient) -> None:
    from saas.schema.relay import to_global_id

    codes = owner.error_codes(STATUS, {"id": to_global_id("TenantExport", "00000000-0000-0000-0000-000000000000")})
    assert codes == ["NOT_FOUND"]


PROGRESS = "subscription($id: ID!) { tenantExportProgress(id: $id) { id status tablesDone tablesTotal } }"


def test_progress_is_heard_by_the_owner_only(runtime: Runtime, owner: GraphQLClient, other_owner, tenant) -> None:
    from saas.plugin_api.testing import collect_events

    export = owner.data(EXPORT)["exportTenantData"]["export"]

    def act() -> None:
        with tenant_session(runtime.engine, tenant.id) as session:
            run_export(session, decode_id(export["id"], "TenantExport"), runtime.plugins)

    heard = collect_events(owner, PROGRESS, {"id": export["id"]}, "tenant_export", act)
    statuses = [p["data"]["tenantExportProgress"]["status"] for p in heard]
    assert statuses[0] == "PENDING" and statuses[-1] == "COMPLETED" and "RUNNING" in statuses
    assert {p["data"]["tenantExportProgress"]["id"] for p in heard} == {export["id"]}
    assert other_owner.error_codes(STATUS, {"id": export["id"]}) == ["NOT_FOUND"]


def test_a_failed_export_keeps_no_file(runtime: Runtime, owner: GraphQLClient, tenant, monkeypatch) -> None:
    from saas.downloads.models import Download
    from saas.tenant_data import exports

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "write_archive", broken)
    export_id = _export(runtime, owner, tenant)
    status = owner.data(STATUS, {"id": export_id})["tenantExport"]
    assert status["status"] == "FAILED" and status["downloadUrl"] is None
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.scalar(select(Download.id)) is None
        assert session.scalar(select(OutboxEvent.id).where(OutboxEvent.type == "tenant_export.failed")) is not None
