"""Start everything the demo needs in one event loop, and stop it all on Ctrl-C.

The order follows ``activup run``: database (migrated, then seeded), the Application
with its post_init (menus, reminder planning, dispatcher), long polling; the only
differences are the far end (the simulated Telegram on loopback) and the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.app import ALLOWED_UPDATES, build_application
from bot.context import Deps
from bot.demo import programme
from bot.demo.clock import MovableClock
from bot.demo.web import Changes, bind, make_app, serve
from bot.demo.world import DemoWorld
from bot.settings import Settings, async_database_url
from bot.simulator import DEFAULT_TOKEN, FakeTelegram
from storage import migrate
from storage.db import make_engine, make_sessionmaker, unit_of_work

log = logging.getLogger(__name__)

BOT_USERNAME = "activup_demo_bot"


def banner(host: str, port: int) -> str:
    return f"ACTIV'UP demo on http://{host}:{port} (Ctrl-C to stop)"


def run_demo(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    database_url: str | None = None,
    start: datetime | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the demo until SIGINT or SIGTERM; a temporary database unless one is given."""
    with tempfile.TemporaryDirectory(prefix="activup-demo-") as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'demo.sqlite3'}"
        config = settings.model_copy(
            update={
                "telegram_token": DEFAULT_TOKEN,
                "database_url": async_database_url(url),
                "bot_username": BOT_USERNAME,
                "dispatcher_enabled": True,
                "qr_dir": Path(folder) / "invites",
            }
        )
        migrate.upgrade(config.database_url)
        asyncio.run(_serve(config, host=host, port=port, start=start, announce=announce))


async def _serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    start: datetime | None,
    announce: Callable[[str], None],
) -> None:
    sockets = bind(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    tz = settings.tz
    async with unit_of_work(sessionmaker) as db:
        fresh = await programme.is_empty(db)
    # A fresh demo opens this morning; a database used before goes on from now.
    opening = programme.demo_start(datetime.now(tz).date(), tz) if fresh else datetime.now(UTC)
    clock = MovableClock(start or opening)
    if fresh:
        async with unit_of_work(sessionmaker) as db:
            db.sync_session.info["actor"] = "demo"
            await programme.seed(db, now=clock.now(), tz=tz)
            await db.commit()
    server = FakeTelegram(
        DEFAULT_TOKEN,
        bot_username=BOT_USERNAME,
        bot_first_name="ACTIV'UP",
        unix_time=clock.unix_time,
    )
    await server.start()
    settings = settings.model_copy(
        update={
            "telegram_api_url": server.base_url,
            "telegram_file_url": server.base_file_url,
        }
    )
    deps = Deps(
        settings=settings, sessionmaker=sessionmaker, clock=clock, instance_id=uuid.uuid4().hex[:12]
    )
    application = build_application(deps)
    world = DemoWorld(server, application, deps, clock)
    for account in await world.accounts():
        language = account.people[0]["language"] if account.people else "fr"
        world.ensure_user(account.telegram_id, account.label or "Nouveau", language)
    changes = Changes()
    server.change_listeners.append(changes.changed)
    web = serve(make_app(world, changes), sockets)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0, timeout=10, allowed_updates=ALLOWED_UPDATES
    )
    announce(banner(host, port))
    try:
        await stop.wait()
    finally:
        log.info("stopping the demo")
        changes.close()
        await changes.streams_ended(2)
        web.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(web.close_all_connections(), 2)
        await application.updater.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
        await server.stop()
        await engine.dispose()
        world.report_violations()
