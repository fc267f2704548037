"""Restoring an export into a new tenant: `saas tenant import FILE --slug NEW`.

Checked before anything is written: the archive reads to its end (a truncated or corrupt file is
refused), every file's SHA-256 and row count match the manifest, and every table's schema
revision is the one this database is at (and its columns the same). Then, in one transaction,
the tenant is created and every table filled in foreign-key order; any failure rolls all of it
back, so a refused or failed import writes nothing.

Choices:
- **The same ids.** Every tenant table's primary key is `(tenant_id, id)` and no tenant table has
  a key without `tenant_id`, so the archive's ids stay as they are under the new tenant, even in
  the database the export came from. Global ids (`Customer:<uuid>`) of the restored tenant are
  therefore those of the source.
- **Members and accounts.** Accounts (`users`) are global. A member whose e-mail already has an
  account here is given that account, left as it is (its password is the one it has here);
  otherwise the account is created with the archive's name and password hash (so the member
  logs in with the same password), under its own id unless that id is taken. Every column that
  refers to `users.id` is remapped accordingly.
- **Left out:** the volatile tables (`saas.tenant_data.tables.VOLATILE_TABLES`); so the source's
  domain events are not dispatched again.
- **Numbered columns.** Identity columns (`GENERATED … AS IDENTITY`, e.g. `audit_log.id`, a
  ledger's `seq`) are numbered anew by this database, in the archive's order (exported in that
  order): their sequence belongs to the database, and reusing the numbers would collide with the
  sequence's next values. No foreign key refers to one.
- **Sensitive values.** Wrapped keys and sealed values are bound to their tenant's id
  (`saas.sensitive.rebind`): the archived keys are unwrapped as the source tenant's with this
  deployment's master keys (one it does not have refuses the restore, UNKNOWN_MASTER_KEY),
  wrapped again for the new tenant, and every sealed value re-sealed at its new address under the
  same data key version; blind indexes and masks are unchanged, no plaintext is written.
- **Cycles.** Self-references, and one edge of any cycle between tables, are inserted as NULL
  and set in a second pass over the same files once every row is in.
"""

from __future__ import annotations

import hashlib
import tarfile
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Engine, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from saas.accounts.models import Tenant, User
from saas.accounts.service import SLUG_PATTERN
from saas.plugin_host.host import PluginHost
from saas.sensitive.keys import UnknownMasterKey
from saas.sensitive.rebind import KEYS_TABLE, SEALED_TABLES, Rebinder
from saas.tenancy.session import tenant_session
from saas.tenant_data.archive import FORMAT, FORMAT_VERSION, MANIFEST, USERS_FILE, table_branches, table_revision
from saas.tenant_data.rows import row_decoder
from saas.tenant_data.tables import (
    TENANT_COLUMN,
    TableShape,
    carried_tables,
    dependency_order,
    reflect_shapes,
    schema_heads,
    user_columns,
)

BATCH_ROWS = 1_000
READ_BLOCK = 1024 * 1024


class RestoreError(Exception):
    """An archive or request that cannot be restored; nothing was written. `code` is machine-readable:
    INVALID_SLUG, SLUG_TAKEN, CORRUPT_ARCHIVE, CHECKSUM_MISMATCH, REVISION_MISMATCH, UNKNOWN_MASTER_KEY."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RestoreResult:
    tenant_id: uuid.UUID
    slug: str
    rows: int
    users_created: int
    users_matched: int


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:gz")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise RestoreError("CORRUPT_ARCHIVE", f"{path} is not a readable export archive ({exc})") from exc


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        stream = tar.extractfile(name)
    except KeyError as exc:
        raise RestoreError("CORRUPT_ARCHIVE", f"the archive has no {name}") from exc
    if stream is None:
        raise RestoreError("CORRUPT_ARCHIVE", f"{name} is not a file")
    return stream


def _lines(tar: tarfile.TarFile, name: str) -> Iterator[bytes]:
    stream = _member(tar, name)
    for line in stream:
        if line.strip():
            yield line


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        manifest = orjson.loads(_member(tar, MANIFEST).read())
    except (orjson.JSONDecodeError, tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise RestoreError("CORRUPT_ARCHIVE", f"the manifest does not read ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RestoreError("CORRUPT_ARCHIVE", "this is not a tenant export (no manifest of the format)")
    if manifest.get("version") != FORMAT_VERSION:
        raise RestoreError(
            "CORRUPT_ARCHIVE", f"export format version {manifest.get('version')}; this server reads {FORMAT_VERSION}"
        )
    return manifest


def verify_checksums(tar: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists has its SHA-256 and row count (reading each once, in blocks)."""
    entries = [*manifest["tables"].values(), manifest["users"]]
    for entry in entries:
        digest, rows = hashlib.sha256(), 0
        try:
            stream = _member(tar, entry["file"])
            while block := stream.read(READ_BLOCK):
                digest.update(block)
                rows += block.count(b"\n")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise RestoreError("CORRUPT_ARCHIVE", f"{entry['file']} does not read to its end ({exc})") from exc
        if digest.hexdigest() != entry["sha256"] or rows != entry["rows"]:
            raise RestoreError("CHECKSUM_MISMATCH", f"{entry['file']} does not match its checksum in the manifest")


