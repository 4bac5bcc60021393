"""The module calendars: sessions one by one, series, imports, cancellations and moves.

Every change here returns what changed, so the caller can replan reminders and notify
the participants concerned; nothing in this module talks to Telegram.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.calendars import DEFAULT_TZ, AllDayEvent, ImportedOccurrence, Place
from storage.models import (
    Group,
    Membership,
    Participant,
    ParticipantStatus,
    Rsvp,
    Session,
    SessionKind,
    SessionStatus,
)


class ChangeKind(StrEnum):
    CREATED = "created"
    MOVED = "moved"
    CANCELLED = "cancelled"
    UPDATED = "updated"  # title or place: no notice, reminders carry the new text


@dataclass(frozen=True)
class SessionChange:
    session_id: int
    kind: ChangeKind
    previous_start: datetime | None = None


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    moved: int
    cancelled: int
    unchanged: int
    changes: tuple[SessionChange, ...]
    # Series of this group absent from the file: their coming sessions are among ``cancelled``.
    removed_series: tuple[str, ...] = ()
    # Filled by the calendar import: what the file held that is not a session, and who
    # will be told of a change (each participant once, however many changes).
    all_day: tuple[AllDayEvent, ...] = ()
    all_day_on_session_days: tuple[AllDayEvent, ...] = ()
    merged_uids: tuple[str, ...] = ()
    told: int = 0


class ScheduleError(Exception):
    """A refused calendar change; ``reason`` is a code the caller translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _utc_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _apply_place(row: Session, place: Place | None) -> None:
    row.place_name = place.name if place else None
    row.place_address = place.address if place else None
    row.latitude = place.latitude if place else None
    row.longitude = place.longitude if place else None


async def add_session(
    session: AsyncSession,
    *,
    group_id: int,
    kind: SessionKind,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    place: Place | None,
    now: datetime,
    referent_id: int | None = None,
    participant_id: int | None = None,
) -> SessionChange:
    """A one-off session for a group, or an individual interview with one of its members.

    An interview belongs to the participant alone (no group), so nobody else in the
    group sees it in their reminders or in /next. The caller commits and replans.
    """
    group = await session.get(Group, group_id)
    if group is None or group.closed_at is not None:
        raise ScheduleError("group_not_found")
    if participant_id is not None:
        member = await session.scalar(
            select(Membership.id).where(
                Membership.group_id == group_id,
                Membership.participant_id == participant_id,
                Membership.left_at.is_(None),
            )
        )
        if member is None:
            raise ScheduleError("not_a_member")
    if ends_at <= starts_at:
        raise ScheduleError("ends_before_start")
    if starts_at <= now:
        raise ScheduleError("in_the_past")
    row = Session(
        module_id=group.module_id,
        group_id=None if participant_id is not None else group.id,
        participant_id=participant_id,
        referent_id=referent_id or group.referent_id,
        kind=kind,
        title=title.strip()[:200],
        starts_at=starts_at,
        ends_at=ends_at,
        uid=f"{uuid.uuid4()}@activup",
        occurrence_key=_utc_key(starts_at),
        source="bot",
        created_at=now,
        updated_at=now,
    )
    _apply_place(row, place)
    session.add(row)
    await session.flush()
    return SessionChange(row.id, ChangeKind.CREATED)


async def cancel_session(session: AsyncSession, session_id: int, *, now: datetime) -> SessionChange:
    row = await session.get(Session, session_id)
    if row is None:
        raise ScheduleError("session_not_found")
    if row.status == SessionStatus.CANCELLED:
        raise ScheduleError("already_cancelled")
    if row.ends_at <= now:
        raise ScheduleError("in_the_past")
    row.status = SessionStatus.CANCELLED
    row.sequence += 1
    row.updated_at = now
    return SessionChange(row.id, ChangeKind.CANCELLED, row.starts_at)


async def move_session(
    session: AsyncSession, session_id: int, *, starts_at: datetime, now: datetime
) -> SessionChange:
    """Move one occurrence, keeping its length; its key stays, so answers stay attached."""
    row = await session.get(Session, session_id)
    if row is None:
        raise ScheduleError("session_not_found")
    if row.status == SessionStatus.CANCELLED:
        raise ScheduleError("already_cancelled")
    if starts_at <= now:
        raise ScheduleError("in_the_past")
    previous = row.starts_at
    if starts_at == previous:
        raise ScheduleError("same_time")
    length = row.ends_at - row.starts_at
    row.starts_at = starts_at
    row.ends_at = starts_at + length
    row.sequence += 1
    row.updated_at = now
    return SessionChange(row.id, ChangeKind.MOVED, previous)


