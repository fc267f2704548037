"""Scaling PostgreSQL out with Citus: where each table goes, and the statements that put it there.

Every tenant table is distributed on `tenant_id`, all of them colocated: a tenant's rows of every
table live in shards on the same node, so a request (always bound to one tenant) joins, checks
foreign keys and commits on one node. The tables without a tenant are placed by what refers to them:

- `tenants` and `users` (`GLOBAL_TABLES`, the ones the application reads across tenants) become
  reference tables, copied to every node. Tenant tables refer to them (`tenant_id` to
  `tenants.id`, `memberships.user_id` to `users.id`), and Citus lets a distributed table refer to a
  reference table but not to a table distributed on another key. Neither has a tenant to be
  distributed by: one user belongs to many tenants, and a tenant is found by its slug at sign-in,
  before any tenant is known, which on a distributed table would ask every shard.
- `alembic_version` and `plugin_revisions` (`COORDINATOR_TABLES`) are the bookkeeping of
  `saas migrate`, which runs on the coordinator; nothing refers to them, so they stay local there.

The plan is derived, never listed: a table is distributed because it has `tenant_id`. A table that
fits none of these rules stops the plan with an error naming it, and so does any constraint Citus
would refuse: a primary key or unique constraint of a distributed table without `tenant_id` (a
shard can only enforce uniqueness within itself), a foreign key between distributed tables that
does not match `tenant_id` to `tenant_id`, or one from a reference or local table to a distributed
one. The same rules run on a migrated database's catalog (`saas db citus-plan`: the database
holds every constraint its migrations made) and on the SQLAlchemy metadata of the installed code
(`saas db citus-plan --from-models`, no database needed); a test compares the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Index, MetaData, UniqueConstraint, text

from saas.tenancy.rls import GLOBAL_TABLES

DISTRIBUTION_COLUMN = "tenant_id"
REFERENCE_TABLES = GLOBAL_TABLES
# Written and read by `saas migrate` only (saas/db/migrate.py), on the coordinator.
COORDINATOR_TABLES = ("alembic_version", "plugin_revisions")


class CitusPlanError(ValueError):
    """The schema cannot be distributed as it is; the message names each table and why."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("the schema cannot be distributed with Citus:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableShape:
    """What placing a table depends on: its columns and keys, from the metadata or the catalog.

    A unique key lists its columns; an expression in a unique index appears as its SQL text.
    """

    name: str
    columns: frozenset[str]
    primary_key: tuple[str, ...]
    unique_keys: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def is_tenant_table(self) -> bool:
        return DISTRIBUTION_COLUMN in self.columns


@dataclass(frozen=True)
class CitusPlan:
    """Reference tables, then distributed tables (referred-to first), then the coordinator's own.

    The first distributed table anchors the colocation group; every other joins it.
    """

    reference_tables: tuple[str, ...]
    distributed_tables: tuple[str, ...]
    # Present in every migrated database, whether or not the shapes named them.
    local_tables: tuple[str, ...] = COORDINATOR_TABLES

    @property
    def colocation_anchor(self) -> str:
        return self.distributed_tables[0]

    def statements(self) -> list[str]:
        """The SQL a deployment runs on the coordinator, each skipped when its table is already placed."""
        out = [_unless_placed(t, f"create_reference_table({_literal(t)})") for t in self.reference_tables]
        for table in self.distributed_tables:
            colocation = (
                "" if table == self.colocation_anchor else f", colocate_with => {_literal(self.colocation_anchor)}"
            )
            call = f"create_distributed_table({_literal(table)}, {_literal(DISTRIBUTION_COLUMN)}{colocation})"
            out.append(_unless_placed(table, call))
        return out

    def script(self) -> str:
        header = [
            f"-- Citus: {len(self.reference_tables)} reference tables, {len(self.distributed_tables)} tables "
            f"distributed on {DISTRIBUTION_COLUMN} and colocated with {self.colocation_anchor},",
            f"-- {len(self.local_tables)} kept on the coordinator ({', '.join(self.local_tables) or 'none'}).",
            "-- Run on the coordinator as a superuser after `saas migrate`, and again after every",
            "-- migration that adds tables: a table already placed is skipped.",
        ]
        return "\n".join([*header, *(f"{statement};" for statement in self.statements())]) + "\n"


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _unless_placed(table: str, call: str) -> str:
    return (
        f"SELECT {call} WHERE NOT EXISTS "
        f"(SELECT 1 FROM pg_dist_partition WHERE logicalrelid = {_literal(table)}::regclass)"
    )


