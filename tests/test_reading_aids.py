"""What people who read little see first: pictograms, short lines, names they recognise."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.handlers.enrolment import consent_text
from bot.i18n import LANGUAGES, translations
from bot.keyboards import language_picker
from bot.views import (
    QUESTION_EMOJI,
    REASON_EMOJI,
    cancelled_text,
    feedback_question_text,
    moved_text,
    reason_label,
)
from storage.models import DeclineReason, Session, SessionKind

BRUSSELS = ZoneInfo("Europe/Brussels")
HELP = "❓"  # /help's own sign


def _session() -> Session:
    return Session(
        id=1,
        kind=SessionKind.WORKSHOP,
        title="Atelier FLE",
        starts_at=datetime(2026, 12, 8, 8, 30, tzinfo=UTC),
        ends_at=datetime(2026, 12, 8, 10, 30, tzinfo=UTC),
    )


def test_the_french_consent_is_one_pictogram_line_per_point_under_250_characters():
    text = consent_text(translations("fr"), "Amina K.", "fr")
    assert len(text) < 250, len(text)
    lines = text.split("\n")
    for pictograms in ("👤", "🌍", "✅", "📊"):
        assert pictograms in lines[1], "what is kept, on one line"
    for sign, word in (("👥", "référent"), ("🔎", "/mydata"), ("🗑", "/forget"), ("⏳", "12")):
        line = next(line for line in lines if line.startswith(sign))
        assert word in line


def test_the_consent_keeps_its_points_and_commands_in_every_language():
    for lang in LANGUAGES:
        text = consent_text(translations(lang.code), "Amina K.", lang.code)
        for sign in ("👤", "🌍", "✅", "📊", "👥", "🔎 ", "🗑 ", "⏳"):
            assert sign in text, (lang.code, sign)
        assert "/mydata" in text and "/forget" in text and text.count("\n") == 6


def test_each_feedback_question_starts_with_its_own_pictogram():
    t, row = translations("fr"), _session()
    firsts = {q: feedback_question_text(t, row, q, "fr")[0] for q in QUESTION_EMOJI}
    assert firsts == {"how": "💬", "learned": "📚", "welcome": "🤝", "useful": "👍", "again": "🔁"}


def test_other_is_not_helps_sign_and_an_appointment_is_not_medical():
    assert REASON_EMOJI[DeclineReason.OTHER] != HELP
    assert REASON_EMOJI[DeclineReason.APPOINTMENT] in ("📋", "🏛")
    assert len(set(REASON_EMOJI.values())) == len(REASON_EMOJI)
    assert reason_label(translations("fr"), DeclineReason.APPOINTMENT) == "📋 rendez-vous"


def test_cancelled_and_moved_no_longer_look_alike():
    t, row = translations("fr"), _session()
    assert cancelled_text(t, row, "fr", BRUSSELS).startswith("🚫 Annulé")
    assert moved_text(t, row, "fr", BRUSSELS, "lundi 7 décembre, 09:30").startswith("🔄")


def test_the_picker_names_each_language_first_so_dari_and_pashto_differ_at_a_glance():
    labels = [b.text for row in language_picker(LANGUAGES).inline_keyboard for b in row]
    dari = next(label for label in labels if "🇦🇫" in label and label.startswith("دری"))
    pashto = next(label for label in labels if "🇦🇫" in label and label.startswith("پښتو"))
    assert dari.split()[0] != pashto.split()[0]
    for label in labels:
        assert unicodedata.category(label[0]).startswith("L"), f"{label}: a name, not a flag"
