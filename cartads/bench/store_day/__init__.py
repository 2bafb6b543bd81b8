"""``cartads-bench store-day``: one edge process under a busy store's mixed traffic (many carts in several
load processes, index pushes, uploads to a live cloud): the tail of GetAds against a cart's 50 ms deadline."""
