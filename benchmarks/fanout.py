"""Fan out reminders under Telegram's limits: ``python -m benchmarks.fanout --participants 600``.

The real bot (python-telegram-bot ``Application``, its JobQueue and our rate limiter)
against the fake Bot API server playing Telegram's limits (30 messages a second overall,
1 a second per chat, 429 beyond). All reminders fall due at the same moment; the bot is
woken by its scheduler, not by the benchmark. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.core import outbox
from bot.core.clock import SystemClock
from bot.dispatcher import wake
from storage import migrate
from storage.models import OutboxMessage, OutboxStatus
from tests.core.factories import one_session, programme
from tests.e2e.harness import running_bot

FIRST_USER = 1000


async def run(participants: int, database_url: str, latency: float) -> dict[str, float | int]:
    clock = SystemClock()
    async with running_bot(database_url, clock) as h:  # type: ignore[arg-type]
        h.server.enforce_limits = True
        h.server.latency = latency
        for index in range(participants):
            h.server.user(FIRST_USER + index, f"P{index}", language_code="fr")
        now = clock.now()
        prog = await programme(h.deps.sessionmaker, now, participants=participants)
        session_id = await one_session(
            h.deps.sessionmaker, prog.group_id, now + timedelta(days=2), now=now
        )
        due = now + timedelta(seconds=2)
        async with h.deps.sessionmaker() as session:
            await outbox.plan_session(session, session_id, now=now, tz=ZoneInfo("Europe/Brussels"))
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.rule_key.is_distinct_from("d-1@18:00"))
                .values(status=OutboxStatus.SKIPPED)
            )
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.rule_key == "d-1@18:00")
                .values(due_at=due)
            )
            await session.commit()
        wake(h.app, (due - clock.now()).total_seconds())
        await h.server.wait_for(
            lambda: len(_sends(h.server)) >= participants, timeout=participants / 10 + 30
        )
        sends = _sends(h.server)
        walls = sorted(r.wall for r in sends)
        lateness = [w - due.timestamp() for w in walls]
        elapsed = walls[-1] - walls[0]
        return {
            "participants": participants,
            "latency_s": latency,
            "sent": len(sends),
            "elapsed_s": round(elapsed, 3),
            "rate_msgs_per_s": round((len(sends) - 1) / elapsed, 2) if elapsed else 0.0,
            "max_sends_1s": h.server.max_sends_in_window(1.0),
            "http_429": h.server.http_429,
            "first_after_due_s": round(lateness[0], 3),
            "lateness_p50_s": round(statistics.median(lateness), 3),
            "lateness_p99_s": round(lateness[int(0.99 * (len(lateness) - 1))], 3),
            "last_after_due_s": round(lateness[-1], 3),
            "peak_in_flight": h.server.peak_sends_in_flight,
        }


def _sends(server):  # type: ignore[no-untyped-def]
    return [r for r in server.requests if r.method == "sendMessage" and r.status == 200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=600)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the fake takes to answer each call"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.sqlite3'}"
        migrate.upgrade(url)
        started = time.perf_counter()
        figures = asyncio.run(run(args.participants, url, args.latency))
        figures["wall_s"] = round(time.perf_counter() - started, 1)
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
