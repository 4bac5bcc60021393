"""Bad input, generated: thousands of updates through the real bot and the fake server.

Random text and commands, random and truncated callback data, edited messages, groups and
channels, stickers, files and voices, from unknown users, staff and participants mixed.
No handler may raise, every request must be a valid Bot API call, and nothing that only a
legitimate action may change does change. ``ACTIVUP_FUZZ_UPDATES`` sets how many (default
10,000).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.core import outbox
from storage.models import Group, Invite, Participant, Session, Staff
from tests.core.factories import one_session, programme
from tests.core.test_calendar_sync import ics
from tests.e2e.harness import Harness, running_bot

UPDATES = int(os.environ.get("ACTIVUP_FUZZ_UPDATES", "10000"))
BATCH = 50

COMMANDS = [
    "/start",
    "/help",
    "/language",
    "/stop",
    "/next",
    "/me",
    "/voice",
    "/invite",
    "/sessions",
    "/today",
    "/past",
    "/absence",
    "/corrections",
    "/feedback",
    "/feedback module",
    "/cancel",
    "/start AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "/start ../../etc",
    "/unknown",
    "/start@activup_test_bot",
]
PREFIXES = [
    "lang",
    "consent",
    "rsvp",
    "why",
    "sls",
    "ses",
    "scx",
    "scy",
    "smv",
    "sad",
    "sag",
    "sak",
    "sap",
    "icg",
    "invg",
    "ats",
    "atv",
    "atm",
    "ata",
    "atr",
    "atd",
    "ato",
    "atg",
    "atG",
    "fba",
    "fbn",
    "fbc",
    "fbs",
    "fbv",
    "svr",
    "svs",
    "abp",
    "abr",
]

field = st.one_of(
    st.integers(min_value=-3, max_value=12).map(str),
    st.sampled_from(["y", "n", "yes", "no", "how", "ill", "all", "one", "ar", "fr", "", "x" * 20]),
    st.text(alphabet="abc019:-_é", max_size=6),
)


@st.composite
def callback_data(draw: st.DrawFn) -> str:
    parts = [draw(st.sampled_from(PREFIXES)), draw(st.sampled_from(["1", "1", "2", ""]))]
    parts += draw(st.lists(field, max_size=4))
    data = ":".join(parts)
    if draw(st.booleans()):
        data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
    encoded = data.encode("utf-8")[:64]
    return encoded.decode("utf-8", errors="ignore") or "x"


text = st.one_of(
    st.sampled_from(COMMANDS),
    st.text(min_size=1, max_size=80).filter(lambda s: s.strip() != ""),
    st.sampled_from(["3/12 14:00", "15/12", "Amina K.", "oui", "😀", "/start " + "x" * 64]),
)


@st.composite
def update(draw: st.DrawFn) -> tuple[int, str, object]:
    """One generated update, as plain data: (who, what, payload)."""
    who = draw(st.integers(min_value=0, max_value=6))
    what = draw(
        st.sampled_from(
            ["text", "text", "text", "tap", "tap", "tap", "group", "file", "edit", "channel"]
        )
    )
    if what in ("text", "group", "edit", "channel"):
        return who, what, draw(text)
    if what == "tap":
        return who, what, draw(callback_data())
    return who, what, draw(st.tuples(st.integers(0, 4), st.integers(0, 400)))


class RunningBot:
    """The bot and the fake server on an event loop of their own, in a thread, so that
    Hypothesis (which calls tests synchronously) can feed it batch after batch."""

    def __init__(self, database_url: str, clock: object) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._stack = contextlib.AsyncExitStack()
        self.h: Harness = self.call(self._start(database_url, clock))

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=300)

    async def _start(self, database_url: str, clock: object) -> Harness:
        h = await self._stack.enter_async_context(
            running_bot(database_url, clock, telegram_messages_per_second=100_000)  # type: ignore[arg-type]
        )
        prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=3)
        sid = await one_session(
            h.deps.sessionmaker,
            prog.group_id,
            h.clock.now() + timedelta(hours=1),
            now=h.clock.now(),
        )
        async with h.deps.sessionmaker() as session:
            await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
            await session.commit()
        staff = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
        self.people = [
            staff,
            *(
                h.server.user(1000 + i, f"P{i}", language_code=lc)
                for i, lc in enumerate(["fr", "ar", None])
            ),
            *(
                h.server.user(5000 + i, "X", language_code=lc)
                for i, lc in enumerate(["en", "zz", "ti"])
            ),
        ]
        self.group = h.server.group_chat(-4242, "Famille")
        self.channel = h.server.channel(-1009999, "Canal")
        self.prompt = await h.say(staff, "/sessions")
        return h

    async def play(self, batch: list[tuple[int, str, object]]) -> None:
        h = self.h
        for who, what, payload in batch:
            user = self.people[who]
            if what == "text":
                h.server.send_text(user, str(payload))
            elif what == "group":
                h.server.send_text(user, str(payload), chat=self.group)
            elif what == "edit":
                own = h.server.send_text(user, "…")["message"]
                h.server.edit_text(user, own, str(payload))
            elif what == "channel":
                h.server.send_channel_post(self.channel, str(payload))
            elif what == "tap":
                # Forged data, on a message the bot really sent to this person (Telegram
                # only sends callback queries from the bot's own messages).
                mine = h.server.bot_messages(user.id)
                if mine:
                    h.server.send_callback(user, mine[-1]["message_id"], user.id, str(payload))
                else:
                    h.server.send_text(user, "/help")
            else:
                choice, size = payload  # type: ignore[misc]
                if choice == 0:
                    h.server.send_sticker(user)
                elif choice == 1:
                    h.server.send_voice(user)
                elif choice == 2:
                    h.server.send_document(user, "x.ics", ics()[:size], "text/calendar")
                elif choice == 3:
                    h.server.send_photo(user)
                else:
                    h.server.send_location(user, 50.4, 4.4)
        await h.server.wait_until_idle(application=h.app, timeout=60)

    async def counts(self) -> dict[str, int]:
        async with self.h.deps.sessionmaker() as session:
            return {
                model.__tablename__: int(await session.scalar(select(func.count(model.id))) or 0)
                for model in (Staff, Group, Participant, Invite, Session)
            }

    def close(self) -> None:
        self.call(self._stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)


@pytest.mark.skipif(UPDATES <= 0, reason="ACTIVUP_FUZZ_UPDATES=0")
def test_generated_updates_never_crash_and_change_nothing_they_should_not(
    database_url: str, clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    bot = RunningBot(database_url, clock)
    try:
        before = bot.call(bot.counts())

        @settings(
            max_examples=max(1, UPDATES // BATCH),
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(update(), min_size=BATCH, max_size=BATCH))
        def one_batch(batch: list[tuple[int, str, object]]) -> None:
            seen_errors = len(caplog.records)
            seen_violations = len(bot.h.server.violations)
            bot.call(bot.play(batch))
            errors = [r for r in caplog.records[seen_errors:] if r.levelno >= logging.ERROR]
            assert errors == [], errors[:3]
            assert bot.h.server.violations[seen_violations:] == []

        one_batch()
        assert bot.call(bot.counts()) == before
    finally:
        bot.close()
