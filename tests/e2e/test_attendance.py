"""Attendance on the go, end to end: a referent in a corridor with a dozen people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.core import absence_alerts, organisation, schedule
from storage.models import Attendance, AttendanceChange, Mark, Membership
from tests.core.factories import one_session, programme
from tests.e2e.harness import Harness

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


async def _group_of(h: Harness, n: int):
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=n)
    sid = await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now())
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    people = [h.server.user(1000 + i, f"P{i}", language_code="fr") for i in range(n)]
    h.clock.set(START + timedelta(minutes=10))
    return prog, sid, referent, people


async def _open_sheet(h: Harness, referent) -> dict:
    today = await h.say(referent, "/today")
    label = today["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert "❔" in label
    before = h.server.bot_message_count(referent.id)
    h.server.press_button(referent, today, text=label)
    return await h.server.wait_for_bot_message(referent.id, count_before=before)


def _button(sheet: dict, starts: str) -> str:
    for row in sheet["reply_markup"]["inline_keyboard"]:
        for button in row:
            if starts in button["text"]:
                return button["text"]
    raise AssertionError(f"no button with {starts!r}")


async def _marks(h: Harness, sid: int) -> dict[int, str]:
    async with h.deps.sessionmaker() as session:
        rows = (await session.scalars(select(Attendance).where(Attendance.session_id == sid))).all()
    return {a.participant_id: a.mark for a in rows}


async def test_a_referent_marks_twelve_with_all_present_and_two_taps(harness: Harness):
    h = harness
    prog, sid, referent, _people = await _group_of(h, 12)
    sheet = await _open_sheet(h, referent)
    assert len(sheet["reply_markup"]["inline_keyboard"]) == 12 + 2
    await h.tap(referent, sheet, "✅ Tous présents")
    sheet = h.last(referent)
    await h.tap(referent, sheet, _button(sheet, "P3 K."))  # present -> absent
    sheet = h.last(referent)
    await h.tap(referent, sheet, _button(sheet, "P3 K."))  # absent -> excused
    sheet = h.last(referent)
    assert "Présents : 11 sur 11" in sheet["text"]
    await h.tap(referent, sheet, "🏁 Terminé")
    done = h.last(referent)
    assert "🏁" in done["text"] and "Présents : 11 sur 11" in done["text"]
    marks = await _marks(h, sid)
    assert list(marks.values()).count(Mark.PRESENT) == 11
    assert marks[prog.participant_ids[3]] == Mark.EXCUSED


async def test_two_referents_tapping_the_same_sheet_lose_nothing(harness: Harness):
    h = harness
    _prog, sid, referent, _people = await _group_of(h, 8)
    async with h.deps.sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=300, name="Lea", role="lead", now=h.clock.now()
        )
        await session.commit()
    lead = h.server.user(300, "Lea", language_code="fr")
    mine, theirs = await _open_sheet(h, referent), await _open_sheet(h, lead)
    for index in range(4):
        h.server.press_button(referent, mine, text=_button(mine, f"P{index} K."))
        h.server.press_button(lead, theirs, text=_button(theirs, f"P{index + 4} K."))
    await h.idle()
    marks = await _marks(h, sid)
    assert len(marks) == 8 and set(marks.values()) == {Mark.PRESENT}
    assert (
        "Présents : 8 sur 8" in h.last(referent)["text"]
        or "Présents : 8 sur 8" in h.last(lead)["text"]
    )


async def test_a_participants_forged_tap_is_refused_and_changes_nothing(harness: Harness):
    h = harness
    prog, sid, _referent, people = await _group_of(h, 2)
    forger = people[0]
    h.server.send_callback(forger, 1, forger.id, f"atm:1:{sid}:0:{prog.participant_ids[1]}")
    h.server.send_callback(forger, 1, forger.id, f"ata:1:{sid}:0")
    await h.idle()
    answers = [a.get("text", "") for a in h.server.callback_answers.values()]
    assert all("réservée à l'équipe" in text for text in answers) and len(answers) == 2
    assert await _marks(h, sid) == {}


async def test_a_sheet_left_open_across_a_move_is_answered_and_refreshed(harness: Harness):
    h = harness
    prog, sid, referent, _people = await _group_of(h, 3)
    sheet = await _open_sheet(h, referent)
    async with h.deps.sessionmaker() as session:
        await schedule.move_session(
            session, sid, starts_at=START + timedelta(minutes=30), now=h.clock.now()
        )
        await session.commit()
    await h.tap(referent, sheet, _button(sheet, "P0 K."))
    answer = list(h.server.callback_answers.values())[-1]
    assert "a changé" in answer["text"]
    assert await _marks(h, sid) == {}
    refreshed = h.last(referent)
    assert "14:30" in refreshed["text"]
    await h.tap(referent, refreshed, _button(refreshed, "P0 K."))
    assert (await _marks(h, sid)) == {prog.participant_ids[0]: Mark.PRESENT}


async def test_a_correction_appears_in_the_audit_trail_for_the_team_lead(harness: Harness):
    h = harness
    _prog, _sid, referent, _people = await _group_of(h, 2)
    sheet = await _open_sheet(h, referent)
    await h.tap(referent, sheet, "✅ Tous présents")
    await h.tap(referent, h.last(referent), "🏁 Terminé")
    h.clock.set(START + timedelta(days=2))
    past = await h.say(referent, "/past")
    before = h.server.bot_message_count(referent.id)
    h.server.press_button(
        referent, past, text=past["reply_markup"]["inline_keyboard"][0][0]["text"]
    )
    closed = await h.server.wait_for_bot_message(referent.id, count_before=before)
    await h.tap(referent, closed, "🔓 Rouvrir")
    reopened = h.last(referent)
    await h.tap(referent, reopened, _button(reopened, "P1 K."))  # present -> absent
    async with h.deps.sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=300, name="Lea", role="lead", now=h.clock.now()
        )
        await session.commit()
    lead = h.server.user(300, "Lea", language_code="fr")
    trail = (await h.say(lead, "/corrections"))["text"]
    assert "Sophie M. · P1 K. ✅→❌" in trail
    refused = await h.say(referent, "/corrections")
    assert "responsables" in refused["text"]
    async with h.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count(AttendanceChange.id))) == 3


async def test_two_unexcused_absences_in_a_row_alert_the_referent(harness: Harness):
    h = harness
    prog, first, referent, _people = await _group_of(h, 1)
    second = await one_session(
        h.deps.sessionmaker, prog.group_id, START + timedelta(days=7), now=START
    )
    for _sid, at in ((first, START), (second, START + timedelta(days=7))):
        h.clock.set(at + timedelta(minutes=10))
        sheet = await _open_sheet(h, referent)
        await h.tap(referent, sheet, "❌ Les autres absents")
        sheet = h.server.message(referent.id, sheet["message_id"])
        await h.tap(referent, sheet, "🏁 Terminé")
    await h.dispatch()
    alerts = [m["text"] for m in h.server.bot_messages(referent.id)]
    assert not any("deux absences" in text for text in alerts), "it waits for the marks to settle"
    h.clock.set(h.clock.now() + absence_alerts.SETTLE)
    await h.dispatch()
    alerts = [m["text"] for m in h.server.bot_messages(referent.id)]
    assert sum("deux absences" in text and "P0 K." in text for text in alerts) == 1


async def test_tapping_through_absent_to_excused_calls_nobody(harness: Harness):
    h = harness
    prog, first, referent, _people = await _group_of(h, 1)
    second = await one_session(
        h.deps.sessionmaker, prog.group_id, START + timedelta(days=7), now=START
    )
    for sid, at in ((first, START), (second, START + timedelta(days=7))):
        h.clock.set(at + timedelta(minutes=10))
        sheet = await _open_sheet(h, referent)
        await h.tap(referent, sheet, "❌ Les autres absents")
        if sid == second:  # absent, then on to excused
            sheet = h.server.message(referent.id, sheet["message_id"])
            await h.tap(referent, sheet, _button(sheet, "P0 K."))
            toast = list(h.server.callback_answers.values())[-1]["text"]
            assert toast.startswith("📝") and "P0 K." in toast
    h.clock.set(h.clock.now() + absence_alerts.SETTLE)
    await h.dispatch()
    alerts = [m["text"] for m in h.server.bot_messages(referent.id)]
    assert not any("deux absences" in text for text in alerts)
    assert (await _marks(h, second))[prog.participant_ids[0]] == Mark.EXCUSED


async def test_me_shows_only_the_participants_own_marks(harness: Harness):
    h = harness
    _prog, _sid, referent, (amina, _karim) = await _group_of(h, 2)
    sheet = await _open_sheet(h, referent)
    await h.tap(referent, sheet, _button(sheet, "P0 K."))  # Amina present
    sheet = h.last(referent)
    await h.tap(referent, sheet, _button(sheet, "P1 K."))
    sheet = h.last(referent)
    await h.tap(referent, sheet, _button(sheet, "P1 K."))  # Karim absent
    reply = await h.say(amina, "/me")
    assert "✅" in reply["text"] and "❌" not in reply["text"]
    assert "P1" not in reply["text"]
    assert "réservée" in (await h.say(amina, "/today"))["text"]


async def test_a_walk_in_is_added_to_this_session_only(harness: Harness):
    h = harness
    prog, sid, referent, _people = await _group_of(h, 2)
    async with h.deps.sessionmaker() as session:
        other = await organisation.create_group(
            session, module="insertion", name="FLE mardi", referent_telegram_id=100, now=START
        )
        walk_in = (
            await session.scalars(
                select(Membership).where(Membership.participant_id == prog.participant_ids[1])
            )
        ).one()
        walk_in.group_id = other.id
        await session.commit()
    sheet = await _open_sheet(h, referent)
    assert "P1 K." not in str(sheet["reply_markup"])
    await h.tap(referent, sheet, "➕ Ajouter")
    await h.tap(referent, h.last(referent), "➕ P1 K.")
    sheet = h.last(referent)
    await h.tap(referent, sheet, _button(sheet, "P1 K."))
    assert (await _marks(h, sid))[prog.participant_ids[1]] == Mark.PRESENT


async def test_an_interview_has_a_one_person_sheet_and_stays_private(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=2)
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    amina, karim = (h.server.user(1000 + i, f"P{i}", language_code="fr") for i in range(2))
    listing = await h.say(referent, "/sessions")
    await h.tap(referent, listing, "➕ Nouvelle séance")
    await h.tap(referent, h.last(referent), "INSERTION SOCIALE · FLE lundi")
    await h.tap(referent, h.last(referent), "💬 entretien individuel")
    await h.tap(referent, h.last(referent), "P0 K.")
    await h.say(referent, "3/12 14:00")
    assert "ajoutée" in (await h.say(referent, "Entretien projet"))["text"]

    assert "Entretien projet" in (await h.say(amina, "/next"))["text"]
    assert "Entretien projet" not in (await h.say(karim, "/next"))["text"]

    h.clock.set(START + timedelta(minutes=10))
    sheet = await _open_sheet(h, referent)
    people = [b for row in sheet["reply_markup"]["inline_keyboard"][:-2] for b in row]
    assert [b["text"] for b in people] == ["⬜ P0 K."]
    assert "venu" in sheet["text"]
    for expected in ("✅", "❌", "📝", "✅"):  # attended, missed, excused, and round again
        await h.tap(referent, sheet, _button(sheet, "P0 K."))
        sheet = h.server.message(referent.id, sheet["message_id"])
        assert _button(sheet, "P0 K.").startswith(expected)


async def test_when_a_session_ends_the_referent_is_nudged_to_the_sheet(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=2)
    sid = await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now())
    async with h.deps.sessionmaker() as session:
        from bot.core import outbox

        await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
        await session.commit()
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    h.clock.set(START + timedelta(hours=2))  # the session ends
    before = h.server.bot_message_count(referent.id)
    await h.dispatch()
    nudges = [m for m in h.server.bot_messages(referent.id)[before:] if m["text"].startswith("📋")]
    assert len(nudges) == 1 and "Atelier FLE" in nudges[0]["text"]
    count = h.server.bot_message_count(referent.id)
    h.server.press_button(referent, nudges[0], text="📋 Ouvrir la feuille")
    sheet = await h.server.wait_for_bot_message(referent.id, count_before=count)
    await h.tap(referent, sheet, "✅ Tous présents")
    assert "Présents : 2 sur 2" in h.server.message(referent.id, sheet["message_id"])["text"]


async def test_a_deactivated_referent_is_refused_at_once(harness: Harness):
    h = harness
    _prog, sid, referent, _people = await _group_of(h, 2)
    sheet = await _open_sheet(h, referent)
    async with h.deps.sessionmaker() as session:
        await organisation.set_active(session, telegram_user_id=referent.id, active=False)
        await session.commit()
    await h.tap(referent, sheet, "✅ Tous présents")
    assert "réservée à l'équipe" in list(h.server.callback_answers.values())[-1]["text"]
    assert await _marks(h, sid) == {}
    assert "réservée à l'équipe" in (await h.say(referent, "/today"))["text"]


async def test_an_absence_period_pauses_reminders_and_prefills_the_sheet(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=2)
    sid = await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now())
    async with h.deps.sessionmaker() as session:
        from bot.core import outbox

        await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
        await session.commit()
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    amina, karim = (h.server.user(1000 + i, f"P{i}", language_code="fr") for i in range(2))
    await h.say(referent, "/absence")
    await h.tap(referent, h.last(referent), "P0 K.")
    await h.tap(referent, h.last(referent), "🤒 malade")
    done = await h.say(referent, "5/12")
    assert "Absence notée" in done["text"] and "5 décembre 2026" in done["text"]
    h.clock.set(datetime(2026, 12, 2, 17, 0, tzinfo=UTC))
    await h.dispatch()
    assert h.server.bot_messages(amina.id) == [], "no reminder while away"
    assert h.server.bot_messages(karim.id) != []
    h.clock.set(START + timedelta(minutes=10))
    sheet = await _open_sheet(h, referent)
    assert _button(sheet, "P0 K.").startswith("📝")


async def test_today_shortens_a_long_title_and_keeps_every_count(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=3)
    title = "Atelier d'écriture de CV et de lettres de motivation pour le secteur du nettoyage"
    await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now(), title=title)
    h.clock.set(START - timedelta(hours=3))
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    today = await h.say(referent, "/today")
    label = today["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert len(label) <= 60
    assert label.endswith(" · ✅0 ❌0 ❔3") and "…" in label
    listing = await h.say(referent, "/sessions")
    label = listing["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert len(label) <= 64 and label.endswith(" · ✅0 ❌0 ❔3")


async def test_three_fast_taps_on_one_person_are_three_steps_in_order(harness: Harness):
    h = harness
    prog, sid, referent, _people = await _group_of(h, 3)
    sheet = await _open_sheet(h, referent)
    await h.tap(referent, sheet, "✅ Tous présents")
    sheet = h.last(referent)
    label = _button(sheet, "P1 K.")
    data = next(
        button["callback_data"]
        for row in sheet["reply_markup"]["inline_keyboard"]
        for button in row
        if button["text"] == label
    )
    taps = [h.server.press_button(referent, sheet, data=data) for _ in range(3)]  # no waiting
    await h.idle()
    for tap in taps:
        assert h.server.callback_answers.get(tap["callback_query"]["id"]) is not None
    async with h.deps.sessionmaker() as session:
        steps = (
            await session.execute(
                select(AttendanceChange.old_mark, AttendanceChange.new_mark)
                .where(AttendanceChange.participant_id == prog.participant_ids[1])
                .order_by(AttendanceChange.id)
            )
        ).all()
    assert [tuple(step) for step in steps][-3:] == [
        (Mark.PRESENT, Mark.ABSENT),
        (Mark.ABSENT, Mark.EXCUSED),
        (Mark.EXCUSED, Mark.LATE),
    ]
    assert (await _marks(h, sid))[prog.participant_ids[1]] == Mark.LATE
