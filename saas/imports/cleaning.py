"""One row of the file made into a record's fields: trimmed, normalised, and checked by the domain's own rules.

Cleaning before the checks: cells trimmed (inner runs of spaces collapsed), e-mails lower-cased,
phone numbers read with the tenant's default region and written in E.164 (`phonenumbers`),
dates in the common forms (2024-01-31, 2024/1/31, 31.01.2024, 2024年1月31日), tags split on
commas, semicolons and 、. The checks then are the services' own (`check_customer_input`,
`check_contact_input`, `check_lead_input`), so a row passes the preview exactly when the service
would take its fields; each error names the file's column and a code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import phonenumbers

from saas.customers.duplicates import normalise_company, normalise_email, normalise_phone
from saas.customers.models import LifecycleStage
from saas.customers.service import check_contact_input, check_customer_input
from saas.errors import InputInvalid, UserErrorCode
from saas.imports.mapping import FIELDS, TargetField
from saas.imports.models import ImportEntity
from saas.leads.service import check_lead_input

# Codes of row errors that the shared codes do not name.
INVALID_VALUE = "INVALID_VALUE"
INVALID_DATE = "INVALID_DATE"
DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE"
STALE = "STALE"

_DATE_FORMATS = (
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?$"),
)
_TAG_SEPARATORS = re.compile("[,\uff0c;\uff1b\u3001|]")  # also the full-width comma and semicolon, and 、
_KINDS = {"company": "company", "公司": "company", "企业": "company", "person": "person", "个人": "person"}
_STAGES = {s.value: s.value for s in LifecycleStage} | {
    "线索": "lead", "潜在客户": "prospect", "客户": "customer", "成交客户": "customer", "流失": "churned",
}  # fmt: skip


@dataclass
class CleanRow:
    values: dict[str, Any] = field(default_factory=dict)  # field name (API spelling) → clean value
    errors: list[dict[str, Any]] = field(default_factory=list)  # {column, code, message}
    keys: list[str] = field(default_factory=list)  # duplicate keys, e.g. "email:a@example.com"


def parse_date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        match = pattern.match(text)
        if match:
            try:
                return date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return None
    return None


def e164(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _typed(target: TargetField, text: str, region: str) -> tuple[Any, tuple[str, str] | None]:
    """The cell as the field's value, or a (code, message) error."""
    if target.kind == "email":
        return normalise_email(text), None
    if target.kind == "phone":
        number = e164(text, region)
        if number is None:
            return None, (UserErrorCode.INVALID_PHONE.value, f"{text!r} is not a valid phone number (region {region})")
        return number, None
    if target.kind == "date":
        parsed = parse_date(text)
        if parsed is None:
            return None, (
                INVALID_DATE,
                f"{text!r} is not a date (e.g. 2024-01-31, 2024/1/31, 31.01.2024, 2024年1月31日)",
            )
        return parsed.isoformat(), None
    if target.kind == "tags":
        return [t.strip() for t in _TAG_SEPARATORS.split(text) if t.strip()], None
    if target.kind == "choice":
        choices = _KINDS if target.name == "kind" else _STAGES
        value = choices.get(text.lower())
        if value is None:
            allowed = ", ".join(sorted(set(choices.values())))
            return None, (INVALID_VALUE, f"{text!r} is not one of {allowed}")
        return value, None
    return text, None


def _service_check(entity: ImportEntity, values: dict[str, Any]) -> InputInvalid | None:
    """The domain service's own check of the fields (errors name service input keys)."""
    fields = FIELDS[entity]
    data = {fields[name].attribute: value for name, value in values.items()}
    try:
        if entity is ImportEntity.CUSTOMER:
            check_customer_input({k: v for k, v in data.items() if k in _CUSTOMER_KEYS})
            contact = _contact_part(data)
            if contact is not None:
                check_contact_input(contact)
        elif entity is ImportEntity.CONTACT:
            check_contact_input({k: v for k, v in data.items() if k != "customer"})
        else:
            check_lead_input({k: v for k, v in data.items() if k != "channel"})
    except InputInvalid as invalid:
        return invalid
    return None


_CUSTOMER_KEYS = frozenset(
    {"name", "kind", "industry", "tier", "lifecycle_stage", "source", "tags", "notes", "next_follow_up_at"}
)


def _contact_part(data: dict[str, Any]) -> dict[str, Any] | None:
    """A customer row's primary contact, when the row has a contact name, e-mail or phone."""
    if not any(data.get(k) for k in ("contact_name", "email", "phone")):
        return None
    contact = {"name": data.get("contact_name") or data.get("name"), "title": data.get("contact_title")}
    contact.update({k: data[k] for k in ("email", "phone") if data.get(k)})
    return contact


def customer_and_contact(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A customer row's values as the customer's service input and its primary contact's (if any)."""
    fields = FIELDS[ImportEntity.CUSTOMER]
    data = {fields[name].attribute: value for name, value in values.items()}
    return {k: v for k, v in data.items() if k in _CUSTOMER_KEYS}, _contact_part(data)


def _code(code: Any) -> str:
    value = str(getattr(code, "value", code))
    return INVALID_VALUE if value == UserErrorCode.INVALID.value else value


def clean_row(
    entity: ImportEntity, header: list[str], cells: list[str], mapping: dict[str, str], region: str
) -> CleanRow:
    fields = FIELDS[entity]
    columns = {field: column for column, field in mapping.items()}
    positions = {column: index for index, column in enumerate(header)}
    row = CleanRow()
    for field_name, column in columns.items():
        index = positions[column]
        raw = cells[index] if index < len(cells) else ""
        text = " ".join(raw.split())
        if not text:
            continue
        value, error = _typed(fields[field_name], text, region)
        if error is not None:
            row.errors.append({"column": column, "code": error[0], "message": error[1]})
        else:
            row.values[field_name] = value
    failed = {e["column"] for e in row.errors}
    invalid = _service_check(entity, row.values)
    by_attribute = {f.attribute: f.name for f in fields.values()}
    for problem in invalid.errors if invalid is not None else ():
        named = columns.get(by_attribute.get(problem.field[-1], "name"))
        if named in failed:
            continue
        row.errors.append({"column": named, "code": _code(problem.code), "message": problem.message})
    if not row.errors:
        row.keys = duplicate_keys(entity, row.values)
    return row


KEY_SEPARATOR = "\x1f"


def duplicate_keys(entity: ImportEntity, values: dict[str, Any]) -> list[str]:
    """What makes two rows the same: e-mail, phone digits, name (a lead's company) — a contact's
    within its customer. Each key is `kind`, scope and value joined by `KEY_SEPARATOR`."""
    scope = normalise_company(values["customer"]) if entity is ImportEntity.CONTACT else ""
    name = values.get("company") if entity is ImportEntity.LEAD else values.get("name")
    candidates = (
        ("email", normalise_email(values["email"]) if values.get("email") else ""),
        ("phone", normalise_phone(values["phone"]) if values.get("phone") else ""),
        ("name", normalise_company(name) if name else ""),
    )
    return [KEY_SEPARATOR.join((kind, scope, value)) for kind, value in candidates if value]
