"""Export a tenant with data in every domain and a plugin, restore it as a new slug: the same answers."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from saas.demo import seed_demo
from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime
from saas.tenancy.rls import tenant_tables
from saas.tenant_data.archive import write_archive
from saas.tenant_data.restore import restore_archive
from saas.tenant_data.tables import VOLATILE_TABLES, carried_tables
from tests.conftest import login

QUERIES = {
    "customers": "{ customers(first: 100) { totalCount edges { node { id name lifecycleStage owner { name } "
    "contacts { id name email } } } } }",
    "opportunities": "{ opportunities(first: 100) { totalCount edges { node { id name stage { name } amount currency } } } }",
    "tickets": "{ tickets(first: 100) { totalCount edges { node { id number subject status } } } }",
    "articles": "{ articles(first: 100) { totalCount edges { node { id title status } } } }",
    "stock": "{ stockLevels(first: 100) { totalCount edges { node { productId warehouseId onHand reserved } } } }",
}


@pytest.fixture(scope="module")
def exported(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    slug = f"src-{secrets.token_hex(3)}"
    info = seed_demo(runtime.engine, 12, slug=slug, plugins=runtime.plugins, plugin_names=["manufacturing"])
    archive = tmp_path_factory.mktemp("export") / "tenant.tar.gz"
    with archive.open("wb") as out:
        write_archive(runtime.engine, info.tenant_id, out, plugins=runtime.plugins)
    return info, archive


def test_every_tenant_table_is_exported_or_named_volatile(runtime: Runtime, exported: tuple[Any, Path]) -> None:
    import tarfile

    import orjson

    with runtime.engine.connect() as conn:
        tables = tenant_tables(conn)
        carried = carried_tables(conn)
    assert set(tables) >= VOLATILE_TABLES, sorted(VOLATILE_TABLES - set(tables))
    assert set(carried) | VOLATILE_TABLES == set(tables)
    with tarfile.open(exported[1], "r:gz") as tar:
        manifest = orjson.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        names = set(tar.getnames())
    assert set(manifest["tables"]) == set(carried)
    assert {f"tables/{t}.jsonl" for t in carried} <= names
    assert manifest["revisions"]["core"] and manifest["tables"]["customers"]["branch"] == "core"
    assert any(entry["branch"] == "manufacturing" for entry in manifest["tables"].values())


def _answers(client: GraphQLClient) -> dict[str, Any]:
    return {name: client.data(query) for name, query in QUERIES.items()}


def test_the_restored_tenant_answers_the_same_queries(
    runtime: Runtime, anonymous: GraphQLClient, exported: tuple[Any, Path]
) -> None:
    info, archive = exported
    slug = f"copy-{secrets.token_hex(3)}"
    result = restore_archive(runtime.engine, archive, slug, plugins=runtime.plugins)
    assert result.users_matched == len(info.users) and result.users_created == 0
    source = login(anonymous, info.owner_email, info.password, info.slug)
    copy = login(anonymous, info.owner_email, info.password, slug)
    before, after = _answers(source), _answers(copy)
    assert before["customers"]["customers"]["totalCount"] >= 12
    assert before["tickets"]["tickets"]["totalCount"] > 0 and before["stock"]["stockLevels"]["totalCount"] > 0
    assert after == before
    with runtime.engine.connect() as conn:
        for table in carried_tables(conn):
            counts = conn.execute(
                text(f'SELECT tenant_id, count(*) FROM "{table}" WHERE tenant_id IN (:a, :b) GROUP BY tenant_id'),
                {"a": info.tenant_id, "b": result.tenant_id},
            ).all()
            assert len({n for _, n in counts}) <= 1, table


def test_missing_accounts_are_created_with_their_password_hash(
    runtime: Runtime, anonymous: GraphQLClient, tenant, tmp_path: Path
) -> None:
    from saas.accounts.models import User
    from saas.tenancy.session import tenant_session

    archive = tmp_path / "t.tar.gz"
    with archive.open("wb") as out:
        write_archive(runtime.engine, tenant.id, out, plugins=runtime.plugins)
    with tenant_session(runtime.engine, None) as session:  # the account goes by another e-mail here
        user = session.query(User).filter(User.email == tenant.owner_email).one()
        user.email = f"renamed-{secrets.token_hex(3)}@example.com"
    slug = f"acc-{secrets.token_hex(3)}"
    result = restore_archive(runtime.engine, archive, slug, plugins=runtime.plugins)
    assert (result.users_created, result.users_matched) == (1, 0)
    login(anonymous, tenant.owner_email, tenant.password, slug)


SENSITIVE_QUERIES = {
    "customers": "{ customers(first: 10) { totalCount edges { node { id name customFields "
    "contacts { id name phone email } } } } }",
    "found": '{ customers(first: 10, filter: {customField: {key: "nationalId", equals: "AB1234567890"}}) '
    "{ totalCount edges { node { id } } } }",
}


def test_sensitive_values_open_and_are_found_in_the_restored_tenant(
    runtime: Runtime, anonymous: GraphQLClient, owner: GraphQLClient, tenant, tmp_path: Path
) -> None:
    """The archive carries sealed values and wrapped keys, bound to the source tenant: the restore
    binds them to the new one (same key material, same blind indexes), never writing a plaintext."""
    from tests.schema.helpers import create_contact, create_customer, define_custom_fields
    from tests.sensitive.helpers import sensitive_reads, stored_custom_fields

    define_custom_fields(owner, nationalId="SENSITIVE")
    customer = create_customer(owner, name="Acme", customFields={"nationalId": "AB1234567890"})
    create_customer(owner, name="Bolt", customFields={"nationalId": "ZZ9876543210"})
    owner.data(
        "mutation($input: SetSensitiveFieldsInput!) { setSensitiveFields(input: $input) { userErrors { code } } }",
        {"input": {"entity": "CONTACT", "fields": ["phone"]}},
    )
    create_contact(owner, customer["id"], name="Jane", phone="+442079460958", email="jane@acme.example.com")
    archive = tmp_path / "t.tar.gz"
    with archive.open("wb") as out:
        write_archive(runtime.engine, tenant.id, out, plugins=runtime.plugins)
    result = restore_archive(runtime.engine, archive, f"sens-{secrets.token_hex(3)}", plugins=runtime.plugins)
    copy = login(anonymous, tenant.owner_email, tenant.password, result.slug)

    before = {name: owner.data(query) for name, query in SENSITIVE_QUERIES.items()}
    after = {name: copy.data(query) for name, query in SENSITIVE_QUERIES.items()}
    nodes = {edge["node"]["id"]: edge["node"] for edge in before["customers"]["customers"]["edges"]}
    assert nodes[customer["id"]]["customFields"] == {"nationalId": "AB1234567890"}
    assert nodes[customer["id"]]["contacts"][0]["phone"] == "+442079460958"
    assert before["found"]["customers"]["edges"] == [{"node": {"id": customer["id"]}}]
    assert after == before
    assert sensitive_reads(runtime, result.tenant_id) > 0  # the copy's reads are audited in the copy
    # Still sealed, now bound to the new tenant: the source's stored object no longer opens there.
    source = stored_custom_fields(runtime, tenant.id, customer["id"])["nationalId"]
    restored = stored_custom_fields(runtime, result.tenant_id, customer["id"])["nationalId"]
    assert "AB1234567890" not in str(restored)
    assert restored["bi"] == source["bi"] and restored["mask"] == source["mask"]
    assert restored["$sensitive"] != source["$sensitive"]
