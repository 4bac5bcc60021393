"""A family shares one phone: each person has their own language, reminders and answers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.core import outbox
from bot.i18n import isolate, translations
from bot.simulator import FakeUser
from storage.models import Group, Membership, Participant, Rsvp, RsvpAnswer
from storage.models import Session as SessionRow
from tests.core.factories import one_session
from tests.e2e.harness import Harness
from tests.e2e.test_enrolment import _invite_link, _referent_with_group

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # Thursday 14:00 in Brussels
EVENING_BEFORE = datetime(2026, 12, 2, 17, 1, tzinfo=UTC)  # just after 18:00 the day before


async def _enrol(h: Harness, phone: FakeUser, token: str, language_label: str) -> None:
    picker = await h.say(phone, f"/start {token}")
    await h.tap(phone, picker, language_label)
    consent = h.last(phone)
    await h.tap(phone, consent, consent["reply_markup"]["inline_keyboard"][0][0]["text"])


async def _people(h: Harness) -> list[Participant]:
    async with h.deps.sessionmaker() as session:
        return list((await session.scalars(select(Participant).order_by(Participant.id))).all())


async def test_a_family_phone_holds_two_people_each_with_their_own_language(harness: Harness):
    h = harness
    await _referent_with_group(h)
    phone = h.server.user(555, "Famille", language_code="fr")
    await _enrol(h, phone, await _invite_link(h, "Amina K."), "Français 🇫🇷")

    # A second person enrols from the same phone: the bot asks whether it is shared.
    token = await _invite_link(h, "Karim B.")
    question = await h.say(phone, f"/start {token}")
    assert "Amina K." in question["text"] and "Karim B." in question["text"]
    assert "autre personne" in question["text"]
    await h.tap(phone, question, "👥 Oui, Karim B. est une autre personne")
    picker = h.server.message(phone.id, question["message_id"])
    await h.tap(phone, picker, "ትግርኛ 🇪🇷")
    consent = h.last(phone)
    assert "Karim B." in consent["text"]
    await h.tap(phone, consent, consent["reply_markup"]["inline_keyboard"][0][0]["text"])
    amina, karim = await _people(h)
    assert (amina.first_name, amina.language, amina.telegram_user_id) == ("Amina K.", "fr", 555)
    assert (karim.first_name, karim.language, karim.telegram_user_id) == ("Karim B.", "ti", 555)

    # Each gets their own reminder, in their own language, saying whom it is for.
    async with h.deps.sessionmaker() as session:
        group_id = (await session.scalars(select(Group.id))).one()
    sid = await one_session(h.deps.sessionmaker, group_id, START, now=h.clock.now())
    async with h.deps.sessionmaker() as session:
        await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
        await session.commit()
    before = h.server.bot_message_count(phone.id)
    h.clock.set(EVENING_BEFORE)
    await h.dispatch()
    reminders = h.server.bot_messages(phone.id)[before:]
    assert len(reminders) == 2
    for_amina = next(m for m in reminders if "Amina K." in m["text"])
    for_karim = next(m for m in reminders if "Karim B." in m["text"])
    assert for_amina["text"].startswith("👤 Pour Amina K. :")
    ti = translations("ti").gettext
    assert for_karim["text"].startswith(
        ti("👤 Pour %(name)s :") % {"name": isolate("Karim B.", "ti")}
    )
    assert "Karim B." not in for_amina["text"] and "Amina K." not in for_karim["text"]
    assert ti("✅ Je viens") in str(for_karim["reply_markup"])

    # Karim's "I can't come" is Karim's only.
    await h.tap(phone, for_karim, ti("❌ Je ne viens pas"))
    async with h.deps.sessionmaker() as session:
        answers = {r.participant_id: r.answer for r in (await session.scalars(select(Rsvp))).all()}
    assert answers == {karim.id: RsvpAnswer.NO}

    # A command asks whom it is for, then answers for that person only.
    ask = await h.say(phone, "/next")
    assert "pour qui" in ask["text"]
    names = [row[0]["text"] for row in ask["reply_markup"]["inline_keyboard"]]
    assert names == ["👤 Amina K.", "👤 Karim B."]
    before = h.server.bot_message_count(phone.id)
    h.server.press_button(phone, ask, text="👤 Amina K.")
    shown = await h.server.wait_for_bot_message(phone.id, count_before=before)
    assert shown["text"].startswith("👤 Pour Amina K. :") and "Atelier FLE" in shown["text"]

    # /stop for one person leaves the other's reminders alone.
    ask = await h.say(phone, "/stop")
    before = h.server.bot_message_count(phone.id)
    h.server.press_button(phone, ask, text="👤 Karim B.")
    await h.server.wait_for_bot_message(phone.id, count_before=before)
    amina, karim = await _people(h)
    assert (amina.status, karim.status) == ("active", "stopped")


async def test_a_voice_only_reminder_on_a_shared_phone_names_its_person(harness: Harness):
    h = harness
    await _referent_with_group(h)
    phone = h.server.user(559, "Famille", language_code="fr")
    await _enrol(h, phone, await _invite_link(h, "Amina K."), "Français 🇫🇷")
    question = await h.say(phone, f"/start {await _invite_link(h, 'Karim B.')}")
    await h.tap(phone, question, "👥 Oui, Karim B. est une autre personne")
    await h.tap(phone, h.server.message(phone.id, question["message_id"]), "Français 🇫🇷")
    consent = h.last(phone)
    await h.tap(phone, consent, consent["reply_markup"]["inline_keyboard"][0][0]["text"])
    uploader = h.server.user(777, "Sophie")
    recorded = h.server.send_voice(uploader, duration=4)
    await h.idle()
    ask = await h.say(phone, "/voice")
    await h.tap(phone, ask, "👤 Karim B.")
    async with h.deps.sessionmaker() as session:
        group_id = (await session.scalars(select(Group.id))).one()
    sid = await one_session(h.deps.sessionmaker, group_id, START, now=h.clock.now())
    async with h.deps.sessionmaker() as session:
        row = await session.get(SessionRow, sid)
        assert row is not None
        row.voice_file_id = recorded["message"]["voice"]["file_id"]
        await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
        await session.commit()
    before = h.server.bot_message_count(phone.id)
    h.clock.set(EVENING_BEFORE)
    await h.dispatch()
    got = h.server.bot_messages(phone.id)[before:]
    voices = [m for m in got if "voice" in m]
    assert [m.get("caption") for m in voices] == ["👤 Amina K.", "👤 Karim B."] or [
        m.get("caption") for m in voices
    ] == ["👤 Karim B.", "👤 Amina K."]
    texts = [m["text"] for m in got if "text" in m]
    assert len(texts) == 1 and texts[0].startswith("👤 Pour Amina K. :"), "Karim: voice only"


async def test_a_second_link_for_the_same_person_adds_a_group_not_a_person(harness: Harness):
    h = harness
    await _referent_with_group(h)
    phone = h.server.user(556, "Amina", language_code="fr")
    await _enrol(h, phone, await _invite_link(h, "Amina K."), "Français 🇫🇷")
    # The same name: no question, the same person.
    await _enrol(h, phone, await _invite_link(h, "Amina K."), "Français 🇫🇷")
    assert len(await _people(h)) == 1
    # Another spelling: the bot asks, and "no, it is Amina K." keeps one person.
    token = await _invite_link(h, "Amina")
    question = await h.say(phone, f"/start {token}")
    await h.tap(phone, question, "🙋 Non, c'est Amina K.")
    picker = h.server.message(phone.id, question["message_id"])
    await h.tap(phone, picker, "Français 🇫🇷")
    consent = h.last(phone)
    await h.tap(phone, consent, consent["reply_markup"]["inline_keyboard"][0][0]["text"])
    people = await _people(h)
    assert [p.first_name for p in people] == ["Amina K."]
    async with h.deps.sessionmaker() as session:
        memberships = (await session.scalars(select(Membership))).all()
    assert {m.participant_id for m in memberships} == {people[0].id}
    # Not a shared phone: messages do not name anyone.
    shown = await h.say(phone, "/next")
    assert not shown["text"].startswith("👤")


async def test_a_forged_person_choice_is_refused(harness: Harness):
    h = harness
    await _referent_with_group(h)
    phone = h.server.user(557, "Amina", language_code="fr")
    await _enrol(h, phone, await _invite_link(h, "Amina K."), "Français 🇫🇷")
    other = h.server.user(558, "Eve", language_code="fr")
    await _enrol(h, other, await _invite_link(h, "Eve L."), "Français 🇫🇷")
    _amina, eve = await _people(h)
    # Amina's phone forges "for whom? Eve" on /mydata: refused, nothing of Eve is shown.
    h.server.send_callback(phone, 1, phone.id, f"pp:1:mydata:{eve.id}")
    await h.idle()
    assert "plus valable" in list(h.server.callback_answers.values())[-1]["text"]
    assert not any("Eve L." in m.get("text", "") for m in h.server.bot_messages(phone.id))
