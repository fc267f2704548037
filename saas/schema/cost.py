"""What an operation costs, computed from its document before it runs.

Each field costs 1 plus what its selection costs; a field with an Int `first` argument (every
connection, and any list that pages) multiplies its selection by `first`, or by the argument's
default when the operation leaves it out, as GitHub's and Shopify's APIs count. So the cost
bounds the rows an operation can ask for: a page of 100 customers with their 100 deals each is
10,000 deal selections however the resolvers batch them. The walk follows the schema, not
names, so a plugin's fields count exactly like the core's. Introspection (`__…` fields) is
free: the document limits of `saas.schema.limits` bound it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_interface_type,
    is_object_type,
)
from graphql.pyutils import Undefined

PAGE_ARGUMENT = "first"


def variables_shape(variables: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """The part of the variables a cost can depend on: `first` is an Int, given directly as a
    variable, so only the top-level int, float (an Int may be written 10.0) and null values
    matter. Cache costs under this."""
    if not variables:
        return ()
    return tuple(sorted((k, v) for k, v in variables.items() if v is None or type(v) in (int, float)))


class CostCounter:
    """Counts one operation of a validated document (validation guarantees no fragment cycles)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.max_page_size = max_page_size
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.fragment_costs: dict[str, int] = {}
        self.variables = dict(variables or {})
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and isinstance(definition.default_value, IntValueNode):
                self.variables[name] = int(definition.default_value.value)

    def root_type(self, operation: OperationDefinitionNode) -> GraphQLNamedType | None:
        return self.schema.get_root_type(operation.operation)

    def selection_cost(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_cost(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment_cost(selection.name.value)
        return total

    def fragment_cost(self, name: str) -> int:
        """Counted once per fragment and remembered: a fragment's cost does not depend on where
        it is spread, and fragments spreading fragments many times cannot make the walk explode."""
        cost = self.fragment_costs.get(name)
        if cost is None:
            fragment = self.fragments.get(name)
            cost = 0
            if fragment is not None:
                inner = self.schema.get_type(fragment.type_condition.name.value)
                cost = self.selection_cost(fragment.selection_set, inner)
            self.fragment_costs[name] = cost
        return cost

    def field_cost(self, node: FieldNode, parent: GraphQLNamedType | None) -> int:
        name = node.name.value
        if name.startswith("__") or not (is_object_type(parent) or is_interface_type(parent)):
            return 0
        definition = parent.fields.get(name)  # type: ignore[union-attr]
        if definition is None:
            return 0
        children = self.selection_cost(node.selection_set, get_named_type(definition.type))
        page_argument = definition.args.get(PAGE_ARGUMENT)
        if page_argument is None or str(get_named_type(page_argument.type)) != "Int":
            return 1 + children
        return 1 + self.page_size(node, page_argument.default_value) * children

    def page_size(self, node: FieldNode, default: Any) -> int:
        """`first` as the resolver will see it, capped at the page-size limit (more is refused anyway)."""
        value: Any = Undefined
        for argument in node.arguments or ():
            if argument.name.value != PAGE_ARGUMENT:
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value, Undefined)
            else:
                value = None
        if type(value) is float and value.is_integer():  # an Int variable may arrive as 10.0
            value = int(value)
        if type(value) is not int:  # absent, null, or not an Int (then the variables fail coercion)
            value = default if type(default) is int else self.max_page_size
        return max(0, min(value, self.max_page_size))


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    max_page_size: int,
) -> int:
    """The cost of `operation` with these variables (see the module's rule)."""
    counter = CostCounter(schema, document, operation, variables, max_page_size)
    return counter.selection_cost(operation.selection_set, counter.root_type(operation))
