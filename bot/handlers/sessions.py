"""/sessions for staff: the coming sessions with RSVPs, and cancelling one occurrence.

Moving and adding are typing flows: see ``bot/conversations/session_edit.py``.
"""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import callback_data
from bot.context import BotContext
from bot.core import outbox, rsvp, schedule
from bot.core.people import StaffView
from bot.core.schedule import ScheduleError
from bot.dispatcher import wake
from bot.handlers.common import Who, answer, staff_only
from bot.i18n import isolate, rtl_line
from bot.views import labelled_with_counts, place_text, reason_label, session_line, shorten
from storage.db import unit_of_work
from storage.models import DeclineReason, RsvpAnswer, Session, SessionStatus

LIST = "sls"
SHOW = "ses"
CANCEL = "scx"
CANCEL_CONFIRM = "scy"
MOVE = "smv"
ADD = "sad"
VOICE_RECORD = "svr"  # handled in bot/handlers/voice_notes.py


async def sessions_command(update: Update, context: BotContext) -> None:
    """/sessions: one button per coming session, with ✅ ❌ and unanswered counts."""
    who = await staff_only(update, context)
    if who is None or who.staff is None:
        return
    text, markup = await _list_view(context, who, who.staff)
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    elif update.effective_chat is not None:
        await update.get_bot().send_message(update.effective_chat.id, text, reply_markup=markup)


async def _list_view(
    context: BotContext, who: Who, staff: StaffView
) -> tuple[str, InlineKeyboardMarkup]:
    _ = who.t.gettext
    deps = context.deps
    rows_out = []
    async with unit_of_work(deps.sessionmaker) as session:
        rows = await schedule.coming_sessions_of_staff(
            session, staff_id=staff.id, sees_everything=staff.sees_everything, now=deps.clock.now()
        )
        for row in rows:
            counts = await rsvp.counts(session, row)
            line = session_line(row, who.language, deps.settings.tz)
            if row.status == SessionStatus.CANCELLED:
                label = shorten("🚫 " + line, 64)
            else:
                label = labelled_with_counts(
                    line, f"✅{counts.yes} ❌{counts.no} ❔{counts.unanswered}", 64
                )
            rows_out.append(
                [InlineKeyboardButton(label, callback_data=callback_data.encode(SHOW, row.id))]
            )
    rows_out.append(
        [InlineKeyboardButton(_("➕ Nouvelle séance"), callback_data=callback_data.encode(ADD))]
    )
    text = _("📅 Les séances des 14 prochains jours :") if rows else _("📅 Aucune séance prévue.")
    return text, InlineKeyboardMarkup(rows_out)


async def load_manageable(
    update: Update, context: BotContext, who: Who, session_id: int | None
) -> Session | None:
    """The session, if it exists and this staff member may manage it; else answer why not."""
    assert who.staff is not None
    _ = who.t.gettext
    async with unit_of_work(context.deps.sessionmaker) as session:
        row = await session.get(Session, session_id) if session_id is not None else None
        allowed = row is not None and await schedule.may_manage(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything, row=row
        )
    if row is None:
        await answer(update, _("⚠️ Cette séance n'existe plus."))
        return None
    if not allowed:
        await answer(update, _("⛔ Action non autorisée."))
        return None
    return row


