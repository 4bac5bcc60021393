"""The fake Bot API over real HTTP, served by tornado inside the test's own event loop.

Why real HTTP: the bot under test keeps its real ``telegram.Bot``, request
encoding, error mapping (BadRequest, Forbidden, RetryAfter, TimedOut) and
polling loop; only the far end is fake. Every request is validated against the
spec and Telegram's rules, recorded, and answered like Telegram would. See the
package docstring for the test-facing API.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import tornado.httpserver
import tornado.httputil
import tornado.iostream
import tornado.netutil
import tornado.web

from . import rules
from .actions import ChatRef, UserActions, chat_id_of
from .api_spec import ApiSpec, MethodSpec
from .methods import BotApi, is_sending_method, scope_key, targets_user
from .models import ApiError, FakeChat, FakeUser, JsonDict, RecordedRequest, UploadedFile
from .state import TelegramState, update_type

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST-token"
FAULT_MODES = ("500", "drop", "slow", "429")


class _UpdateProcessor(Protocol):
    @property
    def current_concurrent_updates(self) -> int: ...


class BusyApplication(Protocol):
    """What :meth:`FakeTelegram.wait_until_idle` reads of a python-telegram-bot Application."""

    @property
    def update_queue(self) -> asyncio.Queue[Any]: ...

    @property
    def update_processor(self) -> _UpdateProcessor: ...


@dataclass
class _Reply:
    status: int
    payload: JsonDict
    delay: float = 0.0
    drop: bool = False


class FakeTelegram(UserActions):
    """A fake Telegram Bot API server for end-to-end tests (see the package docstring)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        spec: ApiSpec | None = None,
        spec_path: Path | None = None,
        bot_username: str = "activup_test_bot",
        bot_first_name: str = "ACTIV'UP (test)",
        retry_after: int = 1,
        slow_delay: float = 6.0,
        quiet_period: float = 0.05,
        unix_time: Callable[[], int] | None = None,
    ) -> None:
        self.spec = spec or ApiSpec.load(spec_path)
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        bot = FakeUser(bot_id, bot_first_name, username=bot_username, is_bot=True)
        self.state = TelegramState(bot, token, unix_time)
        self.api = BotApi(self.state, self.spec)
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.downloads: list[str] = []
        # Telegram's limits, played only when enforce_limits is set.
        self.enforce_limits = False
        self.retry_after = retry_after
        self.global_send_limit = 30
        self.per_chat_send_limit = 1
        self.limit_window = 1.0
        self.http_429 = 0
        self.slow_delay = slow_delay
        # Seconds every answer but getUpdates waits, as Telegram's 50-200 ms from Europe.
        self.latency = 0.0
        self.sends_in_flight = 0
        self.peak_sends_in_flight = 0
        self.quiet_period = quiet_period
        self._faults: deque[str] = deque()
        self._send_log: deque[tuple[float, int | None]] = deque()
        self._changed = asyncio.Event()
        self.change_listeners: list[Callable[[], None]] = []
        self._in_flight = 0
        self._handlers_running = 0
        self._parked_polls = 0
        self._last_activity = time.monotonic()
        self._poll_generation = 0
        self._stopping = False
        self._http: tornado.httpserver.HTTPServer | None = None
        self.port: int | None = None

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        """Listen on 127.0.0.1 at a free port, in the running event loop."""
        if self._http is not None:
            raise RuntimeError("the fake Telegram server is already started")
        application = tornado.web.Application(
            [
                (r"/bot([^/]*)/([^/]*)/?", _ApiHandler, {"fake": self}),
                (r"/file/bot([^/]*)/(.+)", _FileHandler, {"fake": self}),
            ],
            default_handler_class=_NotFoundHandler,
            log_function=lambda handler: None,  # access lines would carry the token
        )
        self._http = tornado.httpserver.HTTPServer(application)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self._http.add_sockets(sockets)
        self.port = int(sockets[0].getsockname()[1])
        self._stopping = False
        return self

    async def stop(self) -> None:
        """Answer parked long-polls, stop listening and close every connection."""
        if self._http is None:
            return
        self._stopping = True
        self._notify()
        self._http.stop()
        with contextlib.suppress(AssertionError):
            await self.wait_for(lambda: self._handlers_running == 0, timeout=2.0)
        await self._http.close_all_connections()
        self._http = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self.port is None:
            raise RuntimeError("start the fake Telegram server first (await server.start())")
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: the token is appended by the bot."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.root_url}/file/bot"

    @property
    def bot_user(self) -> FakeUser:
        """The bot's own user (what getMe answers)."""
        return self.state.bot

    # -- reading the world --------------------------------------------------------------

    def messages(self, chat: ChatRef) -> list[JsonDict]:
        """Current state of every message in the chat (users' and bot's), deleted ones left out."""
        return [
            copy.deepcopy(m.data)
            for m in self.state.messages.get(chat_id_of(chat), [])
            if not m.deleted
        ]

    def bot_messages(self, chat: ChatRef) -> list[JsonDict]:
        """Current state of the bot's messages in the chat, oldest first, deleted left out."""
        return [
            copy.deepcopy(m.data)
            for m in self.state.messages.get(chat_id_of(chat), [])
            if m.from_bot and not m.deleted
        ]

    def last_bot_message(self, chat: ChatRef) -> JsonDict:
        """The newest bot message still in the chat."""
        sent = self.bot_messages(chat)
        if not sent:
            raise AssertionError(
                f"the bot has no message in chat {chat_id_of(chat)}\n{self.dump()}"
            )
        return sent[-1]

    def bot_message_count(self, chat: ChatRef) -> int:
        """How many messages the bot ever sent to the chat (deleted ones included)."""
        return sum(1 for m in self.state.messages.get(chat_id_of(chat), []) if m.from_bot)

    def message(self, chat: ChatRef, message_id: int) -> JsonDict | None:
        """One message as it is now (None if it never existed); deleted ones too."""
        stored = self.state.find_message(chat_id_of(chat), message_id)
        return copy.deepcopy(stored.data) if stored else None

    def is_deleted(self, chat: ChatRef, message_id: int) -> bool:
        """True once the bot deleted that message."""
        stored = self.state.find_message(chat_id_of(chat), message_id)
        return bool(stored and stored.deleted)

    def bot_left(self, chat: ChatRef) -> bool:
        """True once the bot called ``leaveChat`` for that group or channel."""
        return chat_id_of(chat) in self.state.left_chats

    def message_history(self, chat: ChatRef, message_id: int) -> list[JsonDict]:
        """Every version of a message, oldest first, the current one last."""
        stored = self.state.find_message(chat_id_of(chat), message_id)
        if stored is None:
            return []
        return copy.deepcopy([*stored.history, stored.data])

    def reply_keyboard(self, chat: ChatRef) -> JsonDict | None:
        """The custom (reply) keyboard the user currently sees, if any."""
        return copy.deepcopy(self.state.reply_keyboards.get(chat_id_of(chat)))

    @property
    def callback_answers(self) -> dict[str, JsonDict]:
        """Callback query id -> answerCallbackQuery params (text, show_alert...): the toast."""
        return {
            query_id: dict(record.answer)
            for query_id, record in self.state.callback_queries.items()
            if record.answer is not None
        }

    def unanswered_callback_queries(self) -> list[str]:
        """Ids of button taps the bot never answered (the user's spinner keeps turning)."""
        return [q for q, record in self.state.callback_queries.items() if record.answer is None]

    @property
    def commands(self) -> dict[tuple[str, str], list[JsonDict]]:
        """Stored setMyCommands lists by (scope key, language_code); see ``commands_for``."""
        return copy.deepcopy(self.state.commands)

    def commands_for(
        self, scope: JsonDict | str | None = None, language_code: str = ""
    ) -> list[JsonDict]:
        """The command list of a scope ("default", "chat:42", or a BotCommandScope dict)."""
        key = scope if isinstance(scope, str) else scope_key(scope)
        return copy.deepcopy(self.state.commands.get((key, language_code), []))

    def menu_button(self, chat: ChatRef | None = None) -> JsonDict | None:
        """The menu button set for a chat (or the default one with None)."""
        key = None if chat is None else chat_id_of(chat)
        return copy.deepcopy(self.state.menu_buttons.get(key))

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates injected but not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self.state.pending_updates)

    @property
    def long_polls_waiting(self) -> int:
        """getUpdates requests parked, waiting for an update (1 while a bot idles)."""
        return self._parked_polls

    @property
    def errors(self) -> list[RecordedRequest]:
        """Every request not answered 200 (violations, quirks, injected faults)."""
        return [r for r in self.requests if r.status != 200]

    def requests_for(self, method: str) -> list[RecordedRequest]:
        """Recorded requests of one method (case-insensitive, like Telegram's names)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def max_sends_in_window(self, window: float = 1.0, chat: ChatRef | None = None) -> int:
        """Most successful sending requests within any ``window`` seconds (optionally per chat)."""
        wanted = None if chat is None else chat_id_of(chat)
        times = [
            r.monotonic
            for r in self.requests
            if r.ok
            and is_sending_method(r.method)
            and (wanted is None or _param_chat(r.params) == wanted)
        ]
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def dump(self, last: int = 10) -> str:
        """A readable state summary for failure messages."""
        lines = [f"last {min(last, len(self.requests))} of {len(self.requests)} requests:"]
        lines += [f"  {r.summary()}" for r in self.requests[-last:]]
        pending = [f"{u['update_id']}:{update_type(u)}" for u in self.state.pending_updates]
        lines.append(f"pending updates: {pending or 'none'}")
        lines.append(f"requests in progress: {self._in_flight}")
        if self.violations:
            lines.append("violations:")
            lines += [f"  {v}" for v in self.violations]
        return "\n".join(lines)

    # -- faults -----------------------------------------------------------------------

    def fail_next(self, n: int = 1, mode: str = "500") -> None:
        """Make the next ``n`` sending requests fail.

        "500": Internal Server Error, nothing done. "drop": connection closed
        without an answer, nothing done. "429": flood control, nothing done.
        "slow": done, but answered after ``slow_delay`` seconds (the bot may time
        out on a message that *was* sent, as with the real Telegram).
        """
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {FAULT_MODES}, not {mode!r}")
        self._faults.extend([mode] * n)

    # -- waiting ----------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline is the point of these helpers
        *,
        what: str = "",
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking after every request and injection."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            if predicate():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                description = what or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {description}\n{self.dump()}"
                )
            await _wait(changed, remaining)

    async def wait_for_bot_message(
        self,
        chat: ChatRef,
        count_before: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JsonDict:
        """Wait for a new bot message in the chat; return the first new one as it is now.

        ``count_before`` is a ``bot_message_count(chat)`` taken earlier; by default
        the count when called (so call it right after injecting the update).
        """
        chat_id = chat_id_of(chat)
        before = self.bot_message_count(chat_id) if count_before is None else count_before
        await self.wait_for(
            lambda: self.bot_message_count(chat_id) > before,
            timeout,
            what=f"bot message #{before + 1} in chat {chat_id}",
        )
        sent = [m for m in self.state.messages[chat_id] if m.from_bot]
        return copy.deepcopy(sent[before].data)

    async def wait_for_callback_answer(
        self,
        callback_query: str | JsonDict,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JsonDict:
        """Wait for answerCallbackQuery; accepts the id or the update ``press_button`` returned."""
        if isinstance(callback_query, dict):
            query_id = str(callback_query["callback_query"]["id"])
        else:
            query_id = str(callback_query)
        await self.wait_for(
            lambda: query_id in self.callback_answers,
            timeout,
            what=f"answerCallbackQuery for {query_id}",
        )
        return self.callback_answers[query_id]

    async def wait_until_idle(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        application: BusyApplication | None = None,
    ) -> None:
        """Wait until every injected update is confirmed and nothing happened for a moment.

        Idle means: no pending update (the bot's next getUpdates offset confirmed
        them), no request in progress (a parked long-poll does not count), and
        ``quiet_period`` seconds without any request. Pass the python-telegram-bot
        ``application`` to also wait for its queue and running handlers.
        """
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            current = time.monotonic()
            busy = self._busy_reason(application)
            if busy is None:
                pause = self._last_activity + self.quiet_period - current
                if pause <= 0:
                    return
            else:
                pause = deadline - current
                if busy.startswith("application"):
                    pause = min(pause, self.quiet_period)  # it cannot wake us: look again soon
            if current >= deadline:
                raise AssertionError(
                    f"not idle after {timeout}s ({busy or 'still active'})\n{self.dump()}"
                )
            await _wait(changed, min(pause, deadline - current))

    def _busy_reason(self, application: BusyApplication | None) -> str | None:
        if self.state.pending_updates:
            return f"{len(self.state.pending_updates)} updates not confirmed by getUpdates"
        if self._in_flight:
            return f"{self._in_flight} requests in progress"
        if application is not None:
            if application.update_queue.qsize():
                return "application has queued updates"
            if application.update_processor.current_concurrent_updates:
                return "application is processing updates"
        return None

    def _notify(self) -> None:
        """Wake every waiter (long-polls, wait_for); called on every change."""
        self._last_activity = time.monotonic()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in self.change_listeners:
            listener()

    # -- serving ----------------------------------------------------------------------

    async def _serve_api(self, handler: _ApiHandler, token: str, method_name: str) -> None:
        self._handlers_running += 1
        self._in_flight += 1
        self._notify()
        record = RecordedRequest(
            method=method_name,
            params={},
            monotonic=time.monotonic(),
            wall=time.time(),
            http_method=handler.request.method or "POST",
        )
        try:
            try:
                reply = await self._answer(handler, token, method_name, record)
            except Exception as error:  # a fake's bug must be loud, never look like Telegram
                logger.exception("fake Telegram crashed on %s", method_name)
                self.violations.append(f"[fake server bug] {method_name} crashed: {error!r}")
                reply = _Reply(500, _error_payload(500, "Internal Server Error"))
            record.status = 0 if reply.drop else reply.status
            if reply.payload.get("ok"):
                record.result = reply.payload.get("result")
            else:
                record.description = reply.payload.get("description")
            self.requests.append(record)
            self._notify()
            sending = is_sending_method(record.method)
            if sending:
                self.sends_in_flight += 1
                self.peak_sends_in_flight = max(self.peak_sends_in_flight, self.sends_in_flight)
            try:
                if self.latency and record.method != "getUpdates":
                    await asyncio.sleep(self.latency)
                if reply.delay:
                    await self._pause(reply.delay)
            finally:
                if sending:
                    self.sends_in_flight -= 1
            if reply.drop:
                handler.detach().close()
            else:
                handler.send_json(reply.status, reply.payload)
        finally:
            self._handlers_running -= 1
            self._in_flight -= 1
            self._notify()

    async def _answer(
        self, handler: _ApiHandler, token: str, method_name: str, record: RecordedRequest
    ) -> _Reply:
        if token != self.token:
            return _Reply(401, _error_payload(401, "Unauthorized"))
        method = self.spec.method(method_name)
        if method is None:
            self.violations.append(
                f"{method_name}: Not Found: method not found "
                f"(no such method in {self.spec.version})"
            )
            return _Reply(404, _error_payload(404, "Not Found: method not found"))
        record.method = method.name
        try:
            raw, files = _read_request(handler.request)
            params = self.spec.decode_params(method, raw)
            record.params = {**params, **{n: f.describe() for n, f in files.items()}}
            record.files = dict(files)
            errors = self.spec.validate_params(method, params, files)
            if errors:
                more = "; ".join(errors[1:]) if len(errors) > 1 else None
                raise ApiError(400, f"Bad Request: {errors[0]}", detail=more and f"also: {more}")
            chat = self.api.validate(method, params, files)
            if method.name == "getUpdates":
                return _Reply(200, {"ok": True, "result": await self._get_updates(handler, params)})
            return self._perform(method, params, files, chat, record)
        except ApiError as error:
            if error.violation:
                detail = f" ({error.detail})" if error.detail else ""
                self.violations.append(f"{method.name}: {error.description}{detail}")
            if error.status == 429:
                self.http_429 += 1
            return _Reply(error.status, error.payload())

    def _perform(
        self,
        method: MethodSpec,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile],
        chat: FakeChat | None,
        record: RecordedRequest,
    ) -> _Reply:
        arrived = record.monotonic
        sending = is_sending_method(method.name)
        fault = self._faults.popleft() if sending and self._faults else None
        record.fault = fault
        if fault == "500":
            return _Reply(500, _error_payload(500, "Internal Server Error"))
        if fault == "drop":
            return _Reply(0, {}, drop=True)
        if fault == "429":
            raise rules.too_many_requests(self.retry_after)
        if chat is not None and chat.id in self.state.blocked and targets_user(method.name):
            raise ApiError(403, "Forbidden: bot was blocked by the user", violation=False)
        if chat is not None and chat.id in self.state.left_chats and targets_user(method.name):
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        if sending and self.enforce_limits:
            self._check_limits(arrived, chat)
        result = self.api.execute(method, params, files, chat)
        if sending:
            self._send_log.append((arrived, chat.id if chat else None))
        if method.returns:
            problems = self.spec.check_value(result, method.returns, "result")
            if problems and method.name not in self.api.handlers:
                # Answering true where Telegram returns an object would break the bot in
                # confusing ways: say plainly that the fake lacks this method.
                self.violations.append(
                    f"[fake server gap] {method.name} is not implemented by the fake: answered "
                    f"true although Telegram returns {' or '.join(method.returns)}"
                )
            elif problems:
                self.violations.append(
                    f"[fake server bug] {method.name} answered a result that is not "
                    f"{' or '.join(method.returns)}: {problems[:3]}"
                )
        delay = self.slow_delay if fault == "slow" else 0.0
        return _Reply(200, {"ok": True, "result": result}, delay=delay)

    def _check_limits(self, arrived: float, chat: FakeChat | None) -> None:
        """About 30 messages per second overall and 1 per second per chat, like Telegram."""
        while self._send_log and arrived - self._send_log[0][0] >= self.limit_window:
            self._send_log.popleft()
        per_chat = sum(1 for _, chat_id in self._send_log if chat and chat_id == chat.id)
        if len(self._send_log) >= self.global_send_limit or per_chat >= self.per_chat_send_limit:
            raise rules.too_many_requests(self.retry_after)

    async def _get_updates(self, handler: _ApiHandler, params: Mapping[str, Any]) -> list[JsonDict]:
        """getUpdates with Telegram's offset, limit, timeout and allowed_updates semantics."""
        if self.state.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                violation=False,
            )
        self.api.set_allowed_updates(params.get("allowed_updates"))
        self.state.confirm(params.get("offset"))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + max(int(params.get("timeout") or 0), 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # the offset may just have confirmed the last updates
        parked = False
        try:
            while True:
                changed = self._changed
                batch = self.state.deliverable(limit)
                if batch or self._stopping or handler.disconnected:
                    return batch
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                        violation=False,
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                if not parked:
                    parked = True
                    self._in_flight -= 1  # a long-poll waiting for updates is idle
                    self._parked_polls += 1
                    self._notify()
                await _wait(changed, remaining)
        finally:
            if parked:
                self._in_flight += 1
                self._parked_polls -= 1

    async def _pause(self, seconds: float) -> None:
        """Sleep for the "slow" fault, but never past the server's stop."""
        deadline = time.monotonic() + seconds
        while not self._stopping and (remaining := deadline - time.monotonic()) > 0:
            await _wait(self._changed, remaining)

    def _serve_file(self, handler: _FileHandler, token: str, path: str) -> None:
        if token != self.token:
            handler.send_json(401, _error_payload(401, "Unauthorized"))
            return
        stored = self.state.files_by_path.get(path)
        if stored is None:
            handler.send_json(404, _error_payload(404, "Not Found"))
            return
        self.downloads.append(path)
        handler.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        handler.finish(stored.content)


class _ApiHandler(tornado.web.RequestHandler):
    """``/bot<token>/<method>``, GET or POST, like Telegram."""

    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.disconnected = False

    async def get(self, *args: str, **kwargs: str) -> None:
        await self.fake._serve_api(self, args[0], args[1])

    async def post(self, *args: str, **kwargs: str) -> None:
        await self.fake._serve_api(self, args[0], args[1])

    def on_connection_close(self) -> None:
        # The bot gave up (cancelled long-poll, client timeout): stop waiting for it.
        self.disconnected = True
        self.fake._notify()

    def send_json(self, status: int, payload: JsonDict) -> None:
        if self.disconnected:
            return
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        with contextlib.suppress(tornado.iostream.StreamClosedError):
            self.finish(json.dumps(payload, ensure_ascii=False))


class _FileHandler(tornado.web.RequestHandler):
    """``/file/bot<token>/<file_path>``: downloads of files known to getFile."""

    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake

    def get(self, *args: str, **kwargs: str) -> None:
        self.fake._serve_file(self, args[0], args[1])

    def send_json(self, status: int, payload: JsonDict) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))


