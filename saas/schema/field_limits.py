"""Fields a scoped principal may not select, refused before anything runs.

A scoped token (a customer's portal contact) reaches core types through the records it reads (its
tickets' customer and contact); which fields of those types it may read is its issuer's rule
(`saas/portal/rules.py` `portal_reads_field`), handed to the engine by the runtime
(`CORE_FIELD_LIMITS`). `refused_fields` walks the operation that will run (fragments followed,
their type conditions applied) and answers one FORBIDDEN error per refused `Type.field`, so that
a refused field fails the same way on the compiled path and on the resolvers, core and plugin fields
alike. Principals without a scope are never walked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)

from saas.auth.principal import Principal
from saas.errors import ForbiddenError

# Whether `principal` may select `type_name.field_name`: None when the limit has no say (not its
# kind of principal, or a type it does not govern).
FieldLimit = Callable[[Principal, str, str], bool | None]


class _Refusals(Visitor):
    def __init__(self, type_info: TypeInfo, principal: Principal, limits: tuple[FieldLimit, ...]) -> None:
        super().__init__()
        self.type_info = type_info
        self.principal = principal
        self.limits = limits
        self.refused: dict[str, FieldNode] = {}

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        name = node.name.value
        if parent is None or name.startswith("__"):
            return
        type_name = get_named_type(parent).name
        if any(limit(self.principal, type_name, name) is False for limit in self.limits):
            self.refused.setdefault(f"{type_name}.{name}", node)


def refused_fields(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    principal: Principal | None,
    limits: tuple[FieldLimit, ...],
) -> list[GraphQLError]:
    """FORBIDDEN errors for the fields of `operation` (and the document's fragments) the limits refuse."""
    if principal is None or not principal.scope or not limits:
        return []
    type_info = TypeInfo(schema)
    refusals = _Refusals(type_info, principal, limits)
    for definition in (operation, *(d for d in document.definitions if isinstance(d, FragmentDefinitionNode))):
        visit(definition, TypeInfoVisitor(type_info, refusals))
    return [
        GraphQLError(message, node, original_error=ForbiddenError(message, field=where))
        for where, node in refusals.refused.items()
        for message in (f"{where} is not readable with this token",)
    ]
