"""The outbox: every message the bot owes someone is a row with a due time.

Planning writes rows idempotently (a unique ``dedupe_key``); the dispatcher claims due
rows under a lease, sends them, and records the Telegram message id. Each claim carries a
fence (the claimant and its lease version, ``attempts``): only the current claimant can
record a row's outcome, retry it or renew its lease. A claim is taken from another
process only when its lease is over and that process no longer beats its heartbeat;
a live process takes back its own claims after a database fault. A crash between
sending and recording leaves a stale claim that is retried: at most the sends that were
open at the crash go out twice, and nothing is lost. On PostgreSQL the claim uses
``FOR UPDATE SKIP LOCKED`` so two processes never take the same row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core import absence_alerts
from bot.core.alert_kinds import AlertKind
from bot.core.reminder_plan import DEFAULT_PLAN, ReminderPlan, plan_reminders
from bot.core.schedule import ChangeKind, SessionChange, expected_participants
from storage.db import insert_for
from storage.models import (
    AbsencePeriod,
    Group,
    Membership,
    Module,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    SenderHeartbeat,
    Session,
    SessionKind,
    SessionStatus,
)

DEFAULT_LEASE = timedelta(seconds=60)
PLANNING_HORIZON = timedelta(days=60)


class Verdict(StrEnum):
    SEND = "send"
    SKIP = "skip"  # no longer relevant: left the group, /stop, session cancelled or moved
    EXPIRE = "expire"  # fell due while the bot was down, and the session has begun


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from its database session (safe to hold across a send)."""

    id: int
    kind: OutboxKind
    participant_id: int | None
    staff_id: int | None
    session_id: int | None
    rule_key: str | None
    payload: dict[str, Any]
    due_at: datetime
    attempts: int
    claimed_by: str = ""
    maybe_sent: bool = False  # an earlier send may have reached Telegram: no second retry

    @property
    def fence(self) -> tuple[str, int]:
        """The claimant and its lease version: a newer claim of the row has another."""
        return (self.claimed_by, self.attempts)


