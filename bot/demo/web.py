"""The demo page and its small JSON API, served by tornado in the bot's own event loop.

Why tornado: python-telegram-bot's webhook extra already brings it, the simulator runs
on it, and server-sent events need nothing more than a handler that keeps writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import quote

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from bot.demo.world import CLOCK_MOVES, DemoError, DemoWorld, language_names
from bot.i18n import LANGUAGES, RTL_LANGUAGES
from bot.key_messages import key_messages

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
SETTLE_SECONDS = 0.05  # gather a burst of changes into one event


class Changes:
    """Counts changes of the simulated Telegram; event streams wait on it."""

    def __init__(self) -> None:
        self.version = 0
        self.closing = False
        self._event = asyncio.Event()
        self.streams = 0
        self._no_streams = asyncio.Event()
        self._no_streams.set()

    def changed(self) -> None:
        self.version += 1
        self._event.set()

    async def wait(self, seen: int, timeout: float) -> None:  # noqa: ASYNC109
        if self.version != seen or self.closing:
            return
        self._event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)

    def close(self) -> None:
        self.closing = True
        self._event.set()

    def stream_opened(self) -> None:
        self.streams += 1
        self._no_streams.clear()

    def stream_closed(self) -> None:
        self.streams -= 1
        if self.streams == 0:
            self._no_streams.set()

    async def streams_ended(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait for the open event streams to end: a stream still open when the event
        loop closes is cancelled, and tornado logs an error it can no longer send."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._no_streams.wait(), timeout)


class _Base(tornado.web.RequestHandler):
    def initialize(self, world: DemoWorld, changes: Changes) -> None:
        self.world = world
        self.changes = changes

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise tornado.web.HTTPError(400, "JSON expected") from exc
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "a JSON object expected")
        return data

    def reply(self, payload: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None))[1]
        message = getattr(error, "log_message", None) or self._reason
        self.reply({"error": message})

    async def act(self, action: Callable[[], Any]) -> None:
        """Run a page action; a refusal is a 400 with its reason, shown on the page."""
        try:
            result = action()
            if asyncio.iscoroutine(result):
                result = await result
        except DemoError as exc:
            self.set_status(400)
            self.reply({"error": str(exc)})
            return
        self.world.report_violations()
        self.reply({"ok": True, "result": result, "clock": self.world.clock_view()})


class PageHandler(_Base):
    def get(self) -> None:
        page = resources.files("bot.demo").joinpath("static/index.html").read_text("utf-8")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page)


class StateHandler(_Base):
    async def get(self) -> None:
        accounts = await self.world.accounts()
        self.reply(
            {
                "clock": self.world.clock_view(),
                "accounts": [a.__dict__ for a in accounts],
                "groups": await self.world.groups(),
                "languages": [
                    {"code": lang.code, "name": lang.native_name, "rtl": lang.code in RTL_LANGUAGES}
                    for lang in LANGUAGES
                ],
                "bot_username": self.world.server.bot_user.username,
                "moves": list(CLOCK_MOVES),
            }
        )


class ChatHandler(_Base):
    def get(self, telegram_id: str) -> None:
        try:
            self.reply(self.world.chat(int(telegram_id)))
        except DemoError as exc:
            raise tornado.web.HTTPError(404, str(exc)) from exc


class SendHandler(_Base):
    async def post(self) -> None:
        data = self.body()
        await self.act(
            lambda: self.world.send_text(int(data["account"]), str(data.get("text", "")))
        )


class VoiceHandler(_Base):
    async def post(self) -> None:
        data = self.body()
        await self.act(lambda: self.world.send_voice(int(data["account"])))


class TapHandler(_Base):
    async def post(self) -> None:
        data = self.body()
        account, message_id = int(data["account"]), int(data["message_id"])
        await self.act(lambda: self.world.tap(account, message_id, str(data["data"])))


class ClockHandler(_Base):
    async def post(self) -> None:
        data = self.body()
        account = data.get("account")
        await self.act(
            lambda: self.world.move_clock(str(data["move"]), int(account) if account else None)
        )


class LanguageHandler(_Base):
    async def post(self) -> None:
        data = self.body()
        await self.act(
            lambda: self.world.set_language(int(data["participant"]), str(data["language"]))
        )


class ParticipantHandler(_Base):
    async def post(self) -> None:
        data = self.body()
        await self.act(
            lambda: self.world.add_participant(
                name=str(data.get("name", "")),
                group_id=int(data["group"]),
                app_language=str(data.get("language", "fr")),
            )
        )


class OpenInviteHandler(_Base):
    async def post(self) -> None:
        data = self.body()
        await self.act(
            lambda: self.world.open_invite(
                str(data["token"]),
                name=str(data.get("name") or "Nouveau"),
                app_language=str(data.get("language", "fr")),
            )
        )


class KeyMessagesHandler(_Base):
    def get(self) -> None:
        language = self.get_argument("language", "fr")
        if language not in language_names():
            raise tornado.web.HTTPError(400, "unknown language")
        messages = key_messages(language, self.world.deps.settings.tz)
        moment = self.world.clock.unix_time()
        self.reply(
            [
                {
                    "name": m.name,
                    **self.world.render_message(
                        {"message_id": i, "from": {"is_bot": True}, "text": m.text, "date": moment}
                    ),
                }
                for i, m in enumerate(messages, start=1)
            ]
        )


class FileHandler(_Base):
    def get(self, file_id: str) -> None:
        try:
            content, mime_type, file_name = self.world.file(file_id)
        except DemoError as exc:
            raise tornado.web.HTTPError(404, str(exc)) from exc
        self.set_header("Content-Type", mime_type)
        if file_name:
            self.set_header(
                "Content-Disposition", f"attachment; filename*=UTF-8''{quote(file_name)}"
            )
        self.finish(content)


class EventsHandler(_Base):
    """Server-sent events: one ``change`` event per burst of activity, and the clock."""

    async def get(self) -> None:
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-store")
        seen = -1
        self.changes.stream_opened()
        try:
            while not self.changes.closing:
                await self.changes.wait(seen, KEEPALIVE_SECONDS)
                await asyncio.sleep(SETTLE_SECONDS)
                if self.changes.closing:
                    break
                seen = self.changes.version
                payload = {"version": seen, "clock": self.world.clock_view()}
                self.world.report_violations()
                self.write(f"event: change\ndata: {json.dumps(payload)}\n\n")
                await self.flush()
            with contextlib.suppress(Exception):
                self.finish()
        except tornado.iostream.StreamClosedError:
            return
        except Exception:
            # The headers are gone: tornado cannot answer with an error page any more.
            # While the demo stops this is expected; otherwise the page reconnects.
            if not self.changes.closing:
                log.warning("event stream ended by an error", exc_info=True)
        finally:
            self.changes.stream_closed()


def make_app(world: DemoWorld, changes: Changes) -> tornado.web.Application:
    static = str(resources.files("bot.demo").joinpath("static"))
    args = {"world": world, "changes": changes}
    return tornado.web.Application(
        [
            (r"/", PageHandler, args),
            (r"/api/state", StateHandler, args),
            (r"/api/chat/(\d+)", ChatHandler, args),
            (r"/api/send", SendHandler, args),
            (r"/api/voice", VoiceHandler, args),
            (r"/api/tap", TapHandler, args),
            (r"/api/clock", ClockHandler, args),
            (r"/api/language", LanguageHandler, args),
            (r"/api/participant", ParticipantHandler, args),
            (r"/api/open-invite", OpenInviteHandler, args),
            (r"/api/key-messages", KeyMessagesHandler, args),
            (r"/files/([A-Za-z0-9_-]+)", FileHandler, args),
            (r"/events", EventsHandler, args),
            (r"/static/(.*)", tornado.web.StaticFileHandler, {"path": static}),
        ],
        log_function=lambda handler: None,
    )


def bind(host: str, port: int) -> list[socket.socket]:
    """Take the port first, so a port already in use is refused before anything starts."""
    return tornado.netutil.bind_sockets(port, host, family=socket.AF_INET)


def serve(
    app: tornado.web.Application, sockets: list[socket.socket]
) -> tornado.httpserver.HTTPServer:
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    return server
