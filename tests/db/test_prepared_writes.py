"""Write statements prepared on the session's connection (`saas/db/prepared_writes.py`): one
statement serving many tenants on one connection, each seeing only its own rows, on its generic
plan from its first execution, and a connection whose message failed, or whose prepared statements
went away, preparing them again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, create_engine, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine.result import IteratorResult
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidRequestError
from sqlalchemy.pool import StaticPool

from saas.auth.permissions import ALL_PERMISSIONS
from saas.auth.principal import Principal
from saas.config import Settings
from saas.customers import service as customers
from saas.db import prepared_writes
from saas.db.engine import CONNECT_ARGS, app_url, create_app_engine
from saas.db.prepared_writes import PreparedWrite
from saas.db.statements import counting
from saas.deals.models import Opportunity, PipelineStage
from saas.deals.service.pipeline import move_opportunity_to
from saas.errors import InputInvalid, UserErrorCode
from saas.schema.relay import from_global_id, to_global_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import create_customer, create_opportunity, stages


@pytest.fixture
def one_connection(settings: Settings, migrated: str) -> Iterator[Engine]:
    """An engine of one connection, as the application role (row-level security on): every
    tenant's writes run the same prepared statements on it, on the generic plans the writes
    themselves ask for (`GENERIC_PLANS_SQL`)."""
    engine = create_engine(app_url(settings, migrated), poolclass=StaticPool, connect_args=CONNECT_ARGS)
    yield engine
    engine.dispose()


def _principal(tenant_id: uuid.UUID) -> Principal:
    return Principal(tenant_id=tenant_id, label="test", permissions=ALL_PERMISSIONS)


def _create(engine: Engine, tenant_id: uuid.UUID, name: str) -> uuid.UUID:
    with tenant_session(engine, tenant_id) as session:
        return customers.create_customer(session, _principal(tenant_id), {"name": name}).id


def _plans(engine: Engine) -> dict[str, tuple[int, int]]:
    """The connection's prepared statements: (generic plans, custom plans) of each."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {statement: (generic, custom) for statement, generic, custom in rows}


