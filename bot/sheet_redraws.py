"""Redrawing an attendance sheet after taps: coalesced per message, drawn from the database.

A referent taps faster than a message should be edited: Telegram answers a burst of
edits of one message with 429, and every edit is a request under the bot's overall
budget of 30 a second. So a tap writes its mark and answers at once (the toast names
the person and the new mark), and asks for a redraw here. The first request draws
at once; requests that come while a draw is running, or within ``interval`` seconds
of it, collapse into one more draw. A draw reads the sheet when it runs, so the last
one always shows every mark, whoever tapped it.

The state is per process and disposable: a redraw lost in a crash is only a stale
sheet, and the next tap redraws it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Key = tuple[int, int]  # (chat id, message id)
Draw = Callable[[], Awaitable[None]]


class SheetRedraws:
    """At most one draw in flight per message, and at most one per ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._wanted: dict[Key, Draw] = {}
        self._drawing: set[Key] = set()
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def request(self, key: Key, draw: Draw) -> None:
        """Draw this message soon; a newer request replaces one not yet drawn."""
        self._wanted[key] = draw
        if key not in self._tasks:
            self._tasks[key] = asyncio.get_running_loop().create_task(self._run(key))

    async def hold(self, key: Key) -> None:
        """The message is about to show something else (the guest list): drop what was
        wanted, and let a draw already running finish first, so it cannot cover it."""
        self._wanted.pop(key, None)
        self._notify()
        while key in self._drawing:
            await self._changed.wait()

    @property
    def busy(self) -> bool:
        return bool(self._wanted or self._drawing)

    async def settled(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every wanted draw is drawn (not for the quiet interval after it)."""
        async with asyncio.timeout(timeout):
            while self.busy:
                await self._changed.wait()

    async def close(self) -> None:
        """Stop on shutdown: pending redraws are dropped, running ones cancelled."""
        self._wanted.clear()
        self._notify()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, key: Key) -> None:
        try:
            while key in self._wanted:
                draw = self._wanted.pop(key)
                self._drawing.add(key)
                try:
                    await draw()
                except Exception:  # a redraw must never take the bot down
                    log.exception("sheet redraw failed for message %s", key[1])
                finally:
                    self._drawing.discard(key)
                    self._notify()
                await asyncio.sleep(self.interval)
        finally:
            self._tasks.pop(key, None)
