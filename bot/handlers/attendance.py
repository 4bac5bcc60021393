"""Attendance on the go: /today, the sheet (one message, edited in place), and /me.

Every tap re-checks the role and the sheet's version on the server; the sheet is always
re-rendered from the database (coalesced, bot/sheet_redraws.py), so two referents
tapping at once lose nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.support import NullTranslations
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import callback_data
from bot.context import BotContext
from bot.core import absence_alerts, attendance, rsvp, schedule
from bot.core.attendance import Sheet, SheetProblem, Tapped
from bot.dispatcher import SHEET, wake_within
from bot.handlers.common import (
    Who,
    answer,
    answer_stale,
    as_staff,
    for_one_person,
    identify,
    person_action,
    reply,
    staff_only,
)
from bot.i18n import format_day, format_time, isolate, rtl_line
from bot.sheet_redraws import SheetRedraws
from bot.views import labelled_with_counts, place_text, session_line
from storage.db import unit_of_work
from storage.models import Mark, RsvpAnswer

MARK = "atm"
ALL_PRESENT = "ata"
REST_ABSENT = "atr"
DONE = "atd"
REOPEN = "ato"
GUESTS = "atg"
ADD_GUEST = "atG"
VIEW = "atv"

MARK_EMOJI = {
    None: "⬜",
    Mark.PRESENT: "✅",
    Mark.ABSENT: "❌",
    Mark.EXCUSED: "📝",
    Mark.LATE: "🕒",
}
RSVP_EMOJI = {None: "", RsvpAnswer.YES: " · 👍", RsvpAnswer.NO: " · 👎"}


def problem_text(t: NullTranslations, problem: SheetProblem) -> str:
    _ = t.gettext
    return {
        SheetProblem.NOT_ALLOWED: _("⛔ Action non autorisée."),
        SheetProblem.UNKNOWN_SESSION: _("⚠️ Cette séance n'existe plus."),
        SheetProblem.CANCELLED: _("⚠️ Cette séance est annulée."),
        SheetProblem.STALE: _("🔄 La séance a changé : voici la feuille à jour."),
        SheetProblem.NOT_ON_SHEET: _("🔄 Cette personne n'est plus sur la feuille."),
        SheetProblem.CLOSED: _("🔒 Feuille terminée : touchez « Rouvrir » pour corriger."),
        SheetProblem.TOO_EARLY: _("⏳ La feuille s'ouvre une heure avant la séance."),
        SheetProblem.TOO_OLD: _("⚠️ Plus de 30 jours : cette feuille ne change plus."),
    }[problem]


def render_sheet(
    t: NullTranslations, sheet: Sheet, language: str, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of a sheet: one button per person, their mark and their answer."""
    _ = t.gettext
    row = sheet.session
    lines = [session_line(row, language, tz)]
    if place_text(row):
        lines.append("📍 " + isolate(place_text(row), language))
    lines.append(
        _("Présents : %(present)d sur %(expected)d")
        % {"present": sheet.present, "expected": sheet.expected}
    )
    if sheet.closed:
        lines.append(_("🏁 Feuille terminée."))
        lines.append("")
        lines += [f"{MARK_EMOJI[line.mark]} {isolate(line.name, language)}" for line in sheet.lines]
        buttons = [
            [
                InlineKeyboardButton(
                    _("🔓 Rouvrir"), callback_data=callback_data.encode(REOPEN, row.id)
                )
            ]
        ]
        return rtl_line("\n".join(lines), language), InlineKeyboardMarkup(buttons)
    if sheet.individual:
        lines.append(_("✅ venu · ❌ pas venu · 📝 excusé"))
    else:
        lines.append(_("✅ présent · ❌ absent · 📝 excusé · 🕒 en retard"))
    buttons = [
        [
            InlineKeyboardButton(
                f"{MARK_EMOJI[line.mark]} {line.name}{RSVP_EMOJI[line.rsvp]}"[:60],
                callback_data=callback_data.encode(MARK, row.id, row.sequence, line.participant_id),
            )
        ]
        for line in sheet.lines
    ]
    buttons.append(
        [
            InlineKeyboardButton(
                _("✅ Tous présents"),
                callback_data=callback_data.encode(ALL_PRESENT, row.id, row.sequence),
            ),
            InlineKeyboardButton(
                _("❌ Les autres absents"),
                callback_data=callback_data.encode(REST_ABSENT, row.id, row.sequence),
            ),
        ]
    )
    buttons.append(
        [
            InlineKeyboardButton(
                _("➕ Ajouter"), callback_data=callback_data.encode(GUESTS, row.id)
            ),
            InlineKeyboardButton(_("🏁 Terminé"), callback_data=callback_data.encode(DONE, row.id)),
        ]
    )
    return rtl_line("\n".join(lines), language), InlineKeyboardMarkup(buttons)


