"""The foreign-key order of restores and purges, cycles and self-references included."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Integer, MetaData, Table

from saas.tenant_data.tables import TableShape, dependency_order


def _shapes(*tables: Table) -> dict[str, TableShape]:
    shapes = {}
    for table in tables:
        shape = TableShape(table, ("tenant_id", "id"))
        for fk in table.foreign_key_constraints:
            targets = [e.target_fullname.split(".") for e in fk.elements]
            shape.references.append((tuple(fk.column_keys), targets[0][-2], tuple(t[-1] for t in targets)))
        shapes[table.name] = shape
    return shapes


def _table(metadata: MetaData, name: str, *refs: tuple[str, str]) -> Table:
    columns = [Column("tenant_id", Integer, primary_key=True), Column("id", Integer, primary_key=True)]
    columns += [Column(column, Integer, nullable=True) for column, _ in refs]
    constraints = [
        ForeignKeyConstraint(["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"]) for column, target in refs
    ]
    return Table(name, metadata, *columns, *constraints)


def test_parents_come_first_and_self_references_are_deferred() -> None:
    metadata = MetaData()
    shapes = _shapes(
        _table(metadata, "lines", ("order_id", "orders")),
        _table(metadata, "orders", ("customer_id", "customers")),
        _table(metadata, "customers", ("parent_id", "customers")),
    )
    order, deferred = dependency_order(shapes)
    assert order == ["customers", "orders", "lines"]
    assert deferred == {"customers": {("parent_id",)}}


def test_a_cycle_between_tables_is_broken_at_one_reference() -> None:
    metadata = MetaData()
    shapes = _shapes(
        _table(metadata, "a", ("b_id", "b")),
        _table(metadata, "b", ("a_id", "a")),
        _table(metadata, "c", ("a_id", "a")),
    )
    order, deferred = dependency_order(shapes)
    assert order.index("a") < order.index("c") and len(order) == 3
    assert deferred == {"a": {("b_id",)}}
