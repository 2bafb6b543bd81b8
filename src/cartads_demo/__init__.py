"""cartads_demo."""
