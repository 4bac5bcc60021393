"""Start the bot process: engine, application, polling."""

from __future__ import annotations

import asyncio
import uuid

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


def run_bot(settings: Settings) -> None:
    """Long polling until Ctrl-C or SIGTERM; python-telegram-bot handles the signals."""
    # run_polling needs a current event loop on the main thread (Python 3.12+ has none).
    asyncio.set_event_loop(asyncio.new_event_loop())
    deps = build_deps(settings)
    application = build_application(deps)
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
