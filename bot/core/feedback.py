"""Emoji feedback after collective activities: who is asked, when, and what it adds up to.

Scores are shown only as counts and averages, never with names, and a session shows its
distribution only from ``MIN_ANSWERS`` answers on, so nobody is singled out.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import outbox
from bot.core.reminder_plan import next_allowed_send_time
from storage.models import (
    Attendance,
    FeedbackAnswer,
    FeedbackComment,
    Group,
    Mark,
    Module,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    Session,
    SessionKind,
    SessionStatus,
)

QUESTIONS = ("how", "learned", "welcome", "useful", "again")
MAX_QUESTIONS = 3
MIN_ANSWERS = 3
CHANGE_WINDOW = timedelta(hours=24)
RECHECK = timedelta(minutes=10)
# Four faces with no neutral one, as on the terminals that collect feedback at scale;
# five when a module asks for it. Index 0 is the happiest.
FACES = {4: ("😀", "🙂", "🙁", "😞"), 5: ("😀", "🙂", "😐", "🙁", "😞")}


def parse_questions(text: str) -> tuple[str, ...]:
    """ "how,learned" -> ("how", "learned"); ValueError on unknown keys or more than three."""
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in keys if k not in QUESTIONS]
    if unknown or not keys or len(keys) > MAX_QUESTIONS or len(set(keys)) != len(keys):
        raise ValueError(
            f"give 1 to {MAX_QUESTIONS} different questions among: {', '.join(QUESTIONS)}"
        )
    return keys


def module_questions(module: Module) -> tuple[str, ...]:
    try:
        return parse_questions(module.feedback_questions or "how")
    except ValueError:
        return ("how",)


def faces(scale: int) -> tuple[str, ...]:
    return FACES.get(scale, FACES[4])


def happiness(score: int, scale: int) -> float:
    """0 (saddest) to 1 (happiest): scales of 4 and 5 faces on one axis for charts."""
    return 1 - score / (scale - 1)


class TriggerOutcome(StrEnum):
    ASKED = "asked"
    WAITING = "waiting"  # attendance not recorded yet: look again later today
    GAVE_UP = "gave_up"  # still nothing recorded at the end of the day
    NOT_APPLICABLE = "not_applicable"


async def fire_trigger(
    session: AsyncSession,
    *,
    outbox_id: int,
    session_id: int,
    now: datetime,
    tz: ZoneInfo,
) -> TriggerOutcome:
    """Queue the first question for each participant marked present (late included).

    Without any mark yet, the trigger goes back to the queue for ``RECHECK``, up to the
    end of the session's day. The caller commits.
    """
    row = await session.get(Session, session_id)
    if row is None or row.status != SessionStatus.SCHEDULED:
        return TriggerOutcome.NOT_APPLICABLE
    module = await session.get(Module, row.module_id)
    assert module is not None
    present = (
        await session.scalars(
            select(Attendance.participant_id)
            .join(Participant, Participant.id == Attendance.participant_id)
            .where(
                Attendance.session_id == row.id,
                Attendance.mark.in_([Mark.PRESENT, Mark.LATE]),
                Participant.status == ParticipantStatus.ACTIVE,
                Participant.telegram_chat_id.is_not(None),
            )
        )
    ).all()
    marked = await session.scalar(select(Attendance.id).where(Attendance.session_id == row.id))
    if marked is None:
        local_end = datetime.combine(
            row.ends_at.astimezone(tz).date() + timedelta(days=1), time(0, 0), tzinfo=tz
        )
        if now + RECHECK >= local_end:
            return TriggerOutcome.GAVE_UP
        await outbox.retry_later(session, outbox_id, at=now + RECHECK, error="no attendance yet")
        return TriggerOutcome.WAITING
    first = module_questions(module)[0]
    plan = outbox.module_plan(module)
    due = next_allowed_send_time(now, plan, tz)
    await outbox.insert_rows(
        session,
        [
            {
                "kind": OutboxKind.FEEDBACK,
                "dedupe_key": question_key(row.id, pid, first),
                "participant_id": pid,
                "session_id": row.id,
                "rule_key": first,
                "payload": json.dumps({"question": first}),
                "due_at": due,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
            }
            for pid in present
        ],
    )
    return TriggerOutcome.ASKED


def question_key(session_id: int, participant_id: int, question: str) -> str:
    return f"fbq:{session_id}:{participant_id}:{question}"


class AnswerProblem(StrEnum):
    NOT_ASKED = "not_asked"  # forged, or someone else's button
    CLOSED = "closed"
    BAD_SCORE = "bad_score"


@dataclass(frozen=True)
class Answered:
    question: str
    score: int
    scale: int
    first_time: bool
    next_question: str | None


async def record_answer(
    session: AsyncSession,
    *,
    session_id: int,
    participant_id: int,
    question: str,
    score: int,
    now: datetime,
) -> Answered | AnswerProblem:
    """A face tapped. Allowed only to someone who was asked, within 24 hours of the asking."""
    asked = await session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == question_key(session_id, participant_id, question),
            OutboxMessage.status == OutboxStatus.SENT,
        )
    )
    if asked is None or asked.sent_at is None:
        return AnswerProblem.NOT_ASKED
    if now > asked.sent_at + CHANGE_WINDOW:
        return AnswerProblem.CLOSED
    row = await session.get(Session, session_id)
    assert row is not None
    module = await session.get(Module, row.module_id)
    assert module is not None
    scale = module.feedback_scale if module.feedback_scale in FACES else 4
    if not 0 <= score < scale:
        return AnswerProblem.BAD_SCORE
    existing = await session.scalar(
        select(FeedbackAnswer).where(
            FeedbackAnswer.session_id == session_id,
            FeedbackAnswer.participant_id == participant_id,
            FeedbackAnswer.question == question,
        )
    )
    first_time = existing is None
    if existing is None:
        session.add(
            FeedbackAnswer(
                session_id=session_id,
                participant_id=participant_id,
                question=question,
                score=score,
                scale=scale,
                answered_at=now,
            )
        )
    else:
        existing.score = score
        existing.answered_at = now
    questions = module_questions(module)
    position = questions.index(question) if question in questions else len(questions)
    following = questions[position + 1] if position + 1 < len(questions) else None
    if first_time and following is not None:
        await outbox.insert_rows(
            session,
            [
                {
                    "kind": OutboxKind.FEEDBACK,
                    "dedupe_key": question_key(session_id, participant_id, following),
                    "participant_id": participant_id,
                    "session_id": session_id,
                    "rule_key": following,
                    "payload": json.dumps({"question": following}),
                    "due_at": now,
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
            ],
        )
    await session.flush()
    return Answered(question, score, scale, first_time, following)


@dataclass(frozen=True)
class CurrentAnswer:
    score: int
    scale: int


async def can_change(
    session: AsyncSession, *, session_id: int, participant_id: int, question: str, now: datetime
) -> CurrentAnswer | AnswerProblem:
    """The answer as it stands, if it may still change; else why not."""
    asked = await session.scalar(
        select(OutboxMessage.sent_at).where(
            OutboxMessage.dedupe_key == question_key(session_id, participant_id, question),
            OutboxMessage.status == OutboxStatus.SENT,
        )
    )
    current = await session.scalar(
        select(FeedbackAnswer).where(
            FeedbackAnswer.session_id == session_id,
            FeedbackAnswer.participant_id == participant_id,
            FeedbackAnswer.question == question,
        )
    )
    if asked is None or current is None:
        return AnswerProblem.NOT_ASKED
    if now > asked + CHANGE_WINDOW:
        return AnswerProblem.CLOSED
    return CurrentAnswer(current.score, current.scale)


async def add_comment(
    session: AsyncSession,
    *,
    session_id: int,
    participant_id: int,
    text: str | None,
    voice_file_id: str | None,
    now: datetime,
) -> bool:
    """ "Tell us more", accepted from those who answered this session, within 24 hours."""
    answered = await session.scalar(
        select(FeedbackAnswer.answered_at).where(
            FeedbackAnswer.session_id == session_id,
            FeedbackAnswer.participant_id == participant_id,
        )
    )
    if answered is None or now > answered + CHANGE_WINDOW:
        return False
    session.add(
        FeedbackComment(
            session_id=session_id,
            participant_id=participant_id,
            text=(text or "")[:2000] or None,
            voice_file_id=voice_file_id,
            created_at=now,
        )
    )
    await session.flush()
    return True


@dataclass(frozen=True)
class QuestionSummary:
    question: str
    scale: int
    counts: tuple[int, ...]  # per face, happiest first

    @property
    def answers(self) -> int:
        return sum(self.counts)

    @property
    def average_index(self) -> int:
        """The face nearest to the average score."""
        total = sum(i * n for i, n in enumerate(self.counts))
        return round(total / self.answers) if self.answers else 0

    @property
    def happy_share(self) -> float:
        """The "happy index": the share of the two happy faces."""
        return sum(self.counts[:2]) / self.answers if self.answers else 0.0


@dataclass(frozen=True)
class SessionFeedback:
    session: Session
    respondents: int
    questions: tuple[QuestionSummary, ...]
    comments: tuple[FeedbackComment, ...]

    @property
    def shown(self) -> bool:
        return self.respondents >= MIN_ANSWERS


async def summary(session: AsyncSession, row: Session) -> SessionFeedback:
    """Counts per face and question; comments without names (the query reads no name)."""
    answers = (
        await session.execute(
            select(
                FeedbackAnswer.participant_id,
                FeedbackAnswer.question,
                FeedbackAnswer.score,
                FeedbackAnswer.scale,
            ).where(FeedbackAnswer.session_id == row.id)
        )
    ).all()
    respondents = len({pid for pid, *_rest in answers})
    by_question: dict[str, Counter[int]] = {}
    scales: dict[str, int] = {}
    for _pid, question, score, scale in answers:
        by_question.setdefault(question, Counter())[score] += 1
        scales[question] = scale
    ordered = [q for q in QUESTIONS if q in by_question]
    summaries = tuple(
        QuestionSummary(q, scales[q], tuple(by_question[q][i] for i in range(scales[q])))
        for q in ordered
    )
    comments = tuple(
        (
            await session.scalars(
                select(FeedbackComment)
                .where(FeedbackComment.session_id == row.id)
                .order_by(FeedbackComment.created_at)
            )
        ).all()
    )
    return SessionFeedback(row, respondents, summaries, comments)


async def recent_collective_sessions(
    session: AsyncSession, *, staff_id: int, sees_everything: bool, now: datetime, days: int = 30
) -> list[Session]:
    query = (
        select(Session)
        .where(
            Session.status == SessionStatus.SCHEDULED,
            Session.kind != SessionKind.INTERVIEW,
            Session.group_id.is_not(None),
            Session.ends_at <= now,
            Session.ends_at >= now - timedelta(days=days),
        )
        .order_by(Session.starts_at.desc())
        .limit(15)
    )
    if not sees_everything:
        own = select(Group.id).where(Group.referent_id == staff_id)
        query = query.where((Session.referent_id == staff_id) | Session.group_id.in_(own))
    return list((await session.scalars(query)).all())


@dataclass(frozen=True)
class ChartPoint:
    module: str
    starts_at: datetime
    title: str
    happiness: float  # 0..1 average over answers of all questions


async def chart_points(session: AsyncSession, *, now: datetime, days: int = 92) -> list[ChartPoint]:
    """Average satisfaction per activity over the last months, per module."""
    rows = (
        await session.execute(
            select(
                Module.name,
                Session.id,
                Session.starts_at,
                Session.title,
                FeedbackAnswer.score,
                FeedbackAnswer.scale,
            )
            .join(Session, Session.module_id == Module.id)
            .join(FeedbackAnswer, FeedbackAnswer.session_id == Session.id)
            .where(Session.starts_at >= now - timedelta(days=days), Session.starts_at <= now)
            .order_by(Session.starts_at)
        )
    ).all()
    grouped: dict[int, tuple[str, datetime, str, list[float]]] = {}
    for module, sid, starts_at, title, score, scale in rows:
        grouped.setdefault(sid, (module, starts_at, title, []))[3].append(happiness(score, scale))
    return [
        ChartPoint(module, starts_at, title, sum(values) / len(values))
        for module, starts_at, title, values in grouped.values()
        if len(values) >= MIN_ANSWERS
    ]


async def mark_trigger_done(
    session: AsyncSession, outbox_id: int, status: OutboxStatus, now: datetime
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status=status, sent_at=now, claimed_until=None)
    )
