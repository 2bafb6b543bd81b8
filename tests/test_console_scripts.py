"""Every console script installs and explains itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = [
    "cartads-cloud",
    "cartads-edge",
    "cartads-cart",
    "cartads-admin",
    "cartads-demo",
    "cartads-bench",
    "cartads-sim",
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_exits_cleanly(script: str) -> None:
    """`<script> --help` prints usage and exits 0."""
    executable = Path(sys.executable).parent / script
    result = subprocess.run([str(executable), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
