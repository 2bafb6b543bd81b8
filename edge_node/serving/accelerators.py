"""The edge's optional C accelerators, and the switch that turns them off.

``pip install`` builds them where a C compiler is present (setup.py, ``optional=True``); each
has a pure-Python twin that gives the same results, used when the accelerator was not built or
when ``CARTADS_PURE_PYTHON=1`` is set (to compare the two, or to rule the C code out).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE_PYTHON_ENV = "CARTADS_PURE_PYTHON"


def pure_python_forced() -> bool:
    """Whether CARTADS_PURE_PYTHON asks for the Python twins (1, true, yes; 0, false, no or unset do not)."""
    return os.environ.get(PURE_PYTHON_ENV, "").strip().lower() in ("1", "true", "yes")


def load(name: str) -> ModuleType | None:
    """The C extension ``edge_node.serving.<name>``; None when it was not built or pure Python is asked for."""
    if pure_python_forced():
        return None
    try:
        return importlib.import_module(f"edge_node.serving.{name}")
    except ImportError:  # not built (no C compiler where it was installed)
        return None
