"""Refused imports: each with its code, and nothing stored."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from saas.imports.models import ImportJob
from saas.tenancy.session import tenant_session
from tests.imports.support import START, csv_bytes, job, run_to_end, start


def _jobs(runtime, tenant) -> int:
    with tenant_session(runtime.engine, tenant.id) as session:
        return int(session.scalar(select(func.count()).select_from(ImportJob)) or 0)


def _refused(client, variables) -> list[tuple[list[str], str]]:
    payload = client.data(START, {"input": variables})["startImport"]
    assert payload["job"] is None
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


WRONG_TYPE = "BAD_USER_INPUT"
BASE = {"entity": "CUSTOMER", "fileName": "c.csv", "dryRun": True, "duplicatePolicy": "SKIP"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (base64.b64encode(b"").decode() or " ", (["input", "content"], "REQUIRED")),
        (base64.b64encode(b"\n\n  \n").decode(), (["input", "content"], "REQUIRED")),
        ("%%% not base64 %%%", (["input", "content"], "INVALID")),
        (base64.b64encode(b"\x00\x01\x02garbage\x00" * 50).decode(), (["input", "content"], "INVALID")),
    ],
)
def test_unreadable_content(runtime, tenant, owner, content, expected) -> None:
    assert _refused(owner, {**BASE, "content": content}) == [expected]
    assert _jobs(runtime, tenant) == 0


def test_too_large(runtime, tenant, owner, monkeypatch) -> None:
    monkeypatch.setattr(runtime.settings, "import_max_bytes", 100)
    data = csv_bytes([["Name"]] + [[f"Company {i}"] for i in range(20)])
    assert _refused(owner, {**BASE, "content": base64.b64encode(data).decode()}) == [(["input", "content"], "TOO_LONG")]
    assert _jobs(runtime, tenant) == 0


def test_file_name_checks(runtime, tenant, owner) -> None:
    content = base64.b64encode(csv_bytes([["Name"], ["A"]])).decode()
    assert _refused(owner, {**BASE, "content": content, "fileName": " "}) == [(["input", "fileName"], "REQUIRED")]
    assert _refused(owner, {**BASE, "content": content, "fileName": "x" * 256}) == [(["input", "fileName"], "TOO_LONG")]
    assert _jobs(runtime, tenant) == 0


def test_mapping_checks(runtime, tenant, owner) -> None:
    content = base64.b64encode(csv_bytes([["Company", "Notes", "Whatever"], ["A", "", ""]])).decode()
    assert _refused(owner, {**BASE, "content": content, "mapping": {"Whatever": "shoeSize"}}) == [
        (["input", "mapping", "Whatever"], "UNKNOWN_FIELD")
    ]
    assert _refused(owner, {**BASE, "content": content, "mapping": {"Missing": "notes"}}) == [
        (["input", "mapping", "Missing"], "NOT_FOUND")
    ]
    assert _refused(owner, {**BASE, "content": content, "mapping": {"Company": None}}) == [
        (["input", "mapping"], "REQUIRED")
    ]
    assert _refused(owner, {**BASE, "content": content, "mapping": ["Company"]}) == [(["input", "mapping"], "INVALID")]
    # A field of another entity is unknown here.
    assert _refused(owner, {**BASE, "content": content, "mapping": {"Whatever": "company"}}) == [
        (["input", "mapping", "Whatever"], "UNKNOWN_FIELD")
    ]
    assert _jobs(runtime, tenant) == 0


def test_mapping_overrides_the_guess(runtime, tenant, owner) -> None:
    data = csv_bytes([["Company", "Remarks", "Whatever"], ["A", "note", "ignored"]])
    started = start(owner, data, mapping={"Whatever": "industry", "Remarks": None})
    assert started["job"]["mapping"] == {"Company": "name", "Whatever": "industry"}
    run_to_end(runtime, tenant.id, started["job"]["id"])
    assert job(owner, started["job"]["id"])["created"] == 1


def test_wrong_enum_and_types_are_validation_errors(owner) -> None:
    assert owner.error_codes(START, {"input": {**BASE, "entity": "PLANET", "content": "TmFtZQ=="}}) == [WRONG_TYPE]
    assert owner.error_codes(START, {"input": {**BASE, "dryRun": "yes", "content": "TmFtZQ=="}}) == [WRONG_TYPE]
    assert owner.error_codes(START, {"input": {**BASE, "duplicatePolicy": "MERGE", "content": "TmFtZQ=="}}) == [
        WRONG_TYPE
    ]


def test_a_header_only_file_previews_no_rows(runtime, tenant, owner) -> None:
    started = start(owner, csv_bytes([["Name"]]))
    run_to_end(runtime, tenant.id, started["job"]["id"])
    done = job(owner, started["job"]["id"])
    assert (done["status"], done["totalRows"]) == ("PREVIEWED", 0)
