"""The host's checks at start: a broken plugin is named, left out and shown as broken; the others load.

Plugins here are objects (`PluginHost.add`), except for the import-error case, which goes
through `load_entry_points` with entry points that cannot load.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import EntryPoint
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType, graphql_sync

from saas.auth.tokens import issue_scoped_token
from saas.plugin_api import DomainEvent, PermissionSpec, PluginContext, PluginMeta, Principal, Role
from saas.plugin_api.testing import GraphQLClient, enable_plugin
from saas.plugin_host import host as host_module
from saas.plugin_host.access import PluginFeatures
from saas.plugin_host.host import PluginHost
from saas.plugin_host.version import PLUGIN_API_VERSION, compatible
from saas.schema.engine import GraphQLEngine
from tests.conftest import TenantHandle
from tests.plugin_host.conftest import host_of
from tests.plugin_host.samples import SamplePlugin, customer_field, graphql_plugin, named_type, query_field

PLUGINS = "{ plugins { name enabled problems } }"


def _problems(host: PluginHost) -> dict[str, list[str]]:
    return {key: plugin.problems for key, plugin in host.plugins.items()}


def _listed(client: GraphQLClient) -> dict[str, list[str]]:
    return {p["name"]: p["problems"] for p in client.data(PLUGINS)["plugins"]}


def _left_out(host: PluginHost, name: str) -> bool:
    """Broken: not offered to tenants, and its hooks are never called even for a tenant that names it."""
    return (
        host.get(name) is None
        and name not in host.healthy_names()
        and host.hook_for([name]).saas_plugin_meta() == []
        and name not in [meta.name for meta in host.hook.saas_plugin_meta()]
    )


# -- metadata, versions, names, requirements -----------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "provided", "ok"),
    [
        ("1.0", "1.0", True),
        ("1.0", "1.3", True),  # a newer minor adds; it never breaks
        ("1.3", "1.0", False),  # written for features this host lacks
        ("2.0", "1.9", False),  # another major
        ("0.9", "1.0", False),
        ("one", "1.0", False),
        ("1", "1.0", False),
    ],
)
def test_api_versions_are_compatible_within_a_major_and_up_to_the_hosts_minor(
    wanted: str, provided: str, ok: bool
) -> None:
    assert compatible(wanted, provided) is ok


@pytest.mark.parametrize("api_version", ["2.0", "1.99", "0.1"])
def test_a_plugin_for_another_api_version_is_left_out_with_its_name(api_version: str) -> None:
    host = host_of(SamplePlugin("future", api_version=api_version), SamplePlugin("present"))
    assert _left_out(host, "future")
    assert _problems(host)["future"] == [
        f"written for plugin API {api_version}; this host provides {PLUGIN_API_VERSION}"
    ]
    assert host.healthy_names() == {"present"}


def test_two_plugins_with_one_name_are_both_left_out_and_others_load() -> None:
    host = host_of(SamplePlugin("twin"), SamplePlugin("twin"), SamplePlugin("single"))
    twins = [p for p in host.plugins.values() if p.name == "twin"]
    assert len(twins) == 2
    assert all("duplicate plugin name 'twin'" in p.problems for p in twins)
    assert _left_out(host, "twin")
    assert host.healthy_names() == {"single"}


def test_a_missing_or_broken_requirement_leaves_out_the_plugin_and_its_dependants() -> None:
    host = host_of(
        SamplePlugin("needs_absent", requires=("absent",)),
        SamplePlugin("base", api_version="9.0"),
        SamplePlugin("child", requires=("base",)),
        SamplePlugin("grandchild", requires=("child",)),
        SamplePlugin("standalone"),
    )
    problems = _problems(host)
    assert problems["needs_absent"] == ["requires missing or broken plugins: absent"]
    assert problems["child"] == ["requires missing or broken plugins: base"]
    assert problems["grandchild"] == ["requires missing or broken plugins: child"]
    assert all(_left_out(host, name) for name in ("needs_absent", "base", "child", "grandchild"))
    assert host.healthy_names() == {"standalone"}


def test_a_requirement_that_is_installed_and_healthy_is_met() -> None:
    host = host_of(SamplePlugin("child", requires=("base",)), SamplePlugin("base"))
    assert host.healthy_names() == {"base", "child"}


def test_unreadable_metadata_is_reported_under_the_entry_point_name() -> None:
    def no_meta() -> Any:
        raise RuntimeError("no metadata here")

    host = PluginHost()
    host.add(SamplePlugin("raising", saas_plugin_meta=no_meta), "raising")
    host.add(SamplePlugin("wrong", saas_plugin_meta=lambda: {"name": "wrong"}), "wrong")
    host.add(SamplePlugin("fine"), "fine")
    problems = _problems(host)
    assert problems["raising"] == ["metadata unreadable: no metadata here"]
    assert problems["wrong"] == ["metadata unreadable: saas_plugin_meta must return a PluginMeta"]
    assert host.healthy_names() == {"fine"}


def test_contributions_that_raise_leave_the_plugin_out_with_its_name() -> None:
    def graphql() -> Any:
        raise ValueError("cannot build my types")

    host = host_of(SamplePlugin("faulty", saas_graphql=graphql), SamplePlugin("fine"))
    [problem] = _problems(host)["faulty"]
    assert problem.startswith("contributions failed to load: ValueError('cannot build my types')")
    assert _left_out(host, "faulty")
    assert host.healthy_names() == {"fine"}


def test_a_plugins_event_types_are_its_own_and_it_cannot_claim_anothers() -> None:
    from saas.events import catalog

    suffix = uuid.uuid4().hex[:6]
    mine = f"sample{suffix}.thing.happened"
    host = host_of(
        SamplePlugin(f"owner{suffix}", saas_event_types=lambda: [mine]),
        SamplePlugin(f"thief{suffix}", saas_event_types=lambda: ["customer.created"]),
        SamplePlugin(f"copycat{suffix}", saas_event_types=lambda: [mine]),
    )
    assert host.plugins[f"owner{suffix}"].event_types == [mine]
    assert catalog.owner_of(mine) == f"owner{suffix}" and catalog.owner_of("customer.created") is None
    problems = _problems(host)
    assert problems[f"thief{suffix}"] == ["event type customer.created is the core's"]
    assert problems[f"copycat{suffix}"] == [f"event type {mine} is the owner{suffix} plugin's"]
    assert host.healthy_names() == {f"owner{suffix}"}


def test_a_hook_implementation_with_unknown_arguments_fails_validation() -> None:
    def handle(context: Any, event: Any, surprise: Any) -> None: ...

    host = host_of(SamplePlugin("odd", saas_handle_event=handle), SamplePlugin("fine"))
    [problem] = _problems(host)["odd"]
    assert problem.startswith("hook validation failed:") and "surprise" in problem
    assert host.healthy_names() == {"fine"}


def test_an_entry_point_that_cannot_be_imported_is_broken_and_the_others_load(monkeypatch: pytest.MonkeyPatch) -> None:
    group = host_module.ENTRY_POINT_GROUP
    points = [
        EntryPoint("ghost", "saas_plugin_that_is_not_installed", group),
        EntryPoint("hollow", "tests.plugin_host.samples:NOT_THERE", group),
        EntryPoint("importable", "tests.plugin_host.samples:IMPORTABLE", group),
    ]
    monkeypatch.setattr(host_module, "entry_points", lambda **kwargs: points if kwargs == {"group": group} else [])
    host = PluginHost()
    host.load_entry_points()
    problems = _problems(host)
    assert problems["ghost"][0].startswith("import failed: ModuleNotFoundError(")
    assert problems["hollow"][0].startswith("import failed: AttributeError(")
    assert host.healthy_names() == {"importable"}


# -- per-tenant hook calls -----------------------------------------------------------------


def test_hooks_reach_only_the_plugins_a_tenant_enabled() -> None:
    calls: list[str] = []

    def handler(name: str) -> Callable[..., None]:
        def handle(context: PluginContext, event: DomainEvent) -> None:
            calls.append(name)

        return handle

    host = host_of(
        SamplePlugin("a", saas_handle_event=handler("a")),
        SamplePlugin("b", saas_handle_event=handler("b")),
        SamplePlugin("broken", api_version="2.0", saas_handle_event=handler("broken")),
    )
    tenant_id = uuid.uuid4()
    context = PluginContext(tenant_id=tenant_id, session=None, settings={}, emit=lambda *_: None)  # type: ignore[arg-type]
    event = DomainEvent(id=1, tenant_id=tenant_id, type="customer.created", payload={}, occurred_at=datetime.now(UTC))
    for enabled in (["a"], ["b", "broken"], [], ["a", "b"]):
        calls.clear()
        host.hook_for(enabled).saas_handle_event(context=context, event=event)
        assert sorted(calls) == sorted(set(enabled) - {"broken"})


def test_a_scoped_token_is_refused_when_a_plugin_the_tenant_enabled_refuses_it(
    engine_with: Callable[..., GraphQLEngine], owner_of: Callable[[Any], GraphQLClient], tenant: TenantHandle
) -> None:
    asked: list[str | None] = []

    def check(context: PluginContext, principal: Principal) -> bool | None:
        asked.append(principal.scoped("card"))
        assert context.tenant_id == principal.tenant_id and context.settings == {}
        return None if principal.scoped("card") is None else principal.scoped("card") != "revoked"

    def refuse_all(principal: Principal) -> bool:
        return False  # never asked: no tenant enabled this plugin

    engine = engine_with(
        SamplePlugin("cards", saas_check_scoped_token=check), SamplePlugin("strict", saas_check_scoped_token=refuse_all)
    )
    owner = owner_of(engine)
    enable_plugin(owner, "cards")

    def holder(scope: dict[str, str]) -> GraphQLClient:
        permissions = frozenset({"products:read"})
        return owner.as_token(issue_scoped_token(engine.runtime.settings, tenant.id, "holder", permissions, scope, 60))

    products = "{ products { totalCount } }"
    assert holder({"card": "valid"}).error_codes(products) == []
    assert holder({}).error_codes(products) == []  # not one of its tokens
    assert holder({"card": "revoked"}).error_codes(products) == ["UNAUTHENTICATED"]
    assert asked == ["valid", None, "revoked"]


# -- schema composition at start -----------------------------------------------------------


def _conflict_case(kind: str) -> tuple[SamplePlugin, SamplePlugin, str]:
    """Two plugins claiming one name (`first` loads, `second` is left out) and the expected problem."""
    if kind == "query":
        return (
            graphql_plugin("first", queries=(query_field("shared"),)),
            graphql_plugin("second", queries=(query_field("shared"),)),
            "Query.shared is contributed by both first and second",
        )
    if kind == "mutation":
        return (
            graphql_plugin("first", mutations=(query_field("doShared"),)),
            graphql_plugin("second", mutations=(query_field("doShared"),)),
            "Mutation.doShared is contributed by both first and second",
        )
    if kind == "customer_field":
        return (
            graphql_plugin("first", type_fields={"Customer": (customer_field("score"),)}),
            graphql_plugin("second", type_fields={"Customer": (customer_field("score"),)}),
            "Customer.score is contributed by both first and second",
        )
    assert kind == "type"
    return (
        graphql_plugin("first", types=(named_type("SharedThing"),)),
        graphql_plugin("second", types=(named_type("SharedThing"),)),
        "type.SharedThing is contributed by both first and second",
    )


@pytest.mark.parametrize("kind", ["query", "mutation", "customer_field", "type"])
def test_a_schema_conflict_leaves_out_one_plugin_naming_both_and_the_others_load(
    kind: str, engine_with: Callable[..., GraphQLEngine], owner_of: Callable[[Any], GraphQLClient]
) -> None:
    first, second, problem = _conflict_case(kind)
    other = graphql_plugin("other", queries=(query_field("otherHello"),))
    engine = engine_with(first, second, other)
    host = engine.runtime.plugins
    assert _problems(host)["second"] == [problem]
    assert _left_out(host, "second")
    assert host.healthy_names() == {"first", "other"}

    owner = owner_of(engine)
    assert _listed(owner) == {"first": [], "second": [problem], "other": []}
    enable_plugin(owner, "other")
    assert owner.data("{ otherHello }") == {"otherHello": "ok"}
    result = owner.data('mutation { enablePlugin(input: {name: "second"}) { userErrors { code message } } }')
    assert result["enablePlugin"]["userErrors"] == [{"code": "NOT_FOUND", "message": "Plugin 'second' is broken"}]


@pytest.mark.parametrize(
    ("contribution", "problem"),
    [
        (
            {"type_fields": {"Customer": (customer_field("name"),)}},
            "Customer.name is contributed by both core and greedy",
        ),
        ({"queries": (query_field("customers"),)}, "Query.customers is contributed by both core and greedy"),
        ({"types": (named_type("Customer"),)}, "type.Customer is contributed by both core and greedy"),
        ({"type_fields": {"Quotation": (customer_field("total"),)}}, "greedy adds fields to unknown type Quotation"),
    ],
)
def test_a_plugin_that_claims_a_core_name_or_extends_an_unknown_type_is_left_out(
    contribution: dict[str, Any], problem: str, engine_with: Callable[..., GraphQLEngine]
) -> None:
    engine = engine_with(graphql_plugin("greedy", **contribution), graphql_plugin("fine"))
    assert _problems(engine.runtime.plugins)["greedy"] == [problem]
    assert engine.runtime.plugins.healthy_names() == {"fine"}


def _thing_query(field: str, thing_field: str) -> type:
    thing = named_type("SharedThing", thing_field)

    def resolve() -> Any:
        return thing(**{thing_field: "x"})

    resolve.__annotations__["return"] = thing
    return strawberry.type(type(f"Query_{field}", (), {field: strawberry.field(resolver=resolve)}))


def test_two_plugins_reaching_one_undeclared_type_name_conflict(engine_with: Callable[..., GraphQLEngine]) -> None:
    engine = engine_with(
        graphql_plugin("first", queries=(_thing_query("firstThing", "one"),)),
        graphql_plugin("second", queries=(_thing_query("secondThing", "two"),)),
    )
    assert engine.runtime.plugins.get("second") is None


# -- many schemas in one process ----------------------------------------------------------

SAMPLES = 6
NUMBERED = re.compile(r"^p\d+[A-Z]")


def _numbered(n: int) -> SamplePlugin:
    return graphql_plugin(
        f"p{n}",
        types=(named_type(f"P{n}Thing"),),
        queries=(query_field(f"p{n}Hello", f"hello from p{n}"),),
        type_fields={"Customer": (customer_field(f"p{n}Score", n),)},
    )


def test_thirty_plugin_sets_get_thirty_schemas_each_built_once(engine_with: Callable[..., GraphQLEngine]) -> None:
    engine = engine_with(*(_numbered(n) for n in range(SAMPLES)))
    subsets = [
        frozenset(f"p{n}" for n in chosen)
        for size in range(SAMPLES + 1)
        for chosen in itertools.combinations(range(SAMPLES), size)
    ][:30]
    schemas = {}
    for subset in subsets:
        schema = engine.schema_for(subset)
        schemas[subset] = schema
        numbers = sorted(int(name[1:]) for name in subset)
        customer = schema.type_map["Customer"]
        assert schema.query_type is not None and isinstance(customer, GraphQLObjectType)
        query_fields = {f for f in schema.query_type.fields if NUMBERED.match(f)}
        customer_fields = {f for f in customer.fields if NUMBERED.match(f)}
        things = {t for t in schema.type_map if t.endswith("Thing")}
        assert query_fields == {f"p{n}Hello" for n in numbers}, subset
        assert customer_fields == {f"p{n}Score" for n in numbers}, subset
        assert things == {f"P{n}Thing" for n in numbers}, subset
        if numbers:
            fields = " ".join(f"p{n}Hello" for n in numbers)
            result = graphql_sync(schema, f"{{ {fields} }}")
            assert result.errors is None and result.data == {f"p{n}Hello": f"hello from p{n}" for n in numbers}
    assert len({id(schema) for schema in schemas.values()}) == 30
    assert all(engine.schema_for(subset) is schema for subset, schema in schemas.items())
    # A broken or unknown name in a tenant's set does not make another schema.
    assert engine.schema_for(frozenset({"p1", "not-installed"})) is schemas[frozenset({"p1"})]


def test_fields_added_to_customer_resolve_per_tenant_schema(
    engine_with: Callable[..., GraphQLEngine],
    owner_of: Callable[[Any], GraphQLClient],
    make_tenant: Callable[[], Any],
) -> None:
    engine = engine_with(*(_numbered(n) for n in range(3)))
    first = owner_of(engine)
    other_tenant = make_tenant()
    second = GraphQLClient(engine).login(other_tenant.owner_email, other_tenant.password, other_tenant.slug)
    enable_plugin(first, "p0")
    enable_plugin(first, "p2")
    enable_plugin(second, "p1")
    create = 'mutation { createCustomer(input: {name: "Ada"}) { userErrors { code } } }'
    first.data(create)
    second.data(create)

    customers = "{ customers(first: 5) { edges { node { name %s } } } }"
    assert first.data(customers % "p0Score p2Score")["customers"]["edges"] == [
        {"node": {"name": "Ada", "p0Score": 0, "p2Score": 2}}
    ]
    assert second.data(customers % "p1Score")["customers"]["edges"] == [{"node": {"name": "Ada", "p1Score": 1}}]
    assert first.error_codes(customers % "p1Score") == ["PLUGIN_NOT_ENABLED"]
    assert second.error_codes(customers % "p0Score") == ["PLUGIN_NOT_ENABLED"]


# -- calling hooks through pluggy ----------------------------------------------------------


def test_each_plugin_is_registered_once_and_a_broken_one_not_at_all() -> None:
    metas: list[str] = []

    def meta_of(name: str, api_version: str = PLUGIN_API_VERSION) -> Callable[[], PluginMeta]:
        def meta() -> PluginMeta:
            metas.append(name)
            return PluginMeta(name=name, version="1.0.0", title=name, api_version=api_version)

        return meta

    a, b = SamplePlugin("a", saas_plugin_meta=meta_of("a")), SamplePlugin("b", saas_plugin_meta=meta_of("b"))
    broken = SamplePlugin("old", saas_plugin_meta=meta_of("old", "2.0"))
    host = host_of(a, b, broken)
    assert sorted(metas) == ["a", "b", "old"]  # read once each, at start
    assert [plugin for _, plugin in host.manager.list_name_plugin()] == [a, b]
    assert sorted(meta.name for meta in host.hook.saas_plugin_meta()) == ["a", "b"]  # every healthy plugin
    assert [meta.name for meta in host.hook_for(["b", "old", "unknown"]).saas_plugin_meta()] == ["b"]


def test_a_plugin_that_still_implements_saas_models_loads_and_it_is_never_called() -> None:
    called: list[str] = []
    host = host_of(SamplePlugin("legacy", saas_models=lambda: called.append("saas_models") or []))
    assert host.healthy_names() == {"legacy"} and _problems(host) == {"legacy": []}
    assert called == []


def test_a_tenants_permissions_come_from_the_plugins_it_enabled() -> None:
    features = PluginFeatures(
        host_of(
            SamplePlugin("a", saas_permissions=lambda: [PermissionSpec("a:use", "Use a", roles=(Role.VIEWER,))]),
            SamplePlugin("b", saas_permissions=lambda: [PermissionSpec("b:use", "Use b", roles=(Role.VIEWER,))]),
            SamplePlugin("c", saas_permissions=lambda: [PermissionSpec("c:use", "Use c", roles=(Role.OWNER,))]),
        )
    )
    viewer = features.permissions(Role.VIEWER, frozenset({"a", "c"}))
    assert "a:use" in viewer and "b:use" not in viewer and "c:use" not in viewer
    assert "c:use" in features.permissions(Role.OWNER, frozenset({"a", "c"}))
