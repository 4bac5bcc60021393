"""End-to-end fixtures: the real bot against the fake Telegram, on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.clock import SettableClock
from bot.simulator.api_spec import spec_unavailable_reason
from tests.e2e.harness import Harness, running_bot


@pytest.fixture
async def harness(database_url: str, clock: SettableClock) -> AsyncIterator[Harness]:
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    async with running_bot(database_url, clock) as running:
        yield running
        assert running.server.violations == [], "the bot sent invalid Bot API requests"
