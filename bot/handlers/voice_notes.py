"""Voice notes: referents record one for a session or a series; participants may ask for
reminders as voice only, for when reading is hard."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import callback_data
from bot.context import BotContext
from bot.core import notices, schedule
from bot.core.notices import NoticeKind
from bot.handlers.common import (
    Who,
    answer,
    answer_stale,
    for_one_person,
    identify,
    person_action,
    reply,
    staff_only,
)
from bot.handlers.sessions import load_manageable
from bot.i18n import LANGUAGE_CODES, rtl_line
from storage.db import unit_of_work
from storage.models import Participant, Session

RECORD = "svr"
SCOPE = "svs"
WAITING_KEY = "voice_for_session"
NOTICE_KEY = "voice_for_notice"
FILE_KEY = "voice_file_id"


async def record_tapped(update: Update, context: BotContext) -> None:
    """ "🎤" under a session: the next voice message the referent sends is for it."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or context.user_data is None:
        return
    values = callback_data.decode_ints(query.data, RECORD, 1)
    row = await load_manageable(update, context, who, values[0] if values else None)
    if row is None:
        return
    context.user_data[WAITING_KEY] = row.id
    await query.answer()
    await update.get_bot().send_message(
        query.from_user.id,
        who.t.gettext("🎤 Envoyez maintenant un message vocal court pour cette séance."),
    )


async def record_command(update: Update, context: BotContext) -> None:
    """/record consent LANG or /record help LANG: the next voice message becomes that notice."""
    who = await staff_only(update, context)
    if who is None or who.staff is None or context.user_data is None:
        return
    _ = who.t.gettext
    args = context.args or []
    if (
        len(args) != 2
        or args[0] not in {k.value for k in NoticeKind}
        or args[1] not in LANGUAGE_CODES
    ):
        await answer(
            update,
            _("Utilisation : /record consent LANGUE ou /record help LANGUE\nLANGUES : %(codes)s")
            % {"codes": ", ".join(sorted(LANGUAGE_CODES))},
        )
        return
    context.user_data[NOTICE_KEY] = (args[0], args[1])
    context.user_data.pop(WAITING_KEY, None)
    await answer(update, _("🎤 Envoyez maintenant le message vocal."))


async def take_staff_voice(update: Update, context: BotContext, who: Who) -> bool:
    """A voice message from staff after "🎤" or /record: store it where it was asked for."""
    message = update.effective_message
    if who.staff is None or context.user_data is None or message is None or message.voice is None:
        return False
    notice = context.user_data.pop(NOTICE_KEY, None)
    if notice is not None:
        async with unit_of_work(context.deps.sessionmaker) as session:
            await notices.record_voice(
                session,
                kind=NoticeKind(notice[0]),
                language=notice[1],
                file_id=message.voice.file_id,
                staff_id=who.staff.id,
                now=context.deps.clock.now(),
            )
            await session.commit()
        await answer(update, who.t.gettext("🎤 Enregistré."))
        return True
    session_id = context.user_data.get(WAITING_KEY)
    if session_id is None:
        return False
    context.user_data[FILE_KEY] = message.voice.file_id
    _ = who.t.gettext
    async with unit_of_work(context.deps.sessionmaker) as session:
        row = await session.get(Session, session_id)
        size = await schedule.series_size(session, row) if row is not None else 0
    buttons = [
        [
            InlineKeyboardButton(
                _("Cette séance"), callback_data=callback_data.encode(SCOPE, session_id, "one")
            )
        ]
    ]
    if size > 1:
        buttons.append(
            [
                InlineKeyboardButton(
                    _("Toute la série"),
                    callback_data=callback_data.encode(SCOPE, session_id, "all"),
                )
            ]
        )
    await message.reply_text(
        _("🎤 Pour quelles séances ?"), reply_markup=InlineKeyboardMarkup(buttons)
    )
    return True


async def scope_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or context.user_data is None:
        return
    fields = callback_data.decode(query.data, SCOPE, 2, ids=[0])
    file_id = context.user_data.get(FILE_KEY)
    if fields is None or file_id is None:
        await answer_stale(update, who)
        return
    row = await load_manageable(update, context, who, int(fields[0]))
    if row is None:
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        count = await schedule.attach_voice(
            session,
            session_id=row.id,
            file_id=file_id,
            whole_series=fields[1] == "all",
            now=context.deps.clock.now(),
        )
        await session.commit()
    context.user_data.pop(FILE_KEY, None)
    context.user_data.pop(WAITING_KEY, None)
    await query.answer()
    await query.edit_message_text(
        who.t.ngettext(
            "🎤 Enregistré : le rappel de %(count)d séance portera ce message vocal.",
            "🎤 Enregistré : les rappels de %(count)d séances porteront ce message vocal.",
            count,
        )
        % {"count": count}
    )


async def voice_command(update: Update, context: BotContext) -> None:
    """/voice: a participant switches reminders to voice only (when one exists), or back."""
    who = await identify(update, context)
    if who is None:
        return
    if who.staff is not None:
        await answer(update, who.t.gettext("⛔ /voice est fait pour les participants."))
        return
    await for_one_person(update, context, who, "voice")


@person_action("voice")
async def _voice_for(update: Update, context: BotContext, who: Who) -> None:
    assert who.participant is not None
    async with unit_of_work(context.deps.sessionmaker) as session:
        person = await session.get(Participant, who.participant.id)
        assert person is not None
        person.voice_only = not person.voice_only
        voice_only = person.voice_only
        await session.commit()
    _ = who.t.gettext
    text = (
        _("🔊 D'accord : vos rappels arriveront en message vocal quand il y en a un.")
        if voice_only
        else _("📝 D'accord : vos rappels arriveront de nouveau en texte.")
    )
    await reply(update, who.named(rtl_line(text, who.language)))


HANDLERS = [
    CommandHandler("voice", voice_command),
    CommandHandler("record", record_command),
    CallbackQueryHandler(record_tapped, pattern=callback_data.pattern(RECORD)),
    CallbackQueryHandler(scope_chosen, pattern=callback_data.pattern(SCOPE)),
]
