"""Webhook mode: Telegram posts updates to us, behind a reverse proxy.

A small tornado server of our own (python-telegram-bot's documented way for custom
webhook servers) rather than ``run_webhook``, for three reasons: the secret token is
compared in constant time, a health endpoint answers for the database and the scheduler,
and an update is acknowledged only once it has been handled, so Telegram re-delivers it
if the bot fails mid-way instead of it being lost.

An update that failed because the database is unreachable is answered 500: Telegram
delivers it again later. Handled updates are remembered (bot/core/handled_updates.py),
so a re-delivery of one is answered 200 and not handled twice.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal

from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

from bot.app import ALLOWED_UPDATES, BotApplication
from bot.context import Deps
from bot.core import handled_updates
from bot.database_outage import check_database, database_unavailable
from bot.handlers.errors import errors_of
from storage.db import unit_of_work

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1_000_000


class UpdateHandler(RequestHandler):
    """POST <path>: one update, handled before answering 200."""

    def initialize(self, bot_application: BotApplication, deps: Deps, secret: str) -> None:
        self.application_ = bot_application
        self.deps = deps
        self.secret = secret.encode("utf-8")

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, self.secret):
            self.set_status(403)
            self.finish("forbidden")
            return
        if len(self.request.body) > MAX_BODY:
            self.set_status(413)
            self.finish()
            return
        update = self._parse()
        if update is None:
            self.set_status(400)
            self.finish("bad update")
            return
        if await self._handled_before(update.update_id):
            self.set_status(200)
            self.finish()
            return
        with errors_of(self.deps, update.update_id) as errors:
            await self.application_.process_update(update)
        if any(database_unavailable(error) for error in errors):
            log.warning("update %s not handled, database unreachable: 500", update.update_id)
            self.set_status(500)
            self.finish("retry later")
            return
        await self._remember(update.update_id)
        self.set_status(200)
        self.finish()

    def _parse(self) -> Update | None:
        """The update, or None (and one log line) for a body that is not one."""
        try:
            data = json.loads(self.request.body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update object")
            return Update.de_json(data, self.application_.bot)
        except RecursionError:
            log.warning("bad update body: nested too deeply")
        except Exception as exc:  # any malformed content: the sender gets 400, we a line
            log.warning("bad update body: %s", type(exc).__name__)
        return None

    async def _handled_before(self, update_id: int) -> bool:
        try:
            async with unit_of_work(self.deps.sessionmaker) as session:
                return await handled_updates.was_handled(session, update_id)
        except Exception:  # the database is down: handling will tell (and answer 500)
            return False

    async def _remember(self, update_id: int) -> None:
        try:
            async with unit_of_work(self.deps.sessionmaker) as session:
                await handled_updates.remember(session, update_id, now=self.deps.clock.now())
                await session.commit()
        except Exception:  # handled all the same; a re-delivery would be handled again
            log.warning("could not note update %s as handled", update_id)


class HealthHandler(RequestHandler):
    """GET /health: 200 when the database answers and the scheduler runs, else 503."""

    def initialize(self, bot_application: BotApplication, deps: Deps) -> None:
        self.application_ = bot_application
        self.deps = deps

    async def get(self) -> None:
        # An outage is logged when it starts and when it ends, not at every probe.
        checks = {"database": await check_database(self.application_)}
        job_queue = self.application_.job_queue
        running = job_queue is not None and job_queue.scheduler.running
        checks["scheduler"] = "ok" if running else "stopped"
        healthy = all(value == "ok" for value in checks.values())
        self.set_status(200 if healthy else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(checks))


def _access_log(handler: RequestHandler) -> None:
    """Tornado's access line at debug level: each refusal or failure already logs its own."""
    request = handler.request
    log.debug("%s %s %s", handler.get_status(), request.method, request.path)


def make_server_app(
    application: BotApplication, deps: Deps, path: str, secret: str
) -> TornadoApplication:
    return TornadoApplication(
        [
            (
                rf"/{path.strip('/')}",
                UpdateHandler,
                {"bot_application": application, "deps": deps, "secret": secret},
            ),
            (r"/health", HealthHandler, {"bot_application": application, "deps": deps}),
        ],
        log_function=_access_log,
    )


async def serve(application: BotApplication, deps: Deps, stop: asyncio.Event) -> None:
    """Start the bot, register the webhook with Telegram, serve until ``stop`` is set."""
    settings = deps.settings
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    server = HTTPServer(
        make_server_app(application, deps, settings.webhook_path, settings.webhook_secret),
        max_body_size=MAX_BODY,
    )
    server.listen(settings.webhook_port, address=settings.webhook_listen)
    await application.bot.set_webhook(
        url=settings.webhook_url,
        secret_token=settings.webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
    )
    log.info("webhook served on %s:%s", settings.webhook_listen, settings.webhook_port)
    try:
        await stop.wait()
    finally:
        server.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()


def run_webhook(application: BotApplication, deps: Deps) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(application, deps, stop)

    asyncio.run(main())
