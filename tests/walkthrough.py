"""The steps of a walk-through section of docs/api.md, for the tests that run them against the API."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, parse

from tests.test_docs import API_GUIDE, FENCE


@dataclass(frozen=True)
class Step:
    field: str
    source: str
    variables: dict[str, Any]
    response: Any = None


def section_steps(section: str) -> list[Step]:
    """The section's operations in order, each with its variables (none when it has no block) and its
    documented answer (a `json response` block, when there is one)."""
    text = API_GUIDE.read_text(encoding="utf-8")
    start = text.index(section)
    end = text.find("\n## ", start + len(section))
    steps: list[Step] = []
    for match in FENCE.finditer(text[start : end if end != -1 else len(text)]):
        info = match["info"].split()
        if info[:1] == ["graphql"]:
            operation = next(d for d in parse(match["body"]).definitions if isinstance(d, OperationDefinitionNode))
            fields = [s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)]
            assert len(fields) == 1, f"one root field per step: {fields}"
            steps.append(Step(fields[0], match["body"], {}))
        elif info == ["json", "variables"]:
            steps[-1] = replace(steps[-1], variables=json.loads(match["body"]))
        elif info == ["json", "response"]:
            steps[-1] = replace(steps[-1], response=json.loads(match["body"]))
    return steps
