"""Staff send an .ics file to the bot, pick the group, and the calendar is imported."""

from __future__ import annotations

from babel.support import NullTranslations
from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot import callback_data
from bot.context import BotContext
from bot.core import organisation
from bot.core.calendar_sync import import_calendar
from bot.core.calendars import CalendarError, CalendarErrorKind
from bot.dispatcher import wake
from bot.handlers.common import answer, staff_only
from bot.keyboards import group_picker
from storage.db import unit_of_work

GROUP = "icg"
FILE_KEY = "ics_file_id"
MAX_FILE_BYTES = 2_000_000


def calendar_error_text(t: NullTranslations, error: CalendarError) -> str:
    _ = t.gettext
    texts = {
        CalendarErrorKind.MALFORMED: _("⚠️ Ce fichier n'est pas un calendrier lisible (.ics)."),
        CalendarErrorKind.TOO_LARGE: _("⚠️ Ce calendrier est trop grand. Rien n'a été importé."),
        CalendarErrorKind.TOO_MANY_OCCURRENCES: _(
            "⚠️ Ce calendrier a trop de séances sur un an. Rien n'a été importé."
        ),
        CalendarErrorKind.RECURRENCE_TOO_DEEP: _(
            "⚠️ Les répétitions de ce calendrier sont trop complexes. Rien n'a été importé."
        ),
        CalendarErrorKind.ALL_DAY: _(
            "⚠️ Ce calendrier contient des événements « toute la journée » : donnez une heure "
            "de début et de fin à chaque séance. Rien n'a été importé."
        ),
        CalendarErrorKind.NO_EVENTS: _("⚠️ Ce calendrier ne contient aucun événement."),
    }
    return texts.get(error.kind, texts[CalendarErrorKind.MALFORMED])


async def document_received(update: Update, context: BotContext) -> None:
    """An .ics from staff: ask which group it is for."""
    who = await staff_only(update, context)
    message = update.effective_message
    if who is None or who.staff is None or message is None or message.document is None:
        return
    _ = who.t.gettext
    document = message.document
    if (document.file_size or 0) > MAX_FILE_BYTES:
        await answer(update, _("⚠️ Ce calendrier est trop grand. Rien n'a été importé."))
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        groups = await organisation.groups_for_staff(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything
        )
    if not groups:
        await answer(update, _("Vous n'avez pas encore de groupe."))
        return
    assert context.user_data is not None
    context.user_data[FILE_KEY] = document.file_id
    markup = group_picker(groups, GROUP)
    await message.reply_text(_("📥 Importer ce calendrier dans quel groupe ?"), reply_markup=markup)


async def group_for_calendar(update: Update, context: BotContext) -> None:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None or context.user_data is None:
        return
    _ = who.t.gettext
    values = callback_data.decode_ints(query.data, GROUP, 1)
    file_id = context.user_data.get(FILE_KEY)
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        groups = await organisation.groups_for_staff(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything
        )
    if values is None or values[0] not in {g.id for g in groups}:
        await answer(update, _("⛔ Action non autorisée."))
        return
    if file_id is None:
        await answer(update, _("⚠️ Envoyez à nouveau le fichier .ics."))
        return
    await query.answer()
    data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    async with unit_of_work(deps.sessionmaker) as session:
        try:
            summary = await import_calendar(
                session, group_id=values[0], data=data, now=deps.clock.now(), tz=deps.settings.tz
            )
        except CalendarError as exc:
            await query.edit_message_text(calendar_error_text(who.t, exc))
            return
        await session.commit()
    context.user_data.pop(FILE_KEY, None)
    wake(context.application)
    await query.edit_message_text(
        _(
            "✅ Calendrier importé.\n"
            "Nouvelles séances : %(created)d\n"
            "Déplacées ou modifiées : %(moved)d\n"
            "Annulées : %(cancelled)d\n"
            "Sans changement : %(unchanged)d"
        )
        % {
            "created": summary.created,
            "moved": summary.moved + summary.updated,
            "cancelled": summary.cancelled,
            "unchanged": summary.unchanged,
        }
    )


HANDLERS = [
    MessageHandler(
        filters.ChatType.PRIVATE
        & (filters.Document.FileExtension("ics") | filters.Document.MimeType("text/calendar")),
        document_received,
    ),
    CallbackQueryHandler(group_for_calendar, pattern=callback_data.pattern(GROUP)),
]
