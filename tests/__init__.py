"""CartAds test suite."""
