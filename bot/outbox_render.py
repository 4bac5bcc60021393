"""What each outbox row says: the text, buttons, map pin and voice note of every kind.

Rendering reads the database but never writes it, and sends nothing itself:
``Rendered.send`` is called by the sending pipeline (``bot/send_pipeline.py``) once the
row's turn comes. Staff alerts are rendered by their ``AlertKind``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.ext import ExtBot

from bot import callback_data
from bot.callback_data import ERASE, RSVP, SHEET
from bot.context import Deps
from bot.core.alert_kinds import AlertKind
from bot.core.outbox import Claimed
from bot.core.schedule import participants_with_answers, sessions_of_referent_on
from bot.i18n import format_day, format_time, isolate, rtl_line, translations
from bot.views import (
    cancelled_text,
    face_buttons,
    feedback_question_text,
    for_person,
    moved_text,
    reason_label,
    reminder_text,
    series_moved_text,
)
from storage.models import DeclineReason, Module, OutboxKind, Participant, Session, Staff

# Outbox sends are bulk: paced at one a second per chat (see bot/rate_limit.py).
PACED = {"paced": 1}


def rsvp_buttons(session_id: int, participant_id: int, yes: str, no: str) -> InlineKeyboardMarkup:
    """The buttons name their person: on a shared phone, each answers for themselves."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    yes, callback_data=callback_data.encode(RSVP, session_id, participant_id, "y")
                ),
                InlineKeyboardButton(
                    no, callback_data=callback_data.encode(RSVP, session_id, participant_id, "n")
                ),
            ]
        ]
    )


@dataclass
class Rendered:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None
    venue: tuple[float, float, str, str] | None = None
    voice: str | None = None  # a referent's voice note, by Telegram file id
    voice_only: bool = False
    voice_caption: str | None = None  # on a shared phone: whom the voice note is for

    async def send(self, bot: ExtBot[Any]) -> Message:
        """Text, then the map pin, then the voice note; the buttons go on the last one.

        A participant who asked for voice only gets no text when a voice note exists.
        One reminder is one unit: only its first message is paced per chat.
        """
        steps: list[str] = []
        if not (self.voice_only and self.voice):
            steps.append("text")
        if self.venue is not None:
            steps.append("venue")
        if self.voice is not None:
            steps.append("voice")
        message: Message | None = None
        for index, step in enumerate(steps):
            markup = self.markup if index == len(steps) - 1 else None
            pace = PACED if index == 0 else None
            if step == "text":
                message = await bot.send_message(
                    self.chat_id, self.text, reply_markup=markup, rate_limit_args=pace
                )
            elif step == "venue" and self.venue is not None:
                latitude, longitude, title, address = self.venue
                message = await bot.send_venue(
                    self.chat_id,
                    latitude,
                    longitude,
                    title,
                    address,
                    reply_markup=markup,
                    rate_limit_args=pace,
                )
            elif self.voice is not None:
                message = await bot.send_voice(
                    self.chat_id,
                    self.voice,
                    caption=self.voice_caption,
                    reply_markup=markup,
                    rate_limit_args=pace,
                )
        assert message is not None
        return message


async def render(
    session: Any, deps: Deps, claimed: Claimed, *, shared: bool = False
) -> Rendered | None:
    """The message for a claimed row, or None when there is nobody (left) to send it to."""
    if claimed.kind == OutboxKind.STAFF_ALERT:
        return await _render_staff_alert(session, deps, claimed)
    rendered = await _render_for_participant(session, deps, claimed)
    if rendered is None or claimed.participant_id is None:
        return rendered
    if shared:
        # A family's phone: the first line says whom the message is for.
        participant = await session.get(Participant, claimed.participant_id)
        if participant is None:
            return rendered
        language = participant.language
        text = for_person(translations(language), participant.first_name, language, rendered.text)
        # Voice only (for who cannot read): the name at least, under the voice note.
        return replace(rendered, text=text, voice_caption=f"👤 {participant.first_name}")
    return rendered


async def _render_for_participant(session: Any, deps: Deps, claimed: Claimed) -> Rendered | None:
    tz = deps.settings.tz
    participant = await session.get(Participant, claimed.participant_id)
    row = await session.get(Session, claimed.session_id) if claimed.session_id else None
    if participant is None or participant.telegram_chat_id is None or row is None:
        return None
    language = participant.language
    t = translations(language)
    _ = t.gettext
    if claimed.kind == OutboxKind.REMINDER:
        markup = rsvp_buttons(row.id, participant.id, _("✅ Je viens"), _("❌ Je ne viens pas"))
        venue = None
        if row.latitude is not None and row.longitude is not None:
            venue = (
                row.latitude,
                row.longitude,
                row.place_name or row.title,
                row.place_address or row.place_name or "",
            )
        return Rendered(
            participant.telegram_chat_id,
            reminder_text(t, row, language, tz),
            markup,
            venue,
            voice=row.voice_file_id,
            voice_only=participant.voice_only,
        )
    if claimed.kind == OutboxKind.FEEDBACK:
        module = await session.get(Module, row.module_id)
        question = str(claimed.payload.get("question", "how"))
        scale = module.feedback_scale if module is not None else 4
        return Rendered(
            participant.telegram_chat_id,
            feedback_question_text(t, row, question, language),
            face_buttons(row.id, participant.id, question, scale),
        )
    change = claimed.payload.get("change")
    if change == "cancelled":
        return Rendered(participant.telegram_chat_id, cancelled_text(t, row, language, tz))
    previous_raw = claimed.payload.get("previous_start")
    if change == "series_moved" and previous_raw:
        before = datetime.fromisoformat(previous_raw)
        return Rendered(
            participant.telegram_chat_id, series_moved_text(t, row, language, tz, before)
        )
    previous = ""
    if previous_raw:
        before = datetime.fromisoformat(previous_raw)
        previous = f"{format_day(before, language, tz)}, {format_time(before, language, tz)}"
    return Rendered(
        participant.telegram_chat_id,
        moved_text(t, row, language, tz, previous),
        rsvp_buttons(row.id, participant.id, _("✅ Je viens"), _("❌ Je ne viens pas")),
    )


