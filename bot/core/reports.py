"""The figures the funder asks for, computed from the database and nothing else.

Attendance rules come from ``bot.core.attendance`` (late counts as present, excused is
left out of the rate); satisfaction is the share of happiness on a 0-100 scale.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.attendance import counts_as_present
from bot.core.feedback import happiness
from storage.models import (
    Attendance,
    FeedbackAnswer,
    Group,
    Mark,
    Membership,
    Module,
    Participant,
    Session,
    SessionKind,
    SessionStatus,
)


def pseudonym(participant_id: int) -> str:
    """A stable code for a person in reports, without their name."""
    return "P-" + hashlib.sha256(f"activup:{participant_id}".encode()).hexdigest()[:8].upper()


@dataclass
class SessionLine:
    starts_at: datetime
    module: str
    kind: str
    title: str
    cancelled: bool
    hours: float
    present: int = 0
    late: int = 0
    excused: int = 0
    absent: int = 0
    feedback_answers: int = 0
    satisfaction: float | None = None  # 0..100

    @property
    def expected(self) -> int:
        return self.present + self.late + self.excused + self.absent


@dataclass
class ParticipantLine:
    code: str
    name: str | None
    module: str
    expected: int = 0
    attended: int = 0
    excused: int = 0
    hours: float = 0.0

    @property
    def rate(self) -> float | None:
        counted = self.expected - self.excused
        return self.attended / counted if counted else None


@dataclass
class ModuleSummary:
    module: str
    enrolled: int = 0
    active: int = 0
    new: int = 0
    sessions_held: int = 0
    sessions_cancelled: int = 0
    sessions_planned: int = 0  # not started yet when the report was made
    hours: float = 0.0
    hours_individual: float = 0.0
    hours_collective: float = 0.0
    completed: int = 0  # members of a group closed in the period
    dropped_out: int = 0  # left a group in the period, the group still open
    present: int = 0
    counted: int = 0
    satisfaction_values: list[float] = field(default_factory=list)

    @property
    def attendance_rate(self) -> float | None:
        return self.present / self.counted if self.counted else None

    @property
    def satisfaction(self) -> float | None:
        values = self.satisfaction_values
        return round(100 * sum(values) / len(values), 1) if values else None


@dataclass
class Breakdown:
    """Unique participants by a recorded fact; facts nobody recorded are left out."""

    dimension: str  # "gender", "age_band", "nationality_group"
    counts: dict[str, int]


@dataclass
class Report:
    start: datetime
    end: datetime
    modules: list[ModuleSummary]
    sessions: list[SessionLine]
    participants: list[ParticipantLine]
    breakdowns: list[Breakdown] = field(default_factory=list)

    @property
    def unique_participants(self) -> int:
        return len({line.code for line in self.participants if line.attended})


async def build_report(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    with_names: bool = False,
    now: datetime | None = None,
) -> Report:
    """Every figure of the report for sessions starting in ``[start, end)``.

    Only sessions that took place by ``now`` (started, not cancelled) count as held; those
    still to come in the period are counted apart as planned. Without ``now`` the whole
    period is taken as past.
    """
    modules = {m.id: m.name for m in (await session.scalars(select(Module).order_by(Module.id)))}
    summaries = {mid: ModuleSummary(name) for mid, name in modules.items()}
    rows = (
        await session.scalars(
            select(Session)
            .where(Session.starts_at >= start, Session.starts_at < end)
            .order_by(Session.starts_at, Session.id)
        )
    ).all()
    marks = defaultdict(list)
    for attendance in (
        await session.scalars(
            select(Attendance).where(Attendance.session_id.in_([r.id for r in rows] or [-1]))
        )
    ).all():
        marks[attendance.session_id].append(attendance)
    answers = defaultdict(list)
    for answer in (
        await session.scalars(
            select(FeedbackAnswer).where(
                FeedbackAnswer.session_id.in_([r.id for r in rows] or [-1])
            )
        )
    ).all():
        answers[answer.session_id].append(happiness(answer.score, answer.scale))
    people = {p.id: p for p in (await session.scalars(select(Participant))).all()}
    per_person: dict[tuple[int, int], ParticipantLine] = {}
    sessions: list[SessionLine] = []
    for row in rows:
        summary = summaries[row.module_id]
        hours = round((row.ends_at - row.starts_at).total_seconds() / 3600, 2)
        line = SessionLine(
            row.starts_at,
            modules[row.module_id],
            row.kind,
            row.title,
            row.status == SessionStatus.CANCELLED,
            hours,
        )
        if line.cancelled:
            summary.sessions_cancelled += 1
            sessions.append(line)
            continue
        if now is not None and row.starts_at > now:
            summary.sessions_planned += 1
            sessions.append(line)
            continue
        summary.sessions_held += 1
        for mark_row in marks[row.id]:
            mark = Mark(mark_row.mark)
            setattr(line, mark.value, getattr(line, mark.value) + 1)
            key = (mark_row.participant_id, row.module_id)
            person = people.get(mark_row.participant_id)
            entry = per_person.setdefault(
                key,
                ParticipantLine(
                    pseudonym(mark_row.participant_id),
                    person.first_name if with_names and person else None,
                    modules[row.module_id],
                ),
            )
            entry.expected += 1
            if mark == Mark.EXCUSED:
                entry.excused += 1
                continue
            summary.counted += 1
            if counts_as_present(mark):
                entry.attended += 1
                entry.hours += hours
                summary.present += 1
                summary.hours += hours
                if row.kind == SessionKind.INTERVIEW:
                    summary.hours_individual += hours
                else:
                    summary.hours_collective += hours
        values = answers[row.id]
        line.feedback_answers = len(values)
        line.satisfaction = round(100 * sum(values) / len(values), 1) if values else None
        summary.satisfaction_values.extend(values)
        sessions.append(line)
    # Enrolment, completion and drop-out per module, from memberships.
    for module_id, joined_at, left_at, closed_at in (
        await session.execute(
            select(Group.module_id, Membership.joined_at, Membership.left_at, Group.closed_at).join(
                Group, Group.id == Membership.group_id
            )
        )
    ).all():
        if joined_at < end:
            summaries[module_id].enrolled += 1
            if joined_at >= start:
                summaries[module_id].new += 1
        if left_at is not None and start <= left_at < end:
            summaries[module_id].dropped_out += 1
        elif left_at is None and closed_at is not None and start <= closed_at < end:
            summaries[module_id].completed += 1
    for (_participant_id, module_id), entry in per_person.items():
        if entry.attended:
            summaries[module_id].active += 1
    attended = {pid for (pid, _module), entry in per_person.items() if entry.attended}
    return Report(
        start,
        end,
        list(summaries.values()),
        sessions,
        sorted(per_person.values(), key=lambda e: (e.module, e.code)),
        _breakdowns([people[pid] for pid in sorted(attended) if pid in people], end.year),
    )


def age_band(birth_year: int, year: int) -> str:
    age = year - birth_year
    for low, high in ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64)):
        if low <= age <= high:
            return f"{low}-{high}"
    return "<18" if age < 18 else "65+"


# The count of people for whom a fact was not recorded; the report file names it.
NOT_RECORDED = "?"


def _breakdowns(people: list[Participant], year: int) -> list[Breakdown]:
    facts = {
        "gender": [p.gender for p in people],
        "age_band": [age_band(p.birth_year, year) if p.birth_year else None for p in people],
        "nationality_group": [p.nationality_group for p in people],
    }
    out = []
    for dimension, values in facts.items():
        recorded = [v for v in values if v]
        if recorded:
            counts: dict[str, int] = defaultdict(int)
            for value in recorded:
                counts[value] += 1
            counts[NOT_RECORDED] = len(values) - len(recorded)
            out.append(Breakdown(dimension, dict(sorted(counts.items()))))
    return out