def _prepared(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT name FROM pg_prepared_statements ORDER BY name").scalars())


def test_one_prepared_statement_serves_every_tenant_and_each_sees_only_its_own_rows(
    one_connection: Engine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    first = _create(one_connection, tenant.id, "Twin Name Ltd")
    prepared = _prepared(one_connection)
    assert len(prepared) >= 2  # the duplicate lookup; the INSERT with its audit entry and event
    # The other tenant, the same statements on the same connection: the first tenant's customer
    # is not a duplicate of its own, and its new customer is its own.
    second = _create(one_connection, other_tenant.id, "Twin Name Ltd")
    assert _prepared(one_connection) == prepared  # none prepared twice
    with pytest.raises(InputInvalid) as refused:
        _create(one_connection, tenant.id, "Twin Name Ltd")  # the tenant's own customer: a duplicate
    assert [error.code for error in refused.value.errors] == [UserErrorCode.DUPLICATE]
    assert to_global_id("Customer", first) in refused.value.errors[0].message
    for tenant_id, own, foreign in ((tenant.id, first, second), (other_tenant.id, second, first)):
        with tenant_session(one_connection, tenant_id) as session:
            seen = set(session.execute(text("SELECT id FROM customers WHERE name = 'Twin Name Ltd'")).scalars())
        assert seen == {own} and foreign not in seen


def test_a_move_of_another_tenants_opportunity_on_the_prepared_read_finds_nothing(
    one_connection: Engine, owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, other_tenant: Any
) -> None:
    mine = create_opportunity(owner, create_customer(owner, "Mine Ltd"))
    theirs = create_opportunity(other_owner, create_customer(other_owner, "Theirs Ltd"))
    my_stage = from_global_id(stages(owner)["Proposal"]["id"])[1]
    their_stage = from_global_id(stages(other_owner)["Proposal"]["id"])[1]
    with tenant_session(one_connection, tenant.id) as session:  # prepares the move's read
        moved, _, _ = move_opportunity_to(session, _principal(tenant.id), from_global_id(mine["id"])[1], my_stage, None)
    assert moved.version == 2
    for opportunity, stage in ((mine, their_stage), (mine, my_stage)):
        with pytest.raises(InputInvalid) as refused, tenant_session(one_connection, other_tenant.id) as session:
            move_opportunity_to(session, _principal(other_tenant.id), from_global_id(opportunity["id"])[1], stage, None)
        assert [error.code for error in refused.value.errors] == [UserErrorCode.NOT_FOUND]
    with tenant_session(one_connection, other_tenant.id) as session:  # its own still moves
        moved, _, _ = move_opportunity_to(
            session, _principal(other_tenant.id), from_global_id(theirs["id"])[1], their_stage, None
        )
    assert moved.version == 2
    with tenant_session(one_connection, tenant.id) as session:
        versions = session.execute(text("SELECT version FROM opportunities")).scalars().all()
    assert versions == [2]  # the other tenant's attempts changed nothing here


def test_a_failed_message_leaves_the_connection_ready_to_prepare_again(
    one_connection: Engine, tenant: TenantHandle
) -> None:
    """The message that prepared the statement failed after its PREPARE (which a rollback keeps):
    the next use drops the connection's statements first, so it does not prepare a name twice."""
    divide = PreparedWrite(text("SELECT 10 / CAST(:divisor AS int)"))
    with pytest.raises(DBAPIError), tenant_session(one_connection, tenant.id) as session:
        divide.execute(session, {"divisor": 0})
    with tenant_session(one_connection, tenant.id) as session:
        assert divide.execute(session, {"divisor": 2}).scalar_one() == 5
    with tenant_session(one_connection, tenant.id) as session:  # prepared: EXECUTE alone
        assert divide.execute(session, {"divisor": 5}).scalar_one() == 2


def test_statements_dropped_behind_the_connections_back_are_prepared_again(
    one_connection: Engine, tenant: TenantHandle
) -> None:
    """`DEALLOCATE ALL` sent by someone else: the next write's EXECUTE fails (its transaction
    rolls back, nothing written), and the connection prepares its statements again after it."""
    _create(one_connection, tenant.id, "Before Ltd")
    with one_connection.connect() as connection:
        connection.exec_driver_sql("DEALLOCATE ALL")
        connection.commit()
    with pytest.raises(DBAPIError):
        _create(one_connection, tenant.id, "Lost Ltd")
    _create(one_connection, tenant.id, "After Ltd")
    with tenant_session(one_connection, tenant.id) as session:
        names = set(session.execute(text("SELECT name FROM customers")).scalars())
    assert names == {"Before Ltd", "After Ltd"}


def test_with_prepared_writes_off_the_statements_go_as_text(
    settings: Settings, migrated: str, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """`DB_PREPARED_WRITES=false` (a connection pooler in transaction mode): nothing is prepared,
    the same rows are written and the same rules hold."""
    engine = create_app_engine(settings.model_copy(update={"db_prepared_writes": False}), migrated)
    try:
        _create(engine, tenant.id, "Plain Ltd")
        _create(engine, other_tenant.id, "Plain Ltd")  # the other tenant's is not a duplicate of it
        with pytest.raises(InputInvalid) as refused:
            _create(engine, tenant.id, "Plain Ltd")
        assert [error.code for error in refused.value.errors] == [UserErrorCode.DUPLICATE]
        assert _prepared(engine) == []
    finally:
        engine.dispose()


def test_the_write_statements_run_on_their_generic_plans_from_the_first_execution(
    one_connection: Engine, owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, other_tenant: Any
) -> None:
    """PostgreSQL's default (`auto`) plans a prepared statement for its values on its first 5
    executions; the writes ask for the generic plan in their transaction, so every execution of
    the duplicate lookup, the customer's INSERT with its event, the move's read and its UPDATE
    runs the one generic plan, for either tenant, and the setting ends with the transaction."""
    mine = from_global_id(create_opportunity(owner, create_customer(owner, "Mine Ltd"))["id"])[1]
    theirs = from_global_id(create_opportunity(other_owner, create_customer(other_owner, "Theirs Ltd"))["id"])[1]
    my_stages = [from_global_id(stages(owner)[name]["id"])[1] for name in ("Proposal", "Negotiation")]
    their_stages = [from_global_id(stages(other_owner)[name]["id"])[1] for name in ("Proposal", "Negotiation")]
    for index in range(6):  # alternating tenants: 12 executions of each statement
        for tenant_id, opportunity, targets in ((tenant.id, mine, my_stages), (other_tenant.id, theirs, their_stages)):
            _create(one_connection, tenant_id, f"Generic {index} Ltd")
            with tenant_session(one_connection, tenant_id) as session:
                moved, _, _ = move_opportunity_to(session, _principal(tenant_id), opportunity, targets[index % 2], None)
                assert session.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one() == (
                    "force_generic_plan"
                )
            assert moved.version == index + 2
    plans = _plans(one_connection)
    looked_up = [counts for statement, counts in plans.items() if "name_key" in statement]
    inserted = [counts for statement, counts in plans.items() if "INSERT INTO customers" in statement]
    read = [counts for statement, counts in plans.items() if "FOR UPDATE" in statement]
    updated = [counts for statement, counts in plans.items() if "UPDATE opportunities" in statement]
    assert looked_up and inserted and read and updated
    assert len(plans) >= 4  # the lookup, the INSERT with the customer's event, the read, the UPDATE
    for generic, custom in plans.values():
        assert custom == 0 and generic >= 12
    with one_connection.connect() as connection:  # the next transaction on the connection: the default
        assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar_one() == "auto"
    with tenant_session(one_connection, tenant.id) as session:  # each tenant still sees only its own
        names = set(session.execute(text("SELECT name FROM customers")).scalars())
    assert names == {"Mine Ltd", *(f"Generic {index} Ltd" for index in range(6))}


def test_a_savepoint_rolled_back_takes_the_setting_with_it_and_the_next_write_asks_again(
    one_connection: Engine, tenant: TenantHandle
) -> None:
    double = PreparedWrite(text("SELECT 2 * CAST(:value AS int), current_setting('plan_cache_mode')"))
    with tenant_session(one_connection, tenant.id) as session:
        savepoint = session.begin_nested()
        assert tuple(double.execute(session, {"value": 2}).one()) == (4, "force_generic_plan")
        savepoint.rollback()
        assert session.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one() == "auto"
        assert tuple(double.execute(session, {"value": 3}).one()) == (6, "force_generic_plan")
    assert all(custom == 0 for _, custom in _plans(one_connection).values())


def test_the_moved_opportunity_and_its_stage_hold_the_rows_as_stored(
    one_connection: Engine, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    """The objects a move returns when the session did not hold the opportunity (built from the
    read row, `_as_read`): every column as the database has it after the commit, the tenant's
    own, in no session."""
    opportunity_id = from_global_id(create_opportunity(owner, create_customer(owner, "Held Ltd"))["id"])[1]
    stage_id = from_global_id(stages(owner)["Proposal"]["id"])[1]
    with tenant_session(one_connection, tenant.id) as session:
        moved, stage, _ = move_opportunity_to(session, _principal(tenant.id), opportunity_id, stage_id, None)
        assert moved not in session and stage not in session
    assert sa_inspect(moved).transient and sa_inspect(stage).transient
    with tenant_session(one_connection, tenant.id) as session:
        stored = session.get(Opportunity, (tenant.id, opportunity_id))
        stored_stage = session.get(PipelineStage, (tenant.id, stage_id))
        for row, read in ((moved, stored), (stage, stored_stage)):
            columns = [attr.key for attr in sa_inspect(type(row)).column_attrs]
            assert {key: getattr(row, key) for key in columns} == {key: getattr(read, key) for key in columns}
    assert (moved.tenant_id, moved.stage_id, moved.version, stage.tenant_id) == (tenant.id, stage_id, 2, tenant.id)


def _typed_read() -> PreparedWrite:
    """A typed read of an opportunity's columns (UUIDs, a Decimal, timestamps, an enum's text) and
    an untyped JSON column, as the move's read is built."""
    table: Any = Opportunity.__table__
    return PreparedWrite(
        select(*table.c, text("'{\"a\": [1, 2]}'::jsonb AS extra"))
        .where(table.c.tenant_id == bindparam("t", type_=table.c.tenant_id.type))
        .where(table.c.id == bindparam("i", type_=table.c.id.type))
    )


def test_the_driver_cursor_gives_the_rows_connection_execute_gives(
    one_connection: Engine, owner: GraphQLClient, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `EXECUTE` on the driver's cursor (`_Direct`) and through `Connection.execute`: the same
    keys, values and value types, the same `first()`, `one()`, `scalar_one()`, `_mapping`."""
    opportunity_id = from_global_id(create_opportunity(owner, create_customer(owner, "Rows Ltd"))["id"])[1]
    params = {"t": tenant.id, "i": opportunity_id}
    direct = _typed_read()
    with tenant_session(one_connection, tenant.id) as session:
        fast = direct.execute(session, params)
        assert isinstance(fast, IteratorResult)  # the driver's cursor
        fast_rows = fast.all()
    monkeypatch.setattr(prepared_writes, "_CURSOR_EXECUTE", False)
    plain = _typed_read()
    with tenant_session(one_connection, tenant.id) as session:
        slow = plain.execute(session, params)
        assert not isinstance(slow, IteratorResult)
        slow_keys, slow_rows = list(slow.keys()), slow.all()
    assert len(fast_rows) == len(slow_rows) == 1
    assert list(fast_rows[0]._mapping) == slow_keys
    assert [(value, type(value)) for value in fast_rows[0]] == [(value, type(value)) for value in slow_rows[0]]
    assert isinstance(fast_rows[0]._mapping["amount"], Decimal) and fast_rows[0]._mapping["extra"] == {"a": [1, 2]}
    assert fast_rows[0]._mapping["id"] == opportunity_id
    monkeypatch.undo()
    with tenant_session(one_connection, tenant.id) as session:
        assert direct.execute(session, params).one().id == opportunity_id
        assert direct.execute(session, params).first()._mapping["tenant_id"] == tenant.id
        assert direct.execute(session, {**params, "i": uuid.uuid4()}).first() is None
        count = PreparedWrite(text("SELECT count(*) FROM opportunities WHERE id = :i"))
        assert count.execute(session, {"i": opportunity_id}).scalar_one() == 1


def test_the_driver_cursor_keeps_the_tenant_wall(
    one_connection: Engine, owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """Another tenant asking for the first tenant's opportunity by its own `tenant_id` or by the
    first tenant's gets nothing: the statement's own condition, then row-level security (the
    application role)."""
    opportunity_id = from_global_id(create_opportunity(owner, create_customer(owner, "Wall Ltd"))["id"])[1]
    read = _typed_read()
    with tenant_session(one_connection, other_tenant.id) as session:
        for tenant_id in (other_tenant.id, tenant.id):
            assert read.execute(session, {"t": tenant_id, "i": opportunity_id}).all() == []
    with tenant_session(one_connection, tenant.id) as session:
        assert len(read.execute(session, {"t": tenant.id, "i": opportunity_id}).all()) == 1


def test_the_driver_cursor_translates_errors_counts_statements_and_refuses_a_missing_value(
    one_connection: Engine, tenant: TenantHandle
) -> None:
    """A failed statement raises SQLAlchemy's error (`IntegrityError` for a unique violation) and
    writes nothing; each `EXECUTE` is one statement for the counter (the tenant setting and the
    `PREPARE` ride in front of the first); a parameter without a value is refused before anything
    is sent, as `Connection.execute` refuses it."""
    insert_customer = PreparedWrite(
        text("INSERT INTO customers (tenant_id, id, name) VALUES (CAST(:t AS uuid), CAST(:i AS uuid), :n)")
    )
    customer_id = uuid.uuid4()
    with counting() as statements, tenant_session(one_connection, tenant.id) as session:
        result = insert_customer.execute(session, {"t": tenant.id, "i": customer_id, "n": "Once Ltd"})
        assert result.all() == []  # no rows returned
    assert statements[0] == 1  # the INSERT, with the setting, the plan mode and the PREPARE in front
    with pytest.raises(IntegrityError), tenant_session(one_connection, tenant.id) as session:
        insert_customer.execute(session, {"t": tenant.id, "i": uuid.uuid4(), "n": "Twice Ltd"})
        insert_customer.execute(session, {"t": tenant.id, "i": customer_id, "n": "Twice Ltd"})
    with pytest.raises(InvalidRequestError, match="A value is required for bind parameter 'n'"):
        with tenant_session(one_connection, tenant.id) as session:
            insert_customer.execute(session, {"t": tenant.id, "i": uuid.uuid4()})
    with tenant_session(one_connection, tenant.id) as session:
        names = session.execute(text("SELECT name FROM customers")).scalars().all()
    assert names == ["Once Ltd"]


def test_a_value_whose_type_does_not_decide_its_declared_type_is_looked_at_each_time(
    one_connection: Engine, tenant: TenantHandle
) -> None:
    """Datetimes with and without a zone have one Python type but two declared types
    (`timestamptz`, `timestamp`): the form found by the values' types is checked against each
    value, so each runs as its own prepared statement, in any order."""
    typed = PreparedWrite(text("SELECT pg_typeof(:at)::text"))
    aware, naive = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5)
    with tenant_session(one_connection, tenant.id) as session:
        seen = [typed.execute(session, {"at": value}).scalar_one() for value in (aware, naive, aware, naive)]
    assert seen == ["timestamp with time zone", "timestamp without time zone"] * 2
