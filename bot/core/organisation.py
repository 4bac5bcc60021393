"""Staff, modules and groups: the programme's structure, managed by CLI and bot alike."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Group,
    Membership,
    Module,
    Participant,
    ParticipantStatus,
    Role,
    Session,
    SessionStatus,
    Staff,
)


class OrganisationError(Exception):
    """A refused change, with a message meant for the operator of the CLI."""


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    module_code: str
    module_name: str
    referent_name: str
    members: int


def _fold(text: str) -> str:
    """Compare names without case or accents: "Bénévolat" finds BENEVOLAT."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def clean_name(raw: str, what: str, limit: int = 80) -> str:
    """Spaces collapsed; refused when empty, too long, or holding control or format characters.

    A name is shown to others: U+202E would turn the rest of a message around, U+200B
    would make two names look the same, and a bell character has no place on a screen.
    Invite names follow the same rule (``enrolment.clean_first_name``).
    """
    cleaned = " ".join(raw.split())
    if not cleaned or len(cleaned) > limit:
        raise OrganisationError(f"the {what} must have 1 to {limit} characters")
    if any(not ch.isprintable() for ch in cleaned):
        raise OrganisationError(f"the {what} may not hold control or invisible characters")
    return cleaned


async def find_module(session: AsyncSession, code_or_name: str) -> Module:
    wanted = _fold(code_or_name)
    for module in (await session.scalars(select(Module).order_by(Module.id))).all():
        if wanted in (_fold(module.code), _fold(module.name)):
            return module
    codes = ", ".join((await session.scalars(select(Module.code).order_by(Module.id))).all())
    raise OrganisationError(f"unknown module {code_or_name!r}; known modules: {codes}")


async def find_group(session: AsyncSession, name: str) -> Group:
    wanted = _fold(name)
    for group in (await session.scalars(select(Group))).all():
        if _fold(group.name) == wanted:
            return group
    raise OrganisationError(f"unknown group {name!r}; see `activup modules`")


async def add_staff(
    session: AsyncSession, *, telegram_user_id: int, name: str, role: str, now: datetime
) -> Staff:
    try:
        parsed_role = Role(role)
    except ValueError:
        raise OrganisationError(
            f"unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}"
        ) from None
    if telegram_user_id <= 0:
        raise OrganisationError("a Telegram user id is a positive number")
    cleaned = clean_name(name, "name")
    existing = await session.scalar(select(Staff).where(Staff.telegram_user_id == telegram_user_id))
    if existing is not None:
        raise OrganisationError(f"Telegram user {telegram_user_id} is already staff")
    staff = Staff(
        telegram_user_id=telegram_user_id,
        name=cleaned,
        role=parsed_role,
        active=True,
        created_at=now,
    )
    session.add(staff)
    await session.flush()
    return staff


async def create_group(
    session: AsyncSession, *, module: str, name: str, referent_telegram_id: int, now: datetime
) -> Group:
    found_module = await find_module(session, module)
    cleaned = clean_name(name, "group name")
    try:
        await find_group(session, cleaned)
    except OrganisationError:
        pass
    else:
        raise OrganisationError(f"a group named {cleaned!r} exists already")
    referent = await session.scalar(
        select(Staff).where(Staff.telegram_user_id == referent_telegram_id, Staff.active.is_(True))
    )
    if referent is None:
        raise OrganisationError(
            f"no active staff member with Telegram id {referent_telegram_id}; "
            "add them first with `activup staff add`"
        )
    group = Group(module_id=found_module.id, name=cleaned, referent_id=referent.id, created_at=now)
    session.add(group)
    await session.flush()
    return group


async def list_groups(session: AsyncSession) -> list[tuple[Module, list[GroupView]]]:
    modules = (await session.scalars(select(Module).order_by(Module.id))).all()
    result: list[tuple[Module, list[GroupView]]] = []
    for module in modules:
        views = await groups_of(session, module_id=module.id)
        result.append((module, views))
    return result


async def groups_of(
    session: AsyncSession, *, module_id: int | None = None, referent_id: int | None = None
) -> list[GroupView]:
    """Open groups, optionally of one module or one referent, with their member counts."""
    query = (
        select(Group, Module, Staff)
        .join(Module, Group.module_id == Module.id)
        .join(Staff, Group.referent_id == Staff.id)
        .where(Group.closed_at.is_(None))
        .order_by(Module.id, Group.name)
    )
    if module_id is not None:
        query = query.where(Group.module_id == module_id)
    if referent_id is not None:
        query = query.where(Group.referent_id == referent_id)
    views = []
    for group, module, referent in (await session.execute(query)).all():
        members = len(
            (
                await session.scalars(
                    select(Membership.id)
                    .join(Participant, Participant.id == Membership.participant_id)
                    .where(
                        Membership.group_id == group.id,
                        Membership.left_at.is_(None),
                        Participant.status != ParticipantStatus.ERASED,
                    )
                )
            ).all()
        )
        views.append(
            GroupView(group.id, group.name, module.code, module.name, referent.name, members)
        )
    return views


