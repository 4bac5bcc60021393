"""A family enrols in Arabic, Dari or Pashto: every message and button keeps its order.

Telegram lays a paragraph out from its first strong character. In right-to-left text a
Latin name, a time, a date or a /command that is not isolated (FSI…PDI) comes out
scrambled (".Amina K", "next/"). The journey goes through everything a participant
sees, then every version of every message and button is checked.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.core import enrolment, outbox
from bot.core.people import active_staff
from bot.i18n import (
    FSI,
    LANGUAGE_NAMES,
    LANGUAGES,
    PDI,
    RLM,
    format_day,
    format_time,
    translations,
)
from bot.simulator import FakeUser
from storage.models import Group
from tests.core.factories import one_session
from tests.e2e.harness import Harness
from tests.e2e.test_enrolment import _invite_link, _referent_with_group

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # Thursday 14:00 in Brussels
EVENING_BEFORE = datetime(2026, 12, 2, 17, 1, tzinfo=UTC)
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF]")
ISOLATED = re.compile(f"{FSI}[^{FSI}{PDI}]*{PDI}")
LATIN = re.compile(r"[A-Za-z]+")
TIME = re.compile(r"\d{1,2}:\d{2}")
COMMAND = re.compile(r"/[a-z]+")


def not_isolated(text: str, dates: list[str]) -> list[str]:
    """What a right-to-left text leaves outside FSI…PDI: Latin words, times, commands, dates."""
    if not ARABIC_SCRIPT.search(text):
        return []  # no right-to-left text around it (a name alone on a button)
    outside = ISOLATED.sub(" ", text)
    found = LATIN.findall(outside) + TIME.findall(outside) + COMMAND.findall(outside)
    return found + [date for date in dates if date in outside]


def lines_not_right_to_left(text: str) -> list[str]:
    return [line for line in text.split("\n") if line and not line.startswith(RLM)]


def _every_version(h: Harness, user: FakeUser) -> list[dict[str, Any]]:
    versions = []
    for message in h.server.bot_messages(user.id):
        versions += h.server.message_history(user.id, message["message_id"])
    return versions


async def _enrol(h: Harness, phone: FakeUser, label: str) -> None:
    picker = h.last(phone)
    await h.tap(phone, picker, label)
    consent = h.last(phone)
    await h.tap(phone, consent, consent["reply_markup"]["inline_keyboard"][0][0]["text"])


@pytest.mark.parametrize("language", ["ar", "fa_AF", "ps"])
async def test_every_message_and_button_keeps_names_times_and_commands_in_order(
    harness: Harness, language: str
):
    h = harness
    t = translations(language).gettext
    label = next(f"{lang.native_name} {lang.flag}" for lang in LANGUAGES if lang.code == language)
    await _referent_with_group(h)
    phone = h.server.user(555, "Famille", language_code=None)

    # Amina enrols, then Karim on the same phone: the shared-phone question and buttons.
    await h.say(phone, f"/start {await _invite_link(h, 'Amina K.')}")
    await _enrol(h, phone, label)
    question = await h.say(phone, f"/start {await _invite_link(h, 'Karim B.')}")
    yes = question["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert f"{FSI}Karim B.{PDI}" in yes, yes
    await h.tap(phone, question, yes)
    await _enrol(h, phone, label)

    # The commands a participant uses, each for one person of the phone.
    await h.say(phone, "/help")
    for command in ("/next", "/me", "/mydata", "/voice", "/language", "/forget"):
        ask = await h.say(phone, command)
        await h.tap(phone, ask, ask["reply_markup"]["inline_keyboard"][0][0]["text"])
        if command == "/mydata":
            summary = h.server.bot_messages(phone.id)[-2]["text"]
            assert LANGUAGE_NAMES[language] in summary, "the language by its name"
            assert f"{FSI}{language}{PDI}" not in summary, "not by its code"
    await h.say(phone, "bonjour")

    # A reminder, ❌, the question why and a reason; then the session moves.
    async with h.deps.sessionmaker() as session:
        group_id = (await session.scalars(select(Group.id))).one()
    sid = await one_session(h.deps.sessionmaker, group_id, START, now=h.clock.now())
    async with h.deps.sessionmaker() as session:
        await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
        await session.commit()
    h.clock.set(EVENING_BEFORE)
    await h.dispatch()
    reminder = h.last(phone)
    await h.tap(phone, reminder, t("❌ Je ne viens pas"))
    why = h.last(phone)
    assert why["text"].endswith(t("❓ Pourquoi ?")), "a one-line question above the reasons"
    await h.tap(phone, why, why["reply_markup"]["inline_keyboard"][0][0]["text"])
    referent = h.server.user(100, "Sophie")
    # The referent is told at once (the session is tomorrow), before asking for the list.
    await h.server.wait_for(
        lambda: any(
            "ne viendra pas" in m.get("text", "") for m in h.server.bot_messages(referent.id)
        )
    )
    listing = await h.say(referent, "/sessions")
    assert "reply_markup" in listing, listing.get("text")
    await h.tap(referent, listing, listing["reply_markup"]["inline_keyboard"][0][0]["text"])
    await h.tap(referent, h.last(referent), "🗓 Déplacer")
    await h.say(referent, "4/12 15:00")
    await h.dispatch()
    for command in ("/stop", "/start"):  # the second person, then back again
        ask = await h.say(phone, command)
        await h.tap(phone, ask, ask["reply_markup"]["inline_keyboard"][1][0]["text"])

    tz = h.deps.settings.tz
    dates = [format_day(START, language, tz), format_time(START, language, tz)]
    problems: list[tuple[str, list[str]]] = []
    texts = 0
    for version in _every_version(h, phone):
        text = version.get("text") or version.get("caption") or ""
        if ARABIC_SCRIPT.search(text):
            texts += 1
            if not_isolated(text, dates) or lines_not_right_to_left(text):
                problems.append((text, not_isolated(text, dates) + lines_not_right_to_left(text)))
        for row in (version.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if not_isolated(button["text"], dates):
                    problems.append((button["text"], not_isolated(button["text"], dates)))
    assert texts >= 20, "the journey went through the participant's messages"
    assert problems == []


async def test_the_qr_caption_reads_right_to_left_for_a_referent_who_reads_arabic(
    harness: Harness,
):
    h = harness
    await _referent_with_group(h)
    async with h.deps.sessionmaker() as session:
        staff = await active_staff(session, 100)
        assert staff is not None
        await enrolment.set_staff_language(session, staff.id, "ar")
        await session.commit()
    referent = h.server.user(100, "Sophie", language_code="ar")
    picker = await h.say(referent, "/invite")
    await h.tap(referent, picker, picker["reply_markup"]["inline_keyboard"][0][0]["text"])
    before = h.server.bot_message_count(referent.id)
    h.server.send_text(referent, "Amina K.")
    await h.server.wait_for(lambda: h.server.bot_message_count(referent.id) >= before + 2)
    caption = h.server.bot_messages(referent.id)[-1]["caption"]
    assert caption.startswith(RLM), "laid out right to left"
    assert f"{FSI}Amina K.{PDI}" in caption and f"{FSI}ACTIV'UP{PDI}" in caption
    assert not_isolated(caption, []) == []