async def _insert_ignore(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows whose dedupe key is new; a concurrent planner's rows win silently."""
    if not rows:
        return
    # executemany needs the same keys in every row: absent ones are NULL.
    keys = set().union(*(row.keys() for row in rows))
    rows = [{key: row.get(key) for key in keys} for row in rows]
    insert = insert_for(session.get_bind().dialect.name)
    # executemany form: SQLAlchemy batches it ("insertmanyvalues") without recompiling.
    statement = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
    await session.execute(statement, list(rows))


async def insert_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add outbox rows whose dedupe key is new (for other parts of the domain)."""
    await _insert_ignore(session, rows)


def module_plan(module: Module) -> ReminderPlan:
    if module.reminder_plan:
        return ReminderPlan.parse(module.reminder_plan)
    return DEFAULT_PLAN


def reminder_key(session_id: int, participant_id: int, rule_key: str, starts_at: datetime) -> str:
    # The start time is part of the key: a moved session gets fresh reminders, and the
    # ones planned for the old time are skipped.
    return f"rem:{session_id}:{participant_id}:{rule_key}:{int(starts_at.timestamp())}"


async def plan_session(
    session: AsyncSession, session_id: int, *, now: datetime, tz: ZoneInfo
) -> int:
    """Bring one session's reminder rows in line with its time and its participants.

    Idempotent: planning twice adds nothing. Returns the number of reminders wanted.
    """
    return await _plan(session, Session.id == session_id, now=now, tz=tz)


async def plan_coming(
    session: AsyncSession,
    *,
    now: datetime,
    tz: ZoneInfo,
    horizon: timedelta = PLANNING_HORIZON,
) -> int:
    """Plan every session of the coming weeks: on start, and after group changes."""
    return await _plan(
        session,
        (Session.starts_at > now) & (Session.starts_at < now + horizon),
        now=now,
        tz=tz,
    )


async def _plan(session: AsyncSession, which: Any, *, now: datetime, tz: ZoneInfo) -> int:
    """Plan the sessions matching ``which`` in a handful of queries, whatever their number.

    Sessions, members and existing rows are read in bulk, the plan is computed once per
    session (not per participant), and rows are written in chunks.
    """
    rows = (await session.execute(select(Session, Module).join(Module).where(which))).all()
    if not rows:
        return 0
    session_ids = [row.id for row, _module in rows]
    group_ids = {row.group_id for row, _module in rows if row.group_id is not None}
    single_ids = {row.participant_id for row, _module in rows if row.participant_id is not None}
    members: dict[int, list[int]] = {}
    reachable = (
        Participant.status == ParticipantStatus.ACTIVE
    ) & Participant.telegram_chat_id.is_not(None)
    for chunk in _chunks(sorted(group_ids)):
        for group_id, participant_id in (
            await session.execute(
                select(Membership.group_id, Membership.participant_id)
                .join(Participant, Participant.id == Membership.participant_id)
                .where(Membership.group_id.in_(chunk), Membership.left_at.is_(None), reachable)
            )
        ).all():
            members.setdefault(group_id, []).append(participant_id)
    reachable_singles: set[int] = set()
    for chunk in _chunks(sorted(single_ids)):
        reachable_singles.update(
            (
                await session.scalars(
                    select(Participant.id).where(Participant.id.in_(chunk), reachable)
                )
            ).all()
        )
    pending: dict[str, int] = {}
    pending_due: dict[str, datetime] = {}
    known: set[str] = set()
    # Rows that follow from a session's time: replaced when the session moves.
    timed = (OutboxMessage.kind.in_([OutboxKind.REMINDER, OutboxKind.FEEDBACK_TRIGGER])) | (
        OutboxMessage.dedupe_key.startswith("nudge:")
    )
    for chunk in _chunks(session_ids):
        for outbox_id, key, status, due_at in (
            await session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.dedupe_key,
                    OutboxMessage.status,
                    OutboxMessage.due_at,
                ).where(OutboxMessage.session_id.in_(chunk), timed)
            )
        ).all():
            known.add(key)
            if status == OutboxStatus.PENDING:
                pending[key] = outbox_id
                pending_due[key] = due_at
    plans: dict[str | None, ReminderPlan] = {}
    wanted: dict[str, dict[str, Any]] = {}
    catch_ups: set[str] = set()
    for row, module in rows:
        if row.status != SessionStatus.SCHEDULED or row.starts_at <= now:
            continue
        if module.reminder_plan not in plans:
            plans[module.reminder_plan] = module_plan(module)
        planned = plan_reminders(row.starts_at, plans[module.reminder_plan], tz=tz, now=now)
        if row.participant_id is not None:
            people = [row.participant_id] if row.participant_id in reachable_singles else []
        else:
            people = members.get(row.group_id or -1, [])
        for participant_id in people:
            for reminder in planned:
                key = reminder_key(row.id, participant_id, reminder.rule_key, row.starts_at)
                if reminder.catch_up:
                    catch_ups.add(key)
                wanted[key] = {
                    "kind": OutboxKind.REMINDER,
                    "dedupe_key": key,
                    "participant_id": participant_id,
                    "session_id": row.id,
                    "rule_key": reminder.rule_key,
                    "due_at": reminder.due_at,
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
    staff_rows = _digest_rows(rows, now=now, tz=tz)
    for values in staff_rows + _feedback_triggers(rows, now=now):
        if values.get("session_id") is not None:
            wanted[str(values["dedupe_key"])] = values
    digests = [v for v in staff_rows if v.get("session_id") is None]
    stale = [outbox_id for key, outbox_id in pending.items() if key not in wanted]
    for chunk in _chunks(stale):
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chunk), OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SKIPPED, last_error="replanned")
        )
    # A reminder whose slot went by while the bot was down goes when quiet hours end, not
    # at once in the night: its row keeps its key (no second reminder) and takes the time.
    for key in catch_ups:
        values = wanted[key]
        if key in pending_due and values["due_at"] != pending_due[key]:
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == pending[key], OutboxMessage.status == OutboxStatus.PENDING
                )
                .values(due_at=values["due_at"])
            )
    fresh = [values for key, values in wanted.items() if key not in known]
    for start in range(0, len(fresh), 500):
        await _insert_ignore(session, fresh[start : start + 500])
    await _insert_ignore(session, digests)
    return sum(1 for key in wanted if key.startswith("rem:"))


def _feedback_triggers(rows: Sequence[Any], *, now: datetime) -> list[dict[str, Any]]:
    """After each collective session, one row that will ask those marked present."""
    out = []
    for row, module in rows:
        if row.status != SessionStatus.SCHEDULED or row.group_id is None:
            continue
        if row.kind == SessionKind.INTERVIEW:
            continue
        due = row.ends_at + timedelta(minutes=module.feedback_delay_minutes)
        if due <= now:
            continue
        out.append(
            {
                "kind": OutboxKind.FEEDBACK_TRIGGER,
                "dedupe_key": f"fbt:{row.id}:{int(row.ends_at.timestamp())}",
                "session_id": row.id,
                "due_at": due,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
            }
        )
    return out


DIGEST_AT = time(8, 0)
DIGEST_FRESH = timedelta(hours=1)


def _digest_rows(rows: Sequence[Any], *, now: datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Staff messages that follow from the calendar.

    One morning digest per referent and day with sessions, at 08:00 (earlier if a session
    starts before 09:00), and, when a session ends, a nudge to record attendance. Both are
    rendered when they are sent, so they show the state of that moment.
    """
    out: dict[str, dict[str, Any]] = {}

    def add(
        key: str, staff_id: int, due: datetime, payload: dict[str, str], sid: int | None
    ) -> None:
        current = out.get(key)
        if current is None or due < current["due_at"]:
            out[key] = {
                "kind": OutboxKind.STAFF_ALERT,
                "dedupe_key": key,
                "staff_id": staff_id,
                "session_id": sid,
                "payload": json.dumps(payload),
                "due_at": due,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
            }

    for row, _module in rows:
        if row.status != SessionStatus.SCHEDULED:
            continue
        if row.ends_at > now:
            add(
                f"nudge:{row.id}:{int(row.ends_at.timestamp())}",
                row.referent_id,
                row.ends_at,
                {"alert": AlertKind.RECORD_ATTENDANCE},
                row.id,
            )
        local_day = row.starts_at.astimezone(tz).date()
        due = min(
            datetime.combine(local_day, DIGEST_AT, tzinfo=tz).astimezone(UTC),
            row.starts_at - timedelta(hours=1),
        )
        if due > now:
            add(
                f"digest:{row.referent_id}:{local_day.isoformat()}",
                row.referent_id,
                due,
                {"alert": AlertKind.DIGEST, "day": local_day.isoformat()},
                None,
            )
    return list(out.values())


def _chunks(values: Sequence[int]) -> list[Sequence[int]]:
    """Keep IN lists well under SQLite's bound-parameter limit."""
    return [values[i : i + 900] for i in range(0, len(values), 900)]


async def notify_change(
    session: AsyncSession, change: SessionChange, *, now: datetime, tz: ZoneInfo
) -> int:
    """A moved or cancelled session: a notice to each participant concerned, then replan.

    Returns how many can be reached: those known to have blocked the bot get the notice
    too (they may have come back) but are not counted; :func:`unreachable_names` names them.
    """
    await plan_session(session, change.session_id, now=now, tz=tz)
    if change.kind not in (ChangeKind.MOVED, ChangeKind.CANCELLED):
        return 0
    row = await session.get(Session, change.session_id)
    assert row is not None
    return await _notice(session, row, str(change.kind), change.previous_start, "chg", now=now)


async def notify_series_move(
    session: AsyncSession,
    changes: Sequence[SessionChange],
    *,
    now: datetime,
    tz: ZoneInfo,
) -> int:
    """A whole series moved: replan each session, but tell each participant once.

    Eighteen "moved" messages for one change of hour would drown the one that matters;
    the notice names the first coming session and its old time ("from now on 10:00
    instead of 09:30").
    """
    for change in changes:
        await plan_session(session, change.session_id, now=now, tz=tz)
    first = min(changes, key=lambda c: c.previous_start or now)
    row = await session.get(Session, first.session_id)
    assert row is not None
    return await _notice(session, row, "series_moved", first.previous_start, "chgs", now=now)


async def _notice(
    session: AsyncSession,
    row: Session,
    change: str,
    previous_start: datetime | None,
    key_prefix: str,
    *,
    now: datetime,
) -> int:
    payload = json.dumps(
        {
            "change": change,
            "previous_start": previous_start.isoformat() if previous_start else None,
        }
    )
    rows = [
        {
            "kind": OutboxKind.NOTICE,
            "dedupe_key": f"{key_prefix}:{row.id}:{participant.id}:{row.sequence}",
            "participant_id": participant.id,
            "session_id": row.id,
            "payload": payload,
            "due_at": now,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for participant in await expected_participants(session, row)
        if participant.status == ParticipantStatus.ACTIVE and participant.telegram_chat_id
    ]
    await _insert_ignore(session, rows)
    return len(rows) - len(await unreachable_names(session, row))


async def unreachable_names(session: AsyncSession, row: Session) -> list[str]:
    """First names of the session's participants whose last message bounced (blocked bot)."""
    return [
        participant.first_name
        for participant in await expected_participants(session, row)
        if participant.status == ParticipantStatus.ACTIVE
        and participant.telegram_chat_id
        and participant.unreachable_at is not None
    ]


async def alert_staff(
    session: AsyncSession,
    *,
    staff_id: int,
    dedupe_key: str,
    payload: dict[str, Any],
    now: datetime,
    due_at: datetime | None = None,
    session_id: int | None = None,
    participant_id: int | None = None,
) -> None:
    """A message for a referent (a late decline, someone unreachable), sent once.

    While the alert is still pending, a newer call updates it (a decline, then its reason,
    make one message, not two).
    """
    await _insert_ignore(
        session,
        [
            {
                "kind": OutboxKind.STAFF_ALERT,
                "dedupe_key": dedupe_key,
                "staff_id": staff_id,
                "session_id": session_id,
                "participant_id": participant_id,
                "payload": json.dumps(payload),
                "due_at": due_at or now,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
            }
        ],
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.status == OutboxStatus.PENDING)
        .values(payload=json.dumps(payload), due_at=due_at or now)
    )


def _due(now: datetime, takeable: Any) -> Any:
    """Due now, not waiting for a retry, and not overtaking an earlier message to the same
    person that is still on its way (a failed send must not reorder a participant's
    messages)."""
    earlier = aliased(OutboxMessage)
    overtakes = (
        select(earlier.id)
        .where(
            earlier.participant_id == OutboxMessage.participant_id,
            earlier.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
            earlier.due_at <= now,
            or_(
                earlier.due_at < OutboxMessage.due_at,
                (earlier.due_at == OutboxMessage.due_at) & (earlier.id < OutboxMessage.id),
            ),
        )
        .exists()
    )
    waiting = (
        (OutboxMessage.status == OutboxStatus.PENDING)
        & (OutboxMessage.due_at <= now)
        & (OutboxMessage.retry_at.is_(None) | (OutboxMessage.retry_at <= now))
    )
    return or_(waiting, takeable) & (OutboxMessage.participant_id.is_(None) | ~overtakes)


@dataclass(frozen=True)
class ClaimRules:
    """Which rows in ``sending`` a process may take, besides the pending ones.

    A claim's lease protects a live claimant; a claimant is live while its heartbeat
    (``bot/core/senders.py``) is fresh. So a process takes another's claim only when both
    the lease is over and the claimant is no longer seen, and it takes back its own claims
    that it no longer holds in memory (after a database fault) without waiting for their
    lease. ``alive_since`` None: no heartbeats are consulted (a lease alone decides).
    """

    instance_id: str
    alive_since: datetime | None = None
    take_others: bool = True  # False for a while after this process saw a database fault
    resume_own: bool = False  # take back own claims, except those in ``holding``
    holding: frozenset[int] = frozenset()  # own claims still in this process's hands


def _takeable(now: datetime, rules: ClaimRules) -> Any:
    """Rows in ``sending`` that ``rules`` allow this process to take."""
    lease_over = OutboxMessage.claimed_until.is_(None) | (OutboxMessage.claimed_until <= now)
    own: Any = (OutboxMessage.claimed_by == rules.instance_id) & lease_over
    if rules.resume_own:
        own = OutboxMessage.claimed_by == rules.instance_id
        if rules.holding:
            own = own & OutboxMessage.id.not_in(sorted(rules.holding))
    others = (OutboxMessage.claimed_by != rules.instance_id) | OutboxMessage.claimed_by.is_(None)
    if not rules.take_others:
        return (OutboxMessage.status == OutboxStatus.SENDING) & own
    if rules.alive_since is not None:
        alive = (
            select(SenderHeartbeat.instance_id)
            .where(
                SenderHeartbeat.instance_id == OutboxMessage.claimed_by,
                SenderHeartbeat.seen_at > rules.alive_since,
            )
            .exists()
        )
        others = others & ~alive
    return (OutboxMessage.status == OutboxStatus.SENDING) & (own | (others & lease_over))


async def claim_next(
    session: AsyncSession,
    *,
    now: datetime,
    instance_id: str,
    lease: timedelta = DEFAULT_LEASE,
) -> Claimed | None:
    """Take the oldest due row (or a stale claim) and commit the claim before sending."""
    batch = await claim_batch(session, now=now, instance_id=instance_id, lease=lease, limit=1)
    return batch[0] if batch else None


async def claim_batch(
    session: AsyncSession,
    *,
    now: datetime,
    instance_id: str,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 20,
    rules: ClaimRules | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due rows in one transaction, oldest first, and commit.

    Each claim bumps ``attempts``: the claimant and that number are the claim's fence
    (``Claimed.fence``), and only the current claimant can finish, retry or renew the row.
    Rows claimed and not yet sent come back after their lease. An empty list means nothing
    is due: rows lost to another process are retried.
    """
    rules = rules or ClaimRules(instance_id)
    free = (OutboxMessage.status == OutboxStatus.PENDING) | _takeable(now, rules)
    for _attempt in range(20):
        query = (
            select(OutboxMessage)
            .where(_due(now, _takeable(now, rules)))
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = (await session.scalars(query)).all()
        if not rows:
            await session.rollback()
            return []
        claimed = []
        for row in rows:
            # Conditional update: on SQLite, where there are no row locks, this is what
            # makes the claim exclusive between processes.
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, free)
                .values(
                    status=OutboxStatus.SENDING,
                    claimed_by=instance_id,
                    claimed_until=now + lease,
                    attempts=OutboxMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append(
                    Claimed(
                        id=row.id,
                        kind=OutboxKind(row.kind),
                        participant_id=row.participant_id,
                        staff_id=row.staff_id,
                        session_id=row.session_id,
                        rule_key=row.rule_key,
                        payload=json.loads(row.payload) if row.payload else {},
                        due_at=row.due_at,
                        attempts=row.attempts + 1,
                        claimed_by=instance_id,
                        maybe_sent=bool(row.maybe_sent),
                    )
                )
        await session.commit()
        if claimed:
            return claimed
    return []


def _fenced(claim: Claimed | None) -> Any:
    """Only the current claimant may change a claimed row (no condition without a claim)."""
    if claim is None:
        return true()
    return (
        (OutboxMessage.status == OutboxStatus.SENDING)
        & (OutboxMessage.claimed_by == claim.claimed_by)
        & (OutboxMessage.attempts == claim.attempts)
    )


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed send, kept in memory until the database has it."""

    claim: Claimed
    status: OutboxStatus  # SENT, FAILED, SKIPPED, EXPIRED; PENDING: try again at retry_at
    at: datetime
    message_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None
    maybe_sent: bool = False


def _outcome_statement(outcome: Outcome) -> Any:
    statement = update(OutboxMessage).where(
        OutboxMessage.id == outcome.claim.id, _fenced(outcome.claim)
    )
    error = outcome.error[:200] if outcome.error else None
    if outcome.status == OutboxStatus.PENDING:
        values: dict[str, Any] = {
            "status": OutboxStatus.PENDING,
            "retry_at": outcome.retry_at,
            "claimed_until": None,
            "last_error": error,
        }
        if outcome.maybe_sent:
            values["maybe_sent"] = True
        return statement.values(**values)
    return statement.values(
        status=outcome.status,
        sent_at=outcome.at if outcome.status == OutboxStatus.SENT else None,
        telegram_message_id=outcome.message_id,
        last_error=error,
        claimed_until=None,
    )


async def record_outcomes(session: AsyncSession, outcomes: Sequence[Outcome]) -> list[bool]:
    """Write what became of claimed sends, in one transaction, and commit.

    Returns, per outcome, whether the row was still its claimant's: a row taken over by
    another process after its lease keeps the newer claim.
    """
    recorded = []
    for outcome in outcomes:
        result = await session.execute(_outcome_statement(outcome))
        recorded.append(getattr(result, "rowcount", 0) == 1)
    await session.commit()
    return recorded


async def finish(
    session: AsyncSession,
    outbox_id: int,
    status: OutboxStatus,
    *,
    now: datetime,
    message_id: int | None = None,
    error: str | None = None,
    claim: Claimed | None = None,
) -> bool:
    """Record a row's end; with ``claim``, only if it is still that claim (see ``_fenced``)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, _fenced(claim))
        .values(
            status=status,
            sent_at=now if status == OutboxStatus.SENT else None,
            telegram_message_id=message_id,
            last_error=error[:200] if error else None,
            claimed_until=None,
        )
    )
    await session.commit()
    return getattr(result, "rowcount", 0) == 1


async def retry_later(
    session: AsyncSession,
    outbox_id: int,
    *,
    at: datetime,
    error: str,
    claim: Claimed | None = None,
) -> bool:
    """Give a claimed row back, to try again at ``at`` (network error, 429).

    Its due time stays, so it keeps its place before the person's later messages.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, _fenced(claim))
        .values(
            status=OutboxStatus.PENDING, retry_at=at, claimed_until=None, last_error=error[:200]
        )
    )
    await session.commit()
    return getattr(result, "rowcount", 0) == 1


async def renew_claims(
    session: AsyncSession, claims: Sequence[Claimed], *, now: datetime, lease: timedelta
) -> set[int]:
    """Extend the leases of claims still held (waiting in the rate limiter), and commit.

    Returns the ids renewed: a claim another process took after its lease is not.
    """
    renewed: set[int] = set()
    for chunk in _chunks([c.id for c in claims]):
        wanted = [(c.id, c.attempts) for c in claims if c.id in set(chunk)]
        if not wanted:
            continue
        claimant = claims[0].claimed_by
        result = await session.execute(
            update(OutboxMessage)
            .where(
                tuple_(OutboxMessage.id, OutboxMessage.attempts).in_(wanted),
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_by == claimant,
            )
            .values(claimed_until=now + lease)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        renewed.update(result.scalars().all())
    await session.commit()
    return renewed


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the dispatcher must wake next (a pending row or a claim that will go stale)."""
    pending = await session.scalar(
        select(func.min(func.coalesce(OutboxMessage.retry_at, OutboxMessage.due_at))).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    stale = await session.scalar(
        select(func.min(OutboxMessage.claimed_until)).where(
            OutboxMessage.status == OutboxStatus.SENDING
        )
    )
    candidates = [moment for moment in (pending, stale) if moment is not None]
    return min(candidates) if candidates else None


async def verdict_for(session: AsyncSession, claimed: Claimed, *, now: datetime) -> Verdict:
    """Decide, at sending time, whether a claimed participant message still makes sense."""
    if claimed.kind == OutboxKind.STAFF_ALERT:
        alert = AlertKind.of(claimed.payload)
        if alert in absence_alerts.KINDS and claimed.participant_id and claimed.session_id:
            holds = await absence_alerts.still_holds(
                session,
                alert=str(alert),
                session_id=claimed.session_id,
                participant_id=claimed.participant_id,
            )
            return Verdict.SEND if holds else Verdict.SKIP
        if alert == AlertKind.DIGEST and now > claimed.due_at + DIGEST_FRESH:
            return Verdict.EXPIRE  # a morning digest read at noon is noise
        if alert == AlertKind.RECORD_ATTENDANCE and claimed.session_id is not None:
            row = await session.get(Session, claimed.session_id)
            if row is None or row.status != SessionStatus.SCHEDULED:
                return Verdict.SKIP
            if row.attendance_closed_at is not None:
                return Verdict.SKIP  # already recorded: no nudge needed
            if now > claimed.due_at + timedelta(days=1):
                return Verdict.EXPIRE
        return Verdict.SEND
    if claimed.participant_id is None:
        return Verdict.SKIP
    participant = await session.get(Participant, claimed.participant_id)
    if (
        participant is None
        or participant.status != ParticipantStatus.ACTIVE
        or participant.telegram_chat_id is None
    ):
        return Verdict.SKIP
    if claimed.session_id is None:
        return Verdict.SEND
    row = await session.get(Session, claimed.session_id)
    if row is None:
        return Verdict.SKIP
    if claimed.kind == OutboxKind.NOTICE:
        # A notice the session's later fate contradicts (moved, then cancelled) stays
        # unsent: the newer notice says what holds.
        cancelled_notice = claimed.payload.get("change") == "cancelled"
        if cancelled_notice != (row.status == SessionStatus.CANCELLED):
            return Verdict.SKIP
        return Verdict.SEND if row.ends_at > now else Verdict.EXPIRE
    if claimed.kind == OutboxKind.FEEDBACK:
        if row.status != SessionStatus.SCHEDULED:
            return Verdict.SKIP
        return Verdict.SEND if now < row.ends_at + timedelta(days=1) else Verdict.EXPIRE
    if row.status != SessionStatus.SCHEDULED:
        return Verdict.SKIP
    if row.participant_id is None:
        member = await session.scalar(
            select(Membership.id)
            .join(Group, Group.id == Membership.group_id)
            .where(
                Membership.group_id == row.group_id,
                Membership.participant_id == participant.id,
                Membership.left_at.is_(None),
                Group.closed_at.is_(None),  # a closed group's sessions remind nobody
            )
        )
        if member is None:
            return Verdict.SKIP
    if row.starts_at <= now:
        return Verdict.EXPIRE
    away = await session.scalar(
        select(AbsencePeriod.id).where(
            AbsencePeriod.participant_id == participant.id,
            AbsencePeriod.starts_at <= row.starts_at,
            AbsencePeriod.ends_at > row.starts_at,
        )
    )
    if away is not None:
        return Verdict.SKIP  # reminders pause during a recorded absence, then resume
    newer = await session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.session_id == row.id,
            OutboxMessage.participant_id == participant.id,
            OutboxMessage.kind == OutboxKind.REMINDER,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.due_at <= now,
            OutboxMessage.due_at > claimed.due_at,
        )
    )
    if newer is not None:
        return Verdict.SKIP  # after a downtime, one reminder (the latest due), not a burst
    return Verdict.SEND
