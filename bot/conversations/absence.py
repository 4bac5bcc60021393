"""/absence: a referent records that a participant will be away until a date, and why."""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callback_data
from bot.context import BotContext
from bot.core import attendance
from bot.core.timeparse import parse_until
from bot.handlers.common import answer, answer_stale, identify, staff_only
from bot.i18n import format_date, isolate
from bot.keyboards import one_per_row
from storage.db import unit_of_work
from storage.models import AbsenceReason

PERSON = "abp"
REASON = "abr"
DRAFT = "absence_draft"

REASON_EMOJI = {
    AbsenceReason.ILL: "🤒",
    AbsenceReason.TRAVEL: "✈️",
    AbsenceReason.CHILDCARE: "👶",
    AbsenceReason.APPOINTMENT: "📋",
}


class State(IntEnum):
    PERSON = 1
    REASON = 2
    UNTIL = 3


async def start(update: Update, context: BotContext) -> int:
    who = await staff_only(update, context)
    if who is None or who.staff is None or update.effective_chat is None:
        return ConversationHandler.END
    async with unit_of_work(context.deps.sessionmaker) as session:
        people = await attendance.candidates_for_guest(session, staff=who.staff)
    if not people:
        await answer(update, who.t.gettext("Personne dans vos groupes pour le moment."))
        return ConversationHandler.END
    markup = one_per_row([(p.first_name, callback_data.encode(PERSON, p.id)) for p in people[:60]])
    await update.get_bot().send_message(
        update.effective_chat.id, who.t.gettext("🗓 Qui sera absent ?"), reply_markup=markup
    )
    return State.PERSON


async def person_chosen(update: Update, context: BotContext) -> int:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or context.user_data is None:
        return ConversationHandler.END
    values = callback_data.decode_ints(query.data, PERSON, 1)
    if values is None:
        await answer_stale(update, who)
        return State.PERSON
    context.user_data[DRAFT] = {"participant": values[0]}
    _ = who.t.gettext
    labels = {
        AbsenceReason.ILL: _("malade"),
        AbsenceReason.TRAVEL: _("voyage"),
        AbsenceReason.CHILDCARE: _("garde d'enfants"),
        AbsenceReason.APPOINTMENT: _("rendez-vous"),
    }
    markup = one_per_row(
        [
            (f"{REASON_EMOJI[reason]} {label}", callback_data.encode(REASON, reason))
            for reason, label in labels.items()
        ]
    )
    await query.answer()
    await query.edit_message_text(_("Pourquoi ?"), reply_markup=markup)
    return State.REASON


async def reason_chosen(update: Update, context: BotContext) -> int:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or context.user_data is None:
        return ConversationHandler.END
    fields = callback_data.decode(query.data, REASON, 1)
    if fields is None or fields[0] not in {r.value for r in AbsenceReason}:
        await answer_stale(update, who)
        return State.REASON
    context.user_data.setdefault(DRAFT, {})["reason"] = fields[0]
    await query.answer()
    await query.edit_message_text(
        who.t.gettext("📅 Absent jusqu'à quel jour inclus ? Par exemple : 15/12 (ou /cancel)")
    )
    return State.UNTIL


async def until_typed(update: Update, context: BotContext) -> int:
    who = await staff_only(update, context)
    message = update.effective_message
    if who is None or who.staff is None or message is None or context.user_data is None:
        return ConversationHandler.END
    _ = who.t.gettext
    deps = context.deps
    now = deps.clock.now()
    until = parse_until(message.text or "", now=now, tz=deps.settings.tz)
    draft = context.user_data.get(DRAFT, {})
    if until is None:
        await answer(update, _("⚠️ Je n'ai pas compris. Écrivez par exemple : 15/12"))
        return State.UNTIL
    async with unit_of_work(deps.sessionmaker) as session:
        recorded = await attendance.record_absence(
            session,
            participant_id=draft.get("participant", -1),
            until=until,
            reason=AbsenceReason(draft.get("reason", AbsenceReason.ILL)),
            staff=who.staff,
            now=now,
        )
        if recorded:
            await session.commit()
    context.user_data.pop(DRAFT, None)
    if not recorded:
        await answer(update, _("⛔ Action non autorisée."))
        return ConversationHandler.END
    last_day = until - timedelta(seconds=1)
    await answer(
        update,
        _(
            "📝 Absence notée jusqu'au %(date)s inclus. Ses séances seront marquées "
            "excusées et ses rappels reprendront ensuite."
        )
        % {"date": isolate(format_date(last_day, who.language, deps.settings.tz), who.language)},
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    who = await identify(update, context)
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    if who is not None:
        await answer(update, who.t.gettext("👌 Annulé."))
    return ConversationHandler.END


def conversation() -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CommandHandler("absence", start)],
        states={
            State.PERSON: [
                CallbackQueryHandler(person_chosen, pattern=callback_data.pattern(PERSON))
            ],
            State.REASON: [
                CallbackQueryHandler(reason_chosen, pattern=callback_data.pattern(REASON))
            ],
            State.UNTIL: [MessageHandler(filters.TEXT & ~filters.COMMAND, until_typed)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=900,
        name="absence",
        allow_reentry=True,
    )
