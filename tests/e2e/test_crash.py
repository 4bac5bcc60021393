"""A SIGKILL in the middle of a fan-out loses no reminder and doubles at most the sends
that were open: one when the bot keeps one send open at a time (``outbox_in_flight=1``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.simulator import FakeTelegram, spec_unavailable_reason
from tests.e2e.crash import TOKEN, kill_and_restart, prepare


async def test_a_killed_bot_restarts_and_sends_every_reminder_at_most_one_twice(
    database_url: str, tmp_path: Path
):
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    await prepare(database_url, participants=40)
    async with FakeTelegram(token=TOKEN) as server:
        result = await kill_and_restart(
            server,
            database_url,
            tmp_path,
            participants=40,
            kill_after=12,
            settings={"outbox_in_flight": "1"},
        )
    assert 0 < result.sent_before_kill < 40, "the kill fell in the middle of the fan-out"
    assert result.lost == 0
    assert result.delivered == 40
    assert result.duplicates <= 1
