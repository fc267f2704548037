"""The tenant's tables as the database has them: which to carry, their columns and the order of
their foreign keys.

Discovered, never listed: every table with a `tenant_id` column, core and plugin alike
(`saas.tenancy.rls.tenant_tables`, the same query that forces row-level security), so a table
added by a later migration or a new plugin is exported, restored and purged without a change
here. Only the volatile tables are named, in `VOLATILE_TABLES`: rows about delivering work, not
the tenant's data, which an export leaves out (a purge erases them like every other table).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, MetaData, Table, text

from saas.tenancy.rls import tenant_tables

# Left out of exports and restores, and why:
# - outbox_events: the source's domain events were dispatched (or will be) for the source; a
#   restored tenant must not announce them again to webhooks and plugins.
# - processed_jobs: exactly-once records of the source's job messages.
# - webhook_deliveries, webhook_attempts: deliveries of those same events.
# - notifications: live notices addressed to members at a moment; not records of the business.
# - downloads, download_chunks, tenant_exports: files produced for the source (this export among
#   them), downloadable once by its owner through a link bound to the source tenant.
VOLATILE_TABLES: frozenset[str] = frozenset(
    {
        "outbox_events",
        "processed_jobs",
        "webhook_deliveries",
        "webhook_attempts",
        "notifications",
        "downloads",
        "download_chunks",
        "tenant_exports",
    }
)
TENANT_COLUMN = "tenant_id"


@dataclass
class TableShape:
    """One tenant table: its reflected `Table`, its primary key, and the foreign keys among tenant tables."""

    table: Table
    primary_key: tuple[str, ...]
    # (columns, referred table, referred columns) of each foreign key, `tenant_id` included.
    references: list[tuple[tuple[str, ...], str, tuple[str, ...]]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[str]:
        """The columns an archive carries: all but generated ones (`GENERATED ALWAYS AS … STORED`),
        which the database computes again on restore."""
        return [c.name for c in self.table.columns if c.computed is None]

    @property
    def identity_columns(self) -> list[str]:
        """Columns the database numbers itself (`GENERATED … AS IDENTITY`): exported in their
        order, and numbered anew on restore (a sequence is the database's, not the tenant's)."""
        return [c.name for c in self.table.columns if c.identity is not None]

    @property
    def export_order(self) -> list[str]:
        """Rows leave in identity order where there is one (a restore numbers them in the same
        order), else in primary-key order."""
        return self.identity_columns or list(self.primary_key)


def carried_tables(conn: Connection) -> list[str]:
    """Every tenant table an export carries: all of them but the volatile ones."""
    return [name for name in tenant_tables(conn) if name not in VOLATILE_TABLES]


def reflect_shapes(conn: Connection, names: Iterable[str]) -> dict[str, TableShape]:
    """The tables as the database has them now (columns, types, keys)."""
    names = list(names)
    metadata = MetaData()
    metadata.reflect(conn, only=names, resolve_fks=False)
    shapes: dict[str, TableShape] = {}
    for name in names:
        table = metadata.tables[name]
        shape = TableShape(table, tuple(c.name for c in table.primary_key.columns))
        for fk in table.foreign_key_constraints:
            # `schema.table.column` or `table.column`, without resolving the referred table
            targets = [e.target_fullname.split(".") for e in fk.elements]
            referred = targets[0][-2]
            shape.references.append((tuple(fk.column_keys), referred, tuple(t[-1] for t in targets)))
        shapes[name] = shape
    return shapes


def dependency_order(shapes: dict[str, TableShape]) -> tuple[list[str], dict[str, set[tuple[str, ...]]]]:
    """Tables in an order that inserts every referred row before the rows referring to it.

    Returns the order and, per table, the foreign keys (their columns) that cannot be honoured
    by ordering: a table's reference to itself, or one edge of a cycle between tables. A
    restore inserts those columns as NULL and sets them once every row is in; a purge clears
    them before deleting.
    """
    deferred: dict[str, set[tuple[str, ...]]] = {name: set() for name in shapes}
    edges: dict[str, set[str]] = {name: set() for name in shapes}  # table -> tables it needs first
    for name, shape in shapes.items():
        for columns, referred, _ in shape.references:
            if referred == name:
                deferred[name].add(_own_columns(columns))
            elif referred in shapes:
                edges[name].add(referred)
    order: list[str] = []
    done: set[str] = set()
    remaining = sorted(shapes)
    while remaining:
        ready = [name for name in remaining if edges[name] <= done]
        if not ready:
            # A cycle: break it at the first table, deferring its references to the tables not done.
            name = remaining[0]
            for columns, referred, _ in shapes[name].references:
                if referred in shapes and referred not in done and referred != name:
                    deferred[name].add(_own_columns(columns))
            edges[name] = set()
            ready = [name]
        for name in ready:
            order.append(name)
            done.add(name)
        remaining = [name for name in remaining if name not in done]
    return order, {name: columns for name, columns in deferred.items() if columns}


def _own_columns(columns: tuple[str, ...]) -> tuple[str, ...]:
    """A composite foreign key's columns without `tenant_id` (which is never NULL)."""
    return tuple(c for c in columns if c != TENANT_COLUMN)


def user_columns(shapes: dict[str, TableShape]) -> dict[str, list[str]]:
    """Per tenant table, its columns referring to `users.id` (the global accounts)."""
    found: dict[str, list[str]] = {}
    for name, shape in shapes.items():
        for columns, referred, referred_columns in shape.references:
            if referred == "users" and referred_columns == ("id",):
                found.setdefault(name, []).extend(columns)
    return found


def schema_heads(conn: Connection) -> dict[str, str]:
    """The applied head of each migration branch: `core`, and each plugin by name."""
    heads = list(conn.execute(text("SELECT version_num FROM alembic_version ORDER BY version_num")).scalars())
    owners: dict[str, str] = dict(
        conn.execute(text("SELECT revision, plugin FROM plugin_revisions WHERE revision = ANY(:r)"), {"r": heads}).all()
    )
    return {owners.get(head, "core"): head for head in heads}
