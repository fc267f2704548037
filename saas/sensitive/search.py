"""Equality search on sensitive values: a list filter's value turned into its blind index.

The GraphQL layer calls `with_blind_index` before building a filter's SQL, so that
`customField: {key, equals}` also matches a SENSITIVE field holding the value
(`saas.custom_fields.rules.custom_field_condition`). The tenant's index key is cached in the
process; the first search of a process reads it (one statement), and a tenant without one yet
is believed keyless for `keys.NO_INDEX_KEY_SECONDS`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from saas.custom_fields.rules import CustomFieldFilter
from saas.sensitive import keys
from saas.sensitive.rules import CUSTOM_FIELD_PREFIX, blind_index_of


async def with_blind_index(context: Any, flt: CustomFieldFilter | None, table: str) -> CustomFieldFilter | None:
    """`flt` with the blind index of its value in `table`'s custom field (unchanged when it is not a string)."""
    if flt is None or not isinstance(flt.equals, str):
        return flt
    tenant_id = context.require_principal().tenant_id
    index_key = await context.read(lambda session: keys.index_key(session, tenant_id, create=False))
    index = blind_index_of(index_key, table, CUSTOM_FIELD_PREFIX + flt.key, flt.equals)
    return dataclasses.replace(flt, blind_index=index)
