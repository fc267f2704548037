"""The Citus plan against the migrated database: every table covered, every tenant table distributed
on tenant_id and colocated, the global tables replicated, and the schema's keys as Citus needs them.

The catalog checks below are plain SQL of their own, not the plan module's, so that the module
is checked against the database rather than against itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, text

import saas.models
from saas.cli import main
from saas.db.engine import create_owner_engine
from saas.runtime import load_plugins
from saas.tenancy.citus import (
    COORDINATOR_TABLES,
    CitusPlan,
    CitusPlanError,
    citus_plan,
    shapes_from_database,
    shapes_from_metadata,
)
from saas.tenancy.rls import GLOBAL_TABLES, tenant_tables

CALL = re.compile(
    r"SELECT (create_reference_table|create_distributed_table)\('([^']+)'(?:, '([^']+)')?(?:, colocate_with => '([^']+)')?\)"
)


@pytest.fixture(scope="module")
def owner(migrated: str) -> Iterator[Engine]:
    engine = create_owner_engine(migrated)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def database_plan(owner: Engine) -> CitusPlan:
    with owner.connect() as conn:
        return citus_plan(shapes_from_database(conn))


def all_tables(conn: Connection) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')"
        )
    )
    return {row[0] for row in rows}


def test_every_table_of_the_database_is_placed(owner: Engine, database_plan: CitusPlan) -> None:
    with owner.connect() as conn:
        tables, tenants = all_tables(conn), set(tenant_tables(conn))
    plan = database_plan
    placed = [*plan.reference_tables, *plan.distributed_tables, *plan.local_tables]
    assert len(placed) == len(set(placed)), "no table is placed twice"
    assert set(placed) == tables
    assert set(plan.distributed_tables) == tenants
    assert plan.reference_tables == GLOBAL_TABLES == ("tenants", "users")
    assert plan.local_tables == COORDINATOR_TABLES
    # The installed plugins' tables are distributed like the core's.
    assert {"mfg_orders", "mfg_stock_movements", "loyalty_entries"} <= set(plan.distributed_tables)


def test_the_plan_from_the_models_places_the_same_tables(database_plan: CitusPlan) -> None:
    """The installed code's models and the migrated database agree: no table is the migrations' alone."""
    load_plugins()
    from_models = citus_plan(shapes_from_metadata(saas.models.Base.metadata))
    assert set(from_models.distributed_tables) == set(database_plan.distributed_tables)
    assert from_models.reference_tables == database_plan.reference_tables


def test_the_statements_distribute_on_tenant_id_colocated_after_the_tables_they_refer_to(
    owner: Engine, database_plan: CitusPlan
) -> None:
    calls = [CALL.match(statement) for statement in database_plan.statements()]
    assert all(calls), database_plan.statements()
    reference = [m[2] for m in calls if m and m[1] == "create_reference_table"]
    distributed = [(m[2], m[3], m[4]) for m in calls if m and m[1] == "create_distributed_table"]
    assert reference == ["tenants", "users"]
    assert all(column == "tenant_id" for _, column, _ in distributed)
    anchor = distributed[0][0]
    assert distributed[0][2] is None
    assert all(colocate == anchor for _, _, colocate in distributed[1:]), "one colocation group"
    # Reference tables first, then each distributed table after those it refers to.
    position = {name: i for i, name in enumerate([*reference, *(name for name, _, _ in distributed)])}
    with owner.connect() as conn:
        references = conn.execute(
            text(
                """
                SELECT c.relname, r.relname FROM pg_constraint f
                JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class r ON r.oid = f.confrelid
                WHERE f.contype = 'f' AND c.relnamespace = current_schema()::regnamespace AND c.oid <> r.oid
                """
            )
        ).all()
    assert references
    for referring, referred in references:
        assert position[referred] < position[referring], (referring, referred)


def test_every_key_of_a_tenant_table_includes_tenant_id(owner: Engine) -> None:
    """Citus enforces a primary key or unique constraint only within a shard: it must hold tenant_id."""
    with owner.connect() as conn:
        lacking = conn.execute(
            text(
                """
                SELECT c.relname, ic.relname FROM pg_index i
                JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
                WHERE c.relnamespace = current_schema()::regnamespace AND i.indisunique
                  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
                  AND NOT EXISTS (
                      SELECT 1 FROM pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnum = ANY (i.indkey::int2[])
                  )
                """
            )
        ).all()
        primary_keys = conn.execute(
            text(
                """
                SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                WHERE c.relnamespace = current_schema()::regnamespace AND i.indisprimary
                  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
                """
            )
        ).scalar_one()
        tenants = tenant_tables(conn)
    assert lacking == []
    assert primary_keys == len(tenants), "every tenant table has a primary key"


def test_foreign_keys_between_tenant_tables_match_tenant_id(owner: Engine) -> None:
    with owner.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT c.relname, r.relname, f.conname,
                       EXISTS (
                           SELECT 1 FROM unnest(f.conkey, f.confkey) AS k(attnum, refnum)
                           JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.attnum
                           JOIN pg_attribute ra ON ra.attrelid = f.confrelid AND ra.attnum = k.refnum
                           WHERE a.attname = 'tenant_id' AND ra.attname = 'tenant_id'
                       ) AS matched,
                       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'),
                       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attname = 'tenant_id')
                FROM pg_constraint f
                JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class r ON r.oid = f.confrelid
                WHERE f.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
                """
            )
        ).all()
    between_tenant_tables = [row for row in rows if row[4] and row[5]]
    assert len(between_tenant_tables) > 20
    assert [row[:3] for row in between_tenant_tables if not row[3]] == []
    # Nothing without a tenant refers to a tenant table (a reference table cannot refer to a distributed one).
    assert [row[:3] for row in rows if row[5] and not row[4]] == []
    # Tenant tables refer to global tables only through tenants and users (reference tables).
    assert {row[1] for row in rows if row[4] and not row[5]} == {"tenants", "users"}


