"""Reminders end to end: from an imported calendar to the participant's phone and back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.core import absence_alerts
from bot.core.calendar_sync import import_calendar
from storage.models import OutboxMessage, OutboxStatus, Rsvp, Session
from tests.core.factories import programme
from tests.core.test_calendar_sync import ics
from tests.e2e.harness import Harness


async def _setup(h: Harness, participants: int = 2):
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=participants)
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    people = [h.server.user(1000 + i, f"P{i}", language_code="fr") for i in range(participants)]
    return prog, referent, people


async def _import(h: Harness, group_id: int, data: bytes) -> None:
    async with h.deps.sessionmaker() as session:
        await import_calendar(
            session, group_id=group_id, data=data, now=h.clock.now(), tz=h.deps.settings.tz
        )
        await session.commit()


async def _reminded(h: Harness, *people) -> int:
    """Run the dispatcher; how many of these participants got a reminder just now."""
    before = [h.server.bot_message_count(p.id) for p in people]
    await h.dispatch()
    return sum(h.server.bot_message_count(p.id) > b for p, b in zip(people, before, strict=True))


async def test_an_imported_series_reminds_each_participant_the_evening_before(harness: Harness):
    h = harness
    prog, _referent, (amina, _karim) = await _setup(h)
    await _import(h, prog.group_id, ics())  # Mondays 09:30 from 7 December 2026
    h.clock.set(datetime(2026, 12, 6, 16, 59, tzinfo=UTC))  # Sunday 17:59 in Brussels
    assert (await h.dispatch()).sent == 0
    h.clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))  # Sunday 18:00 in Brussels
    assert (await h.dispatch()).sent == 2
    text, pin = h.server.bot_messages(amina.id)[-2:]
    assert "Atelier FLE" in text["text"] and "lundi 7 décembre" in text["text"]
    assert "09:30" in text["text"] and "Maison des associations" in text["text"]
    assert pin["venue"]["location"]["latitude"] == 50.4063
    buttons = [b["text"] for row in pin["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["✅ Je viens", "❌ Je ne viens pas"]
    # Sent once: a second run at the same time sends nothing more.
    assert (await h.dispatch()).sent == 0


async def test_a_participant_confirms_and_the_referent_sees_it(harness: Harness):
    h = harness
    prog, referent, (amina, karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    h.clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))
    await h.dispatch()
    await h.tap(amina, h.last(amina), "✅ Je viens")
    await h.tap(karim, h.last(karim), "❌ Je ne viens pas")
    why = h.last(karim)
    assert why["text"] == "❓ Pourquoi ?", "one line says what the reason buttons are for"
    reasons = [b["text"] for row in why["reply_markup"]["inline_keyboard"] for b in row]
    assert reasons == ["🤒 malade", "👶 enfants", "📋 rendez-vous", "💼 travail", "💭 autre"]
    await h.tap(karim, why, "🤒 malade")
    changed = h.server.message(karim.id, why["message_id"])
    labels = [b["text"] for row in changed["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["❌ 🤒 malade ✏️"], "short enough for a phone: the reason, ✏️ to change"
    # The referent is told at once (the dispatcher sends it beside the taps), then looks.
    await h.server.wait_for(
        lambda: any(
            "ne viendra pas" in m.get("text", "") for m in h.server.bot_messages(referent.id)
        ),
        what="the late decline told to the referent",
    )

    # The referent is told at once (the session is tomorrow), before asking for the list.
    await h.server.wait_for(
        lambda: any(
            "ne viendra pas" in m.get("text", "") for m in h.server.bot_messages(referent.id)
        )
    )
    listing = await h.say(referent, "/sessions")
    first = listing["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert "✅1 ❌1 ❔0" in first
    await h.tap(referent, listing, first)
    detail = h.last(referent)["text"]
    assert "✅ P0 K." in detail and "❌ P1 K. (🤒 malade)" in detail


async def test_a_late_decline_alerts_the_referent_once_with_the_reason(harness: Harness):
    h = harness
    prog, referent, (amina, _karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    h.clock.set(datetime(2026, 12, 7, 6, 30, tzinfo=UTC))  # Monday 07:30, session at 09:30
    await h.dispatch()
    before = h.server.bot_message_count(referent.id)
    await h.tap(amina, h.last(amina), "❌ Je ne viens pas")
    await h.tap(amina, h.last(amina), "👶 enfants")
    await h.dispatch()
    alerts = h.server.bot_messages(referent.id)[before:]
    assert len(alerts) == 1
    assert "P0 K." in alerts[0]["text"] and "enfants" in alerts[0]["text"]


async def test_a_forged_answer_for_someone_elses_session_changes_nothing(harness: Harness):
    h = harness
    prog, _referent, (amina, _karim) = await _setup(h)
    amina_id, karim_id = prog.participant_ids
    await _import(h, prog.group_id, ics())
    stranger = h.server.user(4242, "Eve", language_code="fr")
    async with h.deps.sessionmaker() as session:
        session_id = (await session.scalars(select(Session.id))).first()
    h.server.send_callback(stranger, 1, stranger.id, f"rsvp:1:{session_id}:{amina_id}:y")
    await h.idle()
    h.server.send_callback(amina, 1, amina.id, f"rsvp:1:999999:{amina_id}:y")
    await h.idle()
    h.server.send_callback(amina, 1, amina.id, "rsvp:9:xx")
    await h.idle()
    h.server.send_callback(amina, 1, amina.id, f"rsvp:1:{session_id}:{karim_id}:n")
    await h.idle()
    answers = list(h.server.callback_answers.values())
    assert "pas pour vous" in answers[0]["text"]
    assert "plus valable" in answers[1]["text"] and "plus valable" in answers[2]["text"]
    assert "pas pour vous" in answers[3]["text"], "Amina cannot answer for Karim"
    async with h.deps.sessionmaker() as session:
        assert (await session.scalars(select(Rsvp))).all() == []


async def test_a_moved_session_sends_a_notice_and_reminds_at_the_new_time(harness: Harness):
    h = harness
    prog, referent, (amina, _karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    listing = await h.say(referent, "/sessions")
    await h.tap(referent, listing, listing["reply_markup"]["inline_keyboard"][0][0]["text"])
    await h.tap(referent, h.last(referent), "🗓 Déplacer")
    reply = await h.say(referent, "8/12 14:00")
    assert "déplacée" in reply["text"] and "2 participants sont prévenus" in reply["text"]

    await h.dispatch()  # the notices go out at once
    notice = h.last(amina)
    assert notice["text"].startswith("🔄") and "lundi 7 décembre" in notice["text"]
    assert "mardi 8 décembre" in notice["text"] and "14:00" in notice["text"]

    h.clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))  # the old evening-before time
    count = h.server.bot_message_count(amina.id)
    await h.dispatch()
    assert h.server.bot_message_count(amina.id) == count, "nothing at the old time"
    h.clock.set(datetime(2026, 12, 7, 17, 0, tzinfo=UTC))  # Monday 18:00, before Tuesday
    await h.dispatch()
    assert "mardi 8 décembre" in h.server.bot_messages(amina.id)[-2]["text"]


async def test_a_cancelled_session_tells_everyone_and_its_reminders_are_dropped(harness: Harness):
    h = harness
    prog, referent, (amina, karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    listing = await h.say(referent, "/sessions")
    await h.tap(referent, listing, listing["reply_markup"]["inline_keyboard"][0][0]["text"])
    await h.tap(referent, h.last(referent), "🚫 Annuler")
    await h.tap(referent, h.last(referent), "🚫 Oui, annuler")
    assert "2 participants sont prévenus" in h.last(referent)["text"]
    await h.dispatch()
    for person in (amina, karim):
        assert h.last(person)["text"].startswith("🚫 Annulé")
    h.clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))
    before = h.server.bot_message_count(amina.id)
    await h.dispatch()
    assert h.server.bot_message_count(amina.id) == before


async def test_reminders_fire_at_brussels_wall_time_across_both_dst_changes(harness: Harness):
    h = harness
    prog, _referent, (amina, karim) = await _setup(h)
    h.clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    spring = ics().replace(b"20261207T", b"20260330T")  # Mondays from 30 March 2026
    await _import(h, prog.group_id, spring)
    # Sunday 29 March is the change to summer time: 18:00 in Brussels is 16:00 UTC.
    h.clock.set(datetime(2026, 3, 29, 15, 59, tzinfo=UTC))
    assert await _reminded(h, amina, karim) == 0
    h.clock.set(datetime(2026, 3, 29, 16, 0, tzinfo=UTC))
    assert await _reminded(h, amina, karim) == 2
    assert "lundi 30 mars" in h.server.bot_messages(amina.id)[-2]["text"]
    assert "09:30" in h.server.bot_messages(amina.id)[-2]["text"]

    h.clock.set(datetime(2026, 10, 20, 9, 0, tzinfo=UTC))
    autumn = ics().replace(b"20261207T", b"20261026T").replace(b"fle-lundi", b"fle-autumn")
    await _import(h, prog.group_id, autumn)
    # Sunday 25 October is back to winter time: 18:00 in Brussels is 17:00 UTC.
    h.clock.set(datetime(2026, 10, 25, 16, 59, tzinfo=UTC))
    assert await _reminded(h, amina, karim) == 0
    h.clock.set(datetime(2026, 10, 25, 17, 0, tzinfo=UTC))
    assert await _reminded(h, amina, karim) == 2
    assert "lundi 26 octobre" in h.server.bot_messages(amina.id)[-2]["text"]


async def test_after_a_long_downtime_overdue_reminders_are_sent_or_recorded_expired(
    harness: Harness,
):
    h = harness
    prog, _referent, (amina, _karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    # Down from Sunday noon to Monday 10:00: the 09:30 session has begun.
    h.clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    stats = await h.dispatch()
    assert stats.sent == 0 and stats.expired == 5  # 4 reminders and the stale digest
    async with h.deps.sessionmaker() as session:
        expired = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.EXPIRED)
            )
        ).all()
    assert len(expired) == 5
    # Down until Monday 08:00 instead: the session has not begun, so they go out.
    h.clock.set(datetime(2026, 12, 14, 7, 0, tzinfo=UTC))
    assert await _reminded(h, amina, _karim) == 2, "one each: the older overdue one is superseded"
    assert "lundi 14 décembre" in h.server.bot_messages(amina.id)[-2]["text"]


async def test_a_blocked_participant_is_marked_unreachable_and_the_referent_told_once(
    harness: Harness,
):
    h = harness
    prog, referent, (amina, _karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    h.server.block(amina, notify=False)
    before = h.server.bot_message_count(referent.id)
    h.clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))
    await h.dispatch()
    h.clock.set(datetime(2026, 12, 7, 7, 0, tzinfo=UTC))
    await h.dispatch()
    alerts = [m for m in h.server.bot_messages(referent.id)[before:] if "📞" in m["text"]]
    assert len(alerts) == 1 and "P0 K." in alerts[0]["text"]


async def test_a_participant_sees_their_next_sessions_in_their_language(harness: Harness):
    h = harness
    prog, _referent, (amina, _karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    reply = await h.say(amina, "/next")
    assert "lundi 7 décembre" in reply["text"] and "lundi 14 décembre" in reply["text"]


async def test_the_referent_gets_a_morning_digest_of_the_day(harness: Harness):
    h = harness
    prog, referent, (amina, _karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    h.clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))
    await h.dispatch()
    await h.tap(amina, h.last(amina), "✅ Je viens")
    h.clock.set(datetime(2026, 12, 7, 7, 0, tzinfo=UTC))  # Monday 08:00 in Brussels
    before = h.server.bot_message_count(referent.id)
    await h.dispatch()
    digest = h.server.bot_messages(referent.id)[before:]
    assert len(digest) == 1 and digest[0]["text"].startswith("☀️")
    assert "09:30 · Atelier FLE" in digest[0]["text"]
    assert "✅ P0 K." in digest[0]["text"] and "❔ P1 K." in digest[0]["text"]


async def test_two_unanswered_reminders_then_an_absence_ask_the_referent_to_call(
    harness: Harness,
):
    h = harness
    prog, referent, (_amina, karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    for moment in (
        datetime(2026, 12, 6, 17, 0, tzinfo=UTC),
        datetime(2026, 12, 6, 19, 59, tzinfo=UTC),
    ):
        h.clock.set(moment)  # Sunday 18:00, then 20:59 (the 2-hours-before, out of quiet hours)
        await h.dispatch()
    await h.tap(karim, h.last(karim), "✅ Je viens")
    h.clock.set(datetime(2026, 12, 7, 8, 45, tzinfo=UTC))  # during the session
    today = await h.say(referent, "/today")
    before = h.server.bot_message_count(referent.id)
    h.server.press_button(
        referent, today, text=today["reply_markup"]["inline_keyboard"][0][0]["text"]
    )
    sheet = await h.server.wait_for_bot_message(referent.id, count_before=before)
    await h.tap(referent, sheet, "❌ Les autres absents")
    h.clock.set(h.clock.now() + absence_alerts.SETTLE)  # once the marks have settled
    await h.dispatch()
    calls = [m["text"] for m in h.server.bot_messages(referent.id) if m["text"].startswith("📞")]
    assert len(calls) == 1 and "P0 K." in calls[0] and "rappels" in calls[0]


async def test_a_staff_member_imports_a_calendar_by_sending_the_file(harness: Harness):
    h = harness
    _prog, referent, (amina, _karim) = await _setup(h)
    before = h.server.bot_message_count(referent.id)
    h.server.send_document(referent, "fle.ics", ics(), "text/calendar")
    question = await h.server.wait_for_bot_message(referent.id, count_before=before)
    await h.tap(referent, question, "INSERTION SOCIALE · FLE lundi")
    preview = h.server.message(referent.id, question["message_id"])
    assert "4 nouvelles séances" in preview["text"] and "rien n'a encore changé" in preview["text"]
    await h.tap(referent, preview, "✅ Appliquer")
    summary = h.server.message(referent.id, question["message_id"])["text"]
    assert summary.startswith("✅ Calendrier importé.") and "4 nouvelles séances" in summary
    h.server.send_document(amina, "fle.ics", ics(), "text/calendar")
    await h.idle()
    assert "réservée à l'équipe" in h.last(amina)["text"]
    bad = h.server.bot_message_count(referent.id)
    h.server.send_document(referent, "bad.ics", b"BEGIN:VCALENDAR\nnonsense", "text/calendar")
    question = await h.server.wait_for_bot_message(referent.id, count_before=bad)
    await h.tap(referent, question, "INSERTION SOCIALE · FLE lundi")
    refusal = h.server.message(referent.id, question["message_id"])["text"]
    assert "pas un calendrier lisible" in refusal
    async with h.deps.sessionmaker() as session:
        assert len((await session.scalars(select(Session))).all()) == 4


async def test_a_series_with_a_recorded_voice_note_sends_it_with_the_reminder(harness: Harness):
    h = harness
    prog, referent, (amina, karim) = await _setup(h)
    await _import(h, prog.group_id, ics())
    listing = await h.say(referent, "/sessions")
    await h.tap(referent, listing, listing["reply_markup"]["inline_keyboard"][0][0]["text"])
    await h.tap(referent, h.last(referent), "🎤 Message vocal")
    assert "message vocal" in h.last(referent)["text"]
    before = h.server.bot_message_count(referent.id)
    h.server.send_voice(referent, duration=5)
    scope = await h.server.wait_for_bot_message(referent.id, count_before=before)
    await h.tap(referent, scope, "Toute la série")
    assert "4 séances" in h.server.message(referent.id, scope["message_id"])["text"]

    assert "vocal" in (await h.say(karim, "/voice"))["text"]
    h.clock.set(datetime(2026, 12, 13, 17, 0, tzinfo=UTC))  # the evening before the 2nd one
    await h.dispatch()
    amina_gets = h.server.bot_messages(amina.id)[-3:]
    assert "lundi 14 décembre" in amina_gets[0]["text"]
    assert "venue" in amina_gets[1] and "voice" in amina_gets[2]
    assert amina_gets[2]["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Je viens"
    karim_gets = h.server.bot_messages(karim.id)[-2:]
    assert "venue" in karim_gets[0] and "voice" in karim_gets[1], "voice only: no text to read"
    assert not any("lundi 14 décembre" in m.get("text", "") for m in karim_gets)


async def _add_workshop(h: Harness, referent, when: str, title: str) -> str:
    """The referent adds a one-off workshop from /sessions; returns the bot's last word."""
    listing = await h.say(referent, "/sessions")
    await h.tap(referent, listing, "➕ Nouvelle séance")
    await h.tap(referent, h.last(referent), "INSERTION SOCIALE · FLE lundi")
    await h.tap(referent, h.last(referent), "👥 atelier collectif")
    await h.say(referent, when)
    return (await h.say(referent, title))["text"]