def _redraws(context: BotContext) -> SheetRedraws:
    redraws = context.deps.extras["sheet_redraws"]  # built with the application
    assert isinstance(redraws, SheetRedraws)
    return redraws


def _sheet_message(update: Update) -> tuple[int, int] | None:
    query = update.callback_query
    if query is None or query.message is None:
        return None
    return query.message.chat.id, query.message.message_id


def _redraw(update: Update, context: BotContext, who: Who, session_id: int) -> None:
    """Redraw the tapped sheet from the database, soon and coalesced (bot/sheet_redraws.py)."""
    key = _sheet_message(update)
    staff = who.staff
    if key is None or staff is None:
        return
    deps, bot = context.deps, context.bot
    chat_id, message_id = key

    async def draw() -> None:
        async with unit_of_work(deps.sessionmaker) as session:
            sheet = await attendance.open_sheet(
                session, session_id=session_id, staff=staff, now=deps.clock.now(), for_change=False
            )
        if not isinstance(sheet, Sheet):
            return  # cancelled or no longer theirs: the tap's answer already said so
        text, markup = render_sheet(who.t, sheet, who.language, deps.settings.tz)
        try:
            await bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except BadRequest as exc:  # the same content: nothing to redraw
            if "not modified" not in str(exc):
                raise

    _redraws(context).request(key, draw)


async def _refresh_after_problem(
    update: Update, context: BotContext, who: Who, session_id: int, problem: SheetProblem
) -> None:
    """Answer why the tap did nothing, and redraw the sheet as it now is, when it exists."""
    await answer(update, problem_text(who.t, problem))
    if problem not in (SheetProblem.NOT_ALLOWED, SheetProblem.UNKNOWN_SESSION):
        _redraw(update, context, who, session_id)


async def open_sheet(update: Update, context: BotContext) -> None:
    """A session tapped in /today, /past or a nudge: its sheet, as a new message.

    "Back" from the guest list redraws the sheet in the same message instead.
    """
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return
    in_place = (query.data or "").startswith(VIEW)
    values = callback_data.decode_ints(query.data, VIEW if in_place else SHEET, 1)
    if values is None:
        await answer_stale(update, who)
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        sheet = await attendance.open_sheet(
            session, session_id=values[0], staff=who.staff, now=context.deps.clock.now()
        )
    if isinstance(sheet, SheetProblem):
        await answer(update, problem_text(who.t, sheet))
        return
    await query.answer()
    if in_place:
        _redraw(update, context, who, values[0])
    elif update.effective_chat is not None:
        text, markup = render_sheet(who.t, sheet, who.language, context.deps.settings.tz)
        await update.get_bot().send_message(update.effective_chat.id, text, reply_markup=markup)


