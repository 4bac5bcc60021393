"""Webhook mode: Telegram posts updates to us, behind a reverse proxy.

A small tornado server of our own (python-telegram-bot's documented way for custom
webhook servers) rather than ``run_webhook``, for three reasons: the secret token is
compared in constant time, a health endpoint answers for the database and the scheduler,
and an update is acknowledged only once it has been handled, so Telegram re-delivers it
if the bot fails mid-way instead of it being lost.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal

from sqlalchemy import text
from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

from bot.app import ALLOWED_UPDATES, BotApplication
from bot.context import Deps

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1_000_000


class UpdateHandler(RequestHandler):
    """POST <path>: one update, handled before answering 200."""

    def initialize(self, bot_application: BotApplication, secret: str) -> None:
        self.application_ = bot_application
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
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, self.application_.bot)
        except (ValueError, TypeError, KeyError):
            self.set_status(400)
            self.finish("bad update")
            return
        await self.application_.process_update(update)
        self.set_status(200)
        self.finish()


class HealthHandler(RequestHandler):
    """GET /health: 200 when the database answers and the scheduler runs, else 503."""

    def initialize(self, bot_application: BotApplication, deps: Deps) -> None:
        self.application_ = bot_application
        self.deps = deps

    async def get(self) -> None:
        checks: dict[str, str] = {}
        try:
            async with self.deps.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = type(exc).__name__
        job_queue = self.application_.job_queue
        running = job_queue is not None and job_queue.scheduler.running
        checks["scheduler"] = "ok" if running else "stopped"
        healthy = all(value == "ok" for value in checks.values())
        self.set_status(200 if healthy else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(checks))


def make_server_app(
    application: BotApplication, deps: Deps, path: str, secret: str
) -> TornadoApplication:
    return TornadoApplication(
        [
            (
                rf"/{path.strip('/')}",
                UpdateHandler,
                {"bot_application": application, "secret": secret},
            ),
            (r"/health", HealthHandler, {"bot_application": application, "deps": deps}),
        ]
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
