"""A new row given by its column values instead of an ORM object: for a statement that writes it
with others (`saas.events.outbox.emit_event`'s `with_rows`), where an object would only carry the
values (built with one attribute event per value, then read back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NewRecord:
    """A new row of `entity` (a mapped class): `values` by attribute key, as the object's
    constructor takes them (a column left out gets its default, as a flush gives it)."""

    entity: Any
    values: dict[str, Any]
