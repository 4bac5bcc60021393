"""The report as an XLSX workbook (openpyxl) or a CSV that Belgian Excel opens right.

Dates and numbers are real cells, not text; each sheet has a header row, column widths
and a frozen top row. Times are shown in Brussels time (Excel cells have no time zone).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.core.reports import ModuleSummary, Report

SUMMARY_HEADERS = (
    "Module",
    "Inscrits",
    "Actifs",
    "Nouveaux",
    "Séances tenues",
    "Séances annulées",
    "Heures de participation",
    "dont individuelles",
    "dont collectives",
    "Taux de présence",
    "Satisfaction moyenne (%)",
    "Terminé",
    "Abandon",
)


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


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
    ]


def _sheet(
    book: Workbook, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Worksheet:
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
            elif isinstance(cell.value, float) and headers[cell.column - 1].startswith("Taux"):
                cell.number_format = "0.0%"
    return sheet


def workbook(report: Report, tz: ZoneInfo) -> bytes:
    book = Workbook()
    book.remove(book.active)
    summaries = [_summary_row(s) for s in report.modules]
    _sheet(book, "Résumé", SUMMARY_HEADERS, summaries)
    summary = book["Résumé"]
    summary.append([])
    summary.append(["Participants uniques", report.unique_participants])
    summary.append(["Période", _local(report.start, tz), _local(report.end, tz)])
    session_headers = (
        "Date",
        "Module",
        "Type",
        "Activité",
        "Annulée",
        "Heures",
        "Attendus",
        "Présents",
        "Excusés",
        "Absents",
        "En retard",
        "Avis",
        "Satisfaction (%)",
    )
    session_rows = [
        [
            _local(s.starts_at, tz),
            s.module,
            s.kind,
            s.title,
            "oui" if s.cancelled else "non",
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
    _sheet(book, "Séances", session_headers, session_rows)
    with_names = any(p.name for p in report.participants)
    person_headers = (
        "Code",
        *(["Prénom"] if with_names else []),
        "Module",
        "Séances attendues",
        "Présences",
        "Excusées",
        "Heures",
        "Taux de présence",
    )
    _sheet(
        book,
        "Participants",
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
    )
    labels = {"gender": "Genre", "age_band": "Tranche d'âge", "nationality_group": "Nationalité"}
    amif_rows: list[list[Any]] = [["Participants uniques", "", report.unique_participants]]
    for breakdown in report.breakdowns:
        amif_rows += [[labels[breakdown.dimension], k, v] for k, v in breakdown.counts.items()]
    _sheet(book, "AMIF", ("Indicateur", "Valeur", "Participants"), amif_rows)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def summary_csv(report: Report) -> bytes:
    """The summary per module, ``;``-separated and ``utf-8-sig``: Belgian Excel reads it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(SUMMARY_HEADERS)
    for summary in report.modules:
        row = _summary_row(summary)
        writer.writerow(
            [
                "" if v is None else str(v).replace(".", ",") if isinstance(v, float) else v
                for v in row
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")
