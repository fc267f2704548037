"""Process wiring lives on `Runtime`, not in module-level mutable state (an AST check over saas/).

A module under saas/ must not, at run time:
- assign (or delete) an attribute of another module (`outbox.dispatch_hook = …`,
  `setattr(module, …)`): whoever imports that module then depends on who started the process;
- rebind its own module state from a function (`global _current`);
- declare a registry: a module-level name bound to an empty mutable container (`{}`, `[]`,
  `set()`, `defaultdict(…)`, …), or a module-level container that a function fills or empties
  (`SQL_TYPES[name] = …`).

What a process holds (plugins, the job broker, settings) belongs on `Runtime` (saas/runtime.py)
or on the objects it creates, and reaches the code that needs it as an argument. The few
exceptions are listed in ALLOWED, each with the reason it stays; an entry that no longer matches
anything fails too, so the list only ever shrinks.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "saas"

MUTABLE_FACTORIES = frozenset(
    {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque"}
    | {"WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}
)
MUTATING_METHODS = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "clear", "remove", "discard"}
)

# (file relative to the repository, name) -> why it stays. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {
    # Password hashing is CPU-bound: the cap on hashes at a time protects the process's cores,
    # whichever runtimes live in it, so it is one semaphore per process (set at start).
    ("saas/auth/passwords.py", "global _slots, _bound"): "a per-process CPU limit",
    # Job declarations: `@tenant_job` and the periodic/maintenance declarations run at import
    # and are read-only afterwards (like dramatiq's actors, whose broker binds them); a name
    # declared twice raises.
    ("saas/jobs/registry.py", "JOBS"): "job declarations, made at import",
    ("saas/jobs/periodic.py", "PERIODIC"): "periodic job declarations, made at import",
    ("saas/jobs/periodic.py", "MAINTENANCE"): "maintenance task declarations, made at import",
    # The event catalog: every type named once, with its owner (the core's at import, a
    # plugin's when the host loads it); a clash raises. `emit_event` checks it without a runtime.
    ("saas/events/catalog.py", "_OWNERS"): "the event catalog",
    # One Redis subscription per event loop and URL, shared by that loop's live subscribers;
    # a cache of connections (weak keys: it goes with its loop), not wiring.
    ("saas/realtime.py", "_hubs"): "a per-event-loop connection cache",
    # The sensitive fields' keys: the master keys set at start (`use_master_keys`, as the hash cap)
    # and the unwrapped tenant keys cached by tenant and version, whose material never changes.
    ("saas/sensitive/keys.py", "global _master, _batch_size"): "the process's master keys, set at start",
    ("saas/sensitive/keys.py", "global _master"): "the process's master keys, set by a rotation",
    ("saas/sensitive/keys.py", "_unwrapped"): "a per-process cache of unwrapped tenant keys",
    ("saas/db/prepared.py", "UNPREPARABLE"): "statement texts PostgreSQL cannot type, the same in every process",
    (
        "saas/db/prepared.py",
        "_STATEMENTS",
    ): "prepared statement names by text: a pure function of the text, per process",
    ("saas/db/prepared.py", "_NAMES"): "the reverse of _STATEMENTS",
    ("saas/sensitive/keys.py", "_index_keys"): "a per-process cache of unwrapped index keys",
    ("saas/sensitive/keys.py", "_no_index_key"): "a per-process short negative cache",
    # Statements waiting to ride in front of a transaction's next one, by its SQLAlchemy
    # connection (weakly): they live and die with that one transaction, whatever the runtime.
    ("saas/tenancy/session.py", "_DEFERRED"): "per-transaction state, keyed by its connection",
    # uvicorn's supervisor builds its worker processes from this module attribute: `saas serve`
    # puts the balanced worker there only while `uvicorn.run` runs in the supervisor, then puts
    # uvicorn's back (`balanced_workers`).
    ("saas/balanced_accept.py", "multiprocess.Process"): "uvicorn's worker class, for one serve run",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    name: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} ({self.name})"


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _imported_modules(tree: ast.Module) -> set[str]:
    """Local names bound to modules: `import a.b as m`, `import a`, `from a import module`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(
                alias.asname or alias.name
                for alias in node.names
                if alias.name != "*" and _is_module(f"{node.module}.{alias.name}")
            )
    return names


