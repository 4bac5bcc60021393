"""Staff send an .ics file to the bot, pick the group, read the preview, then apply it.

Nothing changes and nobody is told before the referent taps "apply": the preview is the
import itself, rolled back. The file and the group picked wait in the database
(:mod:`bot.core.calendar_previews`), so a confirmation survives a restart; every tap
checks the staff role and that the import is still theirs and undecided.
"""

from __future__ import annotations

from babel.support import NullTranslations
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot import callback_data
from bot.calendar_texts import calendar_error_text, summary_lines
from bot.context import BotContext
from bot.core import calendar_previews, organisation
from bot.core.calendar_sync import import_calendar
from bot.core.calendars import CalendarError
from bot.core.schedule import ImportSummary
from bot.dispatcher import wake
from bot.handlers.common import Who, answer, answer_stale, staff_only
from storage.db import unit_of_work
from storage.models import CalendarImport

GROUP = "icg"
APPLY = "icy"
DROP = "icn"
MAX_FILE_BYTES = 2_000_000


def _confirm_buttons(t: NullTranslations, import_id: int) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("✅ Appliquer"), callback_data=callback_data.encode(APPLY, import_id)
                ),
                InlineKeyboardButton(
                    _("✖️ Annuler"), callback_data=callback_data.encode(DROP, import_id)
                ),
            ]
        ]
    )


async def document_received(update: Update, context: BotContext) -> None:
    """An .ics from staff: keep its file id, ask which group it is for."""
    who = await staff_only(update, context)
    message = update.effective_message
    if who is None or who.staff is None or message is None or message.document is None:
        return
    _ = who.t.gettext
    document = message.document
    if (document.file_size or 0) > MAX_FILE_BYTES:
        await answer(
            update,
            _("⚠️ Ce fichier dépasse %(size)d Mo. Rien n'a été importé.")
            % {"size": MAX_FILE_BYTES // 1_000_000},
        )
        return
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        groups = await organisation.groups_for_staff(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything
        )
        if groups:
            import_id = await calendar_previews.hold_file(
                session, staff_id=who.staff.id, file_id=document.file_id, now=deps.clock.now()
            )
            await session.commit()
    if not groups:
        await answer(update, _("Vous n'avez pas encore de groupe."))
        return
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{group.module_name} · {group.name}"[:64],
                    callback_data=callback_data.encode(GROUP, import_id, group.id),
                )
            ]
            for group in groups
        ]
    )
    await message.reply_text(_("📥 Importer ce calendrier dans quel groupe ?"), reply_markup=markup)


async def _may_use_group(who: Who, context: BotContext, group_id: int) -> bool:
    assert who.staff is not None
    async with unit_of_work(context.deps.sessionmaker) as session:
        groups = await organisation.groups_for_staff(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything
        )
    return group_id in {g.id for g in groups}


async def _download(context: BotContext, file_id: str) -> bytes:
    return bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())


async def _pending(who: Who, context: BotContext, import_id: int) -> CalendarImport | None:
    """The sender's own undecided import, read and detached (no transaction held)."""
    assert who.staff is not None
    async with unit_of_work(context.deps.sessionmaker) as session:
        return await calendar_previews.pending(
            session, import_id=import_id, staff_id=who.staff.id, now=context.deps.clock.now()
        )


async def _preview(
    context: BotContext, group_id: int, data: bytes
) -> ImportSummary | CalendarError:
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:  # rolled back: a preview only
        try:
            return await import_calendar(
                session, group_id=group_id, data=data, now=deps.clock.now(), tz=deps.settings.tz
            )
        except CalendarError as exc:
            return exc