async def tap_mark(update: Update, context: BotContext) -> None:
    """One tap on a person: their next mark, written, and a toast naming them.

    The role is read in the same query as the sheet (``attendance.decide_tap``); the
    toast goes out while the mark is written; the sheet is redrawn afterwards,
    coalesced. A tap costs three SQL statements and one request to Telegram.
    """
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    values = callback_data.decode_ints(query.data, MARK, 3)
    if values is None:
        who = await staff_only(update, context)
        if who is not None:
            await answer_stale(update, who)
        return
    session_id, sequence, participant_id = values
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        outcome = await attendance.decide_tap(
            session,
            telegram_user_id=user.id,
            session_id=session_id,
            participant_id=participant_id,
            now=deps.clock.now(),
            sequence=sequence,
        )
        who = as_staff(update, context, outcome.staff) if outcome.staff is not None else None
        tapped = outcome.result
        failures = (
            await _write_while_answering(session, query, who, tapped)
            if who is not None and isinstance(tapped, Tapped)
            else []
        )
    if who is None:
        await staff_only(update, context)  # refuses in the sender's language
        return
    if isinstance(tapped, SheetProblem):
        await _refresh_after_problem(update, context, who, session_id, tapped)
        return
    if failures:
        raise failures[0]
    if tapped.mark == Mark.ABSENT:
        # "call NAME" may follow once the mark has settled (bot/core/absence_alerts.py)
        wake_within(context.application, absence_alerts.SETTLE.total_seconds())
    _redraw(update, context, who, session_id)


async def _write_while_answering(
    session: AsyncSession, query: CallbackQuery, who: Who, tapped: Tapped
) -> list[BaseException]:
    """Write the mark and answer the tap at the same time; the failures, if any.

    The toast travels while the mark is written, so a tap costs one round trip to
    Telegram rather than one after the database's. Should the write fail, the error
    handler apologises, and the sheet, redrawn from the database, shows the truth.
    """

    async def write() -> None:
        await attendance.write_tap(session, tapped)
        await session.commit()

    toast = f"{MARK_EMOJI[tapped.mark]} {isolate(tapped.name, who.language)}"[:200]
    results = await asyncio.gather(write(), query.answer(toast), return_exceptions=True)
    return [result for result in results if isinstance(result, BaseException)]


async def tap_many(update: Update, context: BotContext) -> None:
    """ "All present" or "the rest are absent"."""
    who = await staff_only(update, context)
    query = update.callback_query
    if who is None or who.staff is None or query is None:
        return
    prefix = ALL_PRESENT if (query.data or "").startswith(ALL_PRESENT) else REST_ABSENT
    values = callback_data.decode_ints(query.data, prefix, 2)
    if values is None:
        await answer_stale(update, who)
        return
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        result = await attendance.mark_many(
            session,
            session_id=values[0],
            sequence=values[1],
            staff=who.staff,
            now=deps.clock.now(),
            mark=Mark.PRESENT if prefix == ALL_PRESENT else Mark.ABSENT,
            only_unmarked=prefix == REST_ABSENT,
        )
        if isinstance(result, Sheet):
            await session.commit()
    if isinstance(result, SheetProblem):
        await _refresh_after_problem(update, context, who, values[0], result)
        return
    await query.answer()
    if prefix == REST_ABSENT:
        # "call NAME" may follow once the marks have settled (bot/core/absence_alerts.py)
        wake_within(context.application, absence_alerts.SETTLE.total_seconds())
    _redraw(update, context, who, values[0])


async def tap_done(update: Update, context: BotContext) -> None:
    """Done locks the sheet and shows "present n of m"; reopen unlocks it."""
    who = await staff_only(update, context)
    query = update.callback_query
    if who is None or who.staff is None or query is None:
        return
    closing = (query.data or "").startswith(DONE)
    values = callback_data.decode_ints(query.data, DONE if closing else REOPEN, 1)
    if values is None:
        await answer_stale(update, who)
        return
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        result = await attendance.set_closed(
            session, session_id=values[0], staff=who.staff, now=deps.clock.now(), closed=closing
        )
        if isinstance(result, Sheet):
            await session.commit()
    if isinstance(result, SheetProblem):
        await _refresh_after_problem(update, context, who, values[0], result)
        return
    await query.answer()
    _redraw(update, context, who, values[0])


