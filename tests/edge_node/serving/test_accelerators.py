"""The optional C accelerators: loaded when built, off with CARTADS_PURE_PYTHON, required in CI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edge_node.serving import accelerators, rank_merge, response_wire

_PROBE = (
    "import edge_node.serving.rank_merge as m, edge_node.serving.response_wire as w;"
    " print(m.ACCELERATED, w.ACCELERATED)"
)


def test_ci_builds_every_accelerator() -> None:
    """Under CI=true both C accelerators are built and used, as in the benchmarked edge."""
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        pytest.skip("only enforced in CI (CI=true)")
    assert rank_merge.ACCELERATED
    assert response_wire.ACCELERATED


def test_pure_python_switch_turns_every_accelerator_off() -> None:
    """A process started with CARTADS_PURE_PYTHON=1 uses the Python merge and writer."""
    env = {**os.environ, accelerators.PURE_PYTHON_ENV: "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("value", "forced"), [("1", True), ("true", True), ("YES", True), ("0", False), ("false", False), ("", False)]
)
def test_pure_python_switch_reads_common_spellings(monkeypatch: pytest.MonkeyPatch, value: str, forced: bool) -> None:
    """CARTADS_PURE_PYTHON=1/true/yes asks for the Python twins; 0, false or empty do not."""
    monkeypatch.setenv(accelerators.PURE_PYTHON_ENV, value)
    assert accelerators.pure_python_forced() is forced


def test_missing_extension_loads_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """An extension that was not built loads as None (the Python twin serves), not an ImportError."""
    monkeypatch.delenv(accelerators.PURE_PYTHON_ENV, raising=False)
    assert accelerators.load("_no_such_accelerator") is None
