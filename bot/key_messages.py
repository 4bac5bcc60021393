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
from bot.i18n import format_day, format_time, isolate, rtl_line, translations
from bot.views import (
    QUESTION_EMOJI,
    REASON_EMOJI,
    cancelled_text,
    feedback_question_text,
    for_person,
    moved_text,
    reason_label,
    reminder_text,
)
from storage.models import DeclineReason, Session, SessionKind

EXAMPLE_NAME = "Amina K."
OTHER_NAME = "Karim B."


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
    """Reminder and its buttons, ❌ and its reasons, cancellation, move, feedback questions,
    thanks, consent, and the shared-phone question's buttons."""
    row = example_session()
    t = translations(language)
    _ = t.gettext
    thanks = _("✅ Merci ! Votre réponse : %(face)s") % {"face": "🙂"}
    reminder = reminder_text(t, row, language, tz)
    before = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)  # the day before, same time
    previous = f"{format_day(before, language, tz)}, {format_time(before, language, tz)}"
    reasons = " · ".join(reason_label(t, reason) for reason in REASON_EMOJI)
    questions = [feedback_question_text(t, row, question, language) for question in QUESTION_EMOJI]
    shared = [
        _("👥 Oui, %(name)s est une autre personne") % {"name": isolate(OTHER_NAME, language)},
        _("🙋 Non, c'est %(name)s") % {"name": isolate(EXAMPLE_NAME, language)},
    ]
    return [
        KeyMessage("reminder", reminder),
        KeyMessage("reminder on a shared phone", for_person(t, EXAMPLE_NAME, language, reminder)),
        KeyMessage("reminder buttons", f"{_('✅ Je viens')} | {_('❌ Je ne viens pas')}"),
        KeyMessage("after ❌: why?", f"{rtl_line(_('❓ Pourquoi ?'), language)}\n{reasons}"),
        KeyMessage(
            "after the reason",
            _("❌ %(reason)s ✏️") % {"reason": reason_label(t, DeclineReason.ILL)},
        ),
        KeyMessage("cancellation", cancelled_text(t, row, language, tz)),
        KeyMessage("moved", moved_text(t, row, language, tz, previous)),
        KeyMessage("feedback questions", "\n".join(questions)),
        KeyMessage("thanks", thanks),
        KeyMessage("consent", consent_text(t, EXAMPLE_NAME, language)),
        KeyMessage("shared phone: another person?", " | ".join(shared)),
    ]
