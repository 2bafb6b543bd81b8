"""structlog set-up shared by every process."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest
import structlog

from cartads.ops.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put structlog's configuration back: loggers first used by later tests of this process would
    otherwise be cached with this one (JSON to stderr), past any test's own quieting."""
    saved = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**saved)


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
