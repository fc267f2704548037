"""The executor that passes compiled JSON through value completion untouched."""

from __future__ import annotations

from typing import Any

import orjson
from graphql.execution import Executor


class PassthroughExecutor(Executor):
    """A resolver that returns an `orjson.Fragment` has already produced the field's final JSON."""

    def complete_value(
        self, return_type: Any, field_details_list: Any, info: Any, path: Any, result: Any, position_context: Any
    ) -> Any:
        if type(result) is orjson.Fragment:
            return result
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)


def dumps(payload: dict[str, Any]) -> bytes:
    """Serialise a response; fragments are written as they are."""
    return orjson.dumps(payload)
