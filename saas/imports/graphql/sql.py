"""How ImportJob maps to SQL for the compiled reads (`rows` is read by its resolver, keyset-paged)."""

from __future__ import annotations

from saas.schema.compiler import SortKey, SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql

IMPORT_JOB: SqlType = SqlType(
    name="ImportJob",
    table="import_jobs",
    columns={
        "id": global_id_sql("ImportJob", "{t}.id"),
        "entity": "upper({t}.entity)",
        "status": "upper({t}.status)",
        "dryRun": "{t}.dry_run",
        "duplicatePolicy": "upper({t}.duplicate_policy)",
        "fileName": "{t}.file_name",
        "fileFormat": "upper({t}.file_format)",
        "encoding": "{t}.encoding",
        "mapping": compact_json("{t}.mapping"),
        "totalRows": "{t}.total_rows",
        "processedRows": "{t}.processed_rows",
        "created": "{t}.created",
        "updated": "{t}.updated",
        "skipped": "{t}.skipped",
        "failed": "{t}.failed",
        "error": "{t}.error",
        "committedAt": iso_datetime_sql("{t}.committed_at"),
        "finishedAt": iso_datetime_sql("{t}.finished_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
)

# Newest first.
IMPORT_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
