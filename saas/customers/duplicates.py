"""The duplicate rule, in one place: a new lead or customer that matches an existing record.

A lead matches an existing lead, customer or contact with the same e-mail (any case), phone
(its digits) or company name (any case, spaces collapsed); a customer matches by its name
(as the company name). Company names are compared through the stored lower-case keys
`customers.name_key` and `leads.company_key`: under row-level security only a comparison
without a function (`lower` is not leakproof) can use an index. The caller names the input field each value came from, so that the
`DUPLICATE` user error points at it, and its message names the record already there.
Two writers creating the same values at once are serialised on transaction-scoped advisory
locks, one per normalised value, so one of them sees the other's record.

It lives with customers, the lowest of the sales domains, so that customers (a new customer) and
leads (a new lead, a conversion) call the one rule without importing each other; the leads table
is named in SQL only.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.db.prepared_writes import PreparedWrite
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.schema.relay import to_global_id
from saas.tenancy.session import Rider, defer_statement

PHONE_DIGITS_SQL = "regexp_replace({col}, '\\D', '', 'g')"


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str) -> str:
    return re.sub(r"\D", "", value)


def normalise_company(value: str) -> str:
    return " ".join(value.split()).lower()


@dataclass(frozen=True)
class Match:
    """An existing record with one of the values: its type ("Lead", "Customer", "Contact"), id and name."""

    type_name: str
    id: uuid.UUID
    name: str
    on: str  # "e-mail", "phone", "company name"

    def message(self) -> str:
        return f'{self.type_name} "{self.name}" ({to_global_id(self.type_name, self.id)}) has this {self.on}'


@dataclass(frozen=True)
class Probe:
    """One value to look for, with the input field it came from."""

    field: str
    on: str
    value: str
    queries: tuple[tuple[str, str], ...]  # (type name, SQL returning id and name for :value)


def _email_probe(field: str, email: str, include_leads: bool) -> Probe:
    queries = [
        (
            "Contact",
            "SELECT id, name FROM contacts WHERE tenant_id = :tenant_id AND email_key = :value AND deleted_at IS NULL",
        )
    ]
    if include_leads:
        queries.insert(0, ("Lead", "SELECT id, name FROM leads WHERE tenant_id = :tenant_id AND email_key = :value"))
    return Probe(field, "e-mail", normalise_email(email), tuple(queries))


def _phone_probe(field: str, phone: str, include_leads: bool) -> Probe:
    queries = [
        (
            "Contact",
            "SELECT id, name FROM contacts WHERE tenant_id = :tenant_id AND phone_key = :value AND deleted_at IS NULL",
        )
    ]
    if include_leads:
        queries.insert(0, ("Lead", "SELECT id, name FROM leads WHERE tenant_id = :tenant_id AND phone_key = :value"))
    return Probe(field, "phone", normalise_phone(phone), tuple(queries))


def _company_probe(field: str, company: str, include_leads: bool) -> Probe:
    queries = [
        (
            "Customer",
            "SELECT id, name FROM customers WHERE tenant_id = :tenant_id AND name_key = :value AND deleted_at IS NULL",
        )
    ]
    if include_leads:
        queries.insert(
            0, ("Lead", "SELECT id, company FROM leads WHERE tenant_id = :tenant_id AND company_key = :value")
        )
    return Probe(field, "company name", normalise_company(company), tuple(queries))


def _probes(
    email: tuple[str, str | None] | None,
    phone: tuple[str, str | None] | None,
    company: tuple[str, str | None] | None,
    include_leads: bool,
) -> list[Probe]:
    probes = []
    if email and email[1]:
        probes.append(_email_probe(email[0], email[1], include_leads))
    if phone and phone[1] and normalise_phone(phone[1]):
        probes.append(_phone_probe(phone[0], phone[1], include_leads))
    if company and company[1] and normalise_company(company[1]):
        probes.append(_company_probe(company[0], company[1], include_leads))
    return probes


def find_duplicates(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    email: tuple[str, str | None] | None = None,
    phone: tuple[str, str | None] | None = None,
    company: tuple[str, str | None] | None = None,
    include_leads: bool = True,
    exclude_ids: frozenset[uuid.UUID] = frozenset(),
) -> list[tuple[str, Match]]:
    """The matches `check_duplicates` would refuse, as (input field, match), without locking: a
    preview's question (a data import's dry run), answered by the same rule."""
    found = []
    for probe in _probes(email, phone, company, include_leads):
        match = _first_match(session, tenant_id, probe, exclude_ids)
        if match is not None:
            found.append((probe.field, match))
    return found


# The same lookups as the probes', for many values at once: (what matches, type) → SQL returning
# the normalised value, id and name of each record with one of `:values`, oldest first.
_MANY: dict[tuple[str, str], str] = {
    (
        "e-mail",
        "Lead",
    ): "SELECT email_key, id, name FROM leads WHERE tenant_id = :tenant_id AND email_key = ANY(:values)",
    ("e-mail", "Contact"): "SELECT email_key, id, name FROM contacts WHERE tenant_id = :tenant_id "
    "AND email_key = ANY(:values) AND deleted_at IS NULL",
    (
        "phone",
        "Lead",
    ): "SELECT phone_key, id, name FROM leads WHERE tenant_id = :tenant_id AND phone_key = ANY(:values)",
    ("phone", "Contact"): "SELECT phone_key, id, name FROM contacts "
    "WHERE tenant_id = :tenant_id AND phone_key = ANY(:values) AND deleted_at IS NULL",
    ("company name", "Lead"): "SELECT company_key, id, company FROM leads WHERE tenant_id = :tenant_id "
    "AND company_key = ANY(:values)",
    ("company name", "Customer"): "SELECT name_key, id, name FROM customers WHERE tenant_id = :tenant_id "
    "AND name_key = ANY(:values) AND deleted_at IS NULL",
}
_ORDER = {"e-mail": ("Lead", "Contact"), "phone": ("Lead", "Contact"), "company name": ("Lead", "Customer")}


def find_duplicates_many(
    session: Session,
    tenant_id: uuid.UUID,
    wanted: dict[str, set[str]],
    *,
    include_leads: bool = True,
    lock: bool = False,
) -> dict[tuple[str, str], Match]:
    """`find_duplicates` for many values at once (a chunk of an import's rows): `wanted` maps what
    matches ("e-mail", "phone", "company name") to normalised values; the answer maps each
    (what, value) with a match to the record the single check would name (leads first, then
    contacts or customers; the oldest). One statement per kind of record and value, whatever
    the number of values. With `lock`, first the same transaction locks as `check_duplicates`
    takes for each value (in one statement, in their order): a batch about to create records
    with these values (an import's commit) then waits for, and is waited for by, single creates
    of the same values."""
    if lock:
        keys = sorted(f"duplicate:{tenant_id}:{on}:{value}" for on, values in wanted.items() for value in values)
        if keys:
            session.execute(
                text(
                    "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
                    "FROM (SELECT k FROM unnest(CAST(:keys AS text[])) k ORDER BY k) keys"
                ),
                {"keys": keys},
            )
    found: dict[tuple[str, str], Match] = {}
    for on, values in wanted.items():
        if not values:
            continue
        for type_name in _ORDER[on]:
            if type_name == "Lead" and not include_leads:
                continue
            sql = _MANY[(on, type_name)] + " ORDER BY created_at, id"
            rows = session.execute(text(sql), {"tenant_id": tenant_id, "values": sorted(values)})
            for value, record_id, name in rows:
                found.setdefault((on, value), Match(type_name, record_id, name, on))
    return found


def check_duplicates(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    email: tuple[str, str | None] | None = None,
    phone: tuple[str, str | None] | None = None,
    company: tuple[str, str | None] | None = None,
    include_leads: bool = True,
    exclude_ids: frozenset[uuid.UUID] = frozenset(),
    rider: Rider | None = None,
) -> None:
    """Raise `InputInvalid` with a `DUPLICATE` error per matching value; each argument is (input field, value).

    `include_leads=False` compares with customers and contacts only (a lead being converted);
    `exclude_ids` leaves records out (the lead being converted itself). `rider`: a value the
    caller's next rule needs, read by the first lookup as one more column (`Rider`), after this
    rule's locks; not asked when there is nothing to look up.
    """
    probes = _probes(email, phone, company, include_leads)
    # The locks go in front of the first lookup, in its message (`defer_statement`).
    for key in sorted(f"duplicate:{tenant_id}:{p.on}:{p.value}" for p in probes):
        defer_statement(session, "SELECT pg_advisory_xact_lock(hashtextextended(%(key)s, 0))", {"key": key})
    errors = []
    for index, probe in enumerate(probes):
        match = _first_match(session, tenant_id, probe, exclude_ids, rider if index == 0 else None)
        if match is not None:
            errors.append(FieldError(["input", probe.field], UserErrorCode.DUPLICATE, match.message()))
    if errors:
        raise InputInvalid(errors)


def _first_match(
    session: Session,
    tenant_id: uuid.UUID,
    probe: Probe,
    exclude_ids: frozenset[uuid.UUID],
    rider: Rider | None = None,
) -> Match | None:
    """The oldest record of the probe's first kind that has one (leads before customers or
    contacts), asked in one statement: each kind's oldest match, in the probe's order. With
    `rider`, the statement always returns one row: the match's columns (NULLs when none) and the
    rider's column."""
    parts = [
        f"(SELECT {position} AS kind, * FROM ({sql} AND NOT (id = ANY(CAST(:excluded AS uuid[]))) "
        "ORDER BY created_at, id LIMIT 1) AS found)"
        for position, (_, sql) in enumerate(probe.queries)
    ]
    lookup = " UNION ALL ".join(parts) + " ORDER BY kind LIMIT 1"
    params: dict[str, Any] = {"tenant_id": tenant_id, "value": probe.value, "excluded": list(exclude_ids)}
    if rider is None:
        row = _statement(lookup).execute(session, params).first()
    else:
        column, rider_params = rider.column()
        query = f"SELECT matched.*, {column} AS rider FROM (SELECT 1) AS one LEFT JOIN ({lookup}) AS matched ON true"
        row = _statement(query).execute(session, {**params, **rider_params}).one()
        rider.accept(row[-1])
        if row[0] is None:
            return None
    if row is None:
        return None
    return Match(probe.queries[row[0]][0], row[1], row[2], probe.on)


@functools.lru_cache(maxsize=64)
def _statement(sql: str) -> PreparedWrite:
    """One of the few lookups `_first_match` writes, built once and prepared on each connection
    that runs it (`PreparedWrite`: its planning costs PostgreSQL more than its index scans)."""
    return PreparedWrite(text(sql))