async def group_for_calendar(update: Update, context: BotContext) -> None:
    """The group is picked: show what the import would change, with apply/cancel buttons."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return
    values = callback_data.decode_ints(query.data, GROUP, 2)
    held = await _pending(who, context, values[0]) if values else None
    if values is None or held is None or not await _may_use_group(who, context, values[1]):
        await answer_stale(update, who)
        return
    await query.answer()
    data = await _download(context, held.file_id)
    outcome = await _preview(context, values[1], data)
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        row = await calendar_previews.pending(
            session, import_id=values[0], staff_id=who.staff.id, now=deps.clock.now()
        )
        if row is None:  # decided meanwhile by another tap
            return
        if isinstance(outcome, CalendarError):
            calendar_previews.decide(row, calendar_previews.REFUSED, now=deps.clock.now())
        elif not outcome.changes:  # nothing to apply: no button to tap
            calendar_previews.decide(row, calendar_previews.DROPPED, now=deps.clock.now())
        else:
            calendar_previews.previewed(row, group_id=values[1], data=data)
        await session.commit()
    if isinstance(outcome, CalendarError):
        await query.edit_message_text(calendar_error_text(who.t, outcome, who.language))
        return
    _ = who.t.gettext
    lines = summary_lines(who.t, outcome, who.language)
    if not outcome.changes:
        header = _("✅ Ce calendrier est déjà à jour : rien à changer.")
        await query.edit_message_text("\n".join([header, *lines]))
        return
    text = "\n".join(
        [_("📋 Aperçu : rien n'a encore changé."), *lines, _("Appliquer ces changements ?")]
    )
    await query.edit_message_text(text, reply_markup=_confirm_buttons(who.t, values[0]))


async def apply_calendar(update: Update, context: BotContext) -> None:
    """The referent confirms the preview: fetch the same file again and apply it."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return
    values = callback_data.decode_ints(query.data, APPLY, 1)
    held = await _pending(who, context, values[0]) if values else None
    group_id = held.group_id if held else None
    if values is None or held is None or group_id is None:
        await answer_stale(update, who)
        return
    if not await _may_use_group(who, context, group_id):
        await answer_stale(update, who)
        return
    await query.answer()
    data = await _download(context, held.file_id)
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        row = await calendar_previews.pending(
            session, import_id=values[0], staff_id=who.staff.id, now=deps.clock.now()
        )
        if row is None or calendar_previews.digest(data) != held.digest:
            await answer_stale(update, who)
            return
        try:
            summary = await import_calendar(
                session, group_id=group_id, data=data, now=deps.clock.now(), tz=deps.settings.tz
            )
        except CalendarError as exc:
            await query.edit_message_text(calendar_error_text(who.t, exc, who.language))
            return
        calendar_previews.decide(row, calendar_previews.APPLIED, now=deps.clock.now())
        await session.commit()
    wake(context.application)
    _ = who.t.gettext
    lines = summary_lines(who.t, summary, who.language)
    await query.edit_message_text("\n".join([_("✅ Calendrier importé."), *lines]))


async def drop_calendar(update: Update, context: BotContext) -> None:
    """The referent cancels the preview: nothing changes."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return
    values = callback_data.decode_ints(query.data, DROP, 1)
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        row = None
        if values is not None:
            row = await calendar_previews.pending(
                session, import_id=values[0], staff_id=who.staff.id, now=deps.clock.now()
            )
        if row is not None:
            calendar_previews.decide(row, calendar_previews.DROPPED, now=deps.clock.now())
            await session.commit()
    if row is None:
        await answer_stale(update, who)
        return
    await query.answer()
    await query.edit_message_text(who.t.gettext("✖️ Import annulé : rien n'a changé."))


HANDLERS = [
    MessageHandler(
        filters.ChatType.PRIVATE
        & (filters.Document.FileExtension("ics") | filters.Document.MimeType("text/calendar")),
        document_received,
    ),
    CallbackQueryHandler(group_for_calendar, pattern=callback_data.pattern(GROUP)),
    CallbackQueryHandler(apply_calendar, pattern=callback_data.pattern(APPLY)),
    CallbackQueryHandler(drop_calendar, pattern=callback_data.pattern(DROP)),
]
