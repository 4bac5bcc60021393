"""A failing handler: an apology in the person's language, one alert per hour to admins."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from bot.core import organisation
from bot.i18n import translations
from storage.models import Participant
from tests.core.factories import programme
from tests.e2e.harness import Harness

APOLOGY = "😕 Désolé, un problème est survenu. Réessayez dans un moment."


def _alerts(h: Harness, chat_id: int) -> list[str]:
    return [m["text"] for m in h.server.bot_messages(chat_id) if m["text"].startswith("🛠")]


async def test_a_failure_apologises_and_alerts_admins_once_an_hour(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=1)
    async with h.deps.sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=900, name="Admin", role="admin", now=h.clock.now()
        )
        participant = await session.get(Participant, prog.participant_ids[0])
        assert participant is not None
        participant.language = "nl"
        # Break one table behind the bot's back: /next can no longer read the sessions.
        await session.execute(text("ALTER TABLE sessions RENAME TO sessions_away"))
        await session.commit()
    admin = h.server.user(900, "Admin", language_code="fr")
    amina = h.server.user(1000, "Amina", language_code="fr")
    try:
        for _ in range(2):
            reply = await h.say(amina, "/next")
            assert reply["text"] == translations("nl").gettext(APOLOGY), "in the language she chose"
        await h.dispatch()
        alerts = _alerts(h, admin.id)
        assert len(alerts) == 1, "two failures of one kind within the hour: one alert"
        assert any(kind in alerts[0] for kind in ("OperationalError", "ProgrammingError"))
        h.clock.advance(timedelta(hours=1))
        await h.say(amina, "/next")
        await h.dispatch()
        assert len(_alerts(h, admin.id)) == 2, "a new hour, a new alert"
    finally:
        async with h.deps.sessionmaker() as session:
            await session.execute(text("ALTER TABLE sessions_away RENAME TO sessions"))
            await session.commit()
