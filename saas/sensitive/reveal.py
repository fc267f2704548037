"""Sensitive values in a compiled read's JSON, turned into what the caller may see.

`saas.schema.context.fetch_compiled` hands every compiled result that holds a sensitive value
(the stored object with its place, `rules.custom_fields_sql` / `rules.core_field_sql`) to
`reveal`. A caller without `sensitive:read` gets each value's mask and nothing is decrypted. A
caller with it gets the plaintext, opened in Python with the tenant's data key (cached in the
process, read on first use), and one access entry per value in the audit log (`sensitive.read`,
written in one statement after the read). A value that does not open (copied from another row,
field or tenant, or tampered with) is shown as null and logged.

The result of a statement without sensitive values is not parsed: the check is one substring
search over the JSON.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from saas.audit.access import record_sensitive_read
from saas.auth.permissions import SENSITIVE_READ
from saas.auth.principal import Principal
from saas.sensitive import keys
from saas.sensitive.envelope import MARKER, DecryptionFailed, FieldAddress, key_version, open_sealed
from saas.sensitive.rules import ENTITY_TYPES

log = logging.getLogger(__name__)

MARKER_TEXT = f'"{MARKER}"'


def holds_sensitive(json_text: str | None) -> bool:
    return json_text is not None and MARKER_TEXT in json_text


@dataclass(frozen=True)
class Found:
    """One sensitive value in the document: its container, the key or index, and the marker."""

    container: Any
    slot: Any
    marker: dict[str, Any]

    def address(self, tenant_id: uuid.UUID) -> FieldAddress:
        return FieldAddress(tenant_id, self.marker["table"], self.marker["field"], uuid.UUID(self.marker["row"]))


def _markers(node: Any) -> Iterator[Found]:
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for slot, value in items:
        if isinstance(value, dict) and isinstance(value.get(MARKER), str) and "row" in value:
            yield Found(node, slot, value)
        else:
            yield from _markers(value)


@dataclass
class Revealed:
    """The document as the caller may see it, and the reads to audit (entity type, id, field)."""

    json_text: str
    reads: list[tuple[str, str, str]]
    missing_versions: set[int]


def reveal_document(json_text: str, principal: Principal, *, keys_loaded: bool = False) -> Revealed:
    """Mask or open every sensitive value; `missing_versions` names data keys not in this process
    yet (load them, then call again with `keys_loaded`: a key still missing then is unknown)."""
    document = orjson.loads(json_text)
    found = list(_markers(document))
    may_read = SENSITIVE_READ in principal.permissions
    reads: list[tuple[str, str, str]] = []
    missing: set[int] = set()
    if may_read:
        for item in found:
            try:
                version = key_version(item.marker[MARKER])
            except DecryptionFailed:
                continue
            if keys.cached_data_key(principal.tenant_id, version) is None:
                missing.add(version)
        if missing and not keys_loaded:
            return Revealed(json_text, [], missing)
    for item in found:
        if not may_read:
            item.container[item.slot] = item.marker.get("mask")
            continue
        address = item.address(principal.tenant_id)
        try:
            data_key = keys.cached_data_key(principal.tenant_id, key_version(item.marker[MARKER]))
            if data_key is None:
                raise DecryptionFailed("unknown data key version")
            item.container[item.slot] = open_sealed(data_key, item.marker[MARKER], address)
        except DecryptionFailed:
            log.warning("sensitive value refused", extra={"table": address.table, "field": address.field})
            item.container[item.slot] = None
            continue
        reads.append((ENTITY_TYPES.get(address.table, address.table), str(address.row_id), address.field))
    return Revealed(orjson.dumps(document).decode(), reads, set())


def load_data_keys(session: Session, tenant_id: uuid.UUID, versions: set[int]) -> None:
    for version in versions:
        keys.data_key(session, tenant_id, version)


def record_reads(session: Session, principal: Principal, reads: list[tuple[str, str, str]]) -> None:
    for entity_type, entity_id, field in dict.fromkeys(reads):
        record_sensitive_read(session, principal, entity_type, entity_id, field)
