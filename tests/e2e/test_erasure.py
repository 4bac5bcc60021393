"""Erasure erases: after it no table holds the person's name, ids, words or voice.

Amina enrols through her referent's link, gives feedback in writing and by voice, then is
erased, by /forget confirmed by her referent or by `activup participant erase`. Every
cell of every table is then searched for what could lead back to her.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select, text

from bot import cli
from bot.core import outbox
from storage.models import Attendance, FeedbackAnswer, Group, Mark, Participant
from tests.core.factories import one_session
from tests.e2e.harness import Harness
from tests.e2e.test_enrolment import _invite_link, _referent_with_group

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
TELEGRAM_ID = 731415926
TYPED = "Je suis Amina Khalil, appelez-moi au 0470123456"


async def _every_cell(h: Harness) -> str:
    dump = []
    async with h.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        for table in tables:
            for row in (await connection.execute(text(f'SELECT * FROM "{table}"'))).all():
                dump.append(" | ".join(str(value) for value in row))
    return "\n".join(dump)


def _feedback_question(h: Harness, user_id: int) -> dict:
    return next(m for m in reversed(h.server.bot_messages(user_id)) if m["text"].startswith("💬"))


async def _amina_enrols_and_speaks(h: Harness):
    """Enrolled by link; one written and one spoken comment after two workshops."""
    await _referent_with_group(h)
    token = await _invite_link(h, "Amina K.")
    amina = h.server.user(TELEGRAM_ID, "Amina", last_name="Khalil", username="amina_kh")
    picker = await h.say(amina, f"/start {token}")
    await h.tap(amina, picker, picker["reply_markup"]["inline_keyboard"][0][0]["text"])
    consent = h.last(amina)
    await h.tap(amina, consent, consent["reply_markup"]["inline_keyboard"][0][0]["text"])
    async with h.deps.sessionmaker() as session:
        person = (await session.scalars(select(Participant))).one()
        group_id = (await session.scalars(select(Group.id))).one()
    voice_ids: list[str] = []
    for day in range(2):
        starts = START + timedelta(days=day)
        sid = await one_session(h.deps.sessionmaker, group_id, starts, now=h.clock.now())
        async with h.deps.sessionmaker() as session:
            session.add(
                Attendance(
                    session_id=sid, participant_id=person.id, mark=Mark.PRESENT, recorded_at=starts
                )
            )
            await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
            await session.commit()
        h.clock.set(starts + timedelta(hours=2, minutes=30))
        await h.dispatch()
        await h.tap(amina, _feedback_question(h, amina.id), "🙂")
        assert "en dire plus" in h.last(amina)["text"]
        if day == 0:
            await h.say(amina, TYPED)
        else:
            sent = h.server.send_voice(amina, duration=5)["message"]["voice"]
            voice_ids += [sent["file_id"], sent["file_unique_id"]]
            await h.idle()
    cells = await _every_cell(h)
    assert TYPED in cells and voice_ids[0] in cells and "Amina K." in cells
    return person.id, amina, voice_ids


async def _erase_by_forget(h: Harness, amina) -> None:
    await h.say(amina, "/forget")
    await h.tap(amina, h.last(amina), "🗑 Oui, effacer")
    await h.dispatch()
    referent = h.server.user(100, "Sophie", language_code="fr")
    await h.tap(referent, h.last(referent), "🗑 Confirmer l'effacement")
    assert "Effacé" in h.last(referent)["text"]


async def _cli(
    h: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str]:
    monkeypatch.setenv("ACTIVUP_DATABASE_URL", h.deps.settings.database_url)
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("route", ["forget", "cli"])
async def test_after_erasure_no_table_holds_her_name_ids_words_or_voice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], route
):
    h = harness
    participant_id, amina, voice_ids = await _amina_enrols_and_speaks(h)
    async with h.deps.sessionmaker() as session:
        scores = await session.scalar(select(func.count(FeedbackAnswer.id)))
    if route == "forget":
        await _erase_by_forget(h, amina)
    else:
        code, said = await _cli(
            h, monkeypatch, capsys, "participant", "erase", "--id", str(participant_id)
        )
        assert code == 0, said

    cells = await _every_cell(h)
    for trace in ("Amina", "Khalil", "amina_kh", "0470123456", "appelez-moi", *voice_ids):
        assert trace not in cells, trace
    assert re.search(rf"(?<!\d){TELEGRAM_ID}(?!\d)", cells) is None, "no Telegram id left"
    async with h.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count(FeedbackAnswer.id))) == scores


async def test_an_erased_person_is_in_no_group_and_cannot_be_moved_or_set(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    h = harness
    participant_id, amina, _voices = await _amina_enrols_and_speaks(h)
    code, listing = await _cli(h, monkeypatch, capsys, "modules")
    assert code == 0 and "FLE lundi  (referent: Sophie M., 1 participant(s))" in listing
    await _erase_by_forget(h, amina)

    code, listing = await _cli(h, monkeypatch, capsys, "modules")
    assert code == 0 and "FLE lundi  (referent: Sophie M., 0 participant(s))" in listing
    before = await _every_cell(h)
    for argv in (
        ["participant", "move", "--id", str(participant_id), "--to", "FLE lundi"],
        ["participant", "set", "--id", str(participant_id), "--gender", "f"],
    ):
        code, said = await _cli(h, monkeypatch, capsys, *argv)
        assert code == 2 and said.count("\n") == 1 and "Traceback" not in said, said
    assert await _every_cell(h) == before
