"""The bot works in private chats only: nothing goes to a group, edits re-run nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from telegram import Update

from bot.core import enrolment
from storage.models import AuditEntry, Participant, Staff
from tests.core.factories import one_session, programme
from tests.e2e.bot_surface import commands_and_prefixes
from tests.e2e.harness import Harness

SENDING = ("send", "edit", "copy", "forward")


def _sent_to(h: Harness, chat_id: int) -> list[str]:
    return [
        r.method
        for r in h.server.requests
        if r.method.lower().startswith(SENDING) and str(r.params.get("chat_id")) == str(chat_id)
    ]


async def test_commands_and_buttons_from_a_group_send_nothing_to_the_group(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=2)
    sid = await one_session(
        h.deps.sessionmaker, prog.group_id, h.clock.now() + timedelta(hours=1), now=h.clock.now()
    )
    async with h.deps.sessionmaker() as session:
        invite = await enrolment.create_invite(
            session,
            group_id=prog.group_id,
            first_name="Nour B.",
            created_by_id=prog.referent_id,
            now=h.clock.now(),
            valid_days=14,
        )
        await session.commit()
        people_before = await session.scalar(select(func.count(Participant.id)))
        audit_before = await session.scalar(select(func.count(AuditEntry.id)))
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    amina = h.server.user(1000, "Amina", language_code="fr")
    stranger = h.server.user(7000, "Nour", username="nour_b", language_code="ar")
    family = h.server.group_chat(-4242, "Famille Khalil")
    commands, prefixes = commands_and_prefixes(h)
    assert {"mydata", "today", "me", "next", "start"} <= set(commands)
    assert {"atm", "rsvp", "fgt"} <= set(prefixes)

    for person in (amina, referent, stranger):
        for command in commands:
            h.server.send_text(person, f"/{command}", chat=family)
            h.server.send_text(person, f"/{command}@{h.server.bot_user.username}", chat=family)
        h.server.send_text(person, f"/start {invite.token}", chat=family)
        for prefix in prefixes:
            data = f"{prefix}:1:{sid}:{prog.participant_ids[0]}"
            h.server.send_callback(person, 1, family, data)
        h.server.send_voice(person, chat=family)
        h.server.send_text(person, "Amina Khalil 0470123456", chat=family)
    await h.idle()

    assert h.server.bot_messages(family) == []
    assert _sent_to(h, family.id) == []
    # Each tap is answered, to the person who tapped only (a toast, never a message).
    assert h.server.unanswered_callback_queries() == []
    async with h.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count(Participant.id))) == people_before
        assert await session.scalar(select(func.count(AuditEntry.id))) == audit_before
    # The same person in private is answered as usual.
    assert "Ce que le robot garde" in (await h.say(amina, "/mydata"))["text"]


async def test_added_to_a_group_it_says_once_in_the_adders_language_it_works_in_private_and_leaves(
    harness: Harness,
):
    h = harness
    nour = h.server.user(7000, "Nour", language_code="ar")
    family = h.server.group_chat(-4242, "Famille Khalil")
    h.server.add_bot_to(nour, family)
    await h.idle()

    said = h.server.bot_messages(family)
    assert len(said) == 1
    assert said[0]["text"] != "" and "conversation privée" not in said[0]["text"]  # Arabic
    assert h.server.bot_left(family)
    async with h.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count(Participant.id))) == 0
        assert await session.scalar(select(func.count(Staff.id))) == 0

    sophie = h.server.user(8000, "Sophie", language_code="fr")
    channel = h.server.channel(-1009999, "Canal")
    h.server.add_bot_to(sophie, channel, status="administrator")
    await h.idle()
    assert ["conversation privée" in m["text"] for m in h.server.bot_messages(channel)] == [True]
    assert h.server.bot_left(channel)


async def test_an_edited_message_runs_nothing(harness: Harness):
    h = harness
    await programme(h.deps.sessionmaker, h.clock.now(), participants=1)
    amina = h.server.user(1000, "Amina", language_code="fr")
    mine = (await h.say(amina, "/me"))["chat"]
    assert mine["id"] == amina.id
    before = h.server.bot_message_count(amina)
    own = [m for m in h.server.messages(amina) if m.get("from", {}).get("id") == amina.id][-1]
    update = h.server.edit_text(amina, own, "/mydata")
    # Delivered to the bot even if Telegram were asked for edits (an older allowed_updates).
    await h.app.process_update(Update.de_json(update, h.app.bot))
    await h.idle()
    assert h.server.bot_message_count(amina) == before
