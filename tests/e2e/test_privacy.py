"""Data rights end to end: /mydata, /forget with the referent's confirmation, retention."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select, text

from bot.core import privacy
from bot.core.reports import build_report
from storage.models import Attendance, FeedbackAnswer, Mark, Participant, Rsvp, RsvpAnswer
from tests.core.factories import one_session, programme
from tests.e2e.harness import Harness

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


async def _with_records(h: Harness):
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=2)
    sid = await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now())
    amina_id, karim_id = prog.participant_ids
    async with h.deps.sessionmaker() as session:
        for pid, mark in ((amina_id, Mark.PRESENT), (karim_id, Mark.ABSENT)):
            session.add(
                Attendance(session_id=sid, participant_id=pid, mark=mark, recorded_at=START)
            )
            session.add(
                Rsvp(session_id=sid, participant_id=pid, answer=RsvpAnswer.YES, answered_at=START)
            )
        session.add(
            FeedbackAnswer(
                session_id=sid,
                participant_id=amina_id,
                question="how",
                score=0,
                scale=4,
                answered_at=START,
            )
        )
        await session.commit()
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    amina = h.server.user(1000, "Amina", language_code="fr")
    return prog, sid, referent, amina


async def test_mydata_sends_everything_about_the_person_and_nothing_else(harness: Harness):
    h = harness
    _prog, _sid, _referent, amina = await _with_records(h)
    before = h.server.bot_message_count(amina.id)
    h.server.send_text(amina, "/mydata")
    await h.server.wait_for(lambda: h.server.bot_message_count(amina.id) >= before + 2)
    summary, attachment = h.server.bot_messages(amina.id)[-2:]
    assert "P0 K." in summary["text"] and "présences notées : 1" in summary["text"]
    file_path = (await h.app.bot.get_file(attachment["document"]["file_id"])).file_path
    assert file_path is not None
    data = json.loads(
        bytes(
            await (
                await h.app.bot.get_file(attachment["document"]["file_id"])
            ).download_as_bytearray()
        )
    )
    assert data["person"]["first_name"] == "P0 K." and data["person"]["telegram_user_id"] == 1000
    assert [m["mark"] for m in data["attendance"]] == ["present"]
    assert len(data["feedback"]) == 1 and len(data["answers_to_reminders"]) == 1
    assert "P1 K." not in json.dumps(data) and "1001" not in json.dumps(data)


async def _all_cells(h: Harness) -> str:
    """Every value of every table, as text, to look for what must be gone."""
    dump = []
    async with h.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        for table in tables:
            for row in (await connection.execute(text(f'SELECT * FROM "{table}"'))).all():
                dump.append(" | ".join(str(value) for value in row))
    return "\n".join(dump)


async def test_after_forget_and_confirmation_no_table_holds_the_name_or_telegram_id(
    harness: Harness,
):
    h = harness
    prog, _sid, referent, amina = await _with_records(h)
    assert "P0 K." in await _all_cells(h) and "1000" in await _all_cells(h)

    async def report_totals() -> list[tuple[object, ...]]:
        async with h.deps.sessionmaker() as session:
            report = await build_report(
                session, start=START - timedelta(days=1), end=START + timedelta(days=1)
            )
        return [
            (m.module, m.active, m.hours, m.attendance_rate, m.satisfaction) for m in report.modules
        ] + [(report.unique_participants,)]

    before_report = await report_totals()
    async with h.deps.sessionmaker() as session:
        totals = (
            await session.scalar(select(func.count(Attendance.id))),
            await session.scalar(select(func.count(FeedbackAnswer.id))),
        )
    await h.say(amina, "/forget")
    await h.tap(amina, h.last(amina), "🗑 Oui, effacer")
    assert "référent va confirmer" in h.last(amina)["text"]
    await h.dispatch()
    request = h.last(referent)
    assert "P0 K." in request["text"] and "effacement" in request["text"]
    stranger = h.server.user(4444, "Eve")
    h.server.send_callback(
        stranger, request["message_id"], stranger.id, f"erc:1:{prog.participant_ids[0]}"
    )
    await h.idle()
    await h.tap(referent, request, "🗑 Confirmer l'effacement")
    assert "Effacé" in h.server.message(referent.id, request["message_id"])["text"]
    cells = await _all_cells(h)
    assert "P0 K." not in cells
    assert re.search(r"(?<!\d)1000(?!\d)", cells) is None, "no Telegram id left"
    async with h.deps.sessionmaker() as session:
        assert (
            await session.scalar(select(func.count(Attendance.id))),
            await session.scalar(select(func.count(FeedbackAnswer.id))),
        ) == totals, "the anonymous figures stay"
        person = await session.get(Participant, prog.participant_ids[0])
        assert person is not None and person.telegram_user_id is None
    assert await report_totals() == before_report, "the report's figures do not change"
    reply = await h.say(amina, "/next")
    assert "invitation" in reply["text"], "an erased person is a stranger to the bot"


async def test_the_retention_job_anonymises_exactly_the_inactive(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=3)
    old_session = await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now())
    recent = START + timedelta(days=300)
    new_session = await one_session(h.deps.sessionmaker, prog.group_id, recent, now=h.clock.now())
    active, inactive, never = prog.participant_ids
    async with h.deps.sessionmaker() as session:
        session.add(
            Attendance(
                session_id=old_session,
                participant_id=inactive,
                mark=Mark.PRESENT,
                recorded_at=START,
            )
        )
        session.add(
            Attendance(
                session_id=new_session, participant_id=active, mark=Mark.PRESENT, recorded_at=recent
            )
        )
        await session.commit()
    later = START + timedelta(days=400)
    async with h.deps.sessionmaker() as session:
        erased = await privacy.apply_retention(session, now=later, months=12)
        await session.commit()
    assert erased == 2
    async with h.deps.sessionmaker() as session:
        names = {p.id: p.first_name for p in (await session.scalars(select(Participant))).all()}
    assert names[active] != privacy.ERASED_NAME
    assert names[inactive] == names[never] == privacy.ERASED_NAME
