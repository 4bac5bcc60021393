"""The report as an XLSX workbook (openpyxl) or a CSV that Belgian Excel opens right.

Dates and numbers are real cells, not text; each sheet has a header row, column widths
and a frozen top row. Times are shown in Brussels time (Excel cells have no time zone).
Headers and labels are in the reader's language (French, unless told otherwise).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.support import NullTranslations
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.core.reports import NOT_RECORDED, ModuleSummary, Report
from bot.i18n import SOURCE_LANGUAGE, translations
from bot.views import kind_labels


def _summary_headers(t: NullTranslations) -> tuple[str, ...]:
    _ = t.gettext
    return (
        _("Module"),
        _("Inscrits"),
        _("Actifs"),
        _("Nouveaux"),
        _("Séances tenues"),
        _("Séances annulées"),
        _("Heures de participation"),
        _("dont individuelles"),
        _("dont collectives"),
        _("Taux de présence"),
        _("Satisfaction moyenne (%)"),
        _("Terminé"),
        _("Abandon"),
        _("Séances prévues (pas encore tenues)"),
    )


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def period_days(report: Report, tz: ZoneInfo) -> tuple[date, date]:
    """The period as the reader gave it: its first and its last day (the end is exclusive)."""
    return _local(report.start, tz).date(), (
        _local(report.end, tz) - timedelta(microseconds=1)
    ).date()


def _summary_row(summary: ModuleSummary) -> list[Any]:
    return [
        summary.module,
        summary.enrolled,
        summary.active,
        summary.new,
        summary.sessions_held,
        summary.sessions_cancelled,
        round(summary.hours, 2),
        round(summary.hours_individual, 2),
        round(summary.hours_collective, 2),
        summary.attendance_rate,
        summary.satisfaction,
        summary.completed,
        summary.dropped_out,
        summary.sessions_planned,
    ]


def _sheet(
    book: Workbook,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    rate_columns: Sequence[int] = (),
) -> Worksheet:
    """A sheet with a bold, frozen header row; ``rate_columns`` (0-based) shown as %."""
    sheet = book.create_sheet(title[:31])
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for index, header in enumerate(headers, start=1):
        width = max(
            [len(str(header))] + [len(str(r[index - 1])) for r in rows if r[index - 1] is not None]
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, width + 2), 60)
    sheet.freeze_panes = "A2"
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "dd/mm/yyyy hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "dd/mm/yyyy"
            elif isinstance(cell.value, float) and cell.column - 1 in rate_columns:
                cell.number_format = "0.0%"
    return sheet


def workbook(report: Report, tz: ZoneInfo, t: NullTranslations | None = None) -> bytes:
    """The funder's workbook, in the language of ``t`` (French by default)."""
    t = t or translations(SOURCE_LANGUAGE)
    _ = t.gettext
    book = Workbook()
    book.remove(book.active)
    summaries = [_summary_row(s) for s in report.modules]
    summary = _sheet(book, _("Résumé"), _summary_headers(t), summaries, rate_columns=(9,))
    summary.append([])
    summary.append([_("Participants uniques"), report.unique_participants])
    summary.append([_("Période"), *period_days(report, tz)])
    for cell in summary[summary.max_row][1:]:
        cell.number_format = "dd/mm/yyyy"
    session_headers = (
        _("Date"),
        _("Module"),
        _("Type"),
        _("Activité"),
        _("Annulée"),
        _("Heures"),
        _("Attendus"),
        _("Présents"),
        _("Excusés"),
        _("Absents"),
        _("En retard"),
        _("Avis"),
        _("Satisfaction (%)"),
    )
    kinds = kind_labels(t)
    session_rows = [
        [
            _local(s.starts_at, tz),
            s.module,
            kinds.get(s.kind, s.kind),
            s.title,
            _("oui") if s.cancelled else _("non"),
            s.hours,
            s.expected,
            s.present,
            s.excused,
            s.absent,
            s.late,
            s.feedback_answers,
            s.satisfaction,
        ]
        for s in report.sessions
    ]
    for module in report.modules:
        _sheet(
            book, module.module, session_headers, [r for r in session_rows if r[1] == module.module]
        )
    _sheet(book, _("Séances"), session_headers, session_rows)
    with_names = any(p.name for p in report.participants)
    person_headers = (
        _("Code"),
        *([_("Prénom")] if with_names else []),
        _("Module"),
        _("Séances attendues"),
        _("Présences"),
        _("Excusées"),
        _("Heures"),
        _("Taux de présence"),
    )
    _sheet(
        book,
        _("Participants"),
        person_headers,
        [
            [
                p.code,
                *([p.name] if with_names else []),
                p.module,
                p.expected,
                p.attended,
                p.excused,
                round(p.hours, 2),
                p.rate,
            ]
            for p in report.participants
        ],
        rate_columns=(len(person_headers) - 1,),
    )
    labels = {
        "gender": _("Genre"),
        "age_band": _("Tranche d'âge"),
        "nationality_group": _("Nationalité"),
    }
    amif_rows: list[list[Any]] = [[_("Participants uniques"), "", report.unique_participants]]
    for breakdown in report.breakdowns:
        amif_rows += [
            [labels[breakdown.dimension], _("(non renseigné)") if k == NOT_RECORDED else k, v]
            for k, v in breakdown.counts.items()
        ]
    _sheet(book, "AMIF", (_("Indicateur"), _("Valeur"), _("Participants")), amif_rows)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def summary_csv(report: Report, t: NullTranslations | None = None) -> bytes:
    """The summary per module, ``;``-separated and ``utf-8-sig``: Belgian Excel reads it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(_summary_headers(t or translations(SOURCE_LANGUAGE)))
    for summary in report.modules:
        row = _summary_row(summary)
        writer.writerow(
            [
                "" if v is None else str(v).replace(".", ",") if isinstance(v, float) else v
                for v in row
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")
