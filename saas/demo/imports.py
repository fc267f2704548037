"""The demo's data import: a small customer list exported from a Chinese spreadsheet (客户名称, 联系人,
手机, 邮箱, 行业 headers, GB18030), previewed as a dry run and then committed, so `importJobs` shows
a finished import with a row of each outcome: two new customers, an update of a demo customer's
industry, a demo customer skipped (nothing changes), a bad e-mail and a row repeating another's
e-mail (both failed)."""

from __future__ import annotations

import base64
import csv
import io
import uuid

from sqlalchemy import select

from saas.customers.models import Customer
from saas.imports import service
from saas.imports.steps import run_step
from saas.plugin_host.contributions import DemoContext

FILE_NAME = "客户名单.csv"
HEADERS = ("客户名称", "联系人", "手机", "邮箱", "行业")
MAX_BYTES = 1024 * 1024


def import_rows(updated: str, unchanged: str) -> list[tuple[str, ...]]:
    """The file's data rows; `updated` and `unchanged` are demo customers' names."""
    return [
        ("杭州云帆科技有限公司", "王磊", "138 1234 5678", "Wang.Lei@yunfan.example.cn", "软件"),
        (updated, "", "", "", "Renewable energy"),
        (unchanged, "", "", "", ""),
        ("深圳海岸贸易有限公司", "李娜", "+86 139 8765 4321", "li.na(at)haian.example.cn", "贸易"),
        ("苏州青禾食品有限公司", "张伟", "0512-6688 1234", "zhang.wei@qinghe.example.cn", "食品"),
        ("杭州云帆科技分公司", "陈静", "", "wang.lei@yunfan.example.cn", "软件"),
    ]


def csv_file(rows: list[tuple[str, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")


def _run(demo: DemoContext, job_id: uuid.UUID) -> None:
    while run_step(demo.session, job_id):
        pass


def seed_imports(demo: DemoContext) -> None:
    """The import, dry run then commit, as the owner, in the demo's transaction."""
    if len(demo.customer_ids) < 2:
        return
    names = [demo.session.scalar(select(Customer.name).where(Customer.id == i)) or "" for i in demo.customer_ids[:2]]
    content = base64.b64encode(csv_file(import_rows(names[0], names[1]))).decode()
    job = service.start_import(
        demo.session,
        demo.owner,
        {
            "entity": "customer",
            "file_name": FILE_NAME,
            "content": content,
            "dry_run": True,
            "duplicate_policy": "update",
        },
        MAX_BYTES,
    )
    _run(demo, job.id)
    service.commit_import(demo.session, demo.owner, job.id)
    _run(demo, job.id)
