"""`cartads-bench cloud`: a tiny run reports the compile and admin-write numbers (no timing asserted)."""

from __future__ import annotations

import json
import time

import pytest

from cartads.bench.cli import main
from tests.storage_engines import PG_ADMIN_DSN, require_postgres


def test_quick_run_reports_compile_and_write_rates(capsys: pytest.CaptureFixture[str]) -> None:
    """`cartads-bench cloud --quick --json` prints one object with compile time and writes/s per engine."""
    require_postgres()
    argv = ["cloud", "--quick", "--json", "--stores", "2", "--line-items", "20", "--workers", "1"]
    started = time.perf_counter()
    assert main([*argv, "--writes", "10", "--postgres", PG_ADMIN_DSN]) == 0
    whole_run_s = time.perf_counter() - started
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"compile_100_stores_s", "admin_writes_per_s_sqlite", "admin_writes_per_s_postgres"} <= set(results)
    assert results["compile_100_stores_s"] is None  # measured only at 100 stores
    assert results["live_line_items_per_index"] == 20
    assert (results["stores"], results["admin_writes"]) == (2, 10)
    # Each measurement is part of the run: no duration longer than it, no rate below its count over it.
    assert 0 < results["compile_stores_s"] <= whole_run_s
    assert results["compile_stores_per_s"] >= 2 / whole_run_s
    assert results["admin_writes_per_s_sqlite"] >= 10 / whole_run_s
    assert results["admin_writes_per_s_postgres"] >= 10 / whole_run_s
    # The incremental compile was measured on the same stores (each index checked against the full one).
    assert results["incremental_stores"] == 2
    assert 0 < results["incremental_recompile_s"] <= whole_run_s
    assert results["incremental_vs_full_compile_ratio"] > 0
    assert results["one_store_incremental_vs_full_ratio"] > 0
