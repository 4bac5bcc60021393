"""Staff, modules and groups, as the CLI and the bot manage them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.core import organisation
from bot.core.organisation import OrganisationError
from storage.models import Group, Staff


@pytest.mark.parametrize("spelling", ["benevolat", "BENEVOLAT", "Bénévolat", " bénévolat "])
async def test_a_module_is_found_by_code_or_name_in_any_case(sessionmaker, spelling):
    async with sessionmaker() as session:
        assert (await organisation.find_module(session, spelling)).code == "benevolat"


async def test_the_first_migration_creates_the_three_modules(sessionmaker):
    async with sessionmaker() as session:
        found = [
            (m.code, [g.name for g in gs]) for m, gs in await organisation.list_groups(session)
        ]
    assert found == [("insertion", []), ("benevolat", []), ("start", [])]


async def test_a_group_needs_a_known_module_and_an_active_referent(sessionmaker, clock):
    async with sessionmaker() as session:
        with pytest.raises(OrganisationError, match="unknown module"):
            await organisation.create_group(
                session, module="cooking", name="A", referent_telegram_id=1, now=clock.now()
            )
        with pytest.raises(OrganisationError, match="no active staff"):
            await organisation.create_group(
                session, module="start", name="A", referent_telegram_id=1, now=clock.now()
            )
        assert await session.scalar(select(func.count(Group.id))) == 0


async def test_staff_roles_and_duplicates_are_checked(sessionmaker, clock):
    async with sessionmaker() as session:
        with pytest.raises(OrganisationError, match="unknown role"):
            await organisation.add_staff(
                session, telegram_user_id=1, name="A", role="boss", now=clock.now()
            )
        await organisation.add_staff(
            session, telegram_user_id=1, name="A", role="lead", now=clock.now()
        )
        with pytest.raises(OrganisationError, match="already staff"):
            await organisation.add_staff(
                session, telegram_user_id=1, name="B", role="lead", now=clock.now()
            )
        await session.commit()
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count(Staff.id))) == 1


@pytest.mark.parametrize("odd", ["\u202e", "\u200b", "\x07", "\u2068"])
async def test_staff_and_group_names_refuse_bidi_and_control_characters(sessionmaker, clock, odd):
    async with sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=100, name="Sophie M.", role="referent", now=clock.now()
        )
        await organisation.create_group(
            session, module="start", name="Home", referent_telegram_id=100, now=clock.now()
        )
        await session.commit()
        with pytest.raises(OrganisationError, match="invisible"):
            await organisation.add_staff(
                session, telegram_user_id=101, name=f"Eve{odd}K.", role="lead", now=clock.now()
            )
        with pytest.raises(OrganisationError, match="invisible"):
            await organisation.create_group(
                session,
                module="start",
                name=f"Ho{odd}me 2",
                referent_telegram_id=100,
                now=clock.now(),
            )
        with pytest.raises(OrganisationError, match="invisible"):
            await organisation.rename_group(session, name="Home", new_name=f"{odd}Home")
        await session.rollback()
        assert (await session.scalars(select(Staff.name))).all() == ["Sophie M."]
        assert (await session.scalars(select(Group.name))).all() == ["Home"]