async def show_guests(update: Update, context: BotContext) -> None:
    """Walk-ins and replacements: the referent's participants not yet on this sheet."""
    who = await staff_only(update, context)
    query = update.callback_query
    if who is None or who.staff is None or query is None:
        return
    values = callback_data.decode_ints(query.data, GUESTS, 1)
    if values is None:
        await answer_stale(update, who)
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        sheet = await attendance.open_sheet(
            session, session_id=values[0], staff=who.staff, now=context.deps.clock.now()
        )
        people = await attendance.candidates_for_guest(session, staff=who.staff)
    if isinstance(sheet, SheetProblem):
        await answer(update, problem_text(who.t, sheet))
        return
    on_sheet = {line.participant_id for line in sheet.lines}
    buttons = [
        [
            InlineKeyboardButton(
                f"➕ {p.first_name}"[:60],
                callback_data=callback_data.encode(ADD_GUEST, values[0], p.id),
            )
        ]
        for p in people
        if p.id not in on_sheet
    ][:40]
    buttons.append(
        [
            InlineKeyboardButton(
                who.t.gettext("⬅️ Retour"), callback_data=callback_data.encode(VIEW, values[0])
            )
        ]
    )
    await query.answer()
    key = _sheet_message(update)
    if key is not None:
        await _redraws(context).hold(key)  # a pending redraw must not cover the list
    await query.edit_message_text(
        who.t.gettext("➕ Qui ajouter à cette séance ?"), reply_markup=InlineKeyboardMarkup(buttons)
    )


async def tap_add_guest(update: Update, context: BotContext) -> None:
    who = await staff_only(update, context)
    query = update.callback_query
    if who is None or who.staff is None or query is None:
        return
    values = callback_data.decode_ints(query.data, ADD_GUEST, 2)
    if values is None:
        await answer_stale(update, who)
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        result = await attendance.add_guest(
            session,
            session_id=values[0],
            participant_id=values[1],
            staff=who.staff,
            now=context.deps.clock.now(),
        )
        if isinstance(result, Sheet):
            await session.commit()
    if isinstance(result, SheetProblem):
        await answer(update, problem_text(who.t, result))
        return
    await query.answer()
    _redraw(update, context, who, values[0])


def _day_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
    return start, end


