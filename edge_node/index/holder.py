"""The serving view in use, swapped atomically when a new index version is applied."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from edge_node.index.view import ServingView


@dataclass(frozen=True)
class SigningKeys:
    """This edge's own tracking token keys: the one it signs with now, and every one it still
    verifies (tokens signed before a rotation stay in carts' hands for their lifetime)."""

    key_id: str
    key: bytes
    verify: Mapping[str, bytes]


def verify_keys(view: ServingView, keys: SigningKeys | None) -> Mapping[str, bytes]:
    """The keys this edge's tokens may name: its own, and the index's shared key of older versions."""
    shared = {"": view.signing_key} if view.signing_key else {}
    return {**shared, **keys.verify} if keys is not None else shared


class ViewHolder:
    """Holds the current serving view; a request reads ``view`` once and so sees a single version."""

    def __init__(self, keys: SigningKeys | None = None) -> None:
        self.view: ServingView | None = None
        # The edge's own signing keys (None: it signs with the index's key, as before per-edge keys);
        # replaced whole when the edge makes a new key, so a request reads one consistent set.
        self.keys = keys
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[ServingView], None]] = []

    @property
    def version(self) -> str:
        """The version being served, "" while no index is held."""
        view = self.view
        return view.version if view is not None else ""

    def on_install(self, listener: Callable[[ServingView], None]) -> None:
        """Call ``listener`` with every view installed from now on."""
        self._listeners.append(listener)

    def install(self, view: ServingView) -> None:
        """Serve ``view`` from the next request on."""
        for listener in self._listeners:
            listener(view)
        self.view = view  # one assignment: the swap is atomic for every reader
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, version: str | None, timeout_s: float) -> str:
        """Wait until any index (or the given version) is served; raises TimeoutError otherwise."""
        async with asyncio.timeout(timeout_s):
            while True:
                current = self.version
                if current and (version is None or current == version):
                    return current
                await self._changed.wait()
