"""A sliding-window rate limiter for the Bot API, strict enough for reminder fan-outs.

Why not :class:`telegram.ext.AIORateLimiter`? Telegram allows about 30 messages per second
overall and one message per second to the same chat. ``AIORateLimiter`` uses aiolimiter's
leaky buckets, which start full: a burst can let roughly twice the overall cap through in the
first second, and its per-chat limiter only covers group chats, while a reminder fan-out
writes to hundreds of *private* chats. A 429 answer also halts every request of the bot, so a
single flooded chat stalls the whole fan-out.

:class:`SlidingWindowRateLimiter` instead remembers *when* the last sends started and lets a
send start only when the window before it still has room. The guarantees:

* never more than ``overall_max_rate`` sends start in any sliding window of
  ``overall_time_period`` seconds, and never more than ``per_chat_max_rate`` to one chat in any
  window of ``per_chat_time_period`` seconds (each window widened by ``safety_margin`` to absorb
  event-loop and network jitter), while the sustained rate stays close to the cap;
* a request waiting for a busy or blocked chat never holds up requests for other chats, and
  requests for the same chat start in the order they arrived;
* a :exc:`~telegram.error.RetryAfter` blocks only the chat it was answered for;
* methods that do not produce a message (``answerCallbackQuery``, ``getMe``, ...) are never
  queued, so a referent tapping buttons does not wait behind a fan-out;
* with ``max_in_flight``, at most that many paced (bulk) requests are on their way to
  Telegram at once: enough to reach the overall rate when each answer takes 50-200 ms,
  few enough that a crash leaves only a handful of sends whose fate is unknown. A request
  waiting for its chat's second or for a 429 to pass holds no such place.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

__all__ = ["SlidingWindowRateLimiter", "is_rate_limited_endpoint"]

_LOGGER = logging.getLogger(__name__)

ChatKey: TypeAlias = int | str
"""A normalised ``chat_id``: an integer id, or a lower-cased ``@username``."""

_LaneKey: TypeAlias = ChatKey | tuple[str, ChatKey] | None
# A reply to someone's own tap or message: its own lane (order kept, 429 honoured) but no
# per-chat pacing, so a referent tapping through a sheet is never made to wait a second.
_LIVE = "live"
"""Requests are queued in lanes, one per chat; requests without a chat share lane ``None``."""

_Callback: TypeAlias = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]

# Methods whose name starts with one of these post, copy, forward, edit or stop a message:
# these are the calls Telegram counts against the flood limits.
_LIMITED_PREFIXES = ("send", "copy", "forward", "edit", "stop")

# ... except these, which match a prefix but produce no message. Deleting a message is not
# limited either: it creates nothing the recipient receives.
_UNLIMITED_ENDPOINTS = frozenset(
    {
        "sendChatAction",
        "editChatInviteLink",
        "editChatSubscriptionInviteLink",
        "editStory",
        "editUserStarSubscription",
    }
)

# Above this many remembered chats the per-chat bookkeeping is pruned of chats whose window
# has long passed, so a bot writing to thousands of chats does not grow without bound.
_PRUNE_THRESHOLD = 1024


def is_rate_limited_endpoint(endpoint: str) -> bool:
    """Whether a Bot API method results in a message and therefore goes through the windows.

    ``getUpdates``, ``getMe``, ``answerCallbackQuery``, ``setMyCommands``, ``getFile``,
    ``deleteMessage``, ``sendChatAction`` ... are not limited: they do not count against the
    message limits, and callback answers must stay instant.
    """
    return endpoint.startswith(_LIMITED_PREFIXES) and endpoint not in _UNLIMITED_ENDPOINTS


def _chat_key(chat_id: object) -> ChatKey | None:
    """Normalise ``data["chat_id"]`` so ``123`` and ``"123"`` count as the same chat."""
    if chat_id is None:
        return None
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id).strip()
    try:
        return int(text)
    except ValueError:
        return text.lower()  # "@Channel" and "@channel" are the same public chat


def _is_paced(lane: _LaneKey) -> bool:
    """A bulk send's lane (one chat, paced); live replies and chat-less calls are not."""
    return lane is not None and not isinstance(lane, tuple)


def retry_after_seconds(exc: RetryAfter) -> float:
    """``exc.retry_after`` in seconds; PTB 22 gives an int/float or, opted in, a timedelta."""
    with warnings.catch_warnings():
        # Reading the attribute warns unless PTB_TIMEDELTA is set; both forms are handled.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = exc.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"unexpected retry_after {value!r}")


@dataclass(eq=False, slots=True)
class _Waiter:
    """One attempt waiting for its slot; the future resolves when the slot is reserved."""

    enqueued_at: float
    future: asyncio.Future[None] = field(repr=False)


