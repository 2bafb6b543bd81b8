"""cloud_core."""
