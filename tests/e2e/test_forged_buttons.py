"""Forged button data, generated for every button prefix: answered, harmless, no error.

Telegram lets any client send any ``callback_data`` on a message of the bot's: the data
below never names a real row, so not one row may change, and every tap must get an
answer (the spinner stops) without an error in the log.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from bot.i18n import LANGUAGE_CODES
from tests.e2e.bot_surface import commands_and_prefixes
from tests.e2e.harness import Harness
from tests.e2e.test_fuzz import RunningBot

ODD_NUMBERS = ["²", "٣", "１", "-1", "+1", " 1", "1_0", "0", "2147483648", "9" * 20, "1e3", ""]
# Codes that a real button carries: a generated one would be a legitimate tap.
REAL_CODES = {*LANGUAGE_CODES, "y", "n", "yes", "no"}

field = st.one_of(
    st.sampled_from(ODD_NUMBERS),
    st.integers(min_value=900_000, max_value=2**31 - 1).map(str),
    st.integers(min_value=2**31, max_value=2**70).map(str),
    st.text(max_size=8).filter(lambda s: s.lower() not in REAL_CODES and ":" not in s),
)


@st.composite
def forged(draw: st.DrawFn, prefixes: list[str]) -> tuple[int, str]:
    parts = [draw(st.sampled_from(prefixes)), draw(st.sampled_from(["1", "1", "1", "2", "١"]))]
    parts += draw(st.lists(field, min_size=0, max_size=5))
    data = ":".join(parts).encode("utf-8")[:64].decode("utf-8", errors="ignore")
    return draw(st.integers(min_value=0, max_value=6)), data


async def _every_row(bot: RunningBot) -> list[tuple[str, list[tuple[object, ...]]]]:
    async with bot.h.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: sorted(inspect(c).get_table_names()))
        return [
            (
                table,
                sorted(
                    map(tuple, (await connection.execute(text(f'SELECT * FROM "{table}"'))).all()),
                    key=repr,
                ),
            )
            for table in tables
        ]


async def _tap_all(bot: RunningBot, taps: list[tuple[int, str]]) -> None:
    h = bot.h
    for who, data in taps:
        user = bot.people[who]
        h.server.send_callback(
            user, h.server.bot_messages(user.id)[-1]["message_id"], user.id, data
        )
    await h.server.wait_until_idle(application=h.app, timeout=60)


async def _everyone_has_a_message(bot: RunningBot) -> None:
    for user in bot.people:
        if not bot.h.server.bot_messages(user.id):
            bot.h.server.send_text(user, "/help")
    await bot.h.server.wait_until_idle(application=bot.h.app, timeout=60)


@pytest.mark.parametrize("rounds", [40])
def test_forged_data_for_every_prefix_is_answered_and_changes_no_row(
    database_url: str, clock: object, caplog: pytest.LogCaptureFixture, rounds: int
) -> None:
    caplog.set_level(logging.ERROR)
    bot = RunningBot(database_url, clock)
    try:
        bot.call(_everyone_has_a_message(bot))
        _commands, prefixes = commands_and_prefixes(bot.h)
        assert len(prefixes) >= 30
        before = bot.call(_every_row(bot))

        @settings(
            max_examples=rounds,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(forged(prefixes), min_size=25, max_size=25))
        def one_round(taps: list[tuple[int, str]]) -> None:
            bot.call(_tap_all(bot, taps))
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert errors == [], errors[:3]
            assert bot.h.server.unanswered_callback_queries() == []

        one_round()
        # Every prefix, with ids one past the column's range, from each kind of person.
        edge = [
            (who, f"{prefix}:1:{field}:{field}:{field}"[:64])
            for prefix in prefixes
            for who in (0, 1, 4)
            for field in ("²", "2147483648")
        ]
        bot.call(_tap_all(bot, edge))
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        assert bot.h.server.unanswered_callback_queries() == []
        assert bot.call(_every_row(bot)) == before
        assert bot.h.server.violations == []
    finally:
        bot.close()


async def test_a_button_the_bot_does_not_know_is_answered_no_longer_valid(harness: Harness):
    h = harness
    ana = h.server.user(5000, "Ana", language_code="fr")
    help_message = await h.say(ana, "/help")
    for data in ("old-format", "zz:1:3", "rsvp", "rsvp1:1:2:y"):
        update = h.server.send_callback(ana, help_message["message_id"], ana.id, data)
        answered = await h.server.wait_for_callback_answer(update["callback_query"]["id"])
        assert answered["text"] == "⚠️ Ce bouton n'est plus valable."
