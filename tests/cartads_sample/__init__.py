"""Tests of the shipped sample."""