async def _render_staff_alert(session: Any, deps: Deps, claimed: Claimed) -> Rendered | None:
    staff = await session.get(Staff, claimed.staff_id)
    if staff is None or not staff.active:
        return None
    language = staff.language
    t = translations(language)
    _ = t.gettext
    participant = (
        await session.get(Participant, claimed.participant_id) if claimed.participant_id else None
    )
    name = isolate(participant.first_name if participant else "?", language)
    row = await session.get(Session, claimed.session_id) if claimed.session_id else None
    alert = AlertKind.of(claimed.payload)
    if alert == AlertKind.LATE_DECLINE and row is not None:
        reason = claimed.payload.get("reason")
        values = {
            "name": name,
            "title": isolate(row.title, language),
            "day": format_day(row.starts_at, language, deps.settings.tz),
            "time": format_time(row.starts_at, language, deps.settings.tz),
            "reason": reason_label(t, DeclineReason(reason)) if reason else "…",
        }
        text = (
            _("⚠️ %(name)s ne viendra pas : %(title)s, %(day)s %(time)s.\nRaison : %(reason)s")
            % values
        )
    elif alert == AlertKind.RECORD_ATTENDANCE and row is not None:
        text = _("📋 Fin de la séance : %(title)s, %(time)s.\nNotez les présences :") % {
            "title": isolate(row.title, language),
            "time": format_time(row.starts_at, language, deps.settings.tz),
        }
        button = InlineKeyboardButton(
            _("📋 Ouvrir la feuille"), callback_data=callback_data.encode(SHEET, row.id)
        )
        return Rendered(
            staff.telegram_user_id, rtl_line(text, language), InlineKeyboardMarkup([[button]])
        )
    elif alert == AlertKind.UNANSWERED:
        text = _("📞 Appelez %(name)s : absent aujourd'hui, sans réponse aux rappels.") % {
            "name": name
        }
    elif alert == AlertKind.TWO_ABSENCES:
        text = _("📞 Appelez %(name)s : deux absences de suite, sans excuse.") % {"name": name}
    elif alert == AlertKind.ERASURE_REQUEST and participant is not None:
        text = _("🗑 %(name)s demande l'effacement de ses données. Confirmer ?") % {"name": name}
        button = InlineKeyboardButton(
            _("🗑 Confirmer l'effacement"),
            callback_data=callback_data.encode(ERASE, participant.id),
        )
        return Rendered(
            staff.telegram_user_id, rtl_line(text, language), InlineKeyboardMarkup([[button]])
        )
    elif alert == AlertKind.ERROR:
        text = _(
            "🛠 Le robot a rencontré une erreur (%(kind)s). Voir le journal du serveur. "
            "Pas d'autre alerte de ce type pendant une heure."
        ) % {"kind": claimed.payload.get("kind", "?")}
    elif alert == AlertKind.OUTAGE:
        text = _(
            "🛠 Base de données injoignable de %(start)s à %(end)s. Messages retardés : %(count)s."
        ) % {
            "start": format_time(
                datetime.fromisoformat(claimed.payload["since"]), language, deps.settings.tz
            ),
            "end": format_time(
                datetime.fromisoformat(claimed.payload["until"]), language, deps.settings.tz
            ),
            "count": claimed.payload.get("delayed", 0),
        }
    elif alert == AlertKind.DIGEST:
        return await _render_digest(session, deps, staff, claimed.payload.get("day", ""))
    elif alert == AlertKind.UNREACHABLE:
        text = _(
            "📞 Appelez %(name)s : le robot ne peut plus lui écrire (bot bloqué ou compte fermé)."
        ) % {"name": name}
    else:
        return None
    return Rendered(staff.telegram_user_id, rtl_line(text, language))


async def _render_digest(session: Any, deps: Deps, staff: Staff, day: str) -> Rendered | None:
    """The referent's day: each session with who confirmed, declined (and why), or is silent."""
    tz = deps.settings.tz
    language = staff.language
    t = translations(language)
    _ = t.gettext
    rows = await sessions_of_referent_on(
        session, staff_id=staff.id, day=date.fromisoformat(day), tz=tz
    )
    if not rows:
        return None
    lines = [_("☀️ Votre journée :")]
    for row in rows:
        lines.append("")
        lines.append(f"{format_time(row.starts_at, language, tz)} · {isolate(row.title, language)}")
        for participant, answer_value, reason in await participants_with_answers(session, row):
            name = isolate(participant.first_name, language)
            if answer_value == "yes":
                lines.append(f"  ✅ {name}")
            elif answer_value == "no":
                why = f" ({reason_label(t, DeclineReason(reason))})" if reason else ""
                lines.append(f"  ❌ {name}{why}")
            else:
                lines.append(f"  ❔ {name}")
    return Rendered(staff.telegram_user_id, rtl_line("\n".join(lines), language))
