# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""The knowledge base's search and the work orders' exclusion constraint work on the embedded PostgreSQL
too: its build has pg_trgm, btree_gin and btree_gist, and compares jieba's words as the machine's does.

Started in a temporary directory, as `saas serve` starts it when no DATABASE_URL is set."""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa

from saas.db.migrate import EXTENSIONS
from saas.embedded import start_postgres, stop_postgres
from saas.knowledge import text as search_text


def test_the_embedded_server_has_the_extensions_and_finds_chinese_words() -> None:
    with tempfile.TemporaryDirectory(prefix="saas-kb-") as tmp:
        data_dir = Path(tmp)
        engine = sa.create_engine(start_postgres(data_dir))
        try:
            with engine.begin() as conn:
                for extension in EXTENSIONS:
                    conn.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
                conn.execute(
                    sa.text(
                        "CREATE TABLE booking (tenant uuid, who uuid, starts timestamptz, ends timestamptz,"
                        " EXCLUDE USING gist (tenant WITH =, who WITH =, tstzrange(starts, ends) WITH &&))"
                    )
                )
                conn.execute(sa.text("CREATE TABLE doc (tenant uuid, words tsvector, body text)"))
                conn.execute(sa.text("CREATE INDEX ON doc USING gin (tenant, words)"))
                conn.execute(sa.text("CREATE INDEX ON doc USING gin (tenant, body gin_trgm_ops)"))
                title = "无法登录账户，密码重置邮件没有收到"
                conn.execute(
                    sa.text("INSERT INTO doc VALUES (gen_random_uuid(), CAST(:v AS tsvector), :b)"),
                    {"v": search_text.document_vector([(title, "A")]), "b": search_text.spaced_text(title)},
                )
                row = conn.execute(
                    sa.text(
                        "SELECT ts_rank_cd(words, q) > 0, ts_headline('simple', body, q, 'StartSel=<b>, StopSel=</b>'),"
                        " word_similarity('密码', body) FROM doc, CAST(:q AS tsquery) q WHERE words @@ q"
                    ),
                    {"q": search_text.query_terms("密码重置")},
                ).one()
            assert row[0] is True
            assert "<b>密码</b><b>重置</b>" in search_text.readable_snippet(row[1])
            assert row[2] == 1.0  # pg_trgm sees Chinese characters as word characters there too
        finally:
            engine.dispose()
            stop_postgres(data_dir)
