"""cartads-admin's command line: what it reads from the words given, before any call."""

from __future__ import annotations

from cloud_core.admin_cli.main import build_parser


def test_report_run_takes_an_end_date_that_starts_like_a_global_flag() -> None:
    """`report run --to DATE` is the report's end, not an abbreviation of the global --token."""
    args = build_parser().parse_args(["report", "run", "--from", "2026-11-01", "--to", "2026-11-08"])
    assert (args.start, args.end, args.token) == ("2026-11-01", "2026-11-08", None)
