"""structlog set-up shared by every process."""

from __future__ import annotations

import io
import sys

import pytest
import structlog

from cartads.ops.logs import configure_logging


def test_cached_logger_follows_a_swapped_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """A logger used once keeps writing to the current sys.stderr after it is replaced, not the old one."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(json=True)
    log = structlog.get_logger("t")
    log.info("one")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    log.info("two")
    assert '"event": "two"' in second.getvalue()
