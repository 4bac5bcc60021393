"""Two bot processes on one database, both dispatching: each reminder goes out once."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from bot.simulator import FakeTelegram, spec_unavailable_reason
from tests.e2e.crash import FIRST_USER, TOKEN, prepare, reminders_received, start_bot

PARTICIPANTS = 500


async def test_two_processes_send_a_fan_out_of_500_exactly_once(database_url: str, tmp_path: Path):
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    await prepare(database_url, participants=PARTICIPANTS)
    async with FakeTelegram(token=TOKEN) as server:
        for index in range(PARTICIPANTS):
            server.user(FIRST_USER + index, f"P{index}")
        processes = [
            start_bot(server, database_url, tmp_path),
            start_bot(server, database_url, tmp_path, "--no-polling"),
        ]
        try:
            await server.wait_for(
                lambda: len(reminders_received(server, PARTICIPANTS)) == PARTICIPANTS,
                timeout=120,
                what="every participant reminded",
            )
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        received = reminders_received(server, PARTICIPANTS)
        senders = {r.params.get("chat_id") for r in server.requests if r.method == "sendMessage"}
    assert len(received) == PARTICIPANTS and set(received.values()) == {1}
    assert len(senders) >= PARTICIPANTS
