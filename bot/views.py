"""Texts people read, built from plain values in their language.

One idea per message, a pictogram first; names, times and places are isolated in
right-to-left languages so Telegram does not scramble them.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from babel.support import NullTranslations
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callback_data
from bot.core.feedback import faces
from bot.i18n import babel_locale, clock_face, format_day, format_time, isolate, rtl_line
from storage.models import DeclineReason, Session, SessionKind

KIND_EMOJI = {
    SessionKind.WORKSHOP: "👥",
    SessionKind.OUTING: "🚌",
    SessionKind.INTERVIEW: "💬",
    SessionKind.TRAINING: "🎓",
}

REASON_EMOJI = {
    DeclineReason.ILL: "🤒",
    DeclineReason.CHILDREN: "👶",
    # 📋, not 🏥: an appointment is mostly papers (CPAS, commune), rarely a doctor.
    DeclineReason.APPOINTMENT: "📋",
    DeclineReason.WORK: "💼",
    # Not ❓, which is /help's: "something else" has its own sign.
    DeclineReason.OTHER: "💭",
}


def kind_emoji(row: Session) -> str:
    try:
        return KIND_EMOJI[SessionKind(row.kind)]
    except ValueError:
        return "📌"


def reason_label(t: NullTranslations, reason: DeclineReason) -> str:
    _ = t.gettext
    labels = {
        DeclineReason.ILL: _("malade"),
        DeclineReason.CHILDREN: _("enfants"),
        DeclineReason.APPOINTMENT: _("rendez-vous"),
        DeclineReason.WORK: _("travail"),
        DeclineReason.OTHER: _("autre"),
    }
    return f"{REASON_EMOJI[reason]} {labels[reason]}"


def place_text(row: Session) -> str:
    parts = [part for part in (row.place_name, row.place_address) if part]
    return ", ".join(parts)


def when_values(row: Session, language: str, tz: ZoneInfo) -> dict[str, str]:
    return {
        "title": isolate(row.title, language),
        "day": isolate(format_day(row.starts_at, language, tz), language),
        "time": isolate(format_time(row.starts_at, language, tz), language),
        "place": isolate(place_text(row), language),
        "kind": kind_emoji(row),
    }


def reminder_text(t: NullTranslations, row: Session, language: str, tz: ZoneInfo) -> str:
    _ = t.gettext
    values = when_values(row, language, tz)
    # The dial too, for who reads a clock face more easily than digits: "🕤 09:30".
    values["time"] = f"{clock_face(row.starts_at, tz)} {values['time']}"
    if row.place_name or row.place_address:
        text = _("📅 %(kind)s %(title)s\n🗓 %(day)s, %(time)s\n📍 %(place)s\n\nVous venez ?")
    else:
        text = _("📅 %(kind)s %(title)s\n🗓 %(day)s, %(time)s\n\nVous venez ?")
    return rtl_line(text % values, language)


def cancelled_text(t: NullTranslations, row: Session, language: str, tz: ZoneInfo) -> str:
    _ = t.gettext
    text = _("🚫 Annulé : %(kind)s %(title)s\n🗓 %(day)s, %(time)s\n\nNe venez pas ce jour-là.")
    return rtl_line(text % when_values(row, language, tz), language)


def moved_text(
    t: NullTranslations, row: Session, language: str, tz: ZoneInfo, previous: str
) -> str:
    _ = t.gettext
    values = when_values(row, language, tz) | {"previous": isolate(previous, language)}
    text = _(
        "🔄 Changement : %(kind)s %(title)s\n❌ Pas le %(previous)s\n✅ Nouveau : %(day)s, %(time)s"
    )
    return rtl_line(text % values, language)


def series_moved_text(
    t: NullTranslations, row: Session, language: str, tz: ZoneInfo, previous: datetime
) -> str:
    """One message for a whole series that changed its time, named by its first session."""
    _ = t.gettext
    before = previous.astimezone(tz)
    weekday = get_day_names("wide", locale=babel_locale(language))[before.weekday()]
    values = when_values(row, language, tz) | {
        "previous_day": isolate(weekday, language),
        "previous_time": isolate(format_time(previous, language, tz), language),
    }
    text = _(
        "🔄 Nouvel horaire pour toute la série : %(kind)s %(title)s\n"
        "✅ À partir du %(day)s, %(time)s\n"
        "❌ Avant : le %(previous_day)s, %(previous_time)s\n"
        "Vos réponses restent enregistrées."
    )
    return rtl_line(text % values, language)


def session_line(row: Session, language: str, tz: ZoneInfo) -> str:
    """One line per session for lists: emoji, day, time, title."""
    values = when_values(row, language, tz)
    return f"{values['kind']} {values['day']}, {values['time']} · {values['title']}"


FACE = "fba"

# One pictogram per question, so that each looks different at a glance.
QUESTION_EMOJI = {
    "how": "💬",
    "learned": "📚",
    "welcome": "🤝",
    "useful": "👍",
    "again": "🔁",
}


def labelled_with_counts(line: str, counts: str, limit: int) -> str:
    """A button label of at most ``limit`` characters: the title gives way, never the counts."""
    tail = f" · {counts}"
    return shorten(line, limit - len(tail)) + tail


def question_label(t: NullTranslations, question: str) -> str:
    _ = t.gettext
    labels = {
        "how": _("Comment c'était aujourd'hui ?"),
        "learned": _("Avez-vous appris quelque chose ?"),
        "welcome": _("Vous avez aimé l'accueil ?"),
        "useful": _("Est-ce utile pour vous ?"),
        "again": _("Voulez-vous revenir ?"),
    }
    return labels.get(question, labels["how"])


def question_emoji(question: str) -> str:
    return QUESTION_EMOJI.get(question, QUESTION_EMOJI["how"])


def feedback_question_text(t: NullTranslations, row: Session, question: str, language: str) -> str:
    title = isolate(row.title, language)
    text = f"{question_emoji(question)} {kind_emoji(row)} {title}\n{question_label(t, question)}"
    return rtl_line(text, language)


def face_buttons(
    session_id: int, participant_id: int, question: str, scale: int, chosen: int | None = None
) -> InlineKeyboardMarkup:
    """Big faces in one row, happiest first; the chosen one is framed after a tap."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"[{face}]" if index == chosen else face,
                    callback_data=callback_data.encode(
                        FACE, session_id, participant_id, question, index
                    ),
                )
                for index, face in enumerate(faces(scale))
            ]
        ]
    )


