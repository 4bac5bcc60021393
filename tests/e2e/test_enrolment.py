"""A referent invites, a participant enrols in Arabic; links, strangers and roles are checked."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.core import organisation
from storage.models import Invite, Participant
from tests.e2e.harness import Harness, running_bot

ARABIC = re.compile(r"[\u0600-\u06FF]")


async def _referent_with_group(h: Harness) -> None:
    async with h.deps.sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=100, name="Sophie M.", role="referent", now=h.clock.now()
        )
        await organisation.create_group(
            session,
            module="insertion",
            name="FLE lundi",
            referent_telegram_id=100,
            now=h.clock.now(),
        )
        await session.commit()


async def _invite_link(h: Harness, name: str = "Amina K.") -> str:
    referent = h.server.user(100, "Sophie", language_code="fr")
    picker = await h.say(referent, "/invite")
    assert "Pour quel groupe" in picker["text"]
    await h.tap(referent, picker, "INSERTION SOCIALE · FLE lundi")
    assert "Prénom et initiale" in h.last(referent)["text"]
    before = len(h.server.bot_messages(100))
    h.server.send_text(referent, name)
    await h.server.wait_for(lambda: len(h.server.bot_messages(100)) >= before + 2)
    link_message, qr_message = h.server.bot_messages(100)[-2:]
    assert "photo" in qr_message, "the QR code arrives as a photo"
    match = re.search(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)", link_message["text"])
    assert match, link_message["text"]
    return match.group(1)


async def test_a_participant_enrols_in_arabic_through_the_referents_link(harness: Harness):
    h = harness
    await _referent_with_group(h)
    token = await _invite_link(h)

    amina = h.server.user(555, "أمينة", language_code="ar")
    picker = await h.say(amina, f"/start {token}")
    first_row = picker["reply_markup"]["inline_keyboard"][0]
    assert "العربية" in first_row[0]["text"], "the Telegram app's language is offered first"
    labels = [b["text"] for row in picker["reply_markup"]["inline_keyboard"] for b in row]
    assert any("Français" in label for label in labels)
    assert any("Nederlands" in label for label in labels)

    await h.tap(amina, picker, first_row[0]["text"])
    consent = h.last(amina)
    assert ARABIC.search(consent["text"]), consent["text"]
    assert "أمينة" not in consent["text"] and "Amina K." in consent["text"]
    accept = consent["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert accept.startswith("✅")
    await h.tap(amina, consent, accept)
    welcome = h.last(amina)
    assert ARABIC.search(welcome["text"]) and "FLE lundi" in welcome["text"]

    async with h.deps.sessionmaker() as session:
        person = (await session.scalars(select(Participant))).one()
    assert (person.first_name, person.language, person.telegram_user_id) == ("Amina K.", "ar", 555)


async def test_a_used_link_is_refused_and_stores_nothing(harness: Harness):
    h = harness
    await _referent_with_group(h)
    token = await _invite_link(h)
    amina = h.server.user(555, "Amina", language_code="fr")
    picker = await h.say(amina, f"/start {token}")
    await h.tap(amina, picker, "Français 🇫🇷")
    await h.tap(amina, h.last(amina), "✅ J'accepte")

    other = h.server.user(777, "Karim", language_code="fr")
    refusal = await h.say(other, f"/start {token}")
    assert "déjà été utilisé" in refusal["text"]
    async with h.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count(Participant.id))) == 1


async def test_declining_consent_stores_nothing_and_says_how_to_come_back(harness: Harness):
    h = harness
    await _referent_with_group(h)
    token = await _invite_link(h)
    amina = h.server.user(555, "Amina", language_code="nl")
    picker = await h.say(amina, f"/start {token}")
    await h.tap(amina, picker, "Français 🇫🇷")
    await h.tap(amina, h.last(amina), "❌ Je refuse")
    assert "ouvrez à nouveau votre lien" in h.last(amina)["text"]
    async with h.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count(Participant.id))) == 0
        invite = (await session.scalars(select(Invite))).one()
    assert invite.used_at is None, "the link still works after a decline"


async def test_a_stranger_gets_a_polite_answer_and_is_not_stored(harness: Harness):
    h = harness
    stranger = h.server.user(999, "Nobody", language_code="en")
    reply = await h.say(stranger, "hello")
    assert "invitation" in reply["text"].lower()
    reply = await h.say(stranger, "/start not-a-real-token")
    assert "not valid" in reply["text"] or "n'est pas valable" in reply["text"]
    async with h.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count(Participant.id))) == 0


async def test_a_participant_cannot_use_staff_commands(harness: Harness):
    h = harness
    await _referent_with_group(h)
    token = await _invite_link(h)
    amina = h.server.user(555, "Amina", language_code="fr")
    picker = await h.say(amina, f"/start {token}")
    await h.tap(amina, picker, "Français 🇫🇷")
    await h.tap(amina, h.last(amina), "✅ J'accepte")
    for command in ("/invite", "/sessions"):
        reply = await h.say(amina, command)
        assert "réservée à l'équipe" in reply["text"]
    async with h.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count(Invite.id))) == 1


async def test_stop_silences_and_start_resumes(harness: Harness):
    h = harness
    await _referent_with_group(h)
    token = await _invite_link(h)
    amina = h.server.user(555, "Amina", language_code="fr")
    picker = await h.say(amina, f"/start {token}")
    await h.tap(amina, picker, "Français 🇫🇷")
    await h.tap(amina, h.last(amina), "✅ J'accepte")
    assert "plus de messages" in (await h.say(amina, "/stop"))["text"]
    assert "de nouveau" in (await h.say(amina, "/start"))["text"]


async def test_menus_are_set_per_language_and_staff_see_their_own(harness: Harness):
    h = harness
    await _referent_with_group(h)
    token = await _invite_link(h)
    dutch = [c["command"] for c in h.server.commands_for("default", "nl")]
    assert "next" in dutch and "invite" not in dutch
    assert (
        h.server.commands_for("default", "ar")[0]["description"]
        != (h.server.commands_for("default", "fr")[0]["description"])
    ), "each language has its own descriptions"

    amina = h.server.user(555, "Amina", language_code="fr")
    picker = await h.say(amina, f"/start {token}")
    await h.tap(amina, picker, "Nederlands 🇳🇱")
    await h.tap(
        amina, h.last(amina), h.last(amina)["reply_markup"]["inline_keyboard"][0][0]["text"]
    )
    own = h.server.commands_for("chat:555", "")
    assert own and "invite" not in [c["command"] for c in own]
    assert own == h.server.commands_for("default", "nl"), "the menu follows the chosen language"

    # Staff get their own menu when the bot starts (the referent existed before the start).
    async with running_bot(h.deps.settings.database_url, h.clock) as second:
        staff_menu = [c["command"] for c in second.server.commands_for("chat:100", "")]
    assert "invite" in staff_menu and "sessions" in staff_menu
