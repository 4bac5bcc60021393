"""A known term, and every figure the report states about it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.core import schedule
from bot.core.reports import NOT_RECORDED, build_report, pseudonym
from bot.i18n import translations
from bot.report_files import summary_csv, workbook
from storage.models import Attendance, FeedbackAnswer, Mark, SessionKind
from tests.core.factories import one_session, programme

BRUSSELS = ZoneInfo("Europe/Brussels")
TERM = (datetime(2026, 11, 30, 23, 0, tzinfo=UTC), datetime(2026, 12, 31, 23, 0, tzinfo=UTC))


async def _term(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=3)
    p0, p1, p2 = prog.participant_ids
    s1 = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    s2 = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 10, 13, tzinfo=UTC), now=clock.now()
    )
    cancelled = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 17, 13, tzinfo=UTC), now=clock.now()
    )
    outside = await one_session(
        sessionmaker, prog.group_id, datetime(2027, 1, 7, 13, tzinfo=UTC), now=clock.now()
    )
    async with sessionmaker() as session:
        interview = await schedule.add_session(
            session,
            group_id=prog.group_id,
            kind=SessionKind.INTERVIEW,
            title="Entretien",
            starts_at=datetime(2026, 12, 4, 9, tzinfo=UTC),
            ends_at=datetime(2026, 12, 4, 10, tzinfo=UTC),
            place=None,
            now=clock.now(),
            participant_id=p0,
        )
        await schedule.cancel_session(session, cancelled, now=clock.now())
        marks = [
            (s1, p0, Mark.PRESENT),
            (s1, p1, Mark.LATE),
            (s1, p2, Mark.ABSENT),
            (s2, p0, Mark.PRESENT),
            (s2, p1, Mark.EXCUSED),
            (s2, p2, Mark.ABSENT),
            (interview.session_id, p0, Mark.PRESENT),
            (outside, p0, Mark.PRESENT),
        ]
        for sid, pid, mark in marks:
            session.add(
                Attendance(session_id=sid, participant_id=pid, mark=mark, recorded_at=clock.now())
            )
        for pid, score in ((p0, 0), (p1, 2)):
            session.add(
                FeedbackAnswer(
                    session_id=s1,
                    participant_id=pid,
                    question="how",
                    score=score,
                    scale=4,
                    answered_at=clock.now(),
                )
            )
        await session.commit()
    return prog


async def test_every_figure_of_a_known_term(sessionmaker, clock):
    clock.set(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    prog = await _term(sessionmaker, clock)
    p0, p1, p2 = prog.participant_ids
    async with sessionmaker() as session:
        report = await build_report(session, start=TERM[0], end=TERM[1])
    insertion = next(m for m in report.modules if m.module == "INSERTION SOCIALE")
    assert (insertion.enrolled, insertion.new, insertion.active) == (3, 3, 2)
    assert (insertion.sessions_held, insertion.sessions_cancelled) == (3, 1)
    assert (insertion.hours, insertion.hours_individual, insertion.hours_collective) == (7, 1, 6)
    assert insertion.attendance_rate == pytest.approx(4 / 6)
    assert insertion.satisfaction == pytest.approx(66.7)
    assert report.unique_participants == 2
    lines = {line.code: line for line in report.participants}
    assert (
        lines[pseudonym(p0)].expected,
        lines[pseudonym(p0)].attended,
        lines[pseudonym(p0)].hours,
    ) == (3, 3, 5)
    assert lines[pseudonym(p1)].rate == 1.0 and lines[pseudonym(p1)].excused == 1
    assert lines[pseudonym(p2)].rate == 0.0
    assert all(line.name is None for line in report.participants)
    others = [m for m in report.modules if m.module != "INSERTION SOCIALE"]
    assert all(m.sessions_held == 0 and m.hours == 0 for m in others)

    book = load_workbook(io.BytesIO(workbook(report, BRUSSELS)))
    assert book.sheetnames == [
        "Résumé",
        "INSERTION SOCIALE",
        "BENEVOLAT",
        "START",
        "Séances",
        "Participants",
        "AMIF",
    ]
    summary = book["Résumé"]
    assert summary.freeze_panes == "A2"
    assert [c.value for c in summary[1]][-3:] == [
        "Terminé",
        "Abandon",
        "Séances prévues (pas encore tenues)",
    ]
    row = [c.value for c in summary[2]]
    assert row == ["INSERTION SOCIALE", 3, 2, 3, 3, 1, 7, 1, 6, pytest.approx(4 / 6), 66.7, 0, 0, 0]
    sessions = book["Séances"]
    first = [c.value for c in sessions[2]]
    assert first[0] == datetime(2026, 12, 3, 14, 0, tzinfo=BRUSSELS).replace(
        tzinfo=None
    )  # Brussels
    assert first[6:11] == [3, 1, 0, 1, 1]  # expected, present, excused, absent, late
    people = book["Participants"]
    assert [c.value for c in people[1]][:2] == ["Code", "Module"], "no name column by default"
    assert "P0 K." not in str([[c.value for c in r] for r in people.iter_rows()])

    text = summary_csv(report).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1][:9] == ["INSERTION SOCIALE", "3", "2", "3", "3", "1", "7,0", "1,0", "6,0"]


async def test_names_appear_only_when_asked(sessionmaker, clock):
    clock.set(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    await _term(sessionmaker, clock)
    async with sessionmaker() as session:
        report = await build_report(session, start=TERM[0], end=TERM[1], with_names=True)
    book = load_workbook(io.BytesIO(workbook(report, BRUSSELS)))
    assert [c.value for c in book["Participants"][1]][:2] == ["Code", "Prénom"]
    assert "P0 K." in str([[c.value for c in r] for r in book["Participants"].iter_rows()])


async def test_funder_breakdowns_count_only_what_staff_recorded(sessionmaker, clock):
    from bot.core import organisation

    clock.set(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    prog = await _term(sessionmaker, clock)
    p0, _p1, p2 = prog.participant_ids
    async with sessionmaker() as session:
        await organisation.set_participant_facts(
            session,
            participant_id=p0,
            gender="f",
            birth_year=1990,
            nationality_group=None,
            now_year=2026,
        )
        await organisation.create_group(
            session,
            module="insertion",
            name="FLE mardi",
            referent_telegram_id=100,
            now=clock.now(),
        )
        await organisation.move_participant(
            session, participant_id=p2, to_group="FLE mardi", now=clock.now()
        )
        await session.commit()
    async with sessionmaker() as session:
        report = await build_report(session, start=TERM[0], end=TERM[1])
    breakdowns = {b.dimension: b.counts for b in report.breakdowns}
    assert breakdowns == {
        "gender": {NOT_RECORDED: 1, "f": 1},
        "age_band": {NOT_RECORDED: 1, "35-44": 1},
    }, "two participants attended; nationality was recorded for nobody, so it is left out"
    insertion = next(m for m in report.modules if m.module == "INSERTION SOCIALE")
    assert insertion.dropped_out == 1
    book = load_workbook(io.BytesIO(workbook(report, BRUSSELS)))
    amif = [[c.value for c in r] for r in book["AMIF"].iter_rows(min_row=2)]
    assert ["Genre", "f", 1] in amif and not any(r[0] == "Nationalité" for r in amif)
    assert ["Genre", "(non renseigné)", 1] in amif
    # The same figures for a Dutch-speaking team lead, with Dutch headers and labels.
    t = translations("nl")
    dutch = load_workbook(io.BytesIO(workbook(report, BRUSSELS, t)))
    assert t.gettext("Résumé") in dutch.sheetnames and t.gettext("Résumé") != "Résumé"
    amif_nl = [[c.value for c in r] for r in dutch["AMIF"].iter_rows(min_row=2)]
    assert [t.gettext("Genre"), "f", 1] in amif_nl
    assert [t.gettext("Genre"), t.gettext("(non renseigné)"), 1] in amif_nl
    assert [r[2] for r in amif_nl] == [r[2] for r in amif], "the same figures"


async def test_a_report_made_mid_term_counts_only_sessions_that_took_place_as_held(
    sessionmaker, clock
):
    # Made on 1 December for the autumn term: the December sessions are still to come.
    made = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    clock.set(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))  # the term was planned in advance
    prog = await programme(sessionmaker, clock.now(), participants=1)
    for month, day in ((11, 17), (11, 24), (12, 7), (12, 14), (12, 21)):
        starts = datetime(2026, month, day, 13, tzinfo=UTC)
        await one_session(sessionmaker, prog.group_id, starts, now=clock.now())
    async with sessionmaker() as session:
        report = await build_report(
            session,
            start=datetime(2026, 8, 31, 22, 0, tzinfo=UTC),
            end=datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
            now=made,
        )
    insertion = next(m for m in report.modules if m.module == "INSERTION SOCIALE")
    assert (insertion.sessions_held, insertion.sessions_planned) == (2, 3)
    book = load_workbook(io.BytesIO(workbook(report, BRUSSELS)))
    rows = [[c.value for c in row] for row in book["Résumé"].iter_rows()]
    headers, insertion_row = rows[0], rows[1]
    assert insertion_row[headers.index("Séances tenues")] == 2
    assert insertion_row[headers.index("Séances prévues (pas encore tenues)")] == 3
    period = next(row for row in book["Résumé"].iter_rows() if row[0].value == "Période")
    assert [c.value.date() for c in period[1:3]] == [date(2026, 9, 1), date(2026, 12, 31)]
    assert [c.number_format for c in period[1:3]] == ["dd/mm/yyyy", "dd/mm/yyyy"]
