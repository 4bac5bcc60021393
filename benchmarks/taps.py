"""Attendance taps per second, against a bare bot: ``python -m benchmarks.taps --taps 2000``.

A referent taps through a sheet of 20 participants as fast as the bot answers, through the
fake Bot API server. In the same run a bare python-telegram-bot bot (a callback handler
that only answers the query) takes the same number of taps on its own fake server.

The fake server and the tapping referent run in a process of their own, as Telegram and
the referent's phone are elsewhere: on one event loop, the server's own work (checking
every request against api.json) would delay the bot's database calls and be counted as
the bot's. ``p50_ms``/``p99_ms`` are bot-side handling times
(``Application.process_update``); ``sql_per_tap`` counts every SQL statement the bot ran
while the taps went on (sheet redraws included); ``sheet_edits`` counts the sheet's
redraws; ``cpu_ms_per_tap`` is the bot process's CPU time per tap (both bots).
``bare_sheet_taps_per_s`` runs the bare bot a second time on a message with a sheet's
worth of buttons, so that its updates are as large as ours: ``ratio`` is the issue's
figure, ``ratio_to_sheet_shaped_bare`` separates our handler's cost from the cost of
parsing the update. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import multiprocessing
import pstats
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.app import ALLOWED_UPDATES, BotApplication, build_application
from bot.context import Deps
from bot.core.clock import SettableClock
from bot.settings import Settings
from bot.simulator import FakeTelegram
from storage import migrate
from storage.db import make_engine, make_sessionmaker
from storage.models import Attendance, Mark
from tests.core.factories import one_session, programme

TOKEN = "123456:BENCH-token"
START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
SHEET_SIZE = 20
BARE_USER = 42


# -- the phone side: the fake server and the referent, in a child process ----------------


def phone_side(conn: Connection, taps: int) -> None:
    asyncio.run(_phone_side(conn, taps))


async def _phone_side(conn: Connection, taps: int) -> None:
    async with FakeTelegram(token=TOKEN) as server:
        server.user(BARE_USER, "Echo")
        conn.send((server.base_url, server.base_file_url))
        task, referent_id, payload = await asyncio.to_thread(conn.recv)
        user = server.user(referent_id, "Sophie")
        if task == "sheet":
            for index in range(SHEET_SIZE):
                server.user(1000 + index, f"P{index}")
            before = server.bot_message_count(user.id)
            server.send_text(user, "/today")
            today = await server.wait_for_bot_message(user.id, count_before=before)
            before = server.bot_message_count(user.id)
            server.press_button(user, today, data=payload)
            sheet = await server.wait_for_bot_message(user.id, count_before=before)

            def current() -> dict[str, Any]:
                found = server.message(user.id, sheet["message_id"])
                assert found is not None
                return found

            def pick(index: int, message: dict[str, Any]) -> str:
                rows = message["reply_markup"]["inline_keyboard"]
                return str(rows[index % SHEET_SIZE][0]["callback_data"])

        else:
            message = server.last_bot_message(user.id)

            def current() -> dict[str, Any]:
                return message

            def pick(index: int, message: dict[str, Any]) -> str:
                rows = message["reply_markup"]["inline_keyboard"]
                return str(rows[index % len(rows)][0]["callback_data"])

        conn.send("tapping")
        edits_before = len(server.requests_for("editMessageText"))
        started = time.perf_counter()
        for index in range(taps):
            update = server.press_button(user, current(), data=pick(index, current()))
            await server.wait_for_callback_answer(update)
        elapsed = time.perf_counter() - started
        conn.send(("tapped", elapsed))
        await asyncio.to_thread(conn.recv)  # the bot has finished its redraws
        conn.send(
            {
                "elapsed": elapsed,
                "edits": len(server.requests_for("editMessageText")) - edits_before,
                "text": current().get("text", ""),
                "violations": [str(v) for v in server.violations],
            }
        )
        await asyncio.to_thread(conn.recv)  # stay up until the bot has stopped polling


@asynccontextmanager
async def _phone(taps: int) -> AsyncIterator[tuple[Connection, str, str]]:
    here, there = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=phone_side, args=(there, taps), daemon=True
    )
    process.start()
    try:
        base_url, file_url = await asyncio.to_thread(here.recv)
        yield here, base_url, file_url
    finally:
        here.send("bye")
        await asyncio.to_thread(process.join, 30)


# -- the bot side ---------------------------------------------------------------------


def _timed(app: Any, durations: list[float]) -> None:
    original: Callable[[object], Awaitable[None]] = app.process_update

    async def process_update(update: object) -> None:
        started = time.perf_counter()
        await original(update)
        durations.append(time.perf_counter() - started)

    app.process_update = process_update


@asynccontextmanager
async def _polling(app: Application[Any, Any, Any, Any, Any, Any]) -> AsyncIterator[None]:
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
        await app.shutdown()


async def activup(taps: int, database_url: str) -> dict[str, Any]:
    clock = SettableClock(START - timedelta(days=1))
    async with _phone(taps) as (conn, base_url, file_url):
        settings = Settings(
            telegram_token=TOKEN,
            telegram_api_url=base_url,
            telegram_file_url=file_url,
            database_url=database_url,
            dispatcher_enabled=False,
            _env_file=None,  # type: ignore[call-arg]
        )
        engine = make_engine(settings.database_url)
        deps = Deps(settings=settings, sessionmaker=make_sessionmaker(engine), clock=clock)
        prog = await programme(deps.sessionmaker, clock.now(), participants=SHEET_SIZE)
        sid = await one_session(deps.sessionmaker, prog.group_id, START, now=clock.now())
        clock.set(START + timedelta(minutes=5))
        app: BotApplication = build_application(deps)
        durations: list[float] = []
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        async with _polling(app):
            conn.send(("sheet", prog.referent_telegram_id, f"ats:1:{sid}"))
            assert await asyncio.to_thread(conn.recv) == "tapping"
            _timed(app, durations)
            event.listen(engine.sync_engine, "before_cursor_execute", count)
            cpu_started = time.process_time()
            _tapped, _elapsed = await asyncio.to_thread(conn.recv)
            cpu = time.process_time() - cpu_started
            await deps.extras["sheet_redraws"].settled()
            event.remove(engine.sync_engine, "before_cursor_execute", count)
            conn.send("settled")
            phone = await asyncio.to_thread(conn.recv)
        async with deps.sessionmaker() as session:
            marks = (
                await session.scalars(select(Attendance.mark).where(Attendance.session_id == sid))
            ).all()
        await engine.dispose()
    assert phone["violations"] == [], phone["violations"]
    # The last redraw shows what the database holds.
    present = sum(1 for mark in marks if mark in (Mark.PRESENT, Mark.LATE))
    assert f"Présents : {present} sur" in phone["text"], phone["text"]
    ms = sorted(d * 1000 for d in durations)
    return {
        "taps_per_s": taps / phone["elapsed"],
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[int(0.99 * (len(ms) - 1))],
        "sql_per_tap": statements[0] / taps,
        "sheet_edits": phone["edits"],
        "cpu_ms_per_tap": cpu * 1000 / taps,
    }


def _sheet_shaped_keyboard() -> dict[str, Any]:
    """As many buttons as a sheet of ``SHEET_SIZE``, with data as long as the sheet's."""
    rows = [
        [{"text": f"⬜ P{index} K. · 👍", "callback_data": f"atm:1:1:0:{1000 + index}"}]
        for index in range(SHEET_SIZE)
    ]
    rows.append(
        [{"text": "✅", "callback_data": "ata:1:1:0"}, {"text": "❌", "callback_data": "x"}]
    )
    rows.append([{"text": "➕", "callback_data": "atg:1:1"}, {"text": "🏁", "callback_data": "y"}])
    return {"inline_keyboard": rows}


