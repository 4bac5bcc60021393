"""/report for team leads: the funder's workbook and a chart, as files in the chat."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

from telegram import Update
from telegram.ext import CommandHandler

from bot.charts import monthly_chart
from bot.context import BotContext
from bot.core.reports import build_report
from bot.handlers.common import answer, staff_only
from bot.report_files import workbook
from storage.db import unit_of_work


async def report_command(update: Update, context: BotContext) -> None:
    """/report [FROM TO]: the last three months by default; leads and admins only."""
    who = await staff_only(update, context)
    if who is None or who.staff is None or update.effective_chat is None:
        return
    _ = who.t.gettext
    if not who.staff.sees_everything:
        await answer(update, _("⛔ Réservé aux responsables d'équipe."))
        return
    tz = context.deps.settings.tz
    today = context.deps.clock.now().astimezone(tz).date()
    try:
        if context.args and len(context.args) == 2:
            first, last = date.fromisoformat(context.args[0]), date.fromisoformat(context.args[1])
        else:
            first, last = today - timedelta(days=92), today
    except ValueError:
        await answer(update, _("⚠️ Écrivez par exemple : /report 2026-09-01 2026-12-31"))
        return
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    months: list[str] = []
    cursor = first.replace(day=1)
    while cursor <= last:
        months.append(cursor.strftime("%m/%Y"))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    rates: dict[str, list[float | None]] = {}
    satisfaction: dict[str, list[float | None]] = {}
    async with unit_of_work(context.deps.sessionmaker) as session:
        report = await build_report(session, start=start, end=end, now=context.deps.clock.now())
        for index, label in enumerate(months):
            month_start = datetime.strptime(label, "%m/%Y").replace(tzinfo=tz)
            month_end = datetime.combine(
                (month_start.date() + timedelta(days=32)).replace(day=1), time(0), tz
            )
            monthly = await build_report(
                session, start=month_start, end=month_end, now=context.deps.clock.now()
            )
            for summary in monthly.modules:
                rates.setdefault(summary.module, [None] * len(months))[index] = (
                    summary.attendance_rate
                )
                satisfaction.setdefault(summary.module, [None] * len(months))[index] = (
                    summary.satisfaction
                )
    await update.get_bot().send_document(
        update.effective_chat.id,
        io.BytesIO(workbook(report, tz, who.t)),
        filename=f"activup-{first.isoformat()}-{last.isoformat()}.xlsx",
        caption=_("📊 Rapport du %(first)s au %(last)s")
        % {"first": first.isoformat(), "last": last.isoformat()},
    )
    await update.get_bot().send_photo(
        update.effective_chat.id, monthly_chart(months, rates, satisfaction, who.t, who.language)
    )


HANDLERS = [CommandHandler("report", report_command)]
