"""Specification of the sliding-window rate limiter that guards the Bot API.

The limiter is driven directly through ``process_request`` with a fake callback that records
when each request would have left for Telegram. Periods are scaled down (10 sends per 0.2 s
overall, 1 per 0.1 s per chat) so the real-time tests stay fast while keeping the ratios that
matter: many chats, a saturated overall window, a slower per-chat window.
"""

from __future__ import annotations

import asyncio
import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.rate_limit import SlidingWindowRateLimiter, is_rate_limited_endpoint

OVERALL_MAX = 10
OVERALL_PERIOD = 0.2
PER_CHAT_PERIOD = 0.1
MARGIN = 0.005
# Scheduling jitter allowed when comparing recorded times with the windows.
JITTER = 0.003


def make_limiter(**overrides: Any) -> SlidingWindowRateLimiter:
    options: dict[str, Any] = {
        "overall_max_rate": OVERALL_MAX,
        "overall_time_period": OVERALL_PERIOD,
        "per_chat_max_rate": 1,
        "per_chat_time_period": PER_CHAT_PERIOD,
        "max_retries": 3,
        "safety_margin": MARGIN,
    }
    options.update(overrides)
    return SlidingWindowRateLimiter(**options)


@dataclass(frozen=True)
class Call:
    at: float
    endpoint: str
    chat: Any
    tag: Any


@dataclass
class FakeBotApi:
    """Stands in for ``Bot._do_post``: records each call and can answer some with a 429.

    ``refuse(endpoint, chat_id, attempt)`` returns a ``retry_after`` in seconds to refuse the
    call, ``attempt`` counting earlier calls of the same method to the same chat.
    """

    calls: list[Call] = field(default_factory=list)
    refuse: Callable[[str, Any, int], float | None] = lambda endpoint, chat, attempt: None

    async def post(self, endpoint: str, data: dict[str, Any]) -> bool:
        chat = data.get("chat_id")
        attempt = sum(1 for c in self.calls if c.endpoint == endpoint and c.chat == chat)
        self.calls.append(Call(asyncio.get_running_loop().time(), endpoint, chat, data.get("tag")))
        retry_after = self.refuse(endpoint, chat, attempt)
        if retry_after is None:
            return True
        with warnings.catch_warnings():
            # PTB's own constructor reads the deprecated int form; not what is tested here.
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            error = RetryAfter(timedelta(seconds=retry_after))
        raise error

    def times(self, chat: Any = ..., *, other_than: Any = ...) -> list[float]:
        return [
            c.at
            for c in self.calls
            if (chat is ... or c.chat == chat) and (other_than is ... or c.chat != other_than)
        ]

    def tags(self) -> list[Any]:
        return [c.tag for c in self.calls]


PACED = {"paced": 1}


async def send(
    limiter: SlidingWindowRateLimiter,
    api: FakeBotApi,
    endpoint: str = "sendMessage",
    rate_limit_args: Any = PACED,
    **data: Any,
) -> Any:
    """A bulk send (the outbox's kind), paced per chat unless told otherwise."""
    return await limiter.process_request(
        callback=api.post,
        args=(endpoint, data),
        kwargs={},
        endpoint=endpoint,
        data=data,
        rate_limit_args=rate_limit_args,
    )


