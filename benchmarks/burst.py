"""Many people write at once: ``python -m benchmarks.burst --people 60 --latency 0.12``.

The real bot (``activup run`` in its own process, polling) against the fake Bot API
server answering every call after ``--latency`` seconds, as Telegram does from Europe.
Every participant sends ``/next`` at the same moment while their referent taps a
person on the attendance sheet. Measures when each person got their answer and when the
referent's tap got its toast. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.core.clock import SystemClock
from bot.simulator import FakeTelegram
from storage import migrate
from storage.db import make_engine, make_sessionmaker
from tests.core.factories import one_session, programme
from tests.e2e.crash import TOKEN, start_bot

FIRST_USER = 1000


async def run(people: int, latency: float, database_url: str, workdir: Path) -> dict[str, Any]:
    now = SystemClock().now()
    engine = make_engine(database_url)
    maker = make_sessionmaker(engine)
    prog = await programme(maker, now, participants=people, first_user_id=FIRST_USER)
    # A session that began ten minutes ago: the referent marks it during the burst.
    await one_session(
        maker, prog.group_id, now - timedelta(minutes=10), now=now - timedelta(hours=1)
    )
    await one_session(maker, prog.group_id, now + timedelta(days=2), now=now)
    await engine.dispose()
    async with FakeTelegram(token=TOKEN) as server:
        users = [server.user(FIRST_USER + i, f"P{i}", language_code="fr") for i in range(people)]
        referent = server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
        bot = start_bot(server, database_url, workdir)  # its own process, as in production
        try:
            before = server.bot_message_count(referent.id)
            server.send_text(referent, "/today")
            today = await server.wait_for_bot_message(referent.id, before, timeout=60)
            before = server.bot_message_count(referent.id)
            server.press_button(
                referent, today, text=today["reply_markup"]["inline_keyboard"][0][0]["text"]
            )
            sheet = await server.wait_for_bot_message(referent.id, before, timeout=30)
            person = sheet["reply_markup"]["inline_keyboard"][0][0]
            server.latency = latency

            counts = {u.id: server.bot_message_count(u.id) for u in users}
            started = time.perf_counter()
            for user in users:
                server.send_text(user, "/next")
            tap = server.press_button(referent, sheet, data=person["callback_data"])
            answered: dict[int, float] = {}
            toast_s = 0.0

            async def toast() -> None:
                nonlocal toast_s
                await server.wait_for_callback_answer(tap, timeout=60)
                toast_s = time.perf_counter() - started

            async def answer(user_id: int) -> None:
                await server.wait_for_bot_message(user_id, counts[user_id], timeout=60)
                answered[user_id] = time.perf_counter() - started

            await asyncio.gather(toast(), *(answer(u.id) for u in users))
        finally:
            bot.send_signal(signal.SIGTERM)
            try:
                bot.wait(timeout=20)
            except subprocess.TimeoutExpired:
                bot.kill()
        times = sorted(answered.values())
        return {
            "people": people,
            "latency_s": latency,
            "first_answer_s": round(times[0], 3),
            "median_answer_s": round(statistics.median(times), 3),
            "last_answer_s": round(times[-1], 3),
            "referent_toast_s": round(toast_s, 3),
            "violations": len(server.violations),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.12)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'burst.sqlite3'}"
        migrate.upgrade(url)
        figures = asyncio.run(run(args.people, args.latency, url, Path(tmp)))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
