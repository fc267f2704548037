"""Input checks shared by every service: collect field errors, normalise e-mails and phones."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from saas.errors import FieldError, InputInvalid, UserErrorCode

# Objects and arrays inside one another; orjson and PostgreSQL have limits of their own, far deeper.
MAX_JSON_DEPTH = 32


def camel_case(name: str) -> str:
    """The API's spelling of a field (`lifecycle_stage` → `lifecycleStage`)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def json_depth(value: Any, limit: int) -> int:
    """How deeply objects and arrays nest in `value`, counting up to `limit + 1` (no recursion)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                return deepest
            pending.extend((inner, depth) for inner in (item.values() if isinstance(item, dict) else item))
    return deepest


def has_control_characters(value: str) -> bool:
    """NUL and other C0 controls (PostgreSQL refuses NUL); tabs and line breaks are fine."""
    return any(ord(c) < 32 and c not in "\t\n\r" for c in value) or "\x7f" in value


class Checker:
    """Collects every problem of one input, then raises them all together."""

    def __init__(self, data: dict[str, Any], prefix: tuple[str, ...] = ("input",)) -> None:
        self.data = data
        self.prefix = prefix
        self.errors: list[FieldError] = []
        self.clean: dict[str, Any] = {}

    def fail(self, field: str, code: UserErrorCode, message: str) -> None:
        self.errors.append(FieldError([*self.prefix, field], code, message))

    def text(self, field: str, *, required: bool = False, max_length: int, min_length: int = 1) -> None:
        if field not in self.data:
            if required:
                self.fail(field, UserErrorCode.REQUIRED, f"{camel_case(field)} is required")
            return
        value = self.data[field]
        if value is None:
            if required:
                self.fail(field, UserErrorCode.REQUIRED, f"{camel_case(field)} is required")
            else:
                self.clean[field] = None
            return
        value = " ".join(str(value).split()) if "\n" not in str(value) else str(value).strip()
        if not value:
            if required:
                self.fail(field, UserErrorCode.REQUIRED, f"{camel_case(field)} must not be empty")
            else:
                self.clean[field] = None
            return
        if has_control_characters(value):
            self.fail(field, UserErrorCode.INVALID, f"{camel_case(field)} must not contain control characters")
            return
        if len(value) > max_length:
            self.fail(field, UserErrorCode.TOO_LONG, f"{camel_case(field)} must be at most {max_length} characters")
            return
        if len(value) < min_length:
            self.fail(field, UserErrorCode.TOO_SHORT, f"{camel_case(field)} must be at least {min_length} characters")
            return
        self.clean[field] = value

    def choice(self, field: str, choices: Iterable[str], *, required: bool = False) -> None:
        allowed = tuple(choices)
        self.text(field, required=required, max_length=100)
        value = self.clean.get(field)
        if value is not None and value not in allowed:
            self.clean.pop(field)
            self.fail(field, UserErrorCode.INVALID, f"{camel_case(field)} must be one of {', '.join(allowed)}")

    def email(self, field: str, *, required: bool = False) -> None:
        self.text(field, required=required, max_length=254)
        value = self.clean.get(field)
        if value is None:
            return
        try:
            self.clean[field] = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            self.clean.pop(field)
            self.fail(field, UserErrorCode.INVALID_EMAIL, f"{camel_case(field)} is not a valid e-mail address: {exc}")

    def phone(self, field: str) -> None:
        self.text(field, max_length=32)
        value = self.clean.get(field)
        if value is None:
            return
        try:
            number = phonenumbers.parse(value, None)
            if not phonenumbers.is_valid_number(number):
                raise phonenumbers.NumberParseException(0, "not a valid number")
        except phonenumbers.NumberParseException:
            self.clean.pop(field)
            self.fail(
                field,
                UserErrorCode.INVALID_PHONE,
                f"{camel_case(field)} must be a valid phone number in international form, e.g. +44 20 7946 0958",
            )
            return
        self.clean[field] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def tags(self, field: str, *, max_items: int = 20, max_length: int = 50) -> None:
        if field not in self.data:
            return
        raw = self.data[field] or []
        cleaned: list[str] = []
        for tag in raw:
            tag = " ".join(str(tag).split()).lower()
            if not tag:
                continue
            if len(tag) > max_length:
                self.fail(field, UserErrorCode.TOO_LONG, f"each tag must be at most {max_length} characters")
                return
            if tag not in cleaned:
                cleaned.append(tag)
        if len(cleaned) > max_items:
            self.fail(field, UserErrorCode.INVALID, f"at most {max_items} tags")
            return
        self.clean[field] = cleaned

    def json_object(self, field: str, *, max_bytes: int) -> None:
        """A JSON object (None becomes empty) that PostgreSQL's jsonb will take."""
        if field not in self.data:
            return
        value = self.data[field]
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(field, UserErrorCode.INVALID, f"{camel_case(field)} must be a JSON object")
            return
        if json_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            self.fail(
                field, UserErrorCode.INVALID, f"{camel_case(field)} must be nested at most {MAX_JSON_DEPTH} levels deep"
            )
            return
        encoded = orjson.dumps(value)
        if len(encoded) > max_bytes:
            self.fail(field, UserErrorCode.TOO_LONG, f"{camel_case(field)} must be at most {max_bytes} bytes as JSON")
        elif b"\\u0000" in encoded:
            self.fail(field, UserErrorCode.INVALID, f"{camel_case(field)} must not contain NUL characters")
        else:
            self.clean[field] = value

    def passthrough(self, field: str) -> None:
        if field in self.data:
            self.clean[field] = self.data[field]

    def done(self) -> dict[str, Any]:
        if self.errors:
            raise InputInvalid(self.errors)
        return self.clean