async def today_command(update: Update, context: BotContext) -> None:
    """/today: the day's sessions with ✅ ❌ ❔ counts; a tap opens the sheet."""
    who = await staff_only(update, context)
    if who is None or who.staff is None or update.effective_chat is None:
        return
    _ = who.t.gettext
    deps = context.deps
    start, end = _day_bounds(deps.clock.now(), deps.settings.tz)
    buttons = []
    async with unit_of_work(deps.sessionmaker) as session:
        rows = await attendance.todays_sessions(
            session, staff=who.staff, day_start=start, day_end=end
        )
        for row in rows:
            counts = await rsvp.counts(session, row)
            label = labelled_with_counts(
                session_line(row, who.language, deps.settings.tz),
                f"✅{counts.yes} ❌{counts.no} ❔{counts.unanswered}",
                60,
            )
            buttons.append(
                [InlineKeyboardButton(label, callback_data=callback_data.encode(SHEET, row.id))]
            )
    text = _("📋 Vos séances d'aujourd'hui :") if rows else _("📋 Pas de séance aujourd'hui.")
    await update.get_bot().send_message(
        update.effective_chat.id,
        text,
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


async def past_command(update: Update, context: BotContext) -> None:
    """Sessions of the last 30 days, to correct a mark; a tap opens the sheet."""
    who = await staff_only(update, context)
    if who is None or who.staff is None or update.effective_chat is None:
        return
    deps = context.deps
    now = deps.clock.now()
    async with unit_of_work(deps.sessionmaker) as session:
        rows = await attendance.todays_sessions(
            session, staff=who.staff, day_start=now - attendance.CORRECTION_WINDOW, day_end=now
        )
    buttons = [
        [
            InlineKeyboardButton(
                session_line(row, who.language, deps.settings.tz)[:60],
                callback_data=callback_data.encode(SHEET, row.id),
            )
        ]
        for row in reversed(rows[-30:])
    ]
    text = who.t.gettext("🕘 Séances des 30 derniers jours :")
    if update.callback_query is not None:
        await update.callback_query.answer()
    await update.get_bot().send_message(
        update.effective_chat.id,
        text,
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


async def me_command(update: Update, context: BotContext) -> None:
    """/me: the participant's own attendance in pictures, and their next session."""
    who = await identify(update, context)
    if who is None:
        return
    if who.staff is not None:
        await answer(update, who.t.gettext("Pour l'équipe : /today"))
        return
    await for_one_person(update, context, who, "me")


@person_action("me")
async def _me_for(update: Update, context: BotContext, who: Who) -> None:
    """Only the chosen person's marks, also on a phone a family shares."""
    assert who.participant is not None
    _ = who.t.gettext
    deps = context.deps
    now = deps.clock.now()
    async with unit_of_work(deps.sessionmaker) as session:
        marks = await attendance.own_marks(session, who.participant.id, now=now)
        coming = await schedule.coming_sessions_of_participant(
            session, who.participant.id, now=now, limit=1
        )
    pictures = " ".join(MARK_EMOJI[m.mark] for m in marks) or "—"
    text = _("📊 Vos présences :\n%(marks)s") % {"marks": pictures}
    if coming:
        text += "\n\n" + _("📅 Prochaine activité :\n%(session)s") % {
            "session": session_line(coming[0], who.language, deps.settings.tz)
        }
    await reply(update, who.named(rtl_line(text, who.language)))


async def corrections_command(update: Update, context: BotContext) -> None:
    """/corrections for team leads: the attendance audit trail of the last 30 days."""
    who = await staff_only(update, context)
    if who is None or who.staff is None:
        return
    if not who.staff.sees_everything:
        await answer(update, who.t.gettext("⛔ Réservé aux responsables d'équipe."))
        return
    deps = context.deps
    tz = deps.settings.tz
    async with unit_of_work(deps.sessionmaker) as session:
        trail = await attendance.audit_trail(
            session, since=deps.clock.now() - attendance.CORRECTION_WINDOW
        )
    lines = [who.t.gettext("🧾 Corrections des présences (30 jours) :")]
    for item in trail[-25:]:
        old = MARK_EMOJI[Mark(item.old)] if item.old else MARK_EMOJI[None]
        new = MARK_EMOJI[Mark(item.new)] if item.new else MARK_EMOJI[None]
        when = f"{format_day(item.changed_at, who.language, tz)} " + format_time(
            item.changed_at, who.language, tz
        )
        who_did = isolate(item.staff, who.language)
        person = isolate(item.participant, who.language)
        title = isolate(item.session_title, who.language)
        lines.append(f"{when} · {who_did} · {person} {old}→{new} · {title}")
    await answer(update, rtl_line("\n".join(lines), who.language))


HANDLERS = [
    CommandHandler("corrections", corrections_command),
    CommandHandler("today", today_command),
    CommandHandler("past", past_command),
    CommandHandler("me", me_command),
    CallbackQueryHandler(open_sheet, pattern=callback_data.pattern(SHEET)),
    CallbackQueryHandler(open_sheet, pattern=callback_data.pattern(VIEW)),
    CallbackQueryHandler(tap_mark, pattern=callback_data.pattern(MARK)),
    CallbackQueryHandler(tap_many, pattern=callback_data.pattern(ALL_PRESENT)),
    CallbackQueryHandler(tap_many, pattern=callback_data.pattern(REST_ABSENT)),
    CallbackQueryHandler(tap_done, pattern=callback_data.pattern(DONE)),
    CallbackQueryHandler(tap_done, pattern=callback_data.pattern(REOPEN)),
    CallbackQueryHandler(show_guests, pattern=callback_data.pattern(GUESTS)),
    CallbackQueryHandler(tap_add_guest, pattern=callback_data.pattern(ADD_GUEST)),
]
