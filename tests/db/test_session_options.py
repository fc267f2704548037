"""Every connection of the application role, the ORM's and the compiled reads', runs with the
session options of `saas.db.engine`: UTC, and no JIT compilation (a report's statement was
compiled for longer than it ran)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from saas.config import Settings
from saas.db.engine import create_app_engine, create_read_pool


def test_the_orm_pool_runs_in_utc_without_jit(settings: Settings, migrated: str) -> None:
    engine = create_app_engine(settings, migrated)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW jit")).scalar() == "off"
            assert connection.execute(text("SHOW timezone")).scalar() == "UTC"
            assert connection.execute(text("SELECT current_user")).scalar() == settings.app_role
    finally:
        engine.dispose()


def test_the_read_pool_runs_in_utc_without_jit(settings: Settings, migrated: str) -> None:
    pool = create_read_pool(settings, migrated)

    async def read() -> tuple[str, ...] | None:
        link = await pool.acquire()
        try:
            return await link.fetch_one("SELECT current_setting('jit'), current_setting('timezone'), current_user", {})
        finally:
            pool.release(link)

    try:
        assert asyncio.run(read()) == ("off", "UTC", settings.app_role)
    finally:
        pool.close()
