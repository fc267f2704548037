"""Store a produced file, sign a link to it, hand it out once.

Guarantees, and why they hold:
- **Flat memory.** `DownloadWriter` is a write-only binary stream: `tarfile`, `csv` (through a text
  wrapper) and `openpyxl` write into it, and it inserts every `CHUNK_BYTES` as one row. At most one
  chunk is held, whatever the file's size; `stream` reads it back one chunk per statement.
- **Only the tenant's own files.** The link carries the tenant and the download id under an HMAC of a
  key derived from `SECRET_KEY`; the claim then reads through a session bound to that tenant, so row-level
  security applies as to any request. A link edited to name another tenant fails the signature.
- **Once.** `claim` sets `downloaded_at` with `UPDATE … WHERE downloaded_at IS NULL AND expires_at > now()`:
  of two requests with the same link, exactly one gets the row back. A download cut short is not
  retried with the same link: the job that made the file makes a new one.
- **For a limited time.** The link and the row both expire (`DEFAULT_TTL`); `purge_downloads` deletes
  expired and downloaded files every hour.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from saas.config import Settings
from saas.downloads.models import Download, DownloadChunk
from saas.tenancy.session import tenant_session

CHUNK_BYTES = 1024 * 1024
DEFAULT_TTL = timedelta(hours=24)
# A downloaded file's bytes are kept a little longer, for the response still streaming them.
KEPT_AFTER_DOWNLOAD = timedelta(minutes=30)
LINK_PATH = "/downloads/"
_PURPOSE = b"saas/download-links/v1"
_PAYLOAD = struct.Struct(">16s16sq")  # download id, tenant id, expiry (Unix seconds)


class DownloadError(Exception):
    """A link that cannot be served; `code` is machine-readable, `status` the HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Link:
    download_id: uuid.UUID
    tenant_id: uuid.UUID
    expires_at: datetime


class DownloadWriter(io.RawIOBase):
    """A binary stream into a new `Download` row; `close()` (or leaving the `with`) completes it.

    Use it through `open_download`; a writer left without `close()` leaves an incomplete file no link
    is ever issued for (and the purge removes it when it expires)."""

    def __init__(self, session: Session, download: Download) -> None:
        super().__init__()
        self._session = session
        self.download = download
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._size = 0
        self._seq = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed download")
        view = memoryview(data).cast("B")
        self._buffer += view
        self._hash.update(view)
        self._size += len(view)
        while len(self._buffer) >= CHUNK_BYTES:
            self._flush_chunk(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]
        return len(view)

    def tell(self) -> int:
        return self._size

    def _flush_chunk(self, data: bytes) -> None:
        self._session.execute(
            insert(DownloadChunk).values(
                tenant_id=self.download.tenant_id, download_id=self.download.id, seq=self._seq, data=data
            )
        )
        self._seq += 1

    def close(self) -> None:
        if self.closed:
            return
        if self._buffer:
            self._flush_chunk(bytes(self._buffer))
            self._buffer.clear()
        self.download.size_bytes = self._size
        self.download.chunk_count = self._seq
        self.download.sha256 = self._hash.hexdigest()
        self.download.completed_at = datetime.now(UTC)
        self._session.flush()
        super().close()


def open_download(
    session: Session,
    *,
    kind: str,
    file_name: str,
    content_type: str,
    created_by_id: uuid.UUID | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> DownloadWriter:
    """A new file of the session's tenant, written through the returned stream."""
    download = Download(
        kind=kind,
        file_name=file_name,
        content_type=content_type,
        created_by_id=created_by_id,
        expires_at=datetime.now(UTC) + ttl,
    )
    session.add(download)
    session.flush()
    return DownloadWriter(session, download)


def _link_key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(settings: Settings, download: Download) -> str:
    """The path (`/downloads/<token>`) that serves `download` once, until it expires."""
    if download.completed_at is None:
        raise ValueError("a link is issued only for a complete download")
    payload = _PAYLOAD.pack(download.id.bytes, download.tenant_id.bytes, int(download.expires_at.timestamp()))
    signature = hmac.new(_link_key(settings), payload, hashlib.sha256).digest()
    return f"{LINK_PATH}{_b64(payload)}.{_b64(signature)}"


def read_link(settings: Settings, token: str) -> Link:
    """The link's download and tenant, if its signature holds and it has not expired."""
    invalid = DownloadError("INVALID_LINK", "This download link is not valid.", 404)
    try:
        payload_text, signature_text = token.split(".", 1)
        payload, signature = _unb64(payload_text), _unb64(signature_text)
        download_id, tenant_id, expires = _PAYLOAD.unpack(payload)
    except (ValueError, struct.error) as exc:
        raise invalid from exc
    expected = hmac.new(_link_key(settings), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise invalid
    expires_at = datetime.fromtimestamp(expires, UTC)
    if expires_at <= datetime.now(UTC):
        raise DownloadError("EXPIRED", "This download link has expired.", 410)
    return Link(uuid.UUID(bytes=download_id), uuid.UUID(bytes=tenant_id), expires_at)


def claim(engine: Engine, settings: Settings, token: str) -> Download:
    """The download the link names, marked downloaded: only the first caller gets it."""
    link = read_link(settings, token)
    with tenant_session(engine, link.tenant_id) as session:
        claimed = session.execute(
            update(Download)
            .where(
                Download.id == link.download_id,
                Download.completed_at.is_not(None),
                Download.downloaded_at.is_(None),
                Download.expires_at > func.now(),
            )
            .values(downloaded_at=func.now())
            .returning(Download)
        ).scalar_one_or_none()
        if claimed is not None:
            return claimed
        existing = session.get(Download, (link.tenant_id, link.download_id))
    if existing is None or existing.completed_at is None:
        raise DownloadError("NOT_FOUND", "This download does not exist.", 404)
    if existing.downloaded_at is not None:
        raise DownloadError("ALREADY_DOWNLOADED", "This file was already downloaded; export it again.", 410)
    raise DownloadError("EXPIRED", "This download has expired.", 410)


def stream(engine: Engine, download: Download) -> Iterator[bytes]:
    """The file's bytes, one chunk (one short statement) at a time."""
    for seq in range(download.chunk_count):
        with tenant_session(engine, download.tenant_id) as session:
            yield session.execute(
                select(DownloadChunk.data).where(DownloadChunk.download_id == download.id, DownloadChunk.seq == seq)
            ).scalar_one()


def purge_downloads(session: Session, now: datetime | None = None) -> int:
    """Delete the session's tenant's expired files and those downloaded a while ago."""
    now = now or datetime.now(UTC)
    result = session.execute(
        delete(Download).where(or_(Download.expires_at <= now, Download.downloaded_at <= now - KEPT_AFTER_DOWNLOAD))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