def _kind_from_title(title: str) -> SessionKind:
    lowered = title.casefold()
    if any(word in lowered for word in ("entretien", "interview", "rendez-vous")):
        return SessionKind.INTERVIEW
    if any(word in lowered for word in ("sortie", "visite", "excursion", "outing")):
        return SessionKind.OUTING
    if any(word in lowered for word in ("formation", "training")):
        return SessionKind.TRAINING
    return SessionKind.WORKSHOP


async def import_occurrences(
    session: AsyncSession,
    *,
    group_id: int,
    occurrences: Sequence[ImportedOccurrence],
    now: datetime,
    window_start: datetime,
    tz: ZoneInfo = DEFAULT_TZ,
) -> ImportSummary:
    """Upsert a calendar's occurrences into a group's sessions, keyed by (UID, occurrence).

    Re-importing the same file changes nothing, and neither does re-importing the group's
    own export (it keeps each session's UID and key, the bot's own sessions included). An
    occurrence of a known UID that vanished from the file (an EXDATE added, a series
    shortened) is a cancellation, and so is every coming session of a series the file no
    longer holds at all; but only for sessions still to come: the past is not rewritten.

    When a whole series is moved (Outlook rewrites DTSTART, so every key changes), each
    vanished session is paired with the new occurrence of the same series on the same
    local day, or else at the same position: it is the same session moved, and its
    answers stay attached.
    """
    group = await session.get(Group, group_id)
    if group is None or group.closed_at is not None:
        raise ScheduleError("group_not_found")
    existing = {
        (row.uid, row.occurrence_key): row
        for row in (
            await session.scalars(
                select(Session).where(
                    Session.group_id == group_id, Session.source.in_(("ics", "bot"))
                )
            )
        ).all()
    }
    renamed = _pair_moved_series(existing, occurrences, now=now, tz=tz)
    seen: set[tuple[str, str]] = set()
    changes: list[SessionChange] = []
    counts = {"created": 0, "updated": 0, "moved": 0, "cancelled": 0, "unchanged": 0}
    for occ in occurrences:
        key = (occ.uid, occ.occurrence_key)
        seen.add(key)
        row = existing.get(key) or renamed.get(key)
        if row is None:
            if occ.cancelled or occ.ends_at <= now:
                continue
            row = Session(
                module_id=group.module_id,
                group_id=group.id,
                referent_id=group.referent_id,
                kind=_kind_from_title(occ.title),
                title=(occ.title or "ACTIV'UP")[:200],
                starts_at=occ.starts_at,
                ends_at=occ.ends_at,
                uid=occ.uid,
                occurrence_key=occ.occurrence_key,
                sequence=occ.sequence,
                source="ics",
                created_at=now,
                updated_at=now,
            )
            _apply_place(row, occ.place)
            session.add(row)
            await session.flush()
            changes.append(SessionChange(row.id, ChangeKind.CREATED))
            counts["created"] += 1
            continue
        if key in renamed:
            seen.add((row.uid, row.occurrence_key))
            row.occurrence_key = occ.occurrence_key
        if occ.cancelled:
            if row.status != SessionStatus.CANCELLED and row.ends_at > now:
                changes.append(_cancel(row, now))
                counts["cancelled"] += 1
            else:
                counts["unchanged"] += 1
            continue
        change = _update_from(row, occ, now)
        if change is None:
            counts["unchanged"] += 1
        else:
            changes.append(change)
            counts["moved" if change.kind == ChangeKind.MOVED else "updated"] += 1
    imported_uids = {occ.uid for occ in occurrences}
    removed_series: set[str] = set()
    for key, row in existing.items():
        if key in seen or row.status == SessionStatus.CANCELLED or row.ends_at <= now:
            continue
        if row.starts_at < window_start:
            continue
        if key[0] in imported_uids:
            changes.append(_cancel(row, now))
            counts["cancelled"] += 1
        elif row.source == "ics":
            # The whole series left the file: cancelled like a removed occurrence. The bot
            # previews this before applying it, so the referent confirms it first.
            changes.append(_cancel(row, now))
            counts["cancelled"] += 1
            removed_series.add(row.title)
    return ImportSummary(
        created=counts["created"],
        updated=counts["updated"],
        moved=counts["moved"],
        cancelled=counts["cancelled"],
        unchanged=counts["unchanged"],
        changes=tuple(changes),
        removed_series=tuple(sorted(removed_series)),
    )


