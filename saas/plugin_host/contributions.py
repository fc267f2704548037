"""What a plugin hands the host: metadata, GraphQL parts, permissions, jobs, and what it gets back."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from saas.auth.permissions import Role
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition

if TYPE_CHECKING:
    from saas.schema.compiler import PagedRelation, Relation, SqlType

NodeLoader = Callable[[Any, uuid.UUID], Awaitable[Any]]
"""`node(id:)` of one type: async loader(context, raw_id) -> the object, or None (or NotFoundError) when not visible."""


@dataclass(frozen=True)
class CompiledNode:
    """`node(id:)` of a type with a compiled-read SQL mapping: the selection becomes one statement
    over `sql_type`, filtered by `condition(context)` (which checks the caller's permission and adds
    the visibility predicates; the compiler adds the tenant's); `fallback` loads it when the selection cannot compile
    (e.g. a plugin's fields on the type)."""

    sql_type: SqlType
    condition: Callable[[Any], SqlCondition]
    fallback: NodeLoader


@dataclass(frozen=True)
class PluginMeta:
    """Who the plugin is. `api_version` is the plugin API version it was written for ("1.0")."""

    name: str
    version: str
    title: str
    api_version: str
    description: str = ""
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class GraphQLContribution:
    """Strawberry classes. `queries`, `mutations` and `subscriptions` are classes whose fields join
    the root types; `type_fields` maps a core type name (e.g. "Customer") to classes whose fields are
    added to it (their resolvers receive the core object as `self`). Type names carry the plugin's
    prefix (e.g. `Mfg…`) so that two plugins cannot collide.

    `sql_fields` maps the same type names to the compiled-read SQL of some of those added fields, by
    GraphQL field name: a column expression over the type's alias `{t}` (which names the tenant of
    any table it reads, `tenant_predicate`), a `Relation` or a `PagedRelation`. A compiled read
    of the type (`customer(id)`, `customers`, `node(id)`) then writes the field in its one statement;
    an added field without SQL makes the selection go through the resolvers.

    The core domains contribute through this same object (`saas/<domain>/graphql/contribution.py`):
    the schema builder only composes contributions, core and plugins alike."""

    types: tuple[type, ...] = ()
    queries: tuple[type, ...] = ()
    mutations: tuple[type, ...] = ()
    subscriptions: tuple[type, ...] = ()
    type_fields: dict[str, tuple[type, ...]] = field(default_factory=dict)
    sql_fields: dict[str, dict[str, str | Relation | PagedRelation]] = field(default_factory=dict)
    # `node(id:)` for the contribution's Node types: type name -> async loader(context, raw_id) -> object | None.
    nodes: dict[str, NodeLoader] = field(default_factory=dict)
    # `node(id:)` for Node types with a compiled-read SQL mapping (one statement per read).
    compiled_nodes: dict[str, CompiledNode] = field(default_factory=dict)


@dataclass(frozen=True)
class PermissionSpec:
    name: str
    description: str
    roles: tuple[Role, ...] = (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True)
class PeriodicJob:
    """Run `job` (a `tenant_job`) every `interval` for each tenant that enabled the plugin."""

    name: str
    job: Any
    interval: timedelta


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened in a tenant, delivered after its transaction committed.

    `id` is a UUID (the same as webhooks' `event.id`): stable across redeliveries, so a handler
    can deduplicate on it, and revealing nothing of other tenants. `causation_depth` counts the
    automation rule runs that led to it (0: a person or a job made it).
    """

    id: uuid.UUID
    tenant_id: uuid.UUID
    type: str
    payload: dict[str, Any]
    occurred_at: datetime
    causation_depth: int = 0


@dataclass
class PluginContext:
    """What a hook gets to act for one tenant: a session bound to it, and the tenant's settings."""

    tenant_id: uuid.UUID
    session: Session
    settings: dict[str, Any]
    emit: Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class AutomationAction:
    """An action automation rules may take, added by a plugin (`saas_automation`).

    `name` is `<plugin>.<action>` (e.g. `loyalty.award_points`); a rule names it as an action's
    `type`, with more keys as its parameters. `check(params)` says what is wrong with a rule's
    parameters (a message) or None; it runs when a rule is saved. `run(context, event, params)`
    acts, in the dispatcher's transaction, on the event that triggered the rule; it raises to
    fail the run (its writes are then undone, and the run is logged FAILED)."""

    name: str
    check: Callable[[dict[str, Any]], str | None]
    run: Callable[[PluginContext, DomainEvent, dict[str, Any]], None]
    description: str = ""


@dataclass(frozen=True)
class AutomationCondition:
    """An operator of the automation condition language, added by a plugin (`saas_automation`).

    `name` is `<plugin>.<operator>`; a leaf `{"field": ..., "op": name, "value": ...}` uses it.
    `check(value)` says what is wrong with a leaf's value (a message) or None, when a rule is
    saved; `test(context, actual, value)` decides on the payload's value at `field`."""

    name: str
    check: Callable[[Any], str | None]
    test: Callable[[PluginContext, Any, Any], bool]
    description: str = ""


@dataclass(frozen=True)
class DemoContext:
    """What a demo step (a core domain's or a plugin's `saas_demo`) gets to fill the demo tenant.

    `owner` acts with every permission; `members` are the rest of the demo team in a fixed order
    (a manager, then sales reps). `customer_ids` are the demo customers in creation order. `rng`
    is seeded for this step alone, so the data is the same on every run and does not change when
    another step draws more or fewer numbers. `now` is when the seeding started: date the data
    relative to it.
    """

    tenant_id: uuid.UUID
    session: Session
    owner: Principal
    members: tuple[Principal, ...]
    customer_ids: tuple[uuid.UUID, ...]
    rng: random.Random
    now: datetime