def citus_plan(tables: Iterable[TableShape]) -> CitusPlan:
    """Place every table, or raise `CitusPlanError` naming each table that cannot be placed."""
    shapes = {shape.name: shape for shape in tables}
    kinds: dict[str, str] = {}
    problems: list[str] = []
    for name, shape in sorted(shapes.items()):
        if shape.is_tenant_table:
            kinds[name] = "distributed"
        elif name in REFERENCE_TABLES:
            kinds[name] = "reference"
        elif name in COORDINATOR_TABLES:
            kinds[name] = "local"
        else:
            problems.append(
                f"{name}: has no {DISTRIBUTION_COLUMN} and is neither a global table ({', '.join(REFERENCE_TABLES)}) "
                f"nor migration bookkeeping ({', '.join(COORDINATOR_TABLES)}); give it {DISTRIBUTION_COLUMN} "
                "or decide where it goes in saas/tenancy/citus.py"
            )
    for name, shape in sorted(shapes.items()):
        if kinds.get(name) == "distributed":
            problems.extend(_distributed_key_problems(shape))
        problems.extend(_foreign_key_problems(shape, kinds))
    if not any(kind == "distributed" for kind in kinds.values()):
        problems.append(f"no table has {DISTRIBUTION_COLUMN}: is the database migrated? (saas migrate)")
    if problems:
        raise CitusPlanError(problems)
    distributed = _referred_first([shapes[n] for n, kind in kinds.items() if kind == "distributed"])
    return CitusPlan(
        reference_tables=tuple(sorted((n for n, k in kinds.items() if k == "reference"), key=REFERENCE_TABLES.index)),
        distributed_tables=tuple(distributed),
    )


def _distributed_key_problems(shape: TableShape) -> list[str]:
    problems = []
    if DISTRIBUTION_COLUMN not in shape.primary_key:
        problems.append(
            f"{shape.name}: primary key ({', '.join(shape.primary_key) or 'none'}) lacks {DISTRIBUTION_COLUMN}"
        )
    for key in shape.unique_keys:
        if DISTRIBUTION_COLUMN not in key:
            problems.append(f"{shape.name}: unique key ({', '.join(key)}) lacks {DISTRIBUTION_COLUMN}")
    return problems


def _foreign_key_problems(shape: TableShape, kinds: dict[str, str]) -> list[str]:
    problems = []
    source = kinds.get(shape.name)
    for fk in shape.foreign_keys:
        target = kinds.get(fk.referred_table)
        described = f"{shape.name}({', '.join(fk.columns)}) -> {fk.referred_table}({', '.join(fk.referred_columns)})"
        if target is None or source is None:
            continue  # the unplaced table is reported already
        if target == "distributed" and source != "distributed":
            problems.append(f"{described}: a {source} table cannot refer to a distributed one")
        elif target == "distributed" and (DISTRIBUTION_COLUMN, DISTRIBUTION_COLUMN) not in zip(
            fk.columns, fk.referred_columns, strict=True
        ):
            problems.append(f"{described}: must match {DISTRIBUTION_COLUMN} to {DISTRIBUTION_COLUMN}")
        elif target == "local" and fk.referred_table != shape.name:
            problems.append(f"{described}: a table kept on the coordinator cannot be referred to")
    return problems


