"""The real bot, over HTTP, against the fake Bot API server, on a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import ALLOWED_UPDATES, BotApplication, build_application
from bot.context import Deps
from bot.core.clock import SettableClock
from bot.dispatcher import DispatchStats, drain
from bot.settings import Settings
from bot.simulator import FakeTelegram, FakeUser
from storage.db import make_engine, make_sessionmaker

TOKEN = "123456:TEST-token"


@dataclass
class Harness:
    server: FakeTelegram
    app: BotApplication
    deps: Deps
    clock: SettableClock
    engine: AsyncEngine

    async def say(self, user: FakeUser, text: str) -> dict[str, Any]:
        """The user sends a text; returns the bot's next message to them."""
        before = self.server.bot_message_count(user.id)
        self.server.send_text(user, text)
        return await self.server.wait_for_bot_message(user.id, count_before=before)

    async def tap(self, user: FakeUser, message: dict[str, Any], text: str) -> None:
        """The user taps a button by its visible text; waits until the bot has handled it."""
        self.server.press_button(user, message, text=text)
        await self.idle()

    async def idle(self) -> None:
        """Wait until the bot has handled everything, sheet redraws included."""
        redraws = self.deps.extras["sheet_redraws"]
        while True:
            await self.server.wait_until_idle(application=self.app)
            if not redraws.busy:
                return
            await redraws.settled()

    async def send(self, user: FakeUser, text: str) -> None:
        self.server.send_text(user, text)
        await self.idle()

    def last(self, user: FakeUser) -> dict[str, Any]:
        return self.server.last_bot_message(user.id)

    async def dispatch(self) -> DispatchStats:
        """Run the outbox dispatcher now, at the harness clock's time."""
        return await drain(self.app.bot, self.deps)


@asynccontextmanager
async def running_bot(
    database_url: str, clock: SettableClock, *, dispatcher_enabled: bool = False, **settings: Any
) -> AsyncIterator[Harness]:
    async with FakeTelegram(token=TOKEN) as server:
        config = Settings(
            telegram_token=TOKEN,
            telegram_api_url=server.base_url,
            telegram_file_url=server.base_file_url,
            database_url=database_url,
            dispatcher_enabled=dispatcher_enabled,
            sheet_redraw_seconds=settings.pop("sheet_redraw_seconds", 0.02),
            _env_file=None,  # type: ignore[call-arg]
            **settings,
        )
        engine = make_engine(config.database_url)
        deps = Deps(settings=config, sessionmaker=make_sessionmaker(engine), clock=clock)
        app = build_application(deps)
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
        try:
            yield Harness(server, app, deps, clock, engine)
        finally:
            await app.updater.stop()
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
            await app.shutdown()
            await engine.dispose()
