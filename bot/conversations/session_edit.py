"""Moving a session, or adding a one-off one: the steps where staff type a date and a title."""

from __future__ import annotations

from datetime import datetime
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
from bot.core import organisation, outbox, schedule
from bot.core.schedule import ScheduleError
from bot.core.timeparse import parse_when
from bot.dispatcher import wake
from bot.handlers.common import answer, answer_stale, identify, staff_only
from bot.handlers.sessions import ADD, MOVE, load_manageable
from bot.i18n import format_day, format_time
from bot.keyboards import group_picker, one_per_row
from bot.views import KIND_EMOJI, kind_labels
from storage.db import unit_of_work
from storage.models import SessionKind

ADD_GROUP = "sag"
ADD_KIND = "sak"
ADD_PERSON = "sap"
DRAFT = "session_draft"


class State(IntEnum):
    MOVE_WHEN = 1
    ADD_GROUP = 2
    ADD_KIND = 3
    ADD_WHEN = 4
    ADD_TITLE = 5
    ADD_PERSON = 6


async def start_move(update: Update, context: BotContext) -> int:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None:
        return ConversationHandler.END
    values = callback_data.decode_ints(query.data, MOVE, 1)
    row = await load_manageable(update, context, who, values[0] if values else None)
    if row is None:
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data[DRAFT] = {"move": row.id}
    await query.answer()
    await query.edit_message_text(
        who.t.gettext("🗓 Nouvelle date et heure ? Par exemple : 15/12 14:00 (ou /cancel)")
    )
    return State.MOVE_WHEN


async def move_when(update: Update, context: BotContext) -> int:
    who = await staff_only(update, context)
    message = update.effective_message
    if who is None or message is None or not message.text or context.user_data is None:
        return ConversationHandler.END
    _ = who.t.gettext
    deps = context.deps
    parsed = parse_when(message.text, now=deps.clock.now(), tz=deps.settings.tz)
    if parsed is None:
        await answer(update, _("⚠️ Je n'ai pas compris. Écrivez par exemple : 15/12 14:00"))
        return State.MOVE_WHEN
    session_id = context.user_data.get(DRAFT, {}).get("move")
    row = await load_manageable(update, context, who, session_id)
    if row is None:
        return ConversationHandler.END
    async with unit_of_work(deps.sessionmaker) as session:
        try:
            change = await schedule.move_session(
                session, row.id, starts_at=parsed[0], now=deps.clock.now()
            )
        except ScheduleError:
            await answer(update, _("⚠️ Impossible : choisissez une date à venir."))
            return State.MOVE_WHEN
        notified = await outbox.notify_change(
            session, change, now=deps.clock.now(), tz=deps.settings.tz
        )
        await session.commit()
    context.user_data.pop(DRAFT, None)
    wake(context.application)
    await answer(
        update,
        who.t.ngettext(
            "🗓 Séance déplacée au %(day)s, %(time)s. %(count)d participant est prévenu.",
            "🗓 Séance déplacée au %(day)s, %(time)s. %(count)d participants sont prévenus.",
            notified,
        )
        % {
            "day": format_day(parsed[0], who.language, deps.settings.tz),
            "time": format_time(parsed[0], who.language, deps.settings.tz),
            "count": notified,
        },
    )
    return ConversationHandler.END


async def start_add(update: Update, context: BotContext) -> int:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return ConversationHandler.END
    async with unit_of_work(context.deps.sessionmaker) as session:
        groups = await organisation.groups_for_staff(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything
        )
    await query.answer()
    if not groups:
        await query.edit_message_text(who.t.gettext("Vous n'avez pas encore de groupe."))
        return ConversationHandler.END
    markup = group_picker(groups, ADD_GROUP)
    await query.edit_message_text(who.t.gettext("👥 Pour quel groupe ?"), reply_markup=markup)
    return State.ADD_GROUP


async def add_group(update: Update, context: BotContext) -> int:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None or context.user_data is None:
        return ConversationHandler.END
    values = callback_data.decode_ints(query.data, ADD_GROUP, 1)
    async with unit_of_work(context.deps.sessionmaker) as session:
        groups = await organisation.groups_for_staff(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything
        )
    if values is None or values[0] not in {g.id for g in groups}:
        await answer(update, who.t.gettext("⛔ Action non autorisée."))
        return State.ADD_GROUP
    context.user_data[DRAFT] = {"group": values[0]}
    _ = who.t.gettext
    markup = one_per_row(
        [
            (f"{KIND_EMOJI[SessionKind(kind)]} {label}", callback_data.encode(ADD_KIND, kind))
            for kind, label in kind_labels(who.t).items()
        ]
    )
    await query.answer()
    await query.edit_message_text(_("Quel genre de séance ?"), reply_markup=markup)
    return State.ADD_KIND


