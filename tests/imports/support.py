"""Helpers of the import tests: files, the import mutations, and running an import's chunks."""

from __future__ import annotations

import base64
import io
import uuid
from typing import Any

from sqlalchemy import func, select

from saas.customers.models import Customer
from saas.imports.steps import run_step
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient

ERRORS = "userErrors { field code message }"
JOB_FIELDS = (
    "id entity status dryRun duplicatePolicy fileName fileFormat encoding mapping totalRows processedRows "
    "created updated skipped failed error"
)
START = f"""mutation($input: StartImportInput!) {{
  startImport(input: $input) {{ job {{ {JOB_FIELDS} }} {ERRORS} }}
}}"""
COMMIT = f"""mutation($input: CommitImportInput!) {{
  commitImport(input: $input) {{ job {{ {JOB_FIELDS} }} {ERRORS} }}
}}"""
JOB = f"""query($id: ID!, $outcome: ImportRowOutcome, $first: Int, $after: String) {{
  importJob(id: $id) {{ {JOB_FIELDS}
    rows(first: $first, after: $after, filter: {{outcome: $outcome}}) {{
      totalCount pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{ rowNumber outcome errors {{ column code message }} matchedId recordId values diff }} }}
    }}
  }}
}}"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    text = "\r\n".join(",".join(cells) for cells in rows) + "\r\n"
    return text.encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def start(
    client: GraphQLClient,
    data: bytes,
    *,
    entity: str = "CUSTOMER",
    dry_run: bool = True,
    policy: str = "SKIP",
    file_name: str = "customers.csv",
    mapping: dict[str, Any] | None = None,
) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "entity": entity,
        "fileName": file_name,
        "content": b64(data),
        "dryRun": dry_run,
        "duplicatePolicy": policy,
    }
    if mapping is not None:
        variables["mapping"] = mapping
    return client.data(START, {"input": variables})["startImport"]  # type: ignore[no-any-return]


def run_to_end(
    runtime: Runtime, tenant_id: uuid.UUID, job_id: str, *, row_chunk: int = 250, parse_chunk: int = 5_000
) -> int:
    """Run the import's chunks, one transaction each, until it finishes; returns the number of steps."""
    raw = decode_id(job_id, "ImportJob")
    steps = 0
    while True:
        with tenant_session(runtime.engine, tenant_id) as session:
            more = run_step(session, raw, row_chunk=row_chunk, parse_chunk=parse_chunk)
            session.commit()
        steps += 1
        if not more:
            return steps


def job(client: GraphQLClient, job_id: str, outcome: str | None = None, first: int = 100) -> dict[str, Any]:
    return client.data(JOB, {"id": job_id, "outcome": outcome, "first": first})["importJob"]  # type: ignore[no-any-return]


def rows_of(job_data: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in job_data["rows"]["edges"]]


def commit(client: GraphQLClient, job_id: str) -> dict[str, Any]:
    return client.data(COMMIT, {"input": {"id": job_id}})["commitImport"]  # type: ignore[no-any-return]


def customer_count(runtime: Runtime, tenant_id: uuid.UUID, name: str | None = None) -> int:
    with tenant_session(runtime.engine, tenant_id) as session:
        query = select(func.count()).select_from(Customer).where(Customer.deleted_at.is_(None))
        if name is not None:
            query = query.where(func.lower(Customer.name) == name.lower())
        return int(session.scalar(query) or 0)
