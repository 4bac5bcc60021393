"""The database stops answering for 5 s in the middle of a two-process fan-out: nothing
is sent twice, nothing is lost, and sending resumes at once when it answers again."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.simulator import FakeTelegram, spec_unavailable_reason
from tests.e2e.crash import FIRST_USER, TOKEN, prepare, reminders_received, start_bot
from tests.e2e.tcp_proxy import BreakableProxy

PARTICIPANTS = 300
OUTAGE_SECONDS = 5.0


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


def _send_times(server: FakeTelegram) -> list[float]:
    return sorted(
        r.monotonic for r in server.requests if r.method == "sendMessage" and r.status == 200
    )


async def test_a_database_outage_in_a_two_process_fan_out_doubles_and_loses_nothing(
    database_url: str, tmp_path: Path
):
    if not database_url.startswith("postgresql"):
        pytest.skip("breaks the connection to a database server; SQLite is a local file")
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    await prepare(database_url, participants=PARTICIPANTS)
    target = urlsplit(database_url)
    async with (
        BreakableProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy,
        FakeTelegram(token=TOKEN) as server,
    ):
        server.latency = 0.05
        for index in range(PARTICIPANTS):
            server.user(FIRST_USER + index, f"P{index}")
        url = _through(database_url, proxy.port)
        processes = [
            start_bot(server, url, tmp_path),
            start_bot(server, url, tmp_path, "--no-polling"),
        ]
        try:
            await server.wait_for(
                lambda: sum(reminders_received(server, PARTICIPANTS).values()) >= 90,
                timeout=60,
                what="the fan-out under way",
            )
            proxy.interrupt()
            broken_at = time.monotonic()
            await asyncio.sleep(OUTAGE_SECONDS)  # the database is away for this long
            proxy.resume()
            back_at = time.monotonic()
            await server.wait_for(
                lambda: len(reminders_received(server, PARTICIPANTS)) == PARTICIPANTS,
                timeout=90,
                what="every participant reminded",
            )
            await asyncio.sleep(2.0)  # two leases more: a double would show by now
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        received = reminders_received(server, PARTICIPANTS)
        times = _send_times(server)
    assert len(received) == PARTICIPANTS and set(received.values()) == {1}, {
        chat: n for chat, n in received.items() if n != 1
    }
    # Sending stopped while the database was away (no lease could be renewed) ...
    assert not [t for t in times if broken_at + 1.5 < t < back_at]
    # ... and started again within 2 s of its return, not at the next sweep.
    assert min(t for t in times if t >= back_at) - back_at < 2.0
