"""Emoji feedback after a collective activity, end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.core import outbox
from bot.views import QUESTION_EMOJI
from storage.models import FeedbackAnswer, FeedbackComment, Module
from tests.core.factories import one_session, programme
from tests.e2e.harness import Harness

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # Thursday 14:00-16:00 in Brussels
END = START + timedelta(hours=2)


async def _activity(h: Harness, participants: int = 4):
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=participants)
    sid = await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now())
    async with h.deps.sessionmaker() as session:
        await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
        await session.commit()
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    people = [h.server.user(1000 + i, f"P{i}", language_code="fr") for i in range(participants)]
    return prog, sid, referent, people


async def _mark(h: Harness, referent, present: int) -> None:
    """The referent marks the first ``present`` people present and the rest absent."""
    today = await h.say(referent, "/today")
    count = h.server.bot_message_count(referent.id)
    h.server.press_button(
        referent, today, text=today["reply_markup"]["inline_keyboard"][0][0]["text"]
    )
    sheet = await h.server.wait_for_bot_message(referent.id, count_before=count)
    for index in range(present):
        current = h.server.message(referent.id, sheet["message_id"])
        label = next(
            b["text"]
            for row in current["reply_markup"]["inline_keyboard"]
            for b in row
            if f"P{index} K." in b["text"]
        )
        await h.tap(referent, current, label)
    await h.tap(
        referent, h.server.message(referent.id, sheet["message_id"]), "❌ Les autres absents"
    )


def _question(h: Harness, user) -> dict | None:
    for message in reversed(h.server.bot_messages(user.id)):
        if message.get("text", "").startswith(tuple(QUESTION_EMOJI.values())):
            return message
    return None


async def test_only_those_present_are_asked_once_attendance_is_recorded(harness: Harness):
    h = harness
    _prog, _sid, referent, people = await _activity(h)
    h.clock.set(END + timedelta(minutes=15))
    await h.dispatch()
    assert all(_question(h, p) is None for p in people), "no marks yet: the question waits"
    h.clock.set(END + timedelta(minutes=20))
    await _mark(h, referent, present=2)
    h.clock.set(END + timedelta(minutes=26))
    await h.dispatch()
    asked = [p for p in people if _question(h, p) is not None]
    assert asked == people[:2]
    question = _question(h, people[0])
    assert "Atelier FLE" in question["text"] and "Comment c'était" in question["text"]
    faces = [b["text"] for b in question["reply_markup"]["inline_keyboard"][0]]
    assert faces == ["😀", "🙂", "🙁", "😞"]
    await h.dispatch()
    assert sum(1 for m in h.server.bot_messages(people[0].id) if m["text"].startswith("💬")) == 1


async def test_a_tap_thanks_and_can_change_within_a_day_but_not_after(harness: Harness):
    h = harness
    prog, sid, referent, people = await _activity(h)
    h.clock.set(END + timedelta(minutes=5))
    await _mark(h, referent, present=1)
    h.clock.set(END + timedelta(minutes=16))
    await h.dispatch()
    amina = people[0]
    question = _question(h, amina)
    await h.tap(amina, question, "🙂")
    shown = h.server.message(amina.id, question["message_id"])
    assert "Merci" in shown["text"] and "🙂" in shown["text"]
    assert [b["text"] for b in shown["reply_markup"]["inline_keyboard"][0]] == ["✏️ Changer"]
    h.clock.set(END + timedelta(hours=5))
    await h.tap(amina, shown, "✏️ Changer")
    await h.tap(amina, h.server.message(amina.id, question["message_id"]), "😀")
    h.clock.set(END + timedelta(days=2))
    await h.tap(amina, h.server.message(amina.id, question["message_id"]), "✏️ Changer")
    assert "Trop tard" in list(h.server.callback_answers.values())[-1]["text"]
    h.server.send_callback(
        amina, question["message_id"], amina.id, f"fba:1:{sid}:{prog.participant_ids[0]}:how:3"
    )
    await h.idle()
    assert "Trop tard" in list(h.server.callback_answers.values())[-1]["text"]
    async with h.deps.sessionmaker() as session:
        scores = (await session.scalars(select(FeedbackAnswer.score))).all()
    assert scores == [0], "the change within 24 h replaced the answer; the late one did nothing"


async def test_a_voice_comment_reaches_the_referents_view_without_names(harness: Harness):
    h = harness
    _prog, _sid, referent, people = await _activity(h)
    h.clock.set(END + timedelta(minutes=5))
    await _mark(h, referent, present=4)
    h.clock.set(END + timedelta(minutes=16))
    await h.dispatch()
    for person, face in zip(people, ["😀", "😀", "🙂", "😞"], strict=True):
        await h.tap(person, _question(h, person), face)
    assert "en dire plus" in h.last(people[0])["text"]
    h.server.send_voice(people[0], duration=4)
    await h.idle()
    assert "Merci" in h.last(people[0])["text"]
    await h.say(people[1], "Très bien, merci Sophie")
    await h.tap(people[2], h.last(people[2]), "🙅 Non merci")

    listing = await h.say(referent, "/feedback")
    label = listing["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert "4 réponses" in label and "75 %" in label
    await h.tap(referent, listing, label)
    detail = h.server.message(referent.id, listing["message_id"])
    assert "😀 ▇▇ 2" in detail["text"] and "Très bien, merci Sophie" in detail["text"]
    assert "💬 Comment c'était aujourd'hui ?" in detail["text"], "the question's own pictogram"
    for person in ("P0", "P1", "P2", "P3"):
        assert person not in detail["text"]
    before = h.server.bot_message_count(referent.id)
    h.server.press_button(referent, detail, text="🔊 Écouter le message 1")
    voice = await h.server.wait_for_bot_message(referent.id, count_before=before)
    assert "voice" in voice
    async with h.deps.sessionmaker() as session:
        comments = (await session.scalars(select(FeedbackComment))).all()
    assert len(comments) == 2


async def test_small_groups_are_not_shown_and_the_chart_arrives_as_a_photo(harness: Harness):
    h = harness
    _prog, _sid, referent, people = await _activity(h, participants=2)
    h.clock.set(END + timedelta(minutes=5))
    await _mark(h, referent, present=2)
    h.clock.set(END + timedelta(minutes=16))
    await h.dispatch()
    for person in people:
        await h.tap(person, _question(h, person), "😞")
    listing = await h.say(referent, "/feedback")
    await h.tap(referent, listing, listing["reply_markup"]["inline_keyboard"][0][0]["text"])
    detail = h.server.message(referent.id, listing["message_id"])["text"]
    assert "Pas encore assez" in detail and "😞" not in detail
    chart = await h.say(referent, "/feedback module")
    assert "photo" in chart
    assert "réservée à l'équipe" in (await h.say(people[0], "/feedback"))["text"]


async def test_a_module_with_three_questions_asks_them_one_after_the_other(harness: Harness):
    h = harness
    async with h.deps.sessionmaker() as session:
        module = (await session.scalars(select(Module).where(Module.code == "insertion"))).one()
        module.feedback_questions = "how,learned,welcome"
        module.feedback_scale = 5
        await session.commit()
    _prog, _sid, referent, people = await _activity(h, participants=1)
    h.clock.set(END + timedelta(minutes=5))
    await _mark(h, referent, present=1)
    h.clock.set(END + timedelta(minutes=16))
    await h.dispatch()
    amina = people[0]
    texts = []
    for _round in range(3):
        question = _question(h, amina)
        texts.append(question["text"])
        assert len(question["reply_markup"]["inline_keyboard"][0]) == 5
        await h.tap(amina, question, "😐")
        await h.dispatch()
    assert "Comment c'était" in texts[0] and "appris" in texts[1] and "accueil" in texts[2]
    async with h.deps.sessionmaker() as session:
        assert len((await session.scalars(select(FeedbackAnswer))).all()) == 3


async def test_a_team_lead_gets_the_report_and_its_chart(harness: Harness):
    h = harness
    from bot.core import organisation

    _prog, _sid, referent, _people = await _activity(h, participants=2)
    async with h.deps.sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=300, name="Lea", role="lead", now=h.clock.now()
        )
        await session.commit()
    lead = h.server.user(300, "Lea", language_code="fr")
    h.clock.set(END + timedelta(days=1))
    before = h.server.bot_message_count(lead.id)
    h.server.send_text(lead, "/report 2026-11-01 2026-12-31")
    await h.server.wait_for(lambda: h.server.bot_message_count(lead.id) >= before + 2)
    document, chart = h.server.bot_messages(lead.id)[-2:]
    assert document["document"]["file_name"] == "activup-2026-11-01-2026-12-31.xlsx"
    assert "photo" in chart
    assert "responsables" in (await h.say(referent, "/report"))["text"]


async def test_long_comments_are_cut_and_the_view_is_paged_within_telegrams_limit(
    harness: Harness,
):
    h = harness
    prog, sid, referent, _people = await _activity(h, participants=12)
    async with h.deps.sessionmaker() as session:
        for index, pid in enumerate(prog.participant_ids):
            session.add(
                FeedbackAnswer(
                    session_id=sid,
                    participant_id=pid,
                    question="how",
                    score=index % 4,
                    scale=4,
                    answered_at=END,
                )
            )
            words = f"Commentaire {index:02d} " + "très long, " * 200
            session.add(
                FeedbackComment(
                    session_id=sid, participant_id=pid, text=words[:2000], created_at=END
                )
            )
        await session.commit()
    h.clock.set(END + timedelta(hours=1))
    listing = await h.say(referent, "/feedback")
    await h.tap(referent, listing, listing["reply_markup"]["inline_keyboard"][0][0]["text"])
    seen: list[str] = []
    while True:
        view = h.server.message(referent.id, listing["message_id"])
        assert len(view["text"]) <= 4096
        seen.append(view["text"])
        arrows = [
            b["text"]
            for row in view["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"].endswith("▶️")
        ]
        if not arrows:
            break
        await h.tap(referent, view, arrows[0])
    assert len(seen) >= 2, "twelve long comments do not fit in one message"
    every_page = "\n".join(seen)
    for index in range(12):
        assert f"Commentaire {index:02d}" in every_page
    assert every_page.count("…") == 12, "each long comment is cut with an ellipsis"
    assert "😀" in seen[0] and "Indice de bonheur" in seen[0]
    back = [b["text"] for row in view["reply_markup"]["inline_keyboard"] for b in row]
    assert any(label.startswith("◀️") for label in back)
    assert h.server.errors == []