def _cancel(row: Session, now: datetime) -> SessionChange:
    """Cancel an imported session; the new SEQUENCE gives its notice a key of its own, so a
    session moved and then cancelled still tells its participants it is cancelled."""
    row.status = SessionStatus.CANCELLED
    row.sequence += 1
    row.updated_at = now
    return SessionChange(row.id, ChangeKind.CANCELLED, row.starts_at)


def _pair_moved_series(
    existing: dict[tuple[str, str], Session],
    occurrences: Sequence[ImportedOccurrence],
    *,
    now: datetime,
    tz: ZoneInfo,
) -> dict[tuple[str, str], Session]:
    """New occurrence keys that are known sessions moved with their whole series.

    Only coming, imported sessions are paired; each series is paired on its own: first by
    local day, then what is left by position when as many vanished as appeared.
    """
    new_keys = {(occ.uid, occ.occurrence_key) for occ in occurrences}
    vanished: dict[str, list[Session]] = {}
    for key, row in existing.items():
        if key not in new_keys and row.source == "ics" and row.ends_at > now:
            vanished.setdefault(row.uid, []).append(row)
    appeared: dict[str, list[ImportedOccurrence]] = {}
    for occ in occurrences:
        if (occ.uid, occ.occurrence_key) not in existing and occ.uid in vanished:
            if not occ.cancelled and occ.ends_at > now:
                appeared.setdefault(occ.uid, []).append(occ)
    paired: dict[tuple[str, str], Session] = {}
    for uid, new in appeared.items():
        old = sorted(vanished[uid], key=lambda r: r.starts_at)
        new = sorted(new, key=lambda o: o.starts_at)
        by_day = {r.starts_at.astimezone(tz).date(): r for r in old}
        left_new: list[ImportedOccurrence] = []
        for occ in new:
            same_day = by_day.pop(occ.starts_at.astimezone(tz).date(), None)
            if same_day is None:
                left_new.append(occ)
            else:
                paired[(uid, occ.occurrence_key)] = same_day
        left_old = sorted(by_day.values(), key=lambda r: r.starts_at)
        if len(left_old) == len(left_new):
            for same_place, occ in zip(left_old, left_new, strict=True):
                paired[(uid, occ.occurrence_key)] = same_place
    return paired


def _update_from(row: Session, occ: ImportedOccurrence, now: datetime) -> SessionChange | None:
    if row.ends_at <= now:
        return None  # history stays as it was
    moved = row.starts_at != occ.starts_at or row.ends_at != occ.ends_at
    reinstated = row.status == SessionStatus.CANCELLED
    place = occ.place
    updated = (
        row.title != (occ.title or "ACTIV'UP")[:200]
        or row.place_name != (place.name if place else None)
        or row.place_address != (place.address if place else None)
        or row.latitude != (place.latitude if place else None)
        or row.longitude != (place.longitude if place else None)
    )
    if not (moved or updated or reinstated):
        return None
    previous = row.starts_at
    row.starts_at, row.ends_at = occ.starts_at, occ.ends_at
    row.title = (occ.title or "ACTIV'UP")[:200]
    _apply_place(row, place)
    row.status = SessionStatus.SCHEDULED
    row.sequence = max(row.sequence + 1, occ.sequence)
    row.updated_at = now
    if moved or reinstated:
        return SessionChange(row.id, ChangeKind.MOVED, previous)
    return SessionChange(row.id, ChangeKind.UPDATED)


async def expected_participants(session: AsyncSession, row: Session) -> list[Participant]:
    """Who a session is for: the participant of an interview, or the group's current members."""
    if row.participant_id is not None:
        participant = await session.get(Participant, row.participant_id)
        return [participant] if participant else []
    if row.group_id is None:
        return []
    return list(
        (
            await session.scalars(
                select(Participant)
                .join(Membership, Membership.participant_id == Participant.id)
                .where(
                    Membership.group_id == row.group_id,
                    Membership.left_at.is_(None),
                    Participant.status != ParticipantStatus.ERASED,
                )
                .order_by(Participant.first_name, Participant.id)
            )
        ).all()
    )