def max_in_any_window(times: list[float], period: float) -> int:
    """The largest number of sends that started within one sliding window of ``period``."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, sum(1 for t in ordered[i:] if t < start + period - JITTER))
    return best


async def test_fan_out_to_100_chats_never_exceeds_the_overall_limit_in_any_sliding_window() -> None:
    limiter = make_limiter()
    api = FakeBotApi()
    loop = asyncio.get_running_loop()

    started = loop.time()
    await asyncio.gather(*(send(limiter, api, chat_id=1000 + i) for i in range(100)))
    elapsed = loop.time() - started

    times = api.times()
    assert len(times) == 100
    assert max_in_any_window(times, OVERALL_PERIOD) == OVERALL_MAX
    # 10 batches of 10, one window (plus margin) apart: the last batch starts after 9 windows.
    expected = 9 * (OVERALL_PERIOD + MARGIN)
    assert expected - JITTER <= elapsed <= expected + 0.1
    sustained = (len(times) - OVERALL_MAX) / (max(times) - min(times))
    assert sustained >= 0.9 * OVERALL_MAX / OVERALL_PERIOD
    assert limiter.sends == 100
    assert limiter.waited_seconds_total > 0


async def test_requests_arriving_in_staggered_bursts_still_respect_every_sliding_window() -> None:
    limiter = make_limiter()
    api = FakeBotApi()
    chats = itertools.count(1)

    async def burst(delay: float, size: int) -> None:
        await asyncio.sleep(delay)
        await asyncio.gather(*(send(limiter, api, chat_id=next(chats)) for _ in range(size)))

    await asyncio.gather(burst(0.0, 7), burst(0.05, 7), burst(0.13, 9), burst(0.21, 6))

    assert len(api.calls) == 29
    assert max_in_any_window(api.times(), OVERALL_PERIOD) <= OVERALL_MAX


async def test_messages_to_one_chat_keep_their_order_and_the_per_chat_spacing() -> None:
    limiter = make_limiter()
    api = FakeBotApi()

    await asyncio.gather(*(send(limiter, api, chat_id=42, tag=n) for n in range(5)))

    assert api.tags() == [0, 1, 2, 3, 4]
    gaps = [later - earlier for earlier, later in itertools.pairwise(api.times())]
    assert all(gap >= PER_CHAT_PERIOD for gap in gaps), gaps


async def test_chat_id_given_as_string_counts_as_the_same_chat() -> None:
    limiter = make_limiter()
    api = FakeBotApi()

    await asyncio.gather(send(limiter, api, chat_id=7), send(limiter, api, chat_id="7"))

    first, second = api.times()
    assert second - first >= PER_CHAT_PERIOD


async def test_a_busy_chat_does_not_hold_up_other_chats() -> None:
    limiter = make_limiter()
    api = FakeBotApi()

    # Three messages to chat 1 queue up first, then one each to chats 2..6.
    busy = [asyncio.create_task(send(limiter, api, chat_id=1)) for _ in range(3)]
    await asyncio.gather(*(send(limiter, api, chat_id=chat) for chat in range(2, 7)))

    assert len(api.times(1)) == 1  # chat 1 still waits for its window ...
    assert max(api.times(other_than=1)) - min(api.times()) < PER_CHAT_PERIOD / 2  # ... alone
    for task in busy:
        task.cancel()
    await asyncio.gather(*busy, return_exceptions=True)


@pytest.mark.parametrize("ptb_timedelta", ["0", "1"], ids=["retry_after-as-number", "timedelta"])
async def test_a_chat_under_retry_after_waits_alone_while_other_chats_carry_on(
    monkeypatch: pytest.MonkeyPatch, ptb_timedelta: str
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", ptb_timedelta)
    retry_after = 0.2
    limiter = make_limiter()
    api = FakeBotApi(
        refuse=lambda endpoint, chat, attempt: retry_after if chat == 1 and attempt == 0 else None
    )

    results = await asyncio.gather(
        send(limiter, api, chat_id=1), *(send(limiter, api, chat_id=c) for c in range(2, 8))
    )

    assert all(results)
    chat1 = api.times(1)
    others = api.times(other_than=1)
    assert len(chat1) == 2
    # The others went out in the first window, long before chat 1 was allowed again ...
    assert max(others) - chat1[0] < OVERALL_PERIOD
    assert max(others) < chat1[1]
    # ... and chat 1 retried once its retry_after was over, not before.
    assert chat1[1] - chat1[0] >= retry_after
    assert chat1[1] - chat1[0] < retry_after + 0.1
    assert limiter.retries == 1
    assert limiter.sends == 8


async def test_a_retried_message_keeps_its_place_before_later_messages_to_the_same_chat() -> None:
    limiter = make_limiter(per_chat_time_period=0.02)
    api = FakeBotApi(refuse=lambda endpoint, chat, attempt: 0.05 if attempt == 0 else None)

    await asyncio.gather(*(send(limiter, api, chat_id=5, tag=tag) for tag in ["a", "b", "c"]))

    assert api.tags() == ["a", "a", "b", "c"]


async def test_retry_after_without_a_chat_is_a_global_flood_and_pauses_every_send() -> None:
    retry_after = 0.15
    limiter = make_limiter()
    api = FakeBotApi(
        refuse=lambda endpoint, chat, attempt: (
            retry_after if chat is None and attempt == 0 else None
        )
    )

    async def chat_send_after_the_flood() -> None:
        await asyncio.sleep(0.01)
        await send(limiter, api, chat_id=99)

    await asyncio.gather(send(limiter, api, tag="no-chat"), chat_send_after_the_flood())

    (flood, retried) = api.times(None)
    (chat_99,) = api.times(99)
    assert chat_99 - flood >= retry_after
    assert retried - flood >= retry_after


async def test_exhausted_retries_re_raise_retry_after() -> None:
    limiter = make_limiter(max_retries=2, per_chat_time_period=0.01)
    api = FakeBotApi(refuse=lambda endpoint, chat, attempt: 0.01)

    with pytest.raises(RetryAfter):
        await send(limiter, api, chat_id=3)

    assert len(api.calls) == 3
    assert limiter.retries == 2


@pytest.mark.parametrize(
    ("rate_limit_args", "expected_calls"),
    [(0, 1), (1, 2), ({"max_retries": 0}, 1), ({"max_retries": 1}, 2)],
)
async def test_rate_limit_args_override_max_retries_for_one_call(
    rate_limit_args: Any, expected_calls: int
) -> None:
    limiter = make_limiter(max_retries=3, per_chat_time_period=0.01)
    api = FakeBotApi(refuse=lambda endpoint, chat, attempt: 0.01)

    with pytest.raises(RetryAfter):
        await send(limiter, api, rate_limit_args=rate_limit_args, chat_id=3)

    assert len(api.calls) == expected_calls


@pytest.mark.parametrize(
    "endpoint", ["answerCallbackQuery", "getUpdates", "getMe", "sendChatAction", "deleteMessage"]
)
async def test_non_sending_methods_are_not_delayed_while_a_fan_out_saturates_the_window(
    endpoint: str,
) -> None:
    limiter = make_limiter()
    api = FakeBotApi()
    loop = asyncio.get_running_loop()
    fan_out = [asyncio.create_task(send(limiter, api, chat_id=c)) for c in range(60)]
    await asyncio.sleep(0.02)
    assert len(api.calls) == OVERALL_MAX  # the window is full and 50 sends are queued

    started = loop.time()
    await send(limiter, api, endpoint=endpoint, chat_id=0)
    assert loop.time() - started < 0.01  # the window frees only in ~0.2 s
    assert api.calls[-1].endpoint == endpoint

    for task in fan_out:
        task.cancel()
    await asyncio.gather(*fan_out, return_exceptions=True)


async def test_a_cancelled_request_frees_its_place_in_the_chat_queue() -> None:
    limiter = make_limiter()
    api = FakeBotApi()

    tasks = [asyncio.create_task(send(limiter, api, chat_id=8, tag=tag)) for tag in "abc"]
    await asyncio.sleep(0)  # "a" is sent, "b" and "c" wait for the chat's window
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    assert api.tags() == ["a", "c"]
    first, last = api.times()
    assert PER_CHAT_PERIOD <= last - first < 2 * PER_CHAT_PERIOD


async def test_shutdown_fails_requests_still_waiting_instead_of_leaving_them_hanging() -> None:
    limiter = make_limiter()
    api = FakeBotApi()
    await limiter.initialize()
    waiting = [asyncio.create_task(send(limiter, api, chat_id=4)) for _ in range(2)]
    await asyncio.sleep(0.01)

    await limiter.shutdown()
    results = await asyncio.gather(*waiting, return_exceptions=True)

    assert results[0] is True
    assert isinstance(results[1], RuntimeError)


@pytest.mark.parametrize(
    ("endpoint", "limited"),
    [
        ("sendMessage", True),
        ("sendPhoto", True),
        ("sendMediaGroup", True),
        ("copyMessage", True),
        ("forwardMessage", True),
        ("editMessageText", True),
        ("editMessageReplyMarkup", True),
        ("stopPoll", True),
        ("sendChatAction", False),
        ("answerCallbackQuery", False),
        ("getUpdates", False),
        ("getMe", False),
        ("setMyCommands", False),
        ("getFile", False),
        ("deleteMessage", False),
        ("editChatInviteLink", False),
    ],
)
def test_only_methods_that_produce_a_message_are_rate_limited(endpoint: str, limited: bool) -> None:
    assert is_rate_limited_endpoint(endpoint) is limited


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="overall_max_rate"):
        SlidingWindowRateLimiter(overall_max_rate=-1)


async def test_a_live_reply_to_a_users_own_tap_is_not_paced_per_chat():
    """A referent tapping through a sheet gets each edit at once, not one a second."""
    limiter = SlidingWindowRateLimiter(
        overall_max_rate=50, overall_time_period=0.2, per_chat_max_rate=1, per_chat_time_period=0.5
    )
    api = FakeBotApi()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):
        await send(limiter, api, "editMessageText", rate_limit_args=None, chat_id=7, text="x")
    assert loop.time() - started < 0.25


async def test_a_smaller_share_of_the_budget_holds_at_once_and_a_larger_one_frees_waiters():
    """Two processes sending for one bot each keep to half of the overall limit."""
    limiter = make_limiter()
    api = FakeBotApi()
    limiter.set_overall_max_rate(OVERALL_MAX // 2)
    await asyncio.gather(*(send(limiter, api, chat_id=2000 + i) for i in range(20)))
    assert max_in_any_window(api.times(), OVERALL_PERIOD) == OVERALL_MAX // 2
    # Back to the whole budget while requests wait: they go at the new pace.
    limiter.set_overall_max_rate(OVERALL_MAX // 2)
    waiting = [asyncio.ensure_future(send(limiter, api, chat_id=3000 + i)) for i in range(20)]
    await asyncio.sleep(0)
    limiter.set_overall_max_rate(OVERALL_MAX)
    await asyncio.gather(*waiting)
    later = [c.at for c in api.calls if isinstance(c.chat, int) and c.chat >= 3000]
    assert max_in_any_window(later, OVERALL_PERIOD) == OVERALL_MAX
    with pytest.raises(ValueError):
        limiter.set_overall_max_rate(0)


@dataclass
class SlowBotApi(FakeBotApi):
    """Telegram answering each call ``latency`` seconds after it arrived."""

    latency: float = 0.03
    on_the_way: int = 0
    peak: int = 0

    async def post(self, endpoint: str, data: dict[str, Any]) -> bool:
        self.on_the_way += 1
        self.peak = max(self.peak, self.on_the_way)
        try:
            result = await super().post(endpoint, data)
            await asyncio.sleep(self.latency)
            return result
        finally:
            self.on_the_way -= 1


async def test_paced_sends_go_several_at_once_but_never_more_than_max_in_flight() -> None:
    limiter = make_limiter(max_in_flight=3)
    api = SlowBotApi()

    await asyncio.gather(*(send(limiter, api, chat_id=100 + i) for i in range(12)))

    assert api.peak == 3
    assert len(api.times()) == 12
    assert max_in_any_window(api.times(), OVERALL_PERIOD) <= OVERALL_MAX


async def test_a_chat_under_retry_after_holds_no_place_in_flight() -> None:
    retry_after = 0.2
    limiter = make_limiter(max_in_flight=1)
    api = SlowBotApi(
        refuse=lambda endpoint, chat, attempt: retry_after if chat == 1 and attempt == 0 else None
    )

    await asyncio.gather(
        send(limiter, api, chat_id=1), *(send(limiter, api, chat_id=c) for c in range(2, 6))
    )

    chat1 = api.times(1)
    others = api.times(other_than=1)
    # With a single place in flight, the other chats still went during chat 1's wait.
    assert max(others) < chat1[1]
    assert retry_after <= chat1[1] - chat1[0] < retry_after + 0.1


async def test_the_next_message_to_a_chat_waits_a_window_after_the_previous_answer() -> None:
    limiter = make_limiter()
    api = SlowBotApi(latency=0.05)  # the answer comes half a per-chat window after the start

    await asyncio.gather(send(limiter, api, chat_id=7), send(limiter, api, chat_id=7))

    first, second = api.times(7)
    assert second - first >= api.latency + PER_CHAT_PERIOD
