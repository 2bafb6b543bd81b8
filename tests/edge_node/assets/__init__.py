"""Tests of the edge's creative images."""
