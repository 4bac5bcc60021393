"""Administration from the bot: roles checked on every call, changes audited."""

from __future__ import annotations

from sqlalchemy import select

from bot.core import organisation
from storage.models import AuditEntry, Group, Staff
from tests.core.factories import programme
from tests.e2e.harness import Harness


async def test_an_admin_deactivates_a_referent_who_is_refused_at_once(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=1)
    async with h.deps.sessionmaker() as session:
        admin_row = await organisation.add_staff(
            session, telegram_user_id=900, name="Admin", role="admin", now=h.clock.now()
        )
        await session.commit()
    admin = h.server.user(900, "Admin", language_code="fr")
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    assert (
        "réservé aux administrateurs" in (await h.say(referent, "/staff off 900"))["text"].lower()
    )
    assert "responsables" in (await h.say(referent, "/group close FLE lundi"))["text"]
    assert "Aucune séance" in (await h.say(referent, "/sessions"))["text"]

    assert "C'est fait" in (await h.say(admin, f"/staff off {referent.id}"))["text"]
    assert "réservée à l'équipe" in (await h.say(referent, "/sessions"))["text"]
    assert "Utilisation" in (await h.say(admin, "/staff"))["text"]
    assert "Impossible" in (await h.say(admin, "/staff role 12345 lead"))["text"]
    assert "C'est fait" in (await h.say(admin, "/group rename FLE lundi | FLE du lundi"))["text"]
    async with h.deps.sessionmaker() as session:
        staff = (await session.scalars(select(Staff).where(Staff.telegram_user_id == 100))).one()
        group = (await session.scalars(select(Group))).one()
        audit = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert staff.active is False and group.name == "FLE du lundi"
    assert [(a.actor, a.action, a.target) for a in audit] == [
        (f"staff:{admin_row.id}", "update", f"staff:{staff.id}"),
        (f"staff:{admin_row.id}", "update", f"groups:{group.id}"),
    ]


async def test_a_team_lead_creates_a_group_from_the_bot(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=1)
    async with h.deps.sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=300, name="Lea", role="lead", now=h.clock.now()
        )
        await session.commit()
    lead = h.server.user(300, "Lea", language_code="fr")
    referent = h.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    command = f"/group create start | START mardi | {prog.referent_telegram_id}"
    assert "responsables" in (await h.say(referent, command))["text"], "leads only"
    assert "C'est fait" in (await h.say(lead, command))["text"]
    assert "Impossible" in (await h.say(lead, command))["text"], "the name is taken now"
    assert "Utilisation" in (await h.say(lead, "/group create start | sans id"))["text"]
    async with h.deps.sessionmaker() as session:
        names = set((await session.scalars(select(Group.name))).all())
    assert names == {"FLE lundi", "START mardi"}


async def test_names_with_bidi_or_control_characters_are_refused_in_the_bot(harness: Harness):
    h = harness
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=1)
    async with h.deps.sessionmaker() as session:
        await organisation.add_staff(
            session, telegram_user_id=900, name="Admin", role="admin", now=h.clock.now()
        )
        await session.commit()
    admin = h.server.user(900, "Admin", language_code="fr")
    for odd in ("\u202e", "\u200b", "\x07"):
        assert "Impossible" in (await h.say(admin, f"/staff add 901 lead Eve{odd}K."))["text"]
        command = f"/group create start | G{odd}2 | {prog.referent_telegram_id}"
        assert "Impossible" in (await h.say(admin, command))["text"]
        command = f"/group rename FLE lundi | FLE{odd} lundi"
        assert "Impossible" in (await h.say(admin, command))["text"]
    async with h.deps.sessionmaker() as session:
        assert sorted((await session.scalars(select(Staff.name))).all()) == ["Admin", "Sophie M."]
        assert (await session.scalars(select(Group.name))).all() == ["FLE lundi"]
