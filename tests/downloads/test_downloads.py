"""Produced files: written in chunks, served once through a signed link, only to their tenant."""

from __future__ import annotations

import hashlib
import tarfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from starlette.testclient import TestClient

from saas.audit.models import AuditEntry
from saas.downloads.models import Download, DownloadChunk
from saas.downloads.service import (
    CHUNK_BYTES,
    DownloadError,
    open_download,
    purge_downloads,
    read_link,
    sign_link,
)
from saas.http import create_app
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session


@pytest.fixture
def client(runtime: Runtime, graphql_engine: Any) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, graphql_engine)) as test_client:
        yield test_client


def _store(runtime: Runtime, tenant_id: uuid.UUID, content: bytes, **options: Any) -> Download:
    with tenant_session(runtime.engine, tenant_id) as session:
        with open_download(
            session,
            kind="test",
            file_name=options.pop("file_name", "data.bin"),
            content_type="application/octet-stream",
            **options,
        ) as writer:
            # Uneven writes: chunk boundaries never line up with the caller's.
            for start in range(0, len(content), 300_001):
                writer.write(content[start : start + 300_001])
        return writer.download


def test_a_large_file_is_stored_in_chunks_and_served_whole(runtime: Runtime, tenant: Any, client: TestClient) -> None:
    content = bytes(range(256)) * (CHUNK_BYTES * 2 // 256 + 77)  # two chunks and a part of a third
    download = _store(runtime, tenant.id, content, file_name="客户 export.bin")
    assert download.chunk_count == 3
    assert download.size_bytes == len(content)
    assert download.sha256 == hashlib.sha256(content).hexdigest()
    with tenant_session(runtime.engine, tenant.id) as session:
        sizes = (
            session.execute(
                select(func.length(DownloadChunk.data))
                .where(DownloadChunk.download_id == download.id)
                .order_by(DownloadChunk.seq)
            )
            .scalars()
            .all()
        )
    assert sizes == [CHUNK_BYTES, CHUNK_BYTES, len(content) - 2 * CHUNK_BYTES]

    response = client.get(sign_link(runtime.settings, download))
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["cache-control"] == "no-store"
    assert "filename*=UTF-8''%E5%AE%A2%E6%88%B7%20export.bin" in response.headers["content-disposition"]


def test_tarfile_streams_into_a_download(runtime: Runtime, tenant: Any, client: TestClient, tmp_path: Any) -> None:
    """A streaming tar (mode `w|gz`, no seeking) writes straight into the download."""
    import io

    with tenant_session(runtime.engine, tenant.id) as session:
        with open_download(session, kind="test", file_name="a.tar.gz", content_type="application/gzip") as writer:
            with tarfile.open(fileobj=writer, mode="w|gz") as archive:
                data = b'{"id": 1}\n' * 1000
                info = tarfile.TarInfo("customers.jsonl")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        download = writer.download
    body = client.get(sign_link(runtime.settings, download)).content
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        member = archive.extractfile("customers.jsonl")
        assert member is not None and member.read() == data


def test_a_link_serves_once(runtime: Runtime, tenant: Any, client: TestClient) -> None:
    link = sign_link(runtime.settings, _store(runtime, tenant.id, b"once"))
    assert client.get(link).content == b"once"
    second = client.get(link)
    assert second.status_code == 410
    assert second.json()["errors"][0]["extensions"]["code"] == "ALREADY_DOWNLOADED"


def test_concurrent_claims_serve_exactly_one(runtime: Runtime, tenant: Any, client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    link = sign_link(runtime.settings, _store(runtime, tenant.id, b"race"))
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: client.get(link).status_code, range(8)))
    assert statuses == [200] + [410] * 7


def test_every_download_is_audited(runtime: Runtime, tenant: Any, client: TestClient) -> None:
    download = _store(runtime, tenant.id, b"audited")
    client.get(sign_link(runtime.settings, download))
    with tenant_session(runtime.engine, tenant.id) as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "download")).scalar_one()
    assert entry.entity_id == str(download.id)
    assert entry.after == {"file": "data.bin"}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda link: link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"),  # signature edited
        lambda link: link.replace("/downloads/", "/downloads/x"),  # payload edited
        lambda link: "/downloads/not-a-token",
        lambda link: "/downloads/" + "A" * 5000,
    ],
)
def test_a_tampered_link_is_refused(runtime: Runtime, tenant: Any, client: TestClient, mangle: Any) -> None:
    download = _store(runtime, tenant.id, b"secret")
    response = client.get(mangle(sign_link(runtime.settings, download)))
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_LINK"
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.get(Download, (tenant.id, download.id)).downloaded_at is None  # type: ignore[union-attr]


def test_another_tenant_cannot_reach_a_download(
    runtime: Runtime, tenant: Any, other_tenant: Any, client: TestClient
) -> None:
    """A link re-signed for the other tenant (as if the key leaked into the payload) finds nothing:
    the claim reads through the other tenant's session, where row-level security hides the row."""
    download = _store(runtime, tenant.id, b"tenant A only")
    forged = Download(
        id=download.id,
        tenant_id=other_tenant.id,
        expires_at=download.expires_at,
        completed_at=download.completed_at,
    )
    response = client.get(sign_link(runtime.settings, forged))
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    with tenant_session(runtime.engine, other_tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM download_chunks")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM downloads")).scalar() == 0
    # The real link still works for its own tenant.
    assert client.get(sign_link(runtime.settings, download)).content == b"tenant A only"


def test_an_expired_download_is_refused_and_purged(runtime: Runtime, tenant: Any, client: TestClient) -> None:
    download = _store(runtime, tenant.id, b"old")
    link = sign_link(runtime.settings, download)
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(update(Download).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    response = client.get(link)
    assert response.status_code == 410
    assert response.json()["errors"][0]["extensions"]["code"] == "EXPIRED"
    with tenant_session(runtime.engine, tenant.id) as session:
        assert purge_downloads(session) == 1
        assert session.execute(select(func.count()).select_from(DownloadChunk)).scalar() == 0


def test_an_expired_link_is_refused_before_the_database(runtime: Runtime, tenant: Any) -> None:
    download = _store(runtime, tenant.id, b"x", ttl=timedelta(seconds=-1))
    with pytest.raises(DownloadError) as error:
        read_link(runtime.settings, sign_link(runtime.settings, download).removeprefix("/downloads/"))
    assert error.value.code == "EXPIRED"


def test_purge_keeps_fresh_files_and_drops_downloaded_ones(runtime: Runtime, tenant: Any, client: TestClient) -> None:
    fresh = _store(runtime, tenant.id, b"fresh")
    taken = _store(runtime, tenant.id, b"taken")
    client.get(sign_link(runtime.settings, taken))
    with tenant_session(runtime.engine, tenant.id) as session:
        assert purge_downloads(session, now=datetime.now(UTC) + timedelta(hours=1)) == 1
        assert {d.id for d in session.execute(select(Download)).scalars()} == {fresh.id}


def test_no_link_for_an_incomplete_file(runtime: Runtime, tenant: Any) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        writer = open_download(session, kind="test", file_name="x", content_type="text/plain")
        writer.write(b"half")
        with pytest.raises(ValueError):
            sign_link(runtime.settings, writer.download)
        writer.close()
