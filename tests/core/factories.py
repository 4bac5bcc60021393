"""Builders for real rows: a programme with staff, a group, participants and sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import organisation, schedule
from storage.models import Membership, Participant, ParticipantStatus, SessionKind


@dataclass
class Programme:
    referent_id: int
    referent_telegram_id: int
    group_id: int
    participant_ids: list[int]


async def programme(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    participants: int = 3,
    module: str = "insertion",
    group: str = "FLE lundi",
    referent_telegram_id: int = 100,
    first_user_id: int = 1000,
) -> Programme:
    async with sessionmaker() as session:
        staff = await organisation.add_staff(
            session,
            telegram_user_id=referent_telegram_id,
            name="Sophie M.",
            role="referent",
            now=now,
        )
        created = await organisation.create_group(
            session, module=module, name=group, referent_telegram_id=referent_telegram_id, now=now
        )
        ids = []
        for index in range(participants):
            person = Participant(
                first_name=f"P{index} K.",
                language="fr",
                telegram_user_id=first_user_id + index,
                telegram_chat_id=first_user_id + index,
                status=ParticipantStatus.ACTIVE,
                consent_at=now,
                created_at=now,
            )
            session.add(person)
            await session.flush()
            session.add(Membership(group_id=created.id, participant_id=person.id, joined_at=now))
            ids.append(person.id)
        await session.commit()
        return Programme(staff.id, referent_telegram_id, created.id, ids)


async def one_session(
    sessionmaker: async_sessionmaker[AsyncSession],
    group_id: int,
    starts_at: datetime,
    *,
    now: datetime,
    title: str = "Atelier FLE",
) -> int:
    async with sessionmaker() as session:
        change = await schedule.add_session(
            session,
            group_id=group_id,
            kind=SessionKind.WORKSHOP,
            title=title,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            place=None,
            now=now,
        )
        await session.commit()
        return change.session_id
