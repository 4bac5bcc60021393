"""Staff actions that change data are written to the audit log, without personal values."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.core import organisation
from storage.audit import current_actor
from storage.models import AuditEntry, Participant
from tests.core.factories import programme


async def test_a_staff_change_is_logged_with_who_what_before_and_after(sessionmaker, clock):
    await programme(sessionmaker, clock.now(), participants=1)
    token = current_actor.set("staff:7")
    try:
        async with sessionmaker() as session:
            await organisation.set_role(session, telegram_user_id=100, role="lead")
            await session.commit()
    finally:
        current_actor.reset(token)
    async with sessionmaker() as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.action, entry.target) == ("staff:7", "update", "staff:1")
    assert json.loads(entry.before or "{}") == {"role": "referent"}
    assert json.loads(entry.after or "{}") == {"role": "lead"}


async def test_nobody_acting_means_nothing_logged_and_names_are_never_copied(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=1)
    async with sessionmaker() as session:  # a participant's own action: no actor
        person = await session.get(Participant, prog.participant_ids[0])
        assert person is not None
        person.language = "ar"
        await session.commit()
    token = current_actor.set("cli")
    try:
        async with sessionmaker() as session:
            person = await session.get(Participant, prog.participant_ids[0])
            assert person is not None
            person.first_name = "Renamed X."
            await session.commit()
    finally:
        current_actor.reset(token)
    async with sessionmaker() as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    assert len(entries) == 1
    assert "P0 K." not in (entries[0].before or "") and "Renamed" not in (entries[0].after or "")
    assert json.loads(entries[0].after or "{}") == {"first_name": "(changed)"}