@pytest.mark.parametrize(
    ("ddl", "named", "reason"),
    [
        ("CREATE TABLE stray_things (id int PRIMARY KEY)", "stray_things", "has no tenant_id"),
        (
            "CREATE TABLE coupon_codes (tenant_id uuid, id uuid, code text UNIQUE, PRIMARY KEY (tenant_id, id))",
            "coupon_codes",
            "unique key (code) lacks tenant_id",
        ),
        (
            "CREATE TABLE coupon_uses (tenant_id uuid, id uuid, PRIMARY KEY (id))",
            "coupon_uses",
            "primary key (id) lacks tenant_id",
        ),
        (
            "CREATE TABLE coupon_claims (tenant_id uuid, id uuid, customer_id uuid, PRIMARY KEY (tenant_id, id),"
            " customer_tenant uuid, FOREIGN KEY (customer_tenant, customer_id) REFERENCES customers (tenant_id, id))",
            "coupon_claims",
            "must match tenant_id to tenant_id",
        ),
    ],
)
def test_a_table_the_plan_cannot_place_fails_naming_it(owner: Engine, ddl: str, named: str, reason: str) -> None:
    with owner.connect() as conn, conn.begin() as transaction:
        conn.execute(text(ddl))
        with pytest.raises(CitusPlanError) as failure:
            citus_plan(shapes_from_database(conn))
        transaction.rollback()
    assert any(problem.startswith(named) and reason in problem for problem in failure.value.problems), failure.value


def test_saas_db_citus_plan_prints_the_statements(migrated: str, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    runner = CliRunner()
    from_database = runner.invoke(main, ["db", "citus-plan"], catch_exceptions=False)
    assert from_database.exit_code == 0, from_database.output
    assert "SELECT create_reference_table('tenants')" in from_database.output
    assert "SELECT create_distributed_table('customers', 'tenant_id', colocate_with => " in from_database.output
    from_models = runner.invoke(main, ["db", "citus-plan", "--from-models"], catch_exceptions=False)
    assert from_models.exit_code == 0, from_models.output

    def placed(output: str) -> set[tuple[str, str]]:
        return {(m[1], m[2]) for m in map(CALL.match, output.splitlines()) if m}

    assert len(placed(from_database.output)) > 40
    assert placed(from_database.output) == placed(from_models.output)
