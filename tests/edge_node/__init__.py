"""Tests of the edge node."""
