"""Creative images at the edge: an LMDB store keyed by sha256, fetched with the index that shows
them, served to carts over HTTP.
"""