def _referred_first(shapes: list[TableShape]) -> list[str]:
    """Distributed tables in an order where each comes after the distributed tables it refers to
    (Citus distributes a referring table only once its target is distributed); ties by name."""
    names = {shape.name for shape in shapes}
    waiting = {
        shape.name: {fk.referred_table for fk in shape.foreign_keys if fk.referred_table in names} - {shape.name}
        for shape in shapes
    }
    order: list[str] = []
    while waiting:
        ready = sorted(name for name, needs in waiting.items() if not needs)
        if not ready:
            raise CitusPlanError([f"{name}: foreign keys form a cycle" for name in sorted(waiting)])
        for name in ready:
            order.append(name)
            del waiting[name]
        for needs in waiting.values():
            needs.difference_update(ready)
    return order


# --- the shapes, from the metadata or from a database -------------------------------------------


def shapes_from_metadata(metadata: MetaData) -> list[TableShape]:
    """The tables of SQLAlchemy metadata (import `saas.models` and load the plugins first)."""
    shapes = []
    for table in metadata.tables.values():
        uniques = [
            tuple(c.name for c in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint)
        ]
        uniques += [_index_columns(index) for index in table.indexes if index.unique]
        foreign_keys = [
            ForeignKey(
                tuple(element.parent.name for element in constraint.elements),
                constraint.referred_table.name,
                tuple(element.column.name for element in constraint.elements),
            )
            for constraint in table.foreign_key_constraints
        ]
        shapes.append(
            TableShape(
                name=table.name,
                columns=frozenset(c.name for c in table.columns),
                primary_key=tuple(c.name for c in table.primary_key.columns),
                unique_keys=tuple(uniques),
                foreign_keys=tuple(foreign_keys),
            )
        )
    return shapes


def _index_columns(index: Index) -> tuple[str, ...]:
    return tuple(e.name if isinstance(e, Column) else str(e) for e in index.expressions)


def shapes_from_database(conn: Connection) -> list[TableShape]:
    """The tables of the current schema of a database, from its catalog."""
    columns = conn.execute(
        text(
            """
            SELECT c.relname, a.attname FROM pg_class c
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
            """
        )
    ).all()
    keys = conn.execute(
        text(
            """
            SELECT c.relname, i.indisprimary,
                   array_agg(coalesce(a.attname, pg_get_indexdef(i.indexrelid, k.n::int, true)) ORDER BY k.n)
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum > 0
            WHERE c.relnamespace = current_schema()::regnamespace AND i.indisunique
              AND k.n <= i.indnkeyatts
            GROUP BY c.relname, i.indexrelid, i.indisprimary
            """
        )
    ).all()
    foreign_keys = conn.execute(
        text(
            """
            SELECT c.relname, r.relname,
                   array_agg(a.attname ORDER BY k.n), array_agg(ra.attname ORDER BY k.n)
            FROM pg_constraint f
            JOIN pg_class c ON c.oid = f.conrelid
            JOIN pg_class r ON r.oid = f.confrelid
            CROSS JOIN LATERAL unnest(f.conkey, f.confkey) WITH ORDINALITY AS k(attnum, refnum, n)
            JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.attnum
            JOIN pg_attribute ra ON ra.attrelid = f.confrelid AND ra.attnum = k.refnum
            WHERE f.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
            GROUP BY c.relname, r.relname, f.oid
            """
        )
    ).all()
    table_columns: dict[str, set[str]] = {}
    for table, column in columns:
        table_columns.setdefault(table, set()).add(column)
    primary: dict[str, tuple[str, ...]] = {}
    uniques: dict[str, list[tuple[str, ...]]] = {}
    for table, is_primary, key_columns in keys:
        if is_primary:
            primary[table] = tuple(key_columns)
        else:
            uniques.setdefault(table, []).append(tuple(key_columns))
    references: dict[str, list[ForeignKey]] = {}
    for table, referred, local_columns, referred_columns in foreign_keys:
        references.setdefault(table, []).append(ForeignKey(tuple(local_columns), referred, tuple(referred_columns)))
    return [
        TableShape(
            name=table,
            columns=frozenset(names),
            primary_key=primary.get(table, ()),
            unique_keys=tuple(uniques.get(table, ())),
            foreign_keys=tuple(references.get(table, ())),
        )
        for table, names in table_columns.items()
    ]
