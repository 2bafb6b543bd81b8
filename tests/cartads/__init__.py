"""Tests of the shared contract helpers."""
