"""startImport with the file as a multipart upload (GraphQL multipart request spec) on the HTTP endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from starlette.testclient import TestClient

from saas.http import create_app
from tests.http.transport_helpers import login
from tests.imports.support import START, csv_bytes, job, run_to_end

OPERATIONS = {
    "query": START,
    "variables": {
        "input": {"entity": "CUSTOMER", "fileName": "c.csv", "content": None, "dryRun": True, "duplicatePolicy": "SKIP"}
    },
}


@pytest.fixture
def http(runtime, graphql_engine) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, graphql_engine)) as client:
        yield client


def _upload(http: TestClient, token: str, data: bytes, mapping: dict | None = None) -> tuple[int, dict]:
    response = http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"},
        data={
            "operations": orjson.dumps(OPERATIONS).decode(),
            "map": orjson.dumps(mapping or {"0": ["variables.input.content"]}).decode(),
        },
        files={"0": ("c.csv", data, "text/csv")},
    )
    return response.status_code, response.json()


def test_a_multipart_upload_starts_an_import(http, runtime, tenant, owner) -> None:
    token = login(http, tenant)
    status, body = _upload(http, token, csv_bytes([["客户名称"], ["华为"]], "gb18030"))
    assert status == 200, body
    payload = body["data"]["startImport"]
    assert payload["userErrors"] == [] and payload["job"]["encoding"] == "gb18030"
    run_to_end(runtime, tenant.id, payload["job"]["id"])
    assert job(owner, payload["job"]["id"])["created"] == 1


def test_upload_limits_and_malformed_requests(http, runtime, tenant, monkeypatch) -> None:
    token = login(http, tenant)
    monkeypatch.setattr(runtime.settings, "import_max_bytes", 64)
    status, body = _upload(http, token, csv_bytes([["Name"]] + [[f"Company {i}"] for i in range(20)]))
    assert status == 413 and "at most 64 bytes" in body["errors"][0]["message"]
    monkeypatch.setattr(runtime.settings, "import_max_bytes", 10_000)
    status, body = _upload(http, token, b"Name\nA\n", {"0": ["query"]})
    assert status == 400
    status, body = _upload(http, token, b"Name\nA\n", {"1": ["variables.input.content"]})
    assert status == 400 and "does not hold" in body["errors"][0]["message"]
    response = http.post(
        "/graphql", headers={"Authorization": f"Bearer {token}"}, data={"operations": "{"}, files={"0": ("c", b"x")}
    )
    assert response.status_code == 400