def check_schema(
    manifest: dict[str, Any], shapes: dict[str, TableShape], heads: dict[str, str], plugins: PluginHost | None
) -> None:
    """Each table of the archive is here, at the revision it was exported at, with the same columns."""
    problems = []
    here = table_branches(sorted(shapes), plugins)
    for name, entry in sorted(manifest["tables"].items()):
        shape = shapes.get(name)
        if shape is None:
            problems.append(f"table {name} does not exist here (is its plugin installed and migrated?)")
            continue
        revision = table_revision(here[name], heads)
        if entry.get("revision") != revision:
            problems.append(
                f"table {name} was exported at revision {entry.get('revision')}, this database is at {revision}"
            )
        elif entry.get("columns") != shape.columns:
            problems.append(f"table {name} has other columns here")
    if problems:
        raise RestoreError(
            "REVISION_MISMATCH",
            "the archive's schema is not this database's; migrate one to the other's revision first:\n  "
            + "\n  ".join(problems),
        )


def _map_users(session: Session, tar: tarfile.TarFile) -> tuple[dict[str, uuid.UUID], int, int]:
    """Archive user id -> this database's account; creates the missing accounts."""
    mapping: dict[str, uuid.UUID] = {}
    created = matched = 0
    for line in _lines(tar, USERS_FILE):
        user = orjson.loads(line)
        existing = session.scalar(select(User.id).where(func.lower(User.email) == str(user["email"]).lower()))
        if existing is not None:
            mapping[user["id"]] = existing
            matched += 1
            continue
        user_id = uuid.UUID(user["id"])
        if session.get(User, user_id) is not None:
            user_id = uuid.uuid4()
        session.execute(
            insert(User).values(
                id=user_id,
                email=user["email"],
                name=user["name"],
                password_hash=user["password_hash"],
                is_active=user["is_active"],
            )
        )
        mapping[user["id"]] = user_id
        created += 1
    return mapping, created, matched


def restore_archive(
    engine: Engine, path: Path, slug: str, name: str | None = None, *, plugins: PluginHost | None = None
) -> RestoreResult:
    """Restore the archive at `path` as a new tenant `slug` (named `name`, else as in the archive)."""
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug) or len(slug) > 63:
        raise RestoreError("INVALID_SLUG", "the slug must be lowercase letters, digits and dashes (at most 63)")
    with _open(path) as tar:
        manifest = read_manifest(tar)
        verify_checksums(tar, manifest)
        tenant_id = uuid.uuid4()
        with tenant_session(engine, tenant_id) as session:
            if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
                raise RestoreError("SLUG_TAKEN", f"a tenant with slug {slug!r} exists; restore under a new slug")
            conn = session.connection()
            shapes = reflect_shapes(conn, carried_tables(conn))
            check_schema(manifest, shapes, schema_heads(conn), plugins)
            source = manifest["tenant"]
            session.add(
                Tenant(id=tenant_id, slug=slug, name=name or source["name"], settings=source.get("settings") or {})
            )
            session.flush()
            archived = {n: shapes[n] for n in manifest["tables"]}
            rebinder = _rebinder(tar, manifest, archived, tenant_id)
            users, created, matched = _map_users(session, tar)
            order, deferred = dependency_order(archived)
            remap = user_columns(archived)
            rows = 0
            for table_name in order:
                rows += _insert_table(
                    session,
                    tar,
                    manifest,
                    archived[table_name],
                    tenant_id,
                    users,
                    remap.get(table_name, []),
                    deferred.get(table_name, set()),
                    rebinder,
                )
            for table_name, column_sets in deferred.items():
                _set_deferred(session, tar, manifest, archived[table_name], tenant_id, column_sets)
    return RestoreResult(tenant_id, slug, rows, created, matched)


