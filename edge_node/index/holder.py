"""The serving view in use, swapped atomically when a new index version is applied."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from edge_node.index.view import ServingView


class ViewHolder:
    """Holds the current serving view; a request reads ``view`` once and so sees a single version."""

    def __init__(self) -> None:
        self.view: ServingView | None = None
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
