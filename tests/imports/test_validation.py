"""Every row validation code, each naming the file's column; a failed row is never written."""

from __future__ import annotations

from tests.imports.support import commit, csv_bytes, customer_count, job, rows_of, run_to_end, start


def _codes(row: dict) -> set[tuple[str | None, str]]:
    return {(e["column"], e["code"]) for e in row["errors"]}


def test_every_customer_validation_code(runtime, tenant, owner) -> None:
    header = ["Name", "Email", "Phone", "Next follow up", "Kind", "Stage", "Industry"]
    rows = [
        header,
        ["", "ok@example.com", "", "", "", "", ""],  # REQUIRED
        ["x" * 201, "", "", "", "", "", ""],  # TOO_LONG
        ["Bad mail", "not-an-email", "", "", "", "", ""],  # INVALID_EMAIL
        ["Bad phone", "", "12345", "", "", "", ""],  # INVALID_PHONE
        ["Bad date", "", "", "31/02/2024", "", "", ""],  # INVALID_DATE
        ["Bad kind", "", "", "", "robot", "nowhere", ""],  # INVALID_VALUE (twice)
        ["Twin", "twin@example.com", "", "", "", "", ""],
        ["Twin again", "TWIN@example.com", "", "", "", "", ""],  # DUPLICATE_IN_FILE (same e-mail)
        ["Good", "", "", "", "company", "prospect", "i" * 101],  # TOO_LONG on industry
    ]
    started = start(owner, csv_bytes(rows))
    assert started["userErrors"] == [], started
    run_to_end(runtime, tenant.id, started["job"]["id"])
    found = rows_of(job(owner, started["job"]["id"]))
    assert _codes(found[0]) == {("Name", "REQUIRED")}
    assert _codes(found[1]) == {("Name", "TOO_LONG")}
    assert _codes(found[2]) == {("Email", "INVALID_EMAIL")}
    assert _codes(found[3]) == {("Phone", "INVALID_PHONE")}
    assert _codes(found[4]) == {("Next follow up", "INVALID_DATE")}
    assert _codes(found[5]) == {("Kind", "INVALID_VALUE"), ("Stage", "INVALID_VALUE")}
    assert found[6]["outcome"] == "CREATE"
    assert _codes(found[7]) == {("Email", "DUPLICATE_IN_FILE")}
    assert "row 8" in found[7]["errors"][0]["message"]
    assert _codes(found[8]) == {("Industry", "TOO_LONG")}
    assert all(r["outcome"] == "FAIL" for i, r in enumerate(found) if i != 6)
    commit(owner, started["job"]["id"])
    run_to_end(runtime, tenant.id, started["job"]["id"])
    assert customer_count(runtime, tenant.id) == 1  # only the valid row


def test_contact_rows_need_their_customer(runtime, tenant, owner) -> None:
    rows = [["客户名称", "联系人", "邮箱"], ["No such customer", "Li", "li@example.com"]]
    started = start(owner, csv_bytes(rows), entity="CONTACT")
    run_to_end(runtime, tenant.id, started["job"]["id"])
    (row,) = rows_of(job(owner, started["job"]["id"]))
    assert _codes(row) == {("客户名称", "NOT_FOUND")}


def test_lead_rows_match_the_duplicate_rule_and_channels(runtime, tenant, owner) -> None:
    seed = start(owner, csv_bytes([["客户名称", "邮箱"], ["Existing Co", "boss@existing.example"]]), dry_run=False)
    run_to_end(runtime, tenant.id, seed["job"]["id"])
    rows = [
        ["姓名", "公司", "邮箱", "渠道"],
        ["Boss", "Other Co", "boss@existing.example", ""],  # a contact has this e-mail: the lead rule says DUPLICATE
        ["Wang", "New Co", "wang@new.example", "Trade fair"],  # no such channel
        ["Zhao", "Fresh Co", "zhao@fresh.example", ""],
    ]
    started = start(owner, csv_bytes(rows), entity="LEAD")
    run_to_end(runtime, tenant.id, started["job"]["id"])
    found = rows_of(job(owner, started["job"]["id"]))
    assert _codes(found[0]) == {("邮箱", "DUPLICATE")}
    assert _codes(found[1]) == {("渠道", "NOT_FOUND")}
    assert found[2]["outcome"] == "CREATE"


def test_a_required_custom_field_fails_the_rows_that_would_create_records(runtime, tenant, owner) -> None:
    from tests.schema.helpers import DEFINE_CUSTOM_FIELD

    field = {"entity": "CONTACT", "key": "wechat", "label": "WeChat", "type": "TEXT", "required": True}
    assert owner.data(DEFINE_CUSTOM_FIELD, {"input": field})["defineCustomField"]["userErrors"] == []
    rows = [["Name", "Email"], ["With contact", "a@example.com"], ["No contact", ""]]
    started = start(owner, csv_bytes(rows))
    run_to_end(runtime, tenant.id, started["job"]["id"])
    with_contact, without = rows_of(job(owner, started["job"]["id"]))
    assert with_contact["outcome"] == "FAIL"
    assert with_contact["errors"] == [{"column": None, "code": "REQUIRED", "message": "WeChat is required"}]
    assert without["outcome"] == "CREATE"  # a customer without a contact needs no contact field
    commit(owner, started["job"]["id"])
    run_to_end(runtime, tenant.id, started["job"]["id"])
    done = job(owner, started["job"]["id"])
    assert (done["created"], done["failed"]) == (1, 1)  # the commit is the preview
    assert customer_count(runtime, tenant.id, "with contact") == 0
