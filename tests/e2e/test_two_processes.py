"""Two bot processes on one database, both dispatching: each reminder goes out once.

Telegram answers each call after 120 ms, as from Europe; with ``ACTIVUP_CPU_HOG=1`` a
busy process per core runs beside them (a loaded machine delays each by seconds).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path

import pytest

from bot.simulator import FakeTelegram, spec_unavailable_reason
from tests.e2e import cpu_hog
from tests.e2e.crash import FIRST_USER, TOKEN, prepare, reminders_received, start_bot

PARTICIPANTS = 500


async def test_two_processes_send_a_fan_out_of_500_exactly_once(database_url: str, tmp_path: Path):
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    await prepare(database_url, participants=PARTICIPANTS)
    hog = cpu_hog.cpu_hog() if cpu_hog.wanted() else contextlib.nullcontext()
    async with FakeTelegram(token=TOKEN) as server:
        server.latency = 0.12
        for index in range(PARTICIPANTS):
            server.user(FIRST_USER + index, f"P{index}")
        processes = [
            start_bot(server, database_url, tmp_path),
            start_bot(server, database_url, tmp_path, "--no-polling"),
        ]
        try:
            with hog:
                await server.wait_for(
                    lambda: len(reminders_received(server, PARTICIPANTS)) == PARTICIPANTS,
                    timeout=180,
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
