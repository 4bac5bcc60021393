"""The participant-facing messages a translator reviews, rendered in one language.

Why here and not in the test: ``tests/snapshots/key_messages.md`` (the reviewed file)
and the demo's "key messages" view must show the very same texts, so both render them
with this one function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.handlers.enrolment import consent_text
from bot.i18n import translations
from bot.views import cancelled_text, feedback_question_text, for_person, reminder_text
from storage.models import Session, SessionKind

EXAMPLE_NAME = "Amina K."


@dataclass(frozen=True)
class KeyMessage:
    name: str  # what the message is, in English, for the reviewer
    text: str  # exactly as the participant's phone shows it


def example_session() -> Session:
    """A workshop on Tuesday 8 December 2026, 09:30 in Brussels."""
    return Session(
        id=1,
        kind=SessionKind.WORKSHOP,
        title="Atelier FLE",
        starts_at=datetime(2026, 12, 8, 8, 30, tzinfo=UTC),
        ends_at=datetime(2026, 12, 8, 10, 30, tzinfo=UTC),
        place_name="Maison des associations",
        place_address="Rue de Marcinelle 10, Charleroi",
    )


def key_messages(language: str, tz: ZoneInfo) -> list[KeyMessage]:
    """Reminder, shared-phone reminder, cancellation, feedback question, thanks, consent."""
    row = example_session()
    t = translations(language)
    _ = t.gettext
    thanks = _("✅ Merci ! Votre réponse : %(face)s") % {"face": "🙂"}
    reminder = reminder_text(t, row, language, tz)
    return [
        KeyMessage("reminder", reminder),
        KeyMessage("reminder on a shared phone", for_person(t, EXAMPLE_NAME, language, reminder)),
        KeyMessage("cancellation", cancelled_text(t, row, language, tz)),
        KeyMessage("feedback question", feedback_question_text(t, row, "how", language)),
        KeyMessage("thanks", thanks),
        KeyMessage("consent", consent_text(t, EXAMPLE_NAME, language)),
    ]
