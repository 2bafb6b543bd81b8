"""The floor plan holds: what each room may import, pure cores free of I/O, rooms and modules small.

Every room's ``__init__`` docstring states its rules; these tests keep the code to them. Imports
are read from the source (``ast``), at any depth of a module, except under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cartads", "cloud_core", "edge_node", "cart_client")
COMPONENTS = ("cloud_core", "edge_node", "cart_client")
# Whole-system tools: they run all three components and nothing imports them.
SYSTEM_TOOLS = ("cartads.demo", "cartads.bench")
GENERATED = "cartads.v1"

# Third-party and standard modules that do I/O, keep time, log or spawn: none of them may be
# reachable from a pure core, directly or through the project's own modules.
IO_MODULES = frozenset(
    {
        "aiohttp",
        "alembic",
        "asyncio",
        "grpc",
        "grpc_health",
        "grpc_reflection",
        "grpc_status",
        "lmdb",
        "playwright",
        "prometheus_client",
        "psycopg",
        "secrets",
        "socket",
        "sqlalchemy",
        "structlog",
        "subprocess",
        "threading",
        "uvloop",
    }
)

# The decision logic of each component: plain values in, plain values out.
PURE_CORES = (
    "cartads.bounds",
    "cartads.cart_credential",
    "cartads.cart_limits",
    "cartads.index.delta",
    "cartads.index.version",
    "cartads.ivt",
    "cartads.tracking_token",
    "cloud_core.access.audit",
    "cloud_core.access.policy",
    "cloud_core.admin.asset_check",
    "cloud_core.admin.creative_rules",
    "cloud_core.admin.validation",
    "cloud_core.compile",
    "cloud_core.console.model",
    "cloud_core.delivery",
    "cloud_core.events.billing",
    "cloud_core.events.charges",
    "cloud_core.events.budget_cap",
    "cloud_core.events.ivt_check",
    "cloud_core.events.isolate",
    "cloud_core.events.upload_checks",
    "cloud_core.reports",
    "edge_node.events.attribution",
    "edge_node.events.batch_size",
    "edge_node.events.ivt_state",
    "edge_node.events.leases",
    "edge_node.index.arms",
    "edge_node.index.carts",
    "edge_node.index.check",
    "edge_node.index.experiments",
    "edge_node.index.tables",
    "edge_node.index.view",
    "edge_node.serving.auction",
    "edge_node.serving.cart_quota",
    "edge_node.serving.eligibility",
    "edge_node.serving.local_state",
    "edge_node.serving.rank_merge",
    "edge_node.serving.selection",
    "edge_node.sync.update_assembler",
    "cart_client.trip",
    "cart_client.screen.state",
    "cart_client.barcodes",
)
# Modules of a pure room that are its shell: they gather inputs through storage Protocols.
SHELLS_IN_PURE_ROOMS = frozenset({"cloud_core.compile.store_inputs"})

MAX_MODULE_LINES = 400
MAX_MODULES_PER_FOLDER = 15
# The SQL schema is one table after another; splitting it would scatter one definition.
SIZE_EXEMPT = frozenset({"cloud_core.storage.schema"})


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def project_modules() -> dict[str, Path]:
    """Every module of the four packages, generated bindings and migrations aside."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = _module_name(path)
            if name.startswith(GENERATED) or ".alembic" in name:
                continue
            found[name] = path
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, skipping the bodies of ``if TYPE_CHECKING:`` blocks (imports for types only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in (child, *_runtime_nodes(child)))
            continue
        yield node
        yield from _runtime_nodes(node)


@cache
def imports_of(module: str) -> frozenset[str]:
    """The modules ``module`` imports at run time (``from a import b`` yields ``a.b`` when that is a module)."""
    tree = ast.parse(project_modules()[module].read_text())
    known = project_modules()
    out: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known)
    return frozenset(out)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _reachable(module: str) -> dict[str, str]:
    """Every module reachable from ``module`` through project imports, mapped to the project module importing it."""
    known = project_modules()
    seen: dict[str, str] = {}
    todo = [module]
    while todo:
        current = todo.pop()
        for target in imports_of(current):
            if target in seen:
                continue
            seen[target] = current
            if target in known:
                todo.append(target)
    return seen


def _pure_modules() -> list[str]:
    return sorted(
        m for m in project_modules() if any(_within(m, core) for core in PURE_CORES) and m not in SHELLS_IN_PURE_ROOMS
    )


