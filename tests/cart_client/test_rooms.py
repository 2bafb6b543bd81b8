"""What the cart's rooms may import: nothing live imports the simulator, and the trip's core is pure."""

from __future__ import annotations

import ast
from pathlib import Path

import cart_client

PACKAGE = Path(cart_client.__file__).parent

# Standard modules without I/O, and the one other room the trip's core reads (the readings' types).
TRIP_MAY_IMPORT = (
    "__future__",
    "collections",
    "dataclasses",
    "enum",
    "functools",
    "itertools",
    "math",
    "typing",
    "cart_client.trip",
    "cart_client.sensors.trace",
)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth, with ``from a import b`` counted as a and a.b."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def room_imports(room: str) -> dict[str, set[str]]:
    return {str(path.relative_to(PACKAGE)): imports_of(path) for path in sorted((PACKAGE / room).rglob("*.py"))}


def test_nothing_live_imports_the_simulator() -> None:
    """The live session (app) and the touchscreen (screen) import nothing from cart_client.sim."""
    offenders = {
        f"{path}: {module}"
        for room in ("app", "screen")
        for path, modules in room_imports(room).items()
        for module in modules
        if module == "cart_client.sim" or module.startswith("cart_client.sim.")
    }
    assert offenders == set()


def test_the_trip_core_imports_no_io_module_and_no_other_room() -> None:
    """cart_client.trip imports pure standard modules, its own modules and the sensors' reading types only."""
    offenders = {
        f"{path}: {module}"
        for path, modules in room_imports("trip").items()
        for module in modules
        if not any(module == allowed or module.startswith(f"{allowed}.") for allowed in TRIP_MAY_IMPORT)
    }
    assert offenders == set()
