"""Invites and enrolment rules, on SQLite and PostgreSQL, without Telegram."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import enrolment, organisation
from bot.core.clock import SettableClock
from bot.core.enrolment import InviteProblem
from storage.models import Invite, Membership, Participant

Maker = async_sessionmaker[AsyncSession]


async def _group(sessionmaker: Maker, clock: SettableClock) -> int:
    async with sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=100, name="Sophie M.", role="referent", now=clock.now()
        )
        group = await organisation.create_group(
            session, module="insertion", name="FLE lundi", referent_telegram_id=100, now=clock.now()
        )
        await session.commit()
        return group.id


async def _invite(sessionmaker: Maker, clock: SettableClock, group_id: int) -> str:
    async with sessionmaker() as session:
        created = await enrolment.create_invite(
            session,
            group_id=group_id,
            first_name="Amina K.",
            created_by_id=None,
            now=clock.now(),
            valid_days=14,
        )
        await session.commit()
        return created.token


async def _accept(sessionmaker: Maker, clock: SettableClock, token: str, user_id: int = 555):
    async with sessionmaker() as session:
        result = await enrolment.accept_invite(
            session,
            token,
            telegram_user_id=user_id,
            chat_id=user_id,
            language="ar",
            telegram_language="ar",
            now=clock.now(),
        )
        await session.commit()
        return result


async def test_the_database_keeps_only_a_hash_of_the_invite_token(sessionmaker, clock):
    token = await _invite(sessionmaker, clock, await _group(sessionmaker, clock))
    async with sessionmaker() as session:
        stored = (await session.scalars(select(Invite.token_hash))).one()
    assert token not in stored
    assert stored == enrolment.hash_token(token)
    assert len(token) >= 22  # at least 128 bits in URL-safe base64


async def test_an_invite_enrols_once_and_is_then_refused(sessionmaker, clock):
    token = await _invite(sessionmaker, clock, await _group(sessionmaker, clock))
    first = await _accept(sessionmaker, clock, token)
    assert isinstance(first, enrolment.Enrolled)
    assert first.first_name == "Amina K." and first.group_name == "FLE lundi"
    second = await _accept(sessionmaker, clock, token, user_id=556)
    assert second is InviteProblem.USED
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count(Participant.id))) == 1
        assert await session.scalar(select(func.count(Membership.id))) == 1
        participant = (await session.scalars(select(Participant))).one()
    assert participant.language == "ar"
    assert participant.consent_at == clock.now()
    assert participant.consent_version == enrolment.CONSENT_VERSION


async def test_an_invite_expires_after_its_validity(sessionmaker, clock):
    token = await _invite(sessionmaker, clock, await _group(sessionmaker, clock))
    clock.advance(timedelta(days=14, seconds=1))
    assert await _accept(sessionmaker, clock, token) is InviteProblem.EXPIRED
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count(Participant.id))) == 0


@pytest.mark.parametrize("token", ["", "nope", "x" * 65, "bad token!", "a" * 32])
async def test_unknown_or_malformed_tokens_are_refused(sessionmaker, clock, token):
    await _invite(sessionmaker, clock, await _group(sessionmaker, clock))
    async with sessionmaker() as session:
        assert await enrolment.check_invite(session, token, clock.now()) is InviteProblem.UNKNOWN


async def test_a_known_participant_with_a_second_invite_joins_the_new_group(sessionmaker, clock):
    group_id = await _group(sessionmaker, clock)
    await _accept(sessionmaker, clock, await _invite(sessionmaker, clock, group_id))
    async with sessionmaker() as session:
        other = await organisation.create_group(
            session, module="start", name="START mardi", referent_telegram_id=100, now=clock.now()
        )
        await session.commit()
    result = await _accept(sessionmaker, clock, await _invite(sessionmaker, clock, other.id))
    assert isinstance(result, enrolment.Enrolled) and result.already_known
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count(Participant.id))) == 1
        assert await session.scalar(select(func.count(Membership.id))) == 2


def test_names_keep_to_a_first_name_and_initial():
    assert enrolment.clean_first_name("  Amina   K. ") == "Amina K."
    assert enrolment.clean_first_name("") is None
    assert enrolment.clean_first_name("x" * 41) is None
    assert enrolment.clean_first_name("/start") is None
    assert enrolment.clean_first_name("Ami\x00na") is None