def _rebinder(
    tar: tarfile.TarFile, manifest: dict[str, Any], shapes: dict[str, TableShape], tenant_id: uuid.UUID
) -> Rebinder:
    """The source tenant's keys, ready to bind its sealed values to `tenant_id`."""
    key_rows: list[dict[str, Any]] = []
    if KEYS_TABLE in shapes:
        key_rows = list(_rows(tar, manifest, shapes[KEYS_TABLE], tenant_id, {}, []))
    try:
        return Rebinder(uuid.UUID(str(manifest["tenant"]["id"])), tenant_id, key_rows)
    except UnknownMasterKey as exc:
        raise RestoreError(
            "UNKNOWN_MASTER_KEY",
            f"the archive's sensitive values are under a master key this deployment does not have ({exc});"
            " add it to ENCRYPTION_MASTER_KEYS",
        ) from exc


def _rows(
    tar: tarfile.TarFile,
    manifest: dict[str, Any],
    shape: TableShape,
    tenant_id: uuid.UUID,
    users: dict[str, uuid.UUID],
    user_cols: list[str],
) -> Iterator[dict[str, Any]]:
    decode = row_decoder(shape.table)
    for line in _lines(tar, manifest["tables"][shape.name]["file"]):
        try:
            row = decode(line)
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise RestoreError("CORRUPT_ARCHIVE", f"a row of {shape.name} does not read ({exc})") from exc
        row[TENANT_COLUMN] = tenant_id
        for column in user_cols:
            if row.get(column) is not None:
                row[column] = users.get(str(row[column]), row[column])
        yield row


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_table(
    session: Session,
    tar: tarfile.TarFile,
    manifest: dict[str, Any],
    shape: TableShape,
    tenant_id: uuid.UUID,
    users: dict[str, uuid.UUID],
    user_cols: list[str],
    deferred: set[tuple[str, ...]],
    rebinder: Rebinder,
) -> int:
    nulled = {column for columns in deferred for column in columns}
    numbered = shape.identity_columns
    count = 0
    for batch in _batches(_rows(tar, manifest, shape, tenant_id, users, user_cols)):
        for row in batch:
            if shape.name == KEYS_TABLE:
                rebinder.key_row(row)
            elif shape.name in SEALED_TABLES:
                rebinder.row(shape.name, row)
            for column in nulled:
                row[column] = None
            for column in numbered:
                row.pop(column, None)
        session.execute(insert(shape.table), batch)
        count += len(batch)
    return count


def _set_deferred(
    session: Session,
    tar: tarfile.TarFile,
    manifest: dict[str, Any],
    shape: TableShape,
    tenant_id: uuid.UUID,
    column_sets: set[tuple[str, ...]],
) -> None:
    columns = sorted({column for columns in column_sets for column in columns})
    table = shape.table
    key = [c for c in shape.primary_key]
    statement = (
        update(table)
        .where(and_(*(table.c[c] == bindparam(f"k_{c}") for c in key)))
        .values({c: bindparam(f"v_{c}") for c in columns})
    )
    for batch in _batches(_rows(tar, manifest, shape, tenant_id, {}, [])):
        params = [
            {**{f"k_{c}": row[c] for c in key}, **{f"v_{c}": row.get(c) for c in columns}}
            for row in batch
            if any(row.get(c) is not None for c in columns)
        ]
        if params:
            session.execute(statement, params)