def _empty_container(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set):
        return not (value.keys if isinstance(value, ast.Dict) else value.elts)
    if isinstance(value, ast.Call):
        function = value.func
        name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
        return (name in MUTABLE_FACTORIES and not value.args and not value.keywords) or name == "defaultdict"
    return False


def _module_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _root_name(target: ast.expr) -> str | None:
    return target.value.id if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) else None


def findings_in(path: Path) -> list[Finding]:
    relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
    modules = _imported_modules(tree)
    module_names = _module_level_names(tree)
    found: list[Finding] = []

    def add(node: ast.AST, name: str, what: str) -> None:
        found.append(Finding(relative, getattr(node, "lineno", 0), name, what))

    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and _empty_container(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    add(node, target.id, "declares a module-level registry")

    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            add(node, "global " + ", ".join(node.names), "rebinds module state from a function")
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in modules:
                add(node, ast.unparse(target), "assigns another module's attribute")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"setattr", "delattr"}
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in modules
        ):
            add(node, f"{node.args[0].id}.*", f"{node.func.id} on another module")

    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        shared = module_names - _local_names(function)
        for node in ast.walk(function):
            changed: list[str | None] = []
            if isinstance(node, ast.Assign | ast.Delete):
                changed = [_root_name(t) for t in node.targets]
            elif isinstance(node, ast.AugAssign):
                changed = [_root_name(node.target)]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATING_METHODS
                and isinstance(node.func.value, ast.Name)
            ):
                changed = [node.func.value.id]
            for name in changed:
                if name in shared:
                    add(node, name, f"changes the module-level container {name} in {function.name}()")
    return found


def test_no_module_under_saas_keeps_process_wiring_in_module_state() -> None:
    findings = [f for path in sorted(PACKAGE.rglob("*.py")) for f in findings_in(path)]
    unexpected = [str(f) for f in findings if (f.path, f.name) not in ALLOWED]
    assert unexpected == [], "put it on Runtime (saas/runtime.py) and pass it along:\n" + "\n".join(unexpected)
    used = {(f.path, f.name) for f in findings}
    assert sorted(set(ALLOWED) - used) == [], "allowed but no longer found: remove from ALLOWED"


def test_the_check_finds_each_kind_of_module_state(tmp_path: Path) -> None:
    """The checker itself: each pattern is found, and ordinary code is not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from saas.events import outbox\n"
        "import saas.jobs.broker as broker\n"
        "from collections import defaultdict\n"
        "REGISTRY: dict[str, int] = {}\n"
        "BY_KIND = defaultdict(list)\n"
        "NAMES = ['a', 'b']\n"
        "CONSTANT = {'x': 1}\n"
        "_current = None\n"
        "def wire(hook):\n"
        "    global _current\n"
        "    _current = hook\n"
        "    outbox.dispatch_hook = hook\n"
        "    setattr(broker, 'x', hook)\n"
        "    NAMES.append('c')\n"
        "    CONSTANT['y'] = 2\n"
        "def fine(items):\n"
        "    NAMES = []\n"
        "    NAMES.append(1)\n"
        "    local = {}\n"
        "    local['k'] = items\n"
        "    return CONSTANT.get('x'), NAMES, local\n",
        encoding="utf-8",
    )
    found = {(f.name, f.what.split(" in ")[0]) for f in findings_in(sample)}
    assert found == {
        ("REGISTRY", "declares a module-level registry"),
        ("BY_KIND", "declares a module-level registry"),
        ("global _current", "rebinds module state from a function"),
        ("outbox.dispatch_hook", "assigns another module's attribute"),
        ("broker.*", "setattr on another module"),
        ("NAMES", "changes the module-level container NAMES"),
        ("CONSTANT", "changes the module-level container CONSTANT"),
    }