def for_person(t: NullTranslations, name: str, language: str, text: str) -> str:
    """``text`` under a line naming the person it is for (a phone shared by a family)."""
    header = t.gettext("👤 Pour %(name)s :") % {"name": isolate(name, language)}
    return rtl_line(f"{header}\n{text}", language)


def kind_labels(t: NullTranslations) -> dict[str, str]:
    """Each kind of session in words, for a referent's choice and the funder's report."""
    _ = t.gettext
    return {
        SessionKind.WORKSHOP: _("atelier collectif"),
        SessionKind.OUTING: _("sortie"),
        SessionKind.TRAINING: _("formation"),
        SessionKind.INTERVIEW: _("entretien individuel"),
    }


# Telegram refuses a message over 4096 characters (UTF-16 units); RLM and isolates add some.
MESSAGE_BUDGET = 3800


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, the cut shown with "…"."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pages(head: list[str], items: list[str], budget: int = MESSAGE_BUDGET) -> list[str]:
    """The head then the items, in as many messages as it takes, each within ``budget``.

    Every page starts with the head's first line (which session this is); an item longer
    than a page is cut.
    """
    result: list[str] = []
    current = list(head)
    for item in items:
        size = utf16_length("\n".join([*current, item]))
        if size > budget and len(current) > 1:
            result.append("\n".join(current))
            current = [head[0], ""]
        room = budget - utf16_length("\n".join(current)) - 1
        current.append(item if utf16_length(item) <= room else shorten(item, max(room // 2, 1)))
    result.append("\n".join(current))
    return result
