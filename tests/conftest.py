"""Fixtures shared by every test package."""

from __future__ import annotations

from tests.storage_engines import db_url

__all__ = ["db_url"]