class _NotFoundHandler(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(_error_payload(404, "Not Found")))


def _read_request(
    request: tornado.httputil.HTTPServerRequest,
) -> tuple[JsonDict, dict[str, UploadedFile]]:
    """Parameters from the query string and a form, multipart or JSON body, as Telegram reads."""
    raw: JsonDict = {name: _text(values[-1]) for name, values in request.query_arguments.items()}
    content_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json":
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError as error:
                raise ApiError(
                    400, "Bad Request: can't parse JSON object", detail=str(error)
                ) from error
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON object expected")
            raw.update(body)
    else:
        raw.update({name: _text(values[-1]) for name, values in request.body_arguments.items()})
    files = {
        name: UploadedFile(parts[-1].filename, parts[-1].body, parts[-1].content_type)
        for name, parts in request.files.items()
    }
    return raw, files


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, "Bad Request: strings must be encoded in UTF-8") from error


def _error_payload(status: int, description: str) -> JsonDict:
    return {"ok": False, "error_code": status, "description": description}


def _param_chat(params: Mapping[str, Any]) -> int | None:
    chat_id = params.get("chat_id")
    return chat_id if isinstance(chat_id, int) and not isinstance(chat_id, bool) else None


async def _wait(event: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    """Wait for ``event`` at most ``timeout`` seconds; a timeout is not an error here."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
