"""Updates of different people at once, each person's in the order they were sent.

Why: handled one after another, every answer waits for the previous one's round trip to
Telegram (50-200 ms); when sixty people write at once the last waits seconds. But one
person's updates must keep their order: three taps on the same sheet button are three
steps of the mark cycle, a conversation's typing steps follow each other, and on a shared
phone the "for whom?" choice comes before the command it answers. So updates are
serialised per chat (a shared phone is one chat) and run concurrently across chats, with
python-telegram-bot's ``concurrent_updates`` bounding how many run at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def _order_key(update: object) -> int | None:
    """Updates with the same key run one at a time, in order: the chat, else the user."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Up to ``running`` updates at once, never two of one chat.

    python-telegram-bot's own bound (``waiting``) counts updates waiting for their chat's
    turn too: it only caps memory. The chat's turn comes first, then a place among the
    ``running``, so a chat that sent many updates waits alone instead of filling every place.
    """

    def __init__(self, running: int = 128, waiting: int = 1024) -> None:
        super().__init__(max(waiting, running))
        self._running = asyncio.BoundedSemaphore(running)
        # A lock per chat with updates in progress or waiting; forgotten when none are left.
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _order_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock wakes its waiters first come, first served
                async with self._running:
                    await coroutine
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: the locks go with the updates."""