async def groups_for_staff(
    session: AsyncSession, *, staff_id: int, sees_everything: bool
) -> list[GroupView]:
    """The groups a staff member may invite to: all for leads, their own for referents."""
    if sees_everything:
        return await groups_of(session)
    return await groups_of(session, referent_id=staff_id)


async def _staff_by_telegram(session: AsyncSession, telegram_user_id: int) -> Staff:
    staff = await session.scalar(select(Staff).where(Staff.telegram_user_id == telegram_user_id))
    if staff is None:
        raise OrganisationError(f"no staff member with Telegram id {telegram_user_id}")
    return staff


async def set_role(session: AsyncSession, *, telegram_user_id: int, role: str) -> Staff:
    try:
        parsed = Role(role)
    except ValueError:
        raise OrganisationError(
            f"unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}"
        ) from None
    staff = await _staff_by_telegram(session, telegram_user_id)
    staff.role = parsed
    return staff


async def set_active(session: AsyncSession, *, telegram_user_id: int, active: bool) -> Staff:
    """A deactivated staff member's commands stop at once: every action re-checks ``active``."""
    staff = await _staff_by_telegram(session, telegram_user_id)
    staff.active = active
    return staff


GENDERS = ("f", "m", "x")


async def set_participant_facts(
    session: AsyncSession,
    *,
    participant_id: int,
    gender: str | None,
    birth_year: int | None,
    nationality_group: str | None,
    now_year: int,
) -> None:
    """The optional figures the funder breaks down by; "" clears a field."""
    person = await session.get(Participant, participant_id)
    if person is None or person.status == ParticipantStatus.ERASED:
        raise OrganisationError(f"no participant #{participant_id}")
    if gender is not None:
        if gender not in (*GENDERS, ""):
            raise OrganisationError(f"gender is one of {', '.join(GENDERS)} (or empty)")
        person.gender = gender or None
    if birth_year is not None:
        if birth_year and not now_year - 110 <= birth_year <= now_year - 14:
            raise OrganisationError("birth year out of range")
        person.birth_year = birth_year or None
    if nationality_group is not None:
        cleaned = " ".join(nationality_group.split())
        if len(cleaned) > 40:
            raise OrganisationError("the nationality group has at most 40 characters")
        person.nationality_group = cleaned or None


async def move_participant(
    session: AsyncSession, *, participant_id: int, to_group: str, now: datetime
) -> Group:
    """Leave the current groups of the target's module and join the target group."""
    person = await session.get(Participant, participant_id)
    if person is None or person.status == ParticipantStatus.ERASED:
        raise OrganisationError(f"no participant #{participant_id}")
    target = await find_group(session, to_group)
    if target.closed_at is not None:
        raise OrganisationError(f"group {target.name!r} is closed")
    memberships = (
        await session.scalars(
            select(Membership)
            .join(Group, Group.id == Membership.group_id)
            .where(
                Membership.participant_id == participant_id,
                Membership.left_at.is_(None),
                Group.module_id == target.module_id,
            )
        )
    ).all()
    if not memberships and await session.get(Group, target.id) is None:
        raise OrganisationError("no such group")
    for membership in memberships:
        if membership.group_id != target.id:
            membership.left_at = now
    if not any(m.group_id == target.id for m in memberships):
        existing = await session.scalar(
            select(Membership).where(
                Membership.group_id == target.id, Membership.participant_id == participant_id
            )
        )
        if existing is None:
            session.add(
                Membership(group_id=target.id, participant_id=participant_id, joined_at=now)
            )
        else:
            existing.left_at = None
    return target


async def close_group(session: AsyncSession, *, name: str, now: datetime) -> Group:
    """A finished cohort: its members completed the module; no new invites or sessions.

    Its sessions still to come are cancelled without a notice to anyone (the cohort is
    told in person): they leave the referent's day, digest and end-of-session nudges.
    """
    group = await find_group(session, name)
    if group.closed_at is not None:
        raise OrganisationError(f"group {group.name!r} is already closed")
    group.closed_at = now
    await session.execute(
        update(Session)
        .where(
            Session.group_id == group.id,
            Session.status == SessionStatus.SCHEDULED,
            Session.starts_at > now,
        )
        .values(status=SessionStatus.CANCELLED, sequence=Session.sequence + 1, updated_at=now)
    )
    return group


async def rename_group(session: AsyncSession, *, name: str, new_name: str) -> Group:
    group = await find_group(session, name)
    cleaned = clean_name(new_name, "group name")
    try:
        await find_group(session, cleaned)
    except OrganisationError:
        group.name = cleaned
        return group
    raise OrganisationError(f"a group named {cleaned!r} exists already")


async def assign_referent(session: AsyncSession, *, name: str, referent_telegram_id: int) -> Group:
    group = await find_group(session, name)
    referent = await session.scalar(
        select(Staff).where(Staff.telegram_user_id == referent_telegram_id, Staff.active.is_(True))
    )
    if referent is None:
        raise OrganisationError(f"no active staff member with Telegram id {referent_telegram_id}")
    group.referent_id = referent.id
    return group
