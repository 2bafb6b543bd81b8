"""`cartads-bench fleet`: a small fleet on PostgreSQL reports every number, each event billed once."""

from __future__ import annotations

import json
import time

import pytest

from cartads.bench.cli import main
from tests.storage_engines import PG_ADMIN_DSN, require_postgres


def test_quick_fleet_reports_change_to_ack_memory_and_ingest(capsys: pytest.CaptureFixture[str]) -> None:
    """`cartads-bench fleet --quick --json` with 4 stores prints one object: every edge ACKed each change,
    no NACK, and the ingest through both replicas billed each event once."""
    require_postgres()
    argv = ["fleet", "--quick", "--json", "--stores", "4", "--one-store-changes", "1", "--ingest-edges", "2"]
    started = time.perf_counter()
    assert main([*argv, "--ingest-events", "1200", "--ingest-batch", "200", "--postgres", PG_ADMIN_DSN]) == 0
    whole_run_s = time.perf_counter() - started
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (results["stores"], results["edges"], results["replicas"]) == (4, 4, 2)
    assert results["seeded_rows"]["stores"] == 4
    # Every store's edge got the national change as a delta; one-store changes reached their edge.
    assert results["national_change_updates"] == {"full": 0, "delta": 4}
    assert 0 < results["national_change_to_last_ack_s"] < whole_run_s
    assert 0 < results["one_store_change_to_ack_s"] <= results["one_store_change_to_ack_max_s"] < whole_run_s
    assert results["nacks"] == 0
    assert results["replica_rss_mb"] > 0
    # The incremental compile was measured on the fleet's own stores (checked byte for byte inside).
    assert results["compile_ratio_stores"] == 4
    assert results["incremental_vs_full_compile_ratio"] > 0
    assert results["ingest_events"] == results["ledger_distinct_events"] == results["spend_report_impressions"] == 1200
    assert results["ingest_uploaded_events"] > 1200  # some batches went to both replicas
    assert results["billed_exactly_once"] is True
    assert results["ingest_events_per_s_postgres"] >= 1200 / whole_run_s
    assert results["ingest_one_replica_events_per_s_postgres"] >= 1200 / whole_run_s


@pytest.mark.parametrize("flag", ["--stores", "--products-per-store", "--workers", "--ingest-batch"])
def test_a_fleet_of_nothing_is_refused_naming_the_flag(flag: str) -> None:
    """A count below one stops the bench before it touches a database, naming the flag."""
    with pytest.raises(SystemExit, match=f"{flag} must be at least 1"):
        main(["fleet", "--quick", flag, "0", "--postgres", "postgresql://postgres@127.0.0.1:1/none"])


def test_an_unreachable_postgresql_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a PostgreSQL server the bench says so in one line and exits 2, no traceback."""
    assert main(["fleet", "--quick", "--postgres", "postgresql://postgres@127.0.0.1:1/none"]) == 2
    out = capsys.readouterr().out.strip()
    assert out.startswith("error: PostgreSQL:")
    assert len(out.splitlines()) == 1