async def test_a_session_added_in_quiet_hours_is_reminded_when_they_end_or_the_referent_is_told(
    harness: Harness,
):
    h = harness
    _prog, referent, people = await _setup(h)
    h.clock.set(datetime(2026, 12, 1, 21, 0, tzinfo=UTC))  # 22:00 in Brussels, quiet
    said = await _add_workshop(h, referent, "2/12 09:00-11:00", "Atelier CV")
    assert "Les rappels partiront à l'heure prévue" in said
    h.clock.set(datetime(2026, 12, 2, 6, 59, tzinfo=UTC))
    assert await _reminded(h, *people) == 0, "nothing in the night"
    h.clock.set(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))  # 08:00: quiet hours end
    assert await _reminded(h, *people) == 2
    assert "Atelier CV" in h.last(people[0])["text"]

    h.clock.set(datetime(2026, 12, 2, 22, 0, tzinfo=UTC))  # 23:00, for 07:30 tomorrow
    said = await _add_workshop(h, referent, "3/12 07:30-09:00", "Petit déjeuner")
    assert "Aucun rappel ne peut partir" in said
    assert "à l'heure prévue" not in said


async def test_after_a_cancellation_the_referent_learns_who_was_not_reached(harness: Harness):
    h = harness
    prog, referent, (_amina, karim, _nour) = await _setup(h, participants=3)
    await _import(h, prog.group_id, ics())
    h.clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))
    h.server.block(karim, notify=False)
    await h.dispatch()  # the evening-before reminder bounces: Karim blocked the bot
    listing = await h.say(referent, "/sessions")
    await h.tap(referent, listing, listing["reply_markup"]["inline_keyboard"][0][0]["text"])
    await h.tap(referent, h.last(referent), "🚫 Annuler")
    await h.tap(referent, h.last(referent), "🚫 Oui, annuler")
    said = h.last(referent)["text"]
    assert "2 participants sont prévenus" in said
    assert "1 personne n'est pas joignable (robot bloqué) : P1 K." in said


async def _cancel_next(h: Harness, referent) -> str:
    listing = await h.say(referent, "/sessions")
    label = next(
        b["text"]
        for row in listing["reply_markup"]["inline_keyboard"]
        for b in row
        if "✅" in b["text"]
    )
    await h.tap(referent, listing, label)
    await h.tap(referent, h.last(referent), "🚫 Annuler")
    await h.tap(referent, h.last(referent), "🚫 Oui, annuler")
    return h.last(referent)["text"]


async def test_who_blocks_the_bot_and_comes_back_is_counted_as_reached_again(harness: Harness):
    h = harness
    prog, referent, (_amina, karim, _nour) = await _setup(h, participants=3)
    await _import(h, prog.group_id, ics())
    h.server.block(karim)  # Telegram tells the bot at once (my_chat_member)
    await h.idle()
    said = await _cancel_next(h, referent)
    assert "2 participants sont prévenus" in said and "P1 K." in said
    h.server.unblock(karim)
    await h.idle()
    said = await _cancel_next(h, referent)
    assert "3 participants sont prévenus" in said and "joignable" not in said
