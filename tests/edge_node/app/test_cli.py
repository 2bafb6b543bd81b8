"""The cartads-edge command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edge_node.app.cli import build_parser, config_from_args, main


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """--help prints the usage and exits 0."""
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "--cloud" in capsys.readouterr().out


def test_flags_build_config() -> None:
    """Flags become the frozen config, with an edge id and data dir derived from the store."""
    args = build_parser().parse_args(["--store", "s9", "--cloud", "h:1", "--listen", "0.0.0.0:7"])
    config = config_from_args(args)
    assert (config.store_id, config.cloud_address, config.listen_address) == ("s9", "h:1", "0.0.0.0:7")
    assert config.edge_id == "edge-s9"
    assert config.data_dir == "cartads-edge-s9"


def test_environment_gives_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """CARTADS_* variables stand in for flags."""
    monkeypatch.setenv("CARTADS_STORE", "s5")
    monkeypatch.setenv("CARTADS_CLOUD", "c:2")
    monkeypatch.setenv("CARTADS_DATA_DIR", "/tmp/d")
    config = config_from_args(build_parser().parse_args([]))
    assert (config.store_id, config.cloud_address, config.data_dir) == ("s5", "c:2", "/tmp/d")


def test_supervisor_imports_nothing_it_does_not_use() -> None:
    """The entry point (all a --workers supervisor runs) loads neither gRPC, asyncio nor structlog."""
    probe = (
        "import sys, edge_node.app.cli; print(sorted(m for m in ('grpc', 'asyncio', 'structlog') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
