"""Reading files: encodings (UTF-8 with and without BOM, GB18030), XLSX, and the cleaning of cells."""

from __future__ import annotations

from datetime import date

import pytest

from saas.imports import reading
from saas.imports.cleaning import e164, parse_date
from tests.imports.support import csv_bytes, job, rows_of, run_to_end, start, xlsx_bytes

CHINESE = [["客户名称", "电话", "电子邮件", "行业"], ["北京烤鸭有限公司", "010-6552 9988", "Info@KaoYa.cn", "餐饮"]]


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_csv_encodings_are_detected(encoding: str, detected: str) -> None:
    source = reading.open_source("c.csv", csv_bytes(CHINESE, encoding))
    assert source.format == "csv" and source.encoding == detected
    assert list(reading.rows(source)) == CHINESE


def test_semicolon_and_tab_separated_files() -> None:
    for separator in (";", "\t"):
        data = "\n".join(separator.join(row) for row in CHINESE).encode()
        assert list(reading.rows(reading.open_source("c.csv", data))) == CHINESE


def test_xlsx_rows_and_cell_types() -> None:
    data = xlsx_bytes([["Name", "Phone", "Next follow up"], ["Acme", 8613800138000, date(2024, 1, 31)], [None, None]])
    source = reading.open_source("c.xlsx", data)
    assert source.format == "xlsx"
    assert list(reading.rows(source)) == [["Name", "Phone", "Next follow up"], ["Acme", "8613800138000", "2024-01-31"]]


def test_unreadable_files() -> None:
    with pytest.raises(reading.UnreadableFile, match="empty"):
        reading.open_source("c.csv", b"  \n")
    with pytest.raises(reading.UnreadableFile, match="not an XLSX"):
        reading.open_source("c.xlsx", b"name\nAcme\n")
    with pytest.raises(reading.UnreadableFile, match="base64"):
        reading.decode_content("not base64!", None)


@pytest.mark.parametrize("text", ["2024-01-31", "2024/1/31", "31.01.2024", "2024年1月31日", "2024-01-31 10:00"])
def test_dates_in_common_forms(text: str) -> None:
    assert parse_date(text) == date(2024, 1, 31)


def test_bad_dates_and_phones() -> None:
    assert parse_date("31/01/2024") is None and parse_date("2024-02-30") is None
    assert e164("138 0013 8000", "CN") == "+8613800138000"
    assert e164("(020) 7946 0958", "GB") == "+442079460958"
    assert e164("12345", "CN") is None


def test_gb18030_file_imports_with_chinese_headers(runtime, tenant, owner) -> None:
    started = start(owner, csv_bytes(CHINESE, "gb18030"))
    assert started["userErrors"] == []
    run_to_end(runtime, tenant.id, started["job"]["id"])
    done = job(owner, started["job"]["id"])
    assert done["encoding"] == "gb18030" and done["created"] == 1
    (row,) = rows_of(done)
    assert row["values"] == {
        "name": "北京烤鸭有限公司", "phone": "+861065529988", "email": "info@kaoya.cn", "industry": "餐饮",
    }  # fmt: skip


def test_xlsx_imports(runtime, tenant, owner) -> None:
    data = xlsx_bytes([["Company Name", "Mobile", "E-mail"], ["Acme", "+44 20 7946 0958", "a@acme.example"]])
    started = start(owner, data, file_name="customers.xlsx")
    assert started["userErrors"] == [] and started["job"]["fileFormat"] == "XLSX"
    run_to_end(runtime, tenant.id, started["job"]["id"])
    done = job(owner, started["job"]["id"])
    assert (done["status"], done["created"], done["failed"]) == ("PREVIEWED", 1, 0)
