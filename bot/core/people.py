"""Who is writing: a staff member, an enrolled participant, or nobody we know."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Participant, ParticipantStatus, Role, Staff

STAFF_ROLES = frozenset({Role.REFERENT, Role.LEAD, Role.ADMIN})


@dataclass(frozen=True)
class StaffView:
    id: int
    telegram_user_id: int
    name: str
    role: Role
    language: str

    @property
    def sees_everything(self) -> bool:
        """Team leads and admins see every group; referents see their module's."""
        return self.role in (Role.LEAD, Role.ADMIN)


@dataclass(frozen=True)
class ParticipantView:
    id: int
    first_name: str
    language: str
    status: ParticipantStatus
    chat_id: int | None


def staff_view(staff: Staff) -> StaffView:
    return StaffView(staff.id, staff.telegram_user_id, staff.name, Role(staff.role), staff.language)


async def active_staff(session: AsyncSession, telegram_user_id: int) -> StaffView | None:
    """The staff member behind a Telegram account, if active: checked on every staff action."""
    staff = await session.scalar(
        select(Staff).where(Staff.telegram_user_id == telegram_user_id, Staff.active.is_(True))
    )
    return None if staff is None else staff_view(staff)


async def enrolled_participants(
    session: AsyncSession, telegram_user_id: int
) -> list[ParticipantView]:
    """Everyone enrolled from this Telegram account, first enrolled first.

    Usually one person; a family sharing one phone has several, each with their own
    language, groups and reminders.
    """
    rows = (
        await session.scalars(
            select(Participant)
            .where(
                Participant.telegram_user_id == telegram_user_id,
                Participant.status != ParticipantStatus.ERASED,
            )
            .order_by(Participant.id)
        )
    ).all()
    return [
        ParticipantView(
            id=p.id,
            first_name=p.first_name,
            language=p.language,
            status=ParticipantStatus(p.status),
            chat_id=p.telegram_chat_id,
        )
        for p in rows
    ]


async def sharing_a_phone(session: AsyncSession, participant_ids: Sequence[int]) -> set[int]:
    """Those of ``participant_ids`` with someone else enrolled from the same Telegram
    account: every message to them says whom it is for. One query for a whole batch."""
    if not participant_ids:
        return set()
    others = aliased(Participant)
    found = await session.scalars(
        select(Participant.id)
        .join(others, others.telegram_user_id == Participant.telegram_user_id)
        .where(
            Participant.id.in_(participant_ids),
            others.id != Participant.id,
            others.status != ParticipantStatus.ERASED,
        )
        .distinct()
    )
    return set(found.all())


async def active_staff_members(session: AsyncSession) -> list[StaffView]:
    rows = (await session.scalars(select(Staff).where(Staff.active.is_(True)))).all()
    return [staff_view(s) for s in rows]


async def admin_ids(session: AsyncSession) -> list[int]:
    """Active admins: they hear about the bot's own failures."""
    return list(
        (
            await session.scalars(
                select(Staff.id).where(Staff.active.is_(True), Staff.role == Role.ADMIN)
            )
        ).all()
    )


async def note_reachable(
    session: AsyncSession, telegram_user_id: int, *, reachable: bool, now: datetime
) -> None:
    """The person blocked the bot or came back: referents are told who cannot be reached
    (a cancellation, for one), and no longer once they are back. The caller commits."""
    people = (
        await session.scalars(
            select(Participant).where(
                Participant.telegram_user_id == telegram_user_id,
                Participant.status != ParticipantStatus.ERASED,
            )
        )
    ).all()
    for person in people:
        person.unreachable_at = None if reachable else person.unreachable_at or now
