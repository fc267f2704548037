"""Migration 0007 on a database with data, as an owner bound by forced row-level security.

Events get UUIDs (their old number becomes the internal `seq`), deliveries name their event by
that UUID, and pending events keep going to the webhooks that were live.
"""

from __future__ import annotations

import uuid

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL

from saas.config import Settings
from saas.db.engine import create_owner_engine
from saas.db.migrate import alembic_config, migrate
from saas.tenancy.rls import ensure_app_role, secure_schema
from tests.db.test_migrate import plain_owner  # noqa: F401  (the fixture)


def _before_0007() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0007")
    assert revision is not None and isinstance(revision.down_revision, str)
    return revision.down_revision


def test_events_and_deliveries_keep_their_links(plain_owner: tuple[URL, str]) -> None:  # noqa: F811
    url, app_role = plain_owner
    url_text = url.render_as_string(hide_password=False)
    settings = Settings(SAAS_ENV="test", DATABASE_URL=url_text, SAAS_APP_ROLE=app_role)
    owner = create_owner_engine(url_text)
    tenant, webhook, deleted, delivery = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        with owner.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            ensure_app_role(conn, settings)
            command.upgrade(alembic_config(conn), _before_0007())
            secure_schema(conn, settings)  # forced RLS, as a deployed database has it
        with owner.begin() as conn:
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
            conn.execute(text("INSERT INTO tenants (id, slug, name) VALUES (:t, 'm8', 'M8')"), {"t": tenant})
            for webhook_id, deleted_at in ((webhook, None), (deleted, "2026-01-01")):
                conn.execute(
                    text(
                        "INSERT INTO webhooks (tenant_id, id, url, events, secret_encrypted, deleted_at) "
                        "VALUES (:t, :w, 'https://example.com/h', '{*}', 'x', :d)"
                    ),
                    {"t": tenant, "w": webhook_id, "d": deleted_at},
                )
            done = conn.execute(
                text(
                    "INSERT INTO outbox_events (tenant_id, type, payload, dispatched_at) "
                    "VALUES (:t, 'customer.created', '{}', now()) RETURNING id"
                ),
                {"t": tenant},
            ).scalar_one()
            pending = conn.execute(
                text(
                    "INSERT INTO outbox_events (tenant_id, type, payload) VALUES (:t, 'customer.updated', '{}') "
                    "RETURNING id"
                ),
                {"t": tenant},
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, payload, "
                    "occurred_at) VALUES (:t, :d, :w, :e, 'customer.created', '{}', now())"
                ),
                {"t": tenant, "d": delivery, "w": webhook, "e": done},
            )

        migrate(owner, settings)

        with owner.begin() as conn:
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
            events = conn.execute(
                text("SELECT seq, id, webhook_ids, dispatched_at IS NULL AS pending FROM outbox_events ORDER BY seq")
            ).all()
            assert [e.seq for e in events] == [done, pending]
            assert all(isinstance(e.id, uuid.UUID) for e in events) and events[0].id != events[1].id
            assert events[1].pending and events[1].webhook_ids == [webhook]  # the live one only
            event_id = conn.execute(
                text("SELECT event_id FROM webhook_deliveries WHERE id = :d"), {"d": delivery}
            ).scalar_one()
            assert event_id == events[0].id
            forced = conn.execute(
                text("SELECT bool_and(relforcerowsecurity) FROM pg_class WHERE relname = ANY(:names)"),
                {"names": ["outbox_events", "webhook_deliveries", "webhooks"]},
            ).scalar_one()
            assert forced
    finally:
        owner.dispose()
