"""Start the bot process: engine, application, polling."""

from __future__ import annotations

import asyncio
import signal
import uuid
from typing import Any

from bot.app import ALLOWED_UPDATES, build_application
from bot.context import Deps
from bot.core.clock import SystemClock
from bot.settings import Settings
from storage.db import make_engine, make_sessionmaker


def build_deps(settings: Settings) -> Deps:
    engine = make_engine(settings.database_url)
    return Deps(
        settings=settings,
        sessionmaker=make_sessionmaker(engine),
        clock=SystemClock(),
        instance_id=uuid.uuid4().hex[:12],
    )


def run_bot(settings: Settings, *, webhook: bool = False, poll: bool = True) -> None:
    """Long polling (default), a webhook server, or the dispatcher alone (``poll=False``).

    Stops on Ctrl-C or SIGTERM. Only one process may poll a token; a second instance on the
    same database runs with ``poll=False`` and shares the reminders without doubles.
    """
    deps = build_deps(settings)
    application = build_application(deps)
    if webhook:
        from bot.webhook import run_webhook

        run_webhook(application, deps)
        return
    # run_polling needs a current event loop on the main thread (Python 3.12+ has none).
    asyncio.set_event_loop(asyncio.new_event_loop())
    if poll:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    else:
        asyncio.get_event_loop().run_until_complete(_dispatch_only(application))


async def _dispatch_only(application: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    try:
        await stop.wait()
    finally:
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
