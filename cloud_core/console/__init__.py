"""The operator console: a read-only web page and its JSON API (aiohttp), over a pure model."""
