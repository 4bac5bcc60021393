"""Kill the bot process in the middle of a reminder fan-out, start it again, count messages.

Shared by the end-to-end test and ``python -m benchmarks.crash``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.core import outbox
from bot.core.clock import SystemClock
from bot.simulator import FakeTelegram
from storage.db import make_engine, make_sessionmaker
from storage.models import OutboxMessage
from tests.core.factories import one_session, programme

TOKEN = "123456:TEST-token"
FIRST_USER = 1000
BRUSSELS = ZoneInfo("Europe/Brussels")


@dataclass
class KillResult:
    participants: int
    delivered: int
    lost: int
    duplicates: int
    sent_before_kill: int


async def prepare(database_url: str, participants: int) -> None:
    """A group whose reminders are all due now, in the real clock's terms."""
    now = SystemClock().now()
    engine = make_engine(database_url)
    maker = make_sessionmaker(engine)
    prog = await programme(maker, now, participants=participants, first_user_id=FIRST_USER)
    session_id = await one_session(maker, prog.group_id, now + timedelta(days=2), now=now)
    async with maker() as session:
        await outbox.plan_session(session, session_id, now=now, tz=BRUSSELS)
        # Keep one reminder each, due a second ago: the fan-out starts as the bot starts.
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.rule_key.is_distinct_from("d-1@18:00"))
            .values(status="skipped")
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.rule_key == "d-1@18:00")
            .values(due_at=now - timedelta(seconds=1))
        )
        await session.commit()
    await engine.dispose()


def start_bot(
    server: FakeTelegram,
    database_url: str,
    workdir: Path,
    *extra: str,
    settings: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        ACTIVUP_TELEGRAM_TOKEN=TOKEN,
        ACTIVUP_TELEGRAM_API_URL=server.base_url,
        ACTIVUP_TELEGRAM_FILE_URL=server.base_file_url,
        ACTIVUP_DATABASE_URL=database_url,
        ACTIVUP_OUTBOX_LEASE_SECONDS="1",
    )
    env.update({f"ACTIVUP_{name.upper()}": value for name, value in (settings or {}).items()})
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", *extra],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def reminders_received(server: FakeTelegram, participants: int) -> Counter[int]:
    counts: Counter[int] = Counter()
    for request in server.requests:
        if request.method == "sendMessage" and request.status == 200:
            chat = int(request.params.get("chat_id", 0))
            if FIRST_USER <= chat < FIRST_USER + participants:
                counts[chat] += 1
    return counts


async def kill_and_restart(
    server: FakeTelegram,
    database_url: str,
    workdir: Path,
    *,
    participants: int,
    kill_after: int,
    limit_seconds: float = 120.0,
    settings: dict[str, str] | None = None,
) -> KillResult:
    """Start, SIGKILL after ``kill_after`` reminders, start again, wait for the rest."""
    for index in range(participants):
        server.user(FIRST_USER + index, f"P{index}", language_code="fr")
    first = start_bot(server, database_url, workdir, settings=settings)
    try:
        await server.wait_for(
            lambda: sum(reminders_received(server, participants).values()) >= kill_after,
            timeout=limit_seconds,
            what="the first reminders",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    sent_before_kill = sum(reminders_received(server, participants).values())
    second = start_bot(server, database_url, workdir, settings=settings)
    try:
        await server.wait_for(
            lambda: len(reminders_received(server, participants)) == participants,
            timeout=limit_seconds,
            what="every participant reminded",
        )
        await asyncio.sleep(1.5)  # one lease more: a duplicate would show up by now
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()
    counts = reminders_received(server, participants)
    return KillResult(
        participants=participants,
        delivered=len(counts),
        lost=participants - len(counts),
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
        sent_before_kill=sent_before_kill,
    )
