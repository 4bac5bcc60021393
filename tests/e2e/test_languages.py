"""A participant who enrols in Tigrinya gets everything in Tigrinya, dates included."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.core import organisation, outbox
from bot.core.calendar_sync import import_calendar
from bot.i18n import format_day, translations
from storage.models import Attendance, Mark, Participant, Session
from tests.core.test_calendar_sync import ics
from tests.e2e.harness import Harness
from tests.e2e.test_enrolment import _invite_link, _referent_with_group

GEEZ = re.compile(r"[\u1200-\u137F]")


async def test_enrolling_in_tigrinya_then_reminder_cancellation_and_question(harness: Harness):
    h = harness
    await _referent_with_group(h)
    token = await _invite_link(h, "Selam T.")
    selam = h.server.user(555, "Selam", language_code=None)
    picker = await h.say(selam, f"/start {token}")
    await h.tap(selam, picker, "ትግርኛ 🇪🇷")
    consent = h.last(selam)
    assert GEEZ.search(consent["text"]) and "/mydata" in consent["text"]
    await h.tap(selam, consent, consent["reply_markup"]["inline_keyboard"][0][0]["text"])
    assert GEEZ.search(h.last(selam)["text"])

    async with h.deps.sessionmaker() as session:
        group = await organisation.find_group(session, "FLE lundi")
        await import_calendar(
            session, group_id=group.id, data=ics(), now=h.clock.now(), tz=h.deps.settings.tz
        )
        await session.commit()
    h.clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))
    await h.dispatch()
    reminder = h.server.bot_messages(selam.id)[-2]
    day = format_day(datetime(2026, 12, 7, 8, 30, tzinfo=UTC), "ti", h.deps.settings.tz)
    assert day in reminder["text"] and "ሰኑይ" in day, "Monday, spelled out in Tigrinya"
    t = translations("ti")
    assert t.gettext("✅ Je viens") in str(h.server.bot_messages(selam.id)[-1]["reply_markup"])

    referent = h.server.user(100, "Sophie")
    listing = await h.say(referent, "/sessions")
    second = listing["reply_markup"]["inline_keyboard"][1][0]["text"]
    await h.tap(referent, listing, second)
    await h.tap(referent, h.last(referent), "🚫 Annuler")
    await h.tap(referent, h.last(referent), "🚫 Oui, annuler")
    await h.dispatch()
    cancellation = h.last(selam)["text"]
    assert cancellation.startswith("🚫") and GEEZ.search(cancellation)

    async with h.deps.sessionmaker() as session:
        person = (
            await session.scalars(select(Participant).where(Participant.telegram_user_id == 555))
        ).one()
        first = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
        row = (await session.scalars(select(Session).where(Session.starts_at == first))).one()
        session.add(
            Attendance(
                session_id=row.id, participant_id=person.id, mark=Mark.PRESENT, recorded_at=first
            )
        )
        await outbox.plan_session(session, row.id, now=h.clock.now(), tz=h.deps.settings.tz)
        await session.commit()
    h.clock.set(first + timedelta(hours=2, minutes=20))
    await h.dispatch()
    question = h.last(selam)["text"]
    assert question.startswith("💬") and t.gettext("Comment c'était aujourd'hui ?") in question


async def test_consent_explained_in_person_and_spoken_notices(harness: Harness):
    h = harness
    await _referent_with_group(h)
    referent = h.server.user(100, "Sophie", language_code="fr")
    await h.say(referent, "/record consent ti")
    h.server.send_voice(referent, duration=20)
    await h.idle()
    assert "Enregistré" in h.last(referent)["text"]
    await h.say(referent, "/record help fr")
    h.server.send_voice(referent, duration=15)
    await h.idle()

    token = await _invite_link(h, "Selam T.")
    qr = h.server.bot_messages(100)[-1]
    await h.tap(referent, qr, "🤝 J'ai expliqué en personne")
    await h.tap(referent, h.server.message(100, qr["message_id"]), "ትግርኛ")
    assert "expliqué en personne" in list(h.server.callback_answers.values())[-1]["text"]

    selam = h.server.user(555, "Selam", language_code=None)
    picker = await h.say(selam, f"/start {token}")
    await h.tap(selam, picker, "ትግርኛ 🇪🇷")
    voice, consent = h.server.bot_messages(selam.id)[-2:]
    assert "voice" in voice, "the consent notice, spoken, comes first"
    assert "/mydata" in consent["text"] and GEEZ.search(consent["text"]), "then in writing"
    await h.tap(selam, consent, consent["reply_markup"]["inline_keyboard"][0][0]["text"])
    async with h.deps.sessionmaker() as session:
        person = (
            await session.scalars(select(Participant).where(Participant.telegram_user_id == 555))
        ).one()
    assert (person.consent_method, person.consent_language) == ("in_person", "ti")
    assert person.consent_explained_by_id is not None and person.consent_version

    karim = h.server.user(777, "Karim", language_code="fr")
    token = await _invite_link(h, "Karim B.")
    picker = await h.say(karim, f"/start {token}")
    await h.tap(karim, picker, "Français 🇫🇷")
    assert "voice" not in h.last(karim), "no recording in French: text only"
    await h.tap(karim, h.last(karim), "✅ J'accepte")
    before = h.server.bot_message_count(karim.id)
    h.server.send_text(karim, "/help")
    await h.server.wait_for(lambda: h.server.bot_message_count(karim.id) >= before + 2)
    assert "voice" in h.last(karim), "/help spoken in French, recorded by the team"