async def bare(taps: int, *, sheet_shaped: bool = False) -> tuple[float, float]:
    """The bare bot; ``sheet_shaped``: its message carries a sheet's worth of buttons, so
    each tap's update is as large as ours (python-telegram-bot parses all of it)."""

    async def on_tap(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()

    keyboard = (
        _sheet_shaped_keyboard()
        if sheet_shaped
        else {"inline_keyboard": [[{"text": "x", "callback_data": "x"}]]}
    )
    async with _phone(taps) as (conn, base_url, file_url):
        app = Application.builder().token(TOKEN).base_url(base_url).base_file_url(file_url).build()
        app.add_handler(CallbackQueryHandler(on_tap))
        async with _polling(app):
            await app.bot.send_message(BARE_USER, "tap", reply_markup=keyboard)  # type: ignore[arg-type]
            conn.send(("bare", BARE_USER, ""))
            assert await asyncio.to_thread(conn.recv) == "tapping"
            cpu_started = time.process_time()
            _tapped, elapsed = await asyncio.to_thread(conn.recv)
            cpu = time.process_time() - cpu_started
            conn.send("settled")
            await asyncio.to_thread(conn.recv)
    return float(taps / elapsed), cpu * 1000 / taps


def _where_the_time_goes(stats: pstats.Stats, taps: int) -> dict[str, float]:
    """Own time per tap (ms) by package, largest first: where the bot's CPU goes.

    cProfile slows everything about twofold; the proportions are what to read.
    """
    groups: dict[str, float] = {}
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        package = re.search(r"site-packages/([^/]+)/", filename)
        if package:
            group = package.group(1)
        elif "/bot/" in filename or "/storage/" in filename:
            group = "activup"
        elif "poll" in name:
            group = "waiting"
        else:
            group = "python"
        groups[group] = groups.get(group, 0.0) + own
    ordered = sorted(groups.items(), key=lambda item: -item[1])[:12]
    return {group: round(seconds * 1000 / taps, 2) for group, seconds in ordered}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--taps", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only our bot, under cProfile: own time per tap by package",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'taps.sqlite3'}"
        migrate.upgrade(url)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            asyncio.run(activup(args.taps, url))
            profiler.disable()
            breakdown = _where_the_time_goes(pstats.Stats(profiler), args.taps)
            print(json.dumps({"taps": args.taps, "profile_ms_per_tap": breakdown}))
            return
        ours = asyncio.run(activup(args.taps, url))
    bare_rate, bare_cpu = asyncio.run(bare(args.taps))
    sheet_rate, _cpu = asyncio.run(bare(args.taps, sheet_shaped=True))
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
                "sql_per_tap": round(ours["sql_per_tap"], 2),
                "sheet_edits": ours["sheet_edits"],
                "bare_sheet_taps_per_s": round(sheet_rate, 1),
                "ratio_to_sheet_shaped_bare": round(ours["taps_per_s"] / sheet_rate, 2),
                "cpu_ms_per_tap": round(ours["cpu_ms_per_tap"], 1),
                "bare_cpu_ms_per_tap": round(bare_cpu, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
