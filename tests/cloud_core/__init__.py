"""Tests of cloud_core."""
