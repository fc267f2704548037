"""Writing a tenant's export: a gzip'd tar of one JSON Lines file per table, and `manifest.json`.

    tables/<table>.jsonl   every row of the tenant in that table, one JSON object a line
    users.jsonl            the accounts of the tenant's members (global rows, password hashes)
    manifest.json          format, tenant, schema revisions, and per file its rows and SHA-256

Memory stays flat in the tenant's size: rows come through a server-side cursor, `BATCH_ROWS` at a
time, into a temporary file that spills to disk beyond `SPOOL_BYTES` (a tar header needs the
member's size before its bytes), which is then copied into the archive stream in blocks. The
manifest is written last, once every checksum is known.

Everything is read in one REPEATABLE READ transaction of a session bound to the tenant: row-level
security applies as to any request, and the files are one consistent snapshot. Encrypted fields
are exported as stored (ciphertext).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from saas.accounts.models import Tenant
from saas.db.base import Base
from saas.plugin_host.host import PluginHost
from saas.tenancy.session import tenant_session
from saas.tenant_data.rows import encode_row
from saas.tenant_data.tables import carried_tables, reflect_shapes, schema_heads

FORMAT = "saas-tenant-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
USERS_FILE = "users.jsonl"
TABLES_DIR = "tables/"
BATCH_ROWS = 2_000
SPOOL_BYTES = 8 * 1024 * 1024
USER_COLUMNS = ("id", "email", "name", "password_hash", "is_active", "created_at")

# progress(table, tables done, tables in all, rows so far)
Progress = Callable[[str, int, int, int], None]


@dataclass(frozen=True)
class ExportSummary:
    manifest: dict[str, Any]

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.manifest["tables"].values())


def table_branches(names: list[str], plugins: PluginHost | None) -> dict[str, str]:
    """The migration branch that owns each table: `core`, or the plugin whose package maps it.

    A table no loaded model maps is `*`: its revision check compares every branch's head."""
    packages: dict[str, str] = {}
    for plugin in plugins.plugins.values() if plugins is not None else ():
        module = getattr(plugin, "module", None)
        if module is not None:
            packages[module.__name__.split(".")[0]] = plugin.name
    owners: dict[str, str] = {}
    for mapper in Base.registry.mappers:
        table = getattr(mapper, "local_table", None)
        if table is None or getattr(table, "name", None) not in names:
            continue
        package = mapper.class_.__module__.split(".")[0]
        owners[table.name] = "core" if package == "saas" else packages.get(package, "*")
    return {name: owners.get(name, "*") for name in names}


def table_revision(branch: str, heads: dict[str, str]) -> str:
    """The revision a table is at: its branch's head (every head, for a table of no known branch)."""
    return heads.get(branch, "") if branch != "*" else ",".join(f"{b}:{h}" for b, h in sorted(heads.items()))


class _Member:
    """One archive member being written: spooled bytes, its SHA-256 and row count."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.hash = hashlib.sha256()
        self.size = 0
        self.rows = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)
        self.rows += 1

    def add_to(self, tar: tarfile.TarFile, name: str, mtime: float) -> dict[str, Any]:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = self.size, int(mtime), 0o600
        self.file.seek(0)
        tar.addfile(info, self.file)
        self.file.close()
        return {"file": name, "rows": self.rows, "bytes": self.size, "sha256": self.hash.hexdigest()}


def _stream_rows(session: Session, statement: Any, member: _Member) -> int:
    result = session.connection().execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(statement)
    for partition in result.mappings().partitions(BATCH_ROWS):
        for row in partition:
            member.write(encode_row(row))
    return member.rows


def write_archive(
    engine: Engine,
    tenant_id: uuid.UUID,
    out: IO[bytes] | io.RawIOBase,
    *,
    plugins: PluginHost | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the tenant's archive into the binary stream `out` (not closed); returns its manifest."""
    reader = engine.execution_options(isolation_level="REPEATABLE READ")
    now = time.time()
    with tenant_session(reader, tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise LookupError(f"no tenant {tenant_id}")
        conn = session.connection()
        names = carried_tables(conn)
        shapes = reflect_shapes(conn, names)
        heads = schema_heads(conn)
        branches = table_branches(names, plugins)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "tenant": {"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name, "settings": tenant.settings},
            "exportedAt": datetime.now(UTC).isoformat(),
            "revisions": heads,
            "tables": {},
        }
        rows_done = 0
        with tarfile.open(fileobj=out, mode="w|gz") as tar:
            for done, name in enumerate(names, start=1):
                shape = shapes[name]
                member = _Member()
                order = [shape.table.c[c] for c in shape.export_order]
                carried = [shape.table.c[c] for c in shape.columns]
                statement = select(*carried).where(shape.table.c.tenant_id == tenant_id).order_by(*order)
                rows_done += _stream_rows(session, statement, member)
                entry = member.add_to(tar, f"{TABLES_DIR}{name}.jsonl", now)
                entry.update(
                    branch=branches[name], revision=table_revision(branches[name], heads), columns=shape.columns
                )
                manifest["tables"][name] = entry
                if progress is not None:
                    progress(name, done, len(names), rows_done)
            users = _Member()
            users_statement = text(
                f"SELECT {', '.join('u.' + c for c in USER_COLUMNS)} FROM users u "
                "WHERE u.id IN (SELECT m.user_id FROM memberships m WHERE m.tenant_id = :tenant) ORDER BY u.id"
            ).bindparams(tenant=tenant_id)
            _stream_rows(session, users_statement, users)
            manifest["users"] = users.add_to(tar, USERS_FILE, now)
            body = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(now), 0o600
            tar.addfile(info, io.BytesIO(body))
    return ExportSummary(manifest)