async def add_kind(update: Update, context: BotContext) -> int:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or context.user_data is None:
        return ConversationHandler.END
    fields = callback_data.decode(query.data, ADD_KIND, 1)
    if fields is None or fields[0] not in {k.value for k in SessionKind}:
        await answer_stale(update, who)
        return State.ADD_KIND
    draft = context.user_data.setdefault(DRAFT, {})
    draft["kind"] = fields[0]
    await query.answer()
    if fields[0] == SessionKind.INTERVIEW:
        async with unit_of_work(context.deps.sessionmaker) as session:
            members = await schedule.members_of(session, draft.get("group", -1))
        markup = one_per_row(
            [(p.first_name, callback_data.encode(ADD_PERSON, p.id)) for p in members[:60]]
        )
        await query.edit_message_text(who.t.gettext("💬 Avec qui ?"), reply_markup=markup)
        return State.ADD_PERSON
    await query.edit_message_text(
        who.t.gettext("🗓 Date et heure ? Par exemple : 15/12 14:00-16:00 (ou /cancel)")
    )
    return State.ADD_WHEN


async def add_person(update: Update, context: BotContext) -> int:
    """An interview: the one participant it is for (checked again when it is created)."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or context.user_data is None:
        return ConversationHandler.END
    values = callback_data.decode_ints(query.data, ADD_PERSON, 1)
    if values is None:
        await answer_stale(update, who)
        return State.ADD_PERSON
    context.user_data.setdefault(DRAFT, {})["participant"] = values[0]
    await query.answer()
    await query.edit_message_text(
        who.t.gettext("🗓 Date et heure ? Par exemple : 15/12 14:00-16:00 (ou /cancel)")
    )
    return State.ADD_WHEN


async def add_when(update: Update, context: BotContext) -> int:
    who = await staff_only(update, context)
    message = update.effective_message
    if who is None or message is None or not message.text or context.user_data is None:
        return ConversationHandler.END
    deps = context.deps
    parsed = parse_when(message.text, now=deps.clock.now(), tz=deps.settings.tz)
    if parsed is None or parsed[0] <= deps.clock.now():
        await answer(
            update, who.t.gettext("⚠️ Je n'ai pas compris. Écrivez par exemple : 15/12 14:00")
        )
        return State.ADD_WHEN
    context.user_data.setdefault(DRAFT, {})["when"] = (parsed[0].isoformat(), parsed[1].isoformat())
    await answer(update, who.t.gettext("✏️ Titre de la séance ?"))
    return State.ADD_TITLE


async def add_title(update: Update, context: BotContext) -> int:
    who = await staff_only(update, context)
    message = update.effective_message
    if who is None or message is None or not message.text or context.user_data is None:
        return ConversationHandler.END
    _ = who.t.gettext
    title = " ".join(message.text.split())[:200]
    draft = context.user_data.pop(DRAFT, {})
    if not title or "group" not in draft or "when" not in draft:
        return ConversationHandler.END
    deps = context.deps
    now = deps.clock.now()
    async with unit_of_work(deps.sessionmaker) as session:
        try:
            change = await schedule.add_session(
                session,
                group_id=draft["group"],
                kind=SessionKind(draft.get("kind", SessionKind.WORKSHOP)),
                title=title,
                starts_at=datetime.fromisoformat(draft["when"][0]),
                ends_at=datetime.fromisoformat(draft["when"][1]),
                place=None,
                now=now,
                participant_id=draft.get("participant"),
            )
        except ScheduleError:
            await answer(update, _("⚠️ Impossible de créer cette séance."))
            return ConversationHandler.END
        reminders = await outbox.plan_session(
            session, change.session_id, now=now, tz=deps.settings.tz
        )
        await session.commit()
    wake(context.application)
    if reminders:
        await answer(update, _("✅ Séance ajoutée. Les rappels partiront à l'heure prévue."))
    else:
        await answer(
            update,
            _(
                "✅ Séance ajoutée.\n"
                "⚠️ Aucun rappel ne peut partir avant la séance : prévenez les participants "
                "vous-même."
            ),
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
    typed = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(start_move, pattern=callback_data.pattern(MOVE)),
            CallbackQueryHandler(start_add, pattern=callback_data.pattern(ADD)),
        ],
        states={
            State.MOVE_WHEN: [MessageHandler(typed, move_when)],
            State.ADD_GROUP: [
                CallbackQueryHandler(add_group, pattern=callback_data.pattern(ADD_GROUP))
            ],
            State.ADD_KIND: [
                CallbackQueryHandler(add_kind, pattern=callback_data.pattern(ADD_KIND))
            ],
            State.ADD_PERSON: [
                CallbackQueryHandler(add_person, pattern=callback_data.pattern(ADD_PERSON))
            ],
            State.ADD_WHEN: [MessageHandler(typed, add_when)],
            State.ADD_TITLE: [MessageHandler(typed, add_title)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=900,
        name="session_edit",
        allow_reentry=True,
    )