async def _tapped_session(
    update: Update, context: BotContext, prefix: str
) -> tuple[CallbackQuery, Who, Session] | None:
    """The staff member, and the session their button names, if they may manage it."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None:
        return None
    row = await load_manageable(update, context, who, _first_int(query.data, prefix))
    if row is None:
        return None
    return query, who, row


def _first_int(data: str | None, prefix: str) -> int | None:
    values = callback_data.decode_ints(data, prefix, 1)
    return values[0] if values else None


async def show_session(update: Update, context: BotContext) -> None:
    """One session: who said yes, who said no and why, who has not answered."""
    tapped = await _tapped_session(update, context, SHOW)
    if tapped is None:
        return
    query, who, row = tapped
    _ = who.t.gettext
    tz = context.deps.settings.tz
    async with unit_of_work(context.deps.sessionmaker) as session:
        people = await schedule.participants_with_answers(session, row)
    lines = [session_line(row, who.language, tz)]
    if place_text(row):
        lines.append("📍 " + isolate(place_text(row), who.language))
    if row.status == SessionStatus.CANCELLED:
        lines.append(_("🚫 Annulée"))
    lines.append("")
    for participant, answer_value, reason in people:
        name = isolate(participant.first_name, who.language)
        if answer_value == RsvpAnswer.YES:
            lines.append(f"✅ {name}")
        elif answer_value == RsvpAnswer.NO:
            why = f" ({reason_label(who.t, DeclineReason(reason))})" if reason else ""
            lines.append(f"❌ {name}{why}")
        else:
            lines.append(f"❔ {name}")
    if not people:
        lines.append(_("Personne dans ce groupe pour le moment."))
    buttons = []
    if row.status == SessionStatus.SCHEDULED and row.starts_at > context.deps.clock.now():
        buttons.append(
            [
                InlineKeyboardButton(
                    _("🗓 Déplacer"), callback_data=callback_data.encode(MOVE, row.id)
                ),
                InlineKeyboardButton(
                    _("🚫 Annuler"), callback_data=callback_data.encode(CANCEL, row.id)
                ),
            ]
        )
    if row.status == SessionStatus.SCHEDULED and row.ends_at > context.deps.clock.now():
        label = _("🎤 Message vocal ✔️") if row.voice_file_id else _("🎤 Message vocal")
        buttons.append(
            [InlineKeyboardButton(label, callback_data=callback_data.encode(VOICE_RECORD, row.id))]
        )
    buttons.append([InlineKeyboardButton(_("⬅️ Retour"), callback_data=callback_data.encode(LIST))])
    await query.answer()
    await query.edit_message_text("\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons))


async def ask_cancel(update: Update, context: BotContext) -> None:
    tapped = await _tapped_session(update, context, CANCEL)
    if tapped is None:
        return
    query, who, row = tapped
    _ = who.t.gettext
    text = (
        _("🚫 Annuler cette séance et prévenir les participants ?")
        + "\n"
        + session_line(row, who.language, context.deps.settings.tz)
    )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("🚫 Oui, annuler"), callback_data=callback_data.encode(CANCEL_CONFIRM, row.id)
                ),
                InlineKeyboardButton(_("⬅️ Non"), callback_data=callback_data.encode(SHOW, row.id)),
            ]
        ]
    )
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)


async def confirm_cancel(update: Update, context: BotContext) -> None:
    """Cancel one occurrence: every participant concerned is told at once, in their language."""
    tapped = await _tapped_session(update, context, CANCEL_CONFIRM)
    if tapped is None:
        return
    query, who, row = tapped
    _ = who.t.gettext
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        try:
            change = await schedule.cancel_session(session, row.id, now=deps.clock.now())
        except ScheduleError:
            await answer(update, _("⚠️ Cette séance ne peut plus être annulée."))
            return
        notified = await outbox.notify_change(
            session, change, now=deps.clock.now(), tz=deps.settings.tz
        )
        blocked = await outbox.unreachable_names(session, row)
        await session.commit()
    wake(context.application)
    lines = [
        who.t.ngettext(
            "🚫 Séance annulée. %(count)d participant est prévenu.",
            "🚫 Séance annulée. %(count)d participants sont prévenus.",
            notified,
        )
        % {"count": notified}
    ]
    if blocked:
        lines.append(
            who.t.ngettext(
                "⚠️ %(count)d personne n'est pas joignable (robot bloqué) : %(names)s",
                "⚠️ %(count)d personnes ne sont pas joignables (robot bloqué) : %(names)s",
                len(blocked),
            )
            % {
                "count": len(blocked),
                "names": ", ".join(isolate(name, who.language) for name in blocked),
            }
        )
    await query.answer()
    await query.edit_message_text(
        rtl_line("\n".join(lines), who.language),
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("⬅️ Retour"), callback_data=callback_data.encode(LIST))]]
        ),
    )


HANDLERS = [
    CommandHandler("sessions", sessions_command),
    CallbackQueryHandler(sessions_command, pattern=callback_data.pattern(LIST)),
    CallbackQueryHandler(show_session, pattern=callback_data.pattern(SHOW)),
    CallbackQueryHandler(ask_cancel, pattern=callback_data.pattern(CANCEL)),
    CallbackQueryHandler(confirm_cancel, pattern=callback_data.pattern(CANCEL_CONFIRM)),
]