class SlidingWindowRateLimiter(BaseRateLimiter[int]):
    """Throttle message-producing Bot API calls with exact sliding windows.

    Use it as ``ApplicationBuilder().rate_limiter(SlidingWindowRateLimiter())``.

    Every limited request joins the lane of its chat (``data["chat_id"]``; requests without a
    chat share one lane that only obeys the overall limit). A synchronous dispatcher grants
    slots to lane heads, oldest lane first, whenever both windows have room: the start time is
    recorded at the moment of the grant, before the caller is even woken, so concurrent tasks
    can never overshoot. When nothing can start, the dispatcher computes the exact moment the
    next slot frees (the oldest send leaving a window, or a 429 block ending) and sets a single
    timer for it: no polling, no busy loop. Because only lane *heads* compete, a chat that must
    wait (its 1-per-second window or a 429 block) never blocks the other chats, and messages to
    one chat keep their order.

    The dispatcher never awaits while it reads or changes the state, so on one event loop it
    runs atomically; this replaces an :class:`asyncio.Lock` and avoids waking every waiter on
    each change as an :class:`asyncio.Condition` would. The limiter must therefore be used from
    a single event loop, as PTB does.

    Note:
        ``copyMessages``, ``forwardMessages`` and ``sendMediaGroup`` take one slot although
        Telegram may count each message. Group chats also have a 20-per-minute limit, which this
        class does not enforce; ``allow_paid_broadcast`` requests obey the same limits as the
        others.

    Args:
        overall_max_rate: Sends allowed in any window of ``overall_time_period`` seconds for the
            whole bot. ``0`` disables the overall limit.
        overall_time_period: Length of the overall window, in seconds.
        per_chat_max_rate: Sends allowed to one chat in any window of ``per_chat_time_period``
            seconds. ``0`` disables the per-chat limit.
        per_chat_time_period: Length of the per-chat window, in seconds.
        max_retries: How often a request answered with :exc:`~telegram.error.RetryAfter` is
            retried before the error is re-raised. Override it per call with ``rate_limit_args``
            (see :meth:`process_request`).
        safety_margin: Seconds added to each window and to every ``retry_after``, because the
            moment a request reaches Telegram is not the moment it left the event loop.
        clock: Monotonic time in seconds; must advance with the event loop's clock, as
            :func:`time.monotonic` (the default, and what :meth:`asyncio.loop.time` uses) does.
        max_in_flight: Paced requests (``rate_limit_args={"paced": 1}``) allowed on their
            way to Telegram at once; ``0`` means no bound. Replies to people are not counted.

    Attributes:
        sends: Calls made to the Bot API through the limited path, retries included.
        retries: Retries made after a :exc:`~telegram.error.RetryAfter`.
        waited_seconds_total: Total time requests spent queued before they could start.
    """

    def __init__(
        self,
        overall_max_rate: int = 30,
        overall_time_period: float = 1.0,
        per_chat_max_rate: int = 1,
        per_chat_time_period: float = 1.0,
        max_retries: int = 3,
        safety_margin: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = 0,
    ) -> None:
        for name, value in (
            ("overall_max_rate", overall_max_rate),
            ("overall_time_period", overall_time_period),
            ("per_chat_max_rate", per_chat_max_rate),
            ("per_chat_time_period", per_chat_time_period),
            ("max_retries", max_retries),
            ("safety_margin", safety_margin),
            ("max_in_flight", max_in_flight),
        ):
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value!r}")

        self._overall_max = overall_max_rate if overall_time_period > 0 else 0
        self._overall_window = overall_time_period + safety_margin
        self._per_chat_max = per_chat_max_rate if per_chat_time_period > 0 else 0
        self._per_chat_window = per_chat_time_period + safety_margin
        self._max_retries = max_retries
        self._safety_margin = safety_margin
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._paced_in_flight = 0

        self.sends = 0
        self.retries = 0
        # Recent round trips of paced requests: their minimum is Telegram's latency, free of
        # the spikes a busy machine adds.
        self._round_trips: deque[float] = deque(maxlen=20)
        self.waited_seconds_total = 0.0

        # Start times of the most recent sends; maxlen makes the oldest one the one that has
        # to leave the window before the next send may start.
        self._overall_starts: deque[float] = deque(maxlen=max(self._overall_max, 1))
        self._chat_starts: dict[ChatKey, deque[float]] = {}
        self._chat_blocked_until: dict[_LaneKey, float] = {}
        self._global_blocked_until = -math.inf
        # Insertion-ordered: the chat that started waiting first is served first.
        self._lanes: dict[_LaneKey, deque[_Waiter]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._prune_at = _PRUNE_THRESHOLD

    @property
    def overall_max_rate(self) -> int:
        return self._overall_max

    def set_overall_max_rate(self, rate: int) -> None:
        """Change the overall budget while running: a process's share of Telegram's 30 a
        second when several processes send for the same bot (``bot/core/senders.py``)."""
        if rate < 1:
            raise ValueError(f"overall_max_rate must be at least 1, got {rate!r}")
        if not self._overall_max or rate == self._overall_max:
            return
        self._overall_max = rate
        self._overall_starts = deque(self._overall_starts, maxlen=rate)
        self._dispatch()  # a larger share may let waiting requests go now

    async def initialize(self) -> None:
        """Nothing to set up: the timer is created lazily on the running loop."""

    async def shutdown(self) -> None:
        """Cancel the wake-up timer and fail requests still queued, so no task hangs forever."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = math.inf
        for lane in self._lanes.values():
            for waiter in lane:
                if not waiter.future.done():
                    waiter.future.set_exception(
                        RuntimeError("SlidingWindowRateLimiter was shut down")
                    )
        self._lanes.clear()

    async def process_request(
        self,
        callback: _Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | Mapping[str, int] | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for a slot, call ``callback`` and retry it after a 429, as PTB requires.

        Methods that produce no message (see :func:`is_rate_limited_endpoint`) are called at
        once; a 429 on them is still retried after ``retry_after``.

        Args:
            rate_limit_args: Per-call override of ``max_retries``, passed as
                ``bot.send_message(..., rate_limit_args=n)``; as with ``AIORateLimiter`` an int
                is the number of retries. A mapping ``{"max_retries": n}`` is accepted too.
                ``0`` means "do not retry" (``AIORateLimiter`` would fall back to the default).

        Raises:
            telegram.error.RetryAfter: Telegram still refused after ``max_retries`` retries.
        """
        max_retries = self._resolve_max_retries(rate_limit_args)
        limited = is_rate_limited_endpoint(endpoint)
        chat = _chat_key(data.get("chat_id")) if limited else None
        paced = isinstance(rate_limit_args, Mapping) and bool(rate_limit_args.get("paced"))
        lane: _LaneKey = chat if paced or chat is None else (_LIVE, chat)

        for attempt in range(max_retries + 1):
            if limited:
                # A retry goes back to the head of its lane: it is older than what queued since.
                await self._acquire(lane, retry=attempt > 0)
                self.sends += 1
            try:
                started = self._clock()
                try:
                    return await callback(*args, **kwargs)
                finally:
                    if limited and _is_paced(lane):
                        self._round_trips.append(self._clock() - started)
                        self._answered(lane)
                        self._release()
            except RetryAfter as exc:
                delay = retry_after_seconds(exc) + self._safety_margin
                if limited:
                    self._block(lane, self._clock() + delay)
                if attempt == max_retries:
                    _LOGGER.warning(
                        "%s to chat %s refused by flood control after %d retries",
                        endpoint,
                        lane,
                        max_retries,
                    )
                    raise
                self.retries += 1
                _LOGGER.info(
                    "%s to chat %s hit flood control; retrying in %.2f s", endpoint, lane, delay
                )
                if not limited:
                    await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    # -- internals -------------------------------------------------------------------------

    def _resolve_max_retries(self, rate_limit_args: int | Mapping[str, int] | None) -> int:
        if rate_limit_args is None:
            return self._max_retries
        if isinstance(rate_limit_args, Mapping):
            value = rate_limit_args.get("max_retries", self._max_retries)
            if not isinstance(value, int) or isinstance(value, bool):
                value = self._max_retries
        else:
            value = rate_limit_args
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"max_retries must be a non-negative int, got {value!r}")
        return value

    async def _acquire(self, lane: _LaneKey, *, retry: bool) -> None:
        """Queue in ``lane`` and return once a slot has been reserved for this request."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(enqueued_at=self._clock(), future=loop.create_future())
        queue = self._lanes.setdefault(lane, deque())
        if retry:
            queue.appendleft(waiter)
        else:
            queue.append(waiter)
        self._dispatch()
        # If the task is cancelled here the future is cancelled too and the dispatcher drops
        # it; if the slot was already granted it simply stays used, which errs on the safe side.
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled() and _is_paced(lane):
                self._release()  # granted, then cancelled: give the place in flight back
            raise

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight

    @property
    def paced_seconds(self) -> float:
        """How long Telegram takes to answer a paced request: the least of the last 20."""
        return min(self._round_trips, default=0.0)

    def _answered(self, lane: _LaneKey) -> None:
        """Count a paced chat's window from the answer, not the start: a request slowed on
        its way (a busy machine) could otherwise reach Telegram less than a window after
        the one before it."""
        starts = self._chat_starts.get(lane)  # type: ignore[arg-type]
        if starts:
            starts[-1] = max(starts[-1], self._clock())

    def _release(self) -> None:
        """A paced request is answered: its place in flight goes to the next one."""
        if self._max_in_flight:
            self._paced_in_flight -= 1
            self._dispatch()

    def _block(self, lane: _LaneKey, until: float) -> None:
        """Honour a 429: block the chat, or the whole bot when Telegram named no chat."""
        if lane is None:
            self._global_blocked_until = max(self._global_blocked_until, until)
        else:
            self._chat_blocked_until[lane] = max(self._chat_blocked_until.get(lane, until), until)

    def _overall_free_at(self) -> float:
        """When the overall window has room again (-inf when it has room now or is off)."""
        starts = self._overall_starts
        if self._overall_max and len(starts) >= self._overall_max:
            return starts[0] + self._overall_window
        return -math.inf

    def _chat_free_at(self, lane: _LaneKey) -> float:
        """When this chat may receive again: its own window and any 429 block."""
        if lane is None:
            return -math.inf
        free_at = self._chat_blocked_until.get(lane, -math.inf)
        if isinstance(lane, tuple):
            return free_at
        starts = self._chat_starts.get(lane)
        if self._per_chat_max and starts is not None and len(starts) >= self._per_chat_max:
            free_at = max(free_at, starts[0] + self._per_chat_window)
        return free_at

    def _grant(self, lane: _LaneKey, waiter: _Waiter, now: float) -> None:
        """Reserve the slot (record the start) and wake the request."""
        if self._overall_max:
            self._overall_starts.append(now)
        if lane is not None and not isinstance(lane, tuple) and self._per_chat_max:
            starts = self._chat_starts.get(lane)
            if starts is None:
                starts = self._chat_starts[lane] = deque(maxlen=self._per_chat_max)
            starts.append(now)
        if self._max_in_flight and _is_paced(lane):
            self._paced_in_flight += 1
        self.waited_seconds_total += now - waiter.enqueued_at
        waiter.future.set_result(None)

    def _dispatch(self) -> None:
        """Grant every slot that is free now, then arm the timer for the next one.

        Runs without awaiting, so its view of the windows cannot change under it.
        """
        now = self._clock()
        next_at = math.inf
        emptied: list[_LaneKey] = []

        if now < self._global_blocked_until:
            next_at = self._global_blocked_until
        else:
            for lane, queue in self._lanes.items():
                overall_free_at = -math.inf
                if self._in_flight_full(lane):
                    continue  # an answer coming back runs the dispatcher again
                while queue:
                    head = queue[0]
                    if head.future.done():  # cancelled while it waited
                        queue.popleft()
                        continue
                    overall_free_at = self._overall_free_at()
                    if overall_free_at > now:
                        break
                    chat_free_at = self._chat_free_at(lane)
                    if chat_free_at > now:
                        next_at = min(next_at, chat_free_at)
                        break
                    self._grant(lane, queue.popleft(), now)
                    if self._in_flight_full(lane):
                        break
                if not queue:
                    emptied.append(lane)
                if overall_free_at > now:
                    # Nobody else can start before the oldest send leaves the window.
                    next_at = min(next_at, overall_free_at)
                    break

        for lane in emptied:
            del self._lanes[lane]
        if len(self._chat_starts) + len(self._chat_blocked_until) > self._prune_at:
            self._prune(now)
        self._arm_timer(next_at, now)

    def _in_flight_full(self, lane: _LaneKey) -> bool:
        return (
            bool(self._max_in_flight)
            and _is_paced(lane)
            and self._paced_in_flight >= self._max_in_flight
        )

    def _arm_timer(self, at: float, now: float) -> None:
        """Make sure the dispatcher runs again at ``at``; keep an earlier timer if there is one."""
        if at == math.inf or (self._timer is not None and self._timer_at <= at):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.get_running_loop().call_later(max(at - now, 0.0), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        self._dispatch()

    def _prune(self, now: float) -> None:
        """Forget chats whose window and 429 block are over: they constrain nothing any more."""
        self._chat_starts = {
            lane: starts
            for lane, starts in self._chat_starts.items()
            if lane in self._lanes or starts[-1] + self._per_chat_window > now
        }
        self._chat_blocked_until = {
            lane: until for lane, until in self._chat_blocked_until.items() if until > now
        }
        remembered = len(self._chat_starts) + len(self._chat_blocked_until)
        self._prune_at = max(_PRUNE_THRESHOLD, 2 * remembered)