def _violations(allowed: tuple[str, ...], modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for module in modules:
        for target in imports_of(module):
            if any(_within(target, f) for f in forbidden) and not any(_within(target, a) for a in allowed):
                out.append(f"{module} imports {target}")
    return out


def test_every_pure_core_reaches_no_io_module() -> None:
    """No pure core imports an I/O, clock-keeping or logging module, directly or through the project's modules."""
    problems = []
    for module in _pure_modules():
        for target, via in _reachable(module).items():
            if target.split(".")[0] in IO_MODULES:
                problems.append(f"{module} reaches {target} (imported by {via})")
    assert problems == []


def test_the_shared_package_imports_no_component() -> None:
    """``cartads`` (its whole-system tools aside) imports nothing of cloud_core, edge_node or cart_client."""
    shared = [m for m in project_modules() if _within(m, "cartads") and not any(_within(m, t) for t in SYSTEM_TOOLS)]
    assert _violations((), shared, COMPONENTS) == []


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_component_imports_no_other_component(component: str) -> None:
    """Cloud, edge and cart talk only through the contract: none imports another, nor the system tools."""
    others = tuple(c for c in COMPONENTS if c != component) + SYSTEM_TOOLS
    modules = [m for m in project_modules() if _within(m, component)]
    assert _violations((), modules, others) == []


# Rooms that may import only these rooms of the components (and anything of ``cartads``).
ROOM_IMPORTS = {
    # A gRPC client of AdminService: never the cloud's server rooms.
    "cloud_core.admin_cli": ("cloud_core.admin_cli",),
    # The trip's pure core reads the sensors' reading types and nothing else of the cart.
    "cart_client.trip": ("cart_client.trip", "cart_client.sensors.trace", "cart_client.barcodes"),
    "cart_client.barcodes": ("cart_client.barcodes",),
    "cart_client.bus": ("cart_client.bus", "cart_client.sensors"),
    "cart_client.devices": ("cart_client.devices", "cart_client.sensors"),
    # The simulator drives the cart; nothing live imports it (checked below), it may import the rest.
    "cart_client.app": (
        "cart_client.app",
        "cart_client.trip",
        "cart_client.sensors",
        "cart_client.screen",
        "cart_client.bus",
        "cart_client.devices",
    ),
    "cart_client.screen": ("cart_client.screen", "cart_client.trip", "cart_client.sensors", "cart_client.app"),
    "cart_client.sensors": ("cart_client.sensors",),
}


@pytest.mark.parametrize("room", sorted(ROOM_IMPORTS))
def test_a_room_imports_only_the_rooms_it_may(room: str) -> None:
    """Each listed room imports, of the components, only the rooms its docstring allows."""
    modules = [m for m in project_modules() if _within(m, room)]
    assert _violations(ROOM_IMPORTS[room], modules, COMPONENTS) == []


# The cloud's modules that may reach SQL: the storage room, the process that opens it, and the
# change notifier whose replicas meet in the database's own change table (LISTEN/NOTIFY on PostgreSQL).
SQL_MODULES = ("cloud_core.storage", "cloud_core.app", "cloud_core.sync.db_notifier")


def test_only_storage_touches_the_database() -> None:
    """Every other cloud room sees storage through ``storage.protocol`` only: no concrete store, no SQL library."""
    problems = []
    for module in project_modules():
        if not _within(module, "cloud_core") or any(_within(module, m) for m in SQL_MODULES):
            continue
        for target in imports_of(module):
            concrete = _within(target, "cloud_core.storage") and target not in (
                "cloud_core.storage",
                "cloud_core.storage.protocol",
            )
            if concrete or target.split(".")[0] in ("sqlalchemy", "psycopg", "alembic"):
                problems.append(f"{module} imports {target}")
    assert problems == []


def test_every_module_is_small() -> None:
    """No module of the four packages is over the line limit (the SQL schema aside)."""
    big = {
        name: n
        for name, path in project_modules().items()
        if name not in SIZE_EXEMPT and (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert big == {}


def test_every_folder_holds_few_modules() -> None:
    """No folder of the four packages holds more modules than a reader can take in at once."""
    counts: dict[Path, int] = {}
    for path in project_modules().values():
        if path.name != "__init__.py":
            counts[path.parent] = counts.get(path.parent, 0) + 1
    crowded = {str(p.relative_to(ROOT)): n for p, n in counts.items() if n > MAX_MODULES_PER_FOLDER}
    assert crowded == {}


def test_every_room_says_what_it_holds() -> None:
    """Every package of the four opens with a docstring (what it holds and what it may import)."""
    bare = [
        name
        for name, path in project_modules().items()
        if path.name == "__init__.py" and not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert bare == []


def test_the_io_list_names_real_modules() -> None:
    """The I/O modules listed above are importable here, so a typo cannot make the purity check vacuous."""
    missing = [m for m in sorted(IO_MODULES - {"playwright"}) if m not in sys.modules and _find(m) is None]
    assert missing == []


def _find(name: str) -> object | None:
    import importlib.util

    return importlib.util.find_spec(name)
