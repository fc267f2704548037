"""Which column of the file fills which field: the fields each entity takes, and a guess from the headers.

Headers are compared case-, space- and punctuation-insensitively against English and Chinese
names (客户名称 → name, 手机 → phone, 邮箱 → email, …). The caller may override the guess with
`mapping` ({"header": "field"}, `null` to ignore a column); a field no entity takes is
UNKNOWN_FIELD, a header the file does not have is NOT_FOUND, a field mapped twice is INVALID,
and an entity's required field that no column fills is REQUIRED.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.imports.models import ImportEntity


@dataclass(frozen=True)
class TargetField:
    name: str  # the API's spelling (camelCase), as in `mapping` and in `diff`
    attribute: str  # the service's input key
    kind: str = "text"  # text, email, phone, date, tags, choice
    required: bool = False
    synonyms: tuple[str, ...] = ()


def _fields(*fields: TargetField) -> dict[str, TargetField]:
    return {f.name: f for f in fields}


_EMAIL = TargetField(
    "email", "email", "email", synonyms=("email", "e-mail", "mail", "邮箱", "电子邮件", "电子邮箱", "邮件")
)
_PHONE = TargetField(
    "phone",
    "phone",
    "phone",
    synonyms=("phone", "mobile", "tel", "telephone", "手机", "电话", "手机号", "联系电话", "手机号码"),
)

FIELDS: dict[ImportEntity, dict[str, TargetField]] = {
    ImportEntity.CUSTOMER: _fields(
        TargetField(
            "name",
            "name",
            required=True,
            synonyms=(
                "name",
                "customer",
                "customer name",
                "company",
                "company name",
                "客户名称",
                "公司名称",
                "客户",
                "公司",
                "名称",
            ),
        ),
        TargetField("kind", "kind", "choice", synonyms=("kind", "type", "类型")),
        TargetField("industry", "industry", synonyms=("industry", "行业")),
        TargetField("tier", "tier", synonyms=("tier", "level", "等级", "客户等级")),
        TargetField("lifecycleStage", "lifecycle_stage", "choice", synonyms=("lifecycle stage", "stage", "阶段")),
        TargetField("source", "source", synonyms=("source", "来源", "客户来源")),
        TargetField("tags", "tags", "tags", synonyms=("tags", "tag", "标签")),
        TargetField("notes", "notes", synonyms=("notes", "note", "remarks", "comment", "备注", "说明")),
        TargetField(
            "nextFollowUpAt",
            "next_follow_up_at",
            "date",
            synonyms=("next follow up", "follow up", "下次跟进", "下次跟进时间"),
        ),
        TargetField("contactName", "contact_name", synonyms=("contact", "contact name", "联系人", "联系人姓名")),
        TargetField("contactTitle", "contact_title", synonyms=("title", "job title", "职位", "职务")),
        _EMAIL,
        _PHONE,
    ),
    ImportEntity.CONTACT: _fields(
        TargetField(
            "customer",
            "customer",
            required=True,
            synonyms=("customer", "customer name", "company", "company name", "客户名称", "公司名称", "客户", "公司"),
        ),
        TargetField(
            "name", "name", required=True, synonyms=("name", "contact", "contact name", "联系人", "姓名", "联系人姓名")
        ),
        TargetField("title", "title", synonyms=("title", "job title", "职位", "职务")),
        _EMAIL,
        _PHONE,
    ),
    ImportEntity.LEAD: _fields(
        TargetField("name", "name", required=True, synonyms=("name", "contact", "contact name", "联系人", "姓名")),
        TargetField("company", "company", synonyms=("company", "company name", "客户名称", "公司名称", "公司", "单位")),
        TargetField("channel", "channel", synonyms=("channel", "source", "渠道", "来源", "线索来源")),
        _EMAIL,
        _PHONE,
    ),
}


def normal_header(value: str) -> str:
    return re.sub("[\\s_\\-:\uff1a*()\uff08\uff09]+", "", value.strip().lower())


def guess_mapping(entity: ImportEntity, headers: list[str]) -> dict[str, str]:
    """header → field for the headers recognised (the first column wins a field)."""
    by_synonym = {normal_header(s): f.name for f in FIELDS[entity].values() for s in (f.name, *f.synonyms)}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in headers:
        field = by_synonym.get(normal_header(column))
        if field is not None and field not in taken and column not in mapping:
            mapping[column] = field
            taken.add(field)
    return mapping


def resolve_mapping(entity: ImportEntity, headers: list[str], given: Any) -> dict[str, str]:
    """The guess with the caller's overrides applied, checked (see the module)."""
    mapping = guess_mapping(entity, headers)
    errors: list[FieldError] = []
    if given is not None and not isinstance(given, dict):
        raise InputInvalid([FieldError(["input", "mapping"], UserErrorCode.INVALID, "mapping must be a JSON object")])
    fields = FIELDS[entity]
    for column, field in (given or {}).items():
        path = ["input", "mapping", str(column)]
        if column not in headers:
            errors.append(FieldError(path, UserErrorCode.NOT_FOUND, f"The file has no column {column!r}"))
            continue
        if field is None:
            mapping.pop(column, None)
            continue
        if not isinstance(field, str) or field not in fields:
            known = ", ".join(fields)
            errors.append(
                FieldError(path, UserErrorCode.UNKNOWN_FIELD, f"{field!r} is not a field of {entity.value}s ({known})")
            )
            continue
        for other, target in list(mapping.items()):
            if target == field and other != column and other not in (given or {}):
                mapping.pop(other)  # the override wins the field from the guess
        mapping[column] = field
    seen: dict[str, str] = {}
    for column, field in mapping.items():
        if field in seen:
            errors.append(
                FieldError(
                    ["input", "mapping", column], UserErrorCode.INVALID, f"{field} is also filled by {seen[field]!r}"
                )
            )
        seen[field] = column
    for field in fields.values():
        if field.required and field.name not in seen:
            errors.append(
                FieldError(
                    ["input", "mapping"], UserErrorCode.REQUIRED, f"No column fills {field.name}, which is required"
                )
            )
    if errors:
        raise InputInvalid(errors)
    return mapping