async def coming_sessions_of_participant(
    session: AsyncSession, participant_id: int, *, now: datetime, limit: int = 5
) -> list[Session]:
    """The participant's next scheduled sessions: their groups' and their own interviews."""
    group_ids = select(Membership.group_id).where(
        Membership.participant_id == participant_id, Membership.left_at.is_(None)
    )
    query = (
        select(Session)
        .where(
            Session.status == SessionStatus.SCHEDULED,
            Session.ends_at > now,
            (Session.group_id.in_(group_ids)) | (Session.participant_id == participant_id),
        )
        .order_by(Session.starts_at, Session.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def coming_sessions_of_staff(
    session: AsyncSession,
    *,
    staff_id: int,
    sees_everything: bool,
    now: datetime,
    horizon: timedelta = timedelta(days=14),
    limit: int = 10,
) -> list[Session]:
    """The next sessions of a referent's groups (all groups for a lead), cancelled included."""
    query = (
        select(Session)
        .where(Session.ends_at > now, Session.starts_at < now + horizon)
        .order_by(Session.starts_at, Session.id)
        .limit(limit)
    )
    if not sees_everything:
        own_groups = select(Group.id).where(Group.referent_id == staff_id)
        query = query.where((Session.referent_id == staff_id) | Session.group_id.in_(own_groups))
    return list((await session.scalars(query)).all())


async def may_manage(
    session: AsyncSession, *, staff_id: int, sees_everything: bool, row: Session
) -> bool:
    """The session's referent, a referent of the same module, or a team lead."""
    if sees_everything or row.referent_id == staff_id:
        return True
    same_module = await session.scalar(
        select(Group.id).where(Group.referent_id == staff_id, Group.module_id == row.module_id)
    )
    return same_module is not None


async def participants_with_answers(
    session: AsyncSession, row: Session
) -> list[tuple[Participant, str | None, str | None]]:
    """Each expected participant with their answer and reason, for the referent's view."""
    answers = {
        r.participant_id: (r.answer, r.reason)
        for r in (await session.scalars(select(Rsvp).where(Rsvp.session_id == row.id))).all()
    }
    return [
        (p, *answers.get(p.id, (None, None))) for p in await expected_participants(session, row)
    ]


async def sessions_of_referent_on(
    session: AsyncSession, *, staff_id: int, day: date, tz: ZoneInfo
) -> list[Session]:
    """A referent's scheduled sessions on one local day, in order."""
    start = datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz).astimezone(UTC)
    return list(
        (
            await session.scalars(
                select(Session)
                .where(
                    Session.referent_id == staff_id,
                    Session.status == SessionStatus.SCHEDULED,
                    Session.starts_at >= start,
                    Session.starts_at < end,
                )
                .order_by(Session.starts_at)
            )
        ).all()
    )


async def members_of(session: AsyncSession, group_id: int) -> list[Participant]:
    """A group's current members, by first name."""
    return list(
        (
            await session.scalars(
                select(Participant)
                .join(Membership, Membership.participant_id == Participant.id)
                .where(
                    Membership.group_id == group_id,
                    Membership.left_at.is_(None),
                    Participant.status != ParticipantStatus.ERASED,
                )
                .order_by(Participant.first_name, Participant.id)
            )
        ).all()
    )


async def series_size(session: AsyncSession, row: Session) -> int:
    """How many sessions share this one's series (its UID in its group)."""
    return len(
        (
            await session.scalars(
                select(Session.id).where(Session.uid == row.uid, Session.group_id == row.group_id)
            )
        ).all()
    )


async def attach_voice(
    session: AsyncSession, *, session_id: int, file_id: str, whole_series: bool, now: datetime
) -> int:
    """A referent's voice note for a session, or for every coming session of its series.

    Returns how many sessions carry it now; the caller commits.
    """
    row = await session.get(Session, session_id)
    if row is None:
        return 0
    targets = [row]
    if whole_series:
        targets = list(
            (
                await session.scalars(
                    select(Session).where(
                        Session.uid == row.uid,
                        Session.group_id == row.group_id,
                        Session.ends_at > now,
                    )
                )
            ).all()
        )
    for target in targets:
        target.voice_file_id = file_id
    return len(targets)
