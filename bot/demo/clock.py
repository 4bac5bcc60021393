"""The demo's clock: time passes as usual, and the page can move it forward.

Why not the tests' ``SettableClock``: a demo left open must behave like the real bot (a
reminder falls due while people look at it), while "+1 hour" or "next reminder" still
jump ahead at once. Every rule of the bot asks this clock, as it asks ``SystemClock``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class MovableClock:
    """Runs at the speed of real time from ``start``; ``advance`` and ``set`` jump."""

    def __init__(self, start: datetime, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._monotonic = monotonic
        self._origin = start.astimezone(UTC)
        self._origin_tick = monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=self._monotonic() - self._origin_tick)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment``; going back is refused (sent reminders cannot be unsent)."""
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        if moment < self.now() - timedelta(seconds=1):
            raise ValueError("the demo clock only moves forward")
        self._origin = moment.astimezone(UTC)
        self._origin_tick = self._monotonic()

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)

    def jump_to(self, moment: datetime) -> None:
        """Move to ``moment`` if it is ahead; a moment already passed leaves the clock be."""
        if moment > self.now():
            self.set(moment)

    def unix_time(self) -> int:
        """For the simulated Telegram's ``date`` fields."""
        return int(self.now().timestamp())
