"""Tests of the cart client."""
