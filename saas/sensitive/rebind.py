"""Binding a restored tenant's keys and sealed values to its new tenant id.

The associated data of a wrapped key names its tenant, and so does that of every sealed value
(`envelope.FieldAddress`): an export carries both as they are, bound to the source tenant. A
restore under a new tenant id therefore unwraps each archived key as the source's (with this
deployment's master keys: a key under a master key not configured here refuses the restore),
wraps it again for the new tenant under the current master key, and re-seals each value under
the same data key version at its new address. Key material, blind indexes and masks stay as they
were, so equality search and masked reads answer as in the source; no plaintext is ever written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from saas.sensitive import keys
from saas.sensitive.envelope import MARKER, DecryptionFailed, FieldAddress, is_stored, key_version, open_sealed, seal
from saas.sensitive.rules import CUSTOM_FIELD_PREFIX, TABLES

KEYS_TABLE = "tenant_keys"
# The tables whose rows may hold sealed values, and their documents of sealed values: a custom
# field's field name has the prefix, a marked core field's is its column.
SEALED_TABLES: frozenset[str] = frozenset(TABLES.values())
DOCUMENTS: tuple[tuple[str, str], ...] = (("custom_fields", CUSTOM_FIELD_PREFIX), ("sensitive", ""))


class Rebinder:
    """Moves the archived key rows and sealed values of tenant `source` to tenant `target`."""

    def __init__(self, source: uuid.UUID, target: uuid.UUID, key_rows: Iterable[dict[str, Any]]) -> None:
        self.source, self.target = source, target
        self._data_keys: dict[int, bytes] = {}
        self._current = keys.master_keys().current_id
        self._rewrapped: dict[tuple[str, int], str] = {}
        for row in key_rows:
            purpose, version = str(row["purpose"]), int(row["version"])
            key = keys.unwrap_stored(source, purpose, version, str(row["master_key_id"]), str(row["wrapped"]))
            if purpose == keys.DATA:
                self._data_keys[version] = key
            self._rewrapped[(purpose, version)] = keys.wrap(self._current, target, purpose, version, key)

    def key_row(self, row: dict[str, Any]) -> None:
        """A `tenant_keys` row wrapped for the target under the current master key (in place)."""
        row["wrapped"] = self._rewrapped[(str(row["purpose"]), int(row["version"]))]
        row["master_key_id"] = self._current
        row["rewrapped_at"] = datetime.now(UTC)

    def row(self, table: str, row: dict[str, Any]) -> None:
        """The row's sealed values re-sealed for the target (in place); others left as they are."""
        for column, prefix in DOCUMENTS:
            document = row.get(column)
            if isinstance(document, dict) and any(is_stored(value) for value in document.values()):
                row[column] = {
                    name: self._reseal(table, prefix + name, row["id"], value) if is_stored(value) else value
                    for name, value in document.items()
                }

    def _reseal(self, table: str, field: str, row_id: uuid.UUID, value: dict[str, Any]) -> dict[str, Any]:
        envelope = value[MARKER]
        try:
            version = key_version(envelope)
            key = self._data_keys.get(version)
            if key is None:
                return value
            plaintext = open_sealed(key, envelope, FieldAddress(self.source, table, field, row_id))
        except DecryptionFailed:
            return value  # it does not open in the source either: it reads as nothing in both
        return {**value, MARKER: seal(key, version, plaintext, FieldAddress(self.target, table, field, row_id))}
