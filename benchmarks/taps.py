"""Attendance taps per second, against a bare bot: ``python -m benchmarks.taps --taps 2000``.

A referent taps through a sheet of 20 participants as fast as the bot answers, through the
fake Bot API server. In the same run a bare python-telegram-bot bot (a callback handler
that only answers the query) takes the same number of taps on its own fake server.
``p50_ms``/``p99_ms`` are bot-side handling times (``Application.process_update``);
``sql_per_tap`` counts SQL statements. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.core.clock import SettableClock
from storage import migrate
from tests.core.factories import one_session, programme
from tests.e2e.harness import TOKEN, running_bot
from tests.fake_telegram import FakeTelegram

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
SHEET_SIZE = 20


def _timed(app: Any, durations: list[float]) -> None:
    original: Callable[[object], Awaitable[None]] = app.process_update

    async def process_update(update: object) -> None:
        started = time.perf_counter()
        await original(update)
        durations.append(time.perf_counter() - started)

    app.process_update = process_update


async def _tap_loop(
    server: FakeTelegram,
    user: Any,
    message_of: Callable[[], dict[str, Any]],
    taps: int,
    pick: Callable[[int, dict[str, Any]], str],
) -> float:
    started = time.perf_counter()
    for index in range(taps):
        message = message_of()
        update = server.press_button(user, message, data=pick(index, message))
        await server.wait_for_callback_answer(update)
    return time.perf_counter() - started


async def activup(taps: int, database_url: str) -> dict[str, float]:
    clock = SettableClock(START - timedelta(days=1))
    async with running_bot(database_url, clock) as h:
        prog = await programme(h.deps.sessionmaker, clock.now(), participants=SHEET_SIZE)
        sid = await one_session(h.deps.sessionmaker, prog.group_id, START, now=clock.now())
        clock.set(START + timedelta(minutes=5))
        referent = h.server.user(prog.referent_telegram_id, "Sophie")
        for index in range(SHEET_SIZE):
            h.server.user(1000 + index, f"P{index}")
        opener = h.server.send_text(referent, "/today")
        await h.server.wait_until_idle(application=h.app)
        today = h.server.last_bot_message(referent.id)
        before = h.server.bot_message_count(referent.id)
        h.server.press_button(referent, today, data=f"ats:1:{sid}")
        sheet = await h.server.wait_for_bot_message(referent.id, count_before=before)
        del opener
        durations: list[float] = []
        _timed(h.app, durations)
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        event.listen(h.engine.sync_engine, "before_cursor_execute", count)

        def current() -> dict[str, Any]:
            return h.server.message(referent.id, sheet["message_id"])

        def pick(index: int, message: dict[str, Any]) -> str:
            rows = message["reply_markup"]["inline_keyboard"]
            return str(rows[index % SHEET_SIZE][0]["callback_data"])

        elapsed = await _tap_loop(h.server, referent, current, taps, pick)
        event.remove(h.engine.sync_engine, "before_cursor_execute", count)
        assert h.server.violations == [], h.server.violations
        ms = sorted(d * 1000 for d in durations)
        return {
            "taps_per_s": taps / elapsed,
            "p50_ms": statistics.median(ms),
            "p99_ms": ms[int(0.99 * (len(ms) - 1))],
            "sql_per_tap": statements[0] / taps,
        }


async def bare(taps: int) -> float:
    async def on_tap(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()

    async with FakeTelegram(token=TOKEN) as server:
        app = (
            Application.builder()
            .token(TOKEN)
            .base_url(server.base_url)
            .base_file_url(server.base_file_url)
            .build()
        )
        app.add_handler(CallbackQueryHandler(on_tap))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        user = server.user(42, "Echo")
        await app.bot.send_message(
            42,
            "tap",
            reply_markup={"inline_keyboard": [[{"text": "x", "callback_data": "x"}]]},  # type: ignore[arg-type]
        )
        message = server.last_bot_message(42)
        try:
            elapsed = await _tap_loop(server, user, lambda: message, taps, lambda _i, _m: "x")
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    return taps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--taps", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'taps.sqlite3'}"
        migrate.upgrade(url)
        ours = asyncio.run(activup(args.taps, url))
    bare_rate = asyncio.run(bare(args.taps))
    print(
        json.dumps(
            {
                "taps": args.taps,
                "database": url.split(":", 1)[0],
                "taps_per_s": round(ours["taps_per_s"], 1),
                "bare_taps_per_s": round(bare_rate, 1),
                "ratio": round(ours["taps_per_s"] / bare_rate, 2),
                "p50_ms": round(ours["p50_ms"], 1),
                "p99_ms": round(ours["p99_ms"], 1),
                "sql_per_tap": round(ours["sql_per_tap"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
