"""Invites and enrolment: single-use links, consent, and the participant record.

Only the SHA-256 of an invite token is stored, so a leaked database does not leak
working links. Nothing about a person is stored before they accept the consent screen.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Group,
    Invite,
    Membership,
    Module,
    Participant,
    ParticipantStatus,
    Staff,
)

CONSENT_VERSION = "2026-11"
TOKEN_BYTES = 24  # 192 bits of randomness, 32 URL-safe characters: fits a deep link


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    GROUP_CLOSED = "group_closed"


@dataclass(frozen=True)
class InviteInfo:
    invite_id: int
    first_name: str
    group_name: str
    module_name: str
    expires_at: datetime


@dataclass(frozen=True)
class CreatedInvite:
    token: str
    info: InviteInfo


@dataclass(frozen=True)
class Enrolled:
    participant_id: int
    first_name: str
    group_name: str
    already_known: bool


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(payload: str) -> bool:
    """Deep-link payloads are at most 64 characters of ``[A-Za-z0-9_-]``."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    return 0 < len(payload) <= 64 and set(payload) <= allowed


def clean_first_name(raw: str) -> str | None:
    """First name and initial only; refuse empty, overlong or control characters."""
    name = " ".join(raw.split())
    if not name or len(name) > 40 or any(not ch.isprintable() for ch in name):
        return None
    if name.startswith("/"):
        return None
    return name


async def create_invite(
    session: AsyncSession,
    *,
    group_id: int,
    first_name: str,
    created_by_id: int | None,
    now: datetime,
    valid_days: int,
) -> CreatedInvite:
    """Add an invite row; the caller commits. The raw token is returned once, never stored."""
    group = await session.get(Group, group_id)
    if group is None or group.closed_at is not None:
        raise LookupError("group not found or closed")
    module = await session.get(Module, group.module_id)
    assert module is not None
    token = new_token()
    invite = Invite(
        token_hash=hash_token(token),
        group_id=group.id,
        first_name=first_name,
        created_by_id=created_by_id,
        created_at=now,
        expires_at=now + timedelta(days=valid_days),
    )
    session.add(invite)
    await session.flush()
    return CreatedInvite(
        token=token,
        info=InviteInfo(invite.id, first_name, group.name, module.name, invite.expires_at),
    )


async def check_invite(
    session: AsyncSession, token: str, now: datetime
) -> InviteInfo | InviteProblem:
    """Whether a token can still be used; changes nothing."""
    if not looks_like_token(token):
        return InviteProblem.UNKNOWN
    row = (
        await session.execute(
            select(Invite, Group, Module)
            .join(Group, Invite.group_id == Group.id)
            .join(Module, Group.module_id == Module.id)
            .where(Invite.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        return InviteProblem.UNKNOWN
    invite, group, module = row
    if invite.used_at is not None:
        return InviteProblem.USED
    if invite.expires_at <= now:
        return InviteProblem.EXPIRED
    if group.closed_at is not None:
        return InviteProblem.GROUP_CLOSED
    return InviteInfo(invite.id, invite.first_name, group.name, module.name, invite.expires_at)


async def accept_invite(
    session: AsyncSession,
    token: str,
    *,
    telegram_user_id: int,
    chat_id: int,
    language: str,
    telegram_language: str | None,
    now: datetime,
    participant_id: int | None = None,
    new_person: bool = False,
) -> Enrolled | InviteProblem:
    """Consent given: use the invite exactly once and enrol the person; the caller commits.

    The invite is claimed with a conditional UPDATE, so two taps racing on the same
    link enrol one person once. On a phone that already has someone enrolled, the caller
    says who this is: ``participant_id`` (the same person, joining another group) or
    ``new_person`` (a family sharing the phone: a person of their own, with their own
    language, groups and reminders). Without either, the one person already enrolled
    from this account is reused.
    """
    checked = await check_invite(session, token, now)
    if isinstance(checked, InviteProblem):
        return checked
    invite = await session.get(Invite, checked.invite_id)
    assert invite is not None
    claimed = await session.execute(
        update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None)).values(used_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return InviteProblem.USED
    on_phone = select(Participant).where(
        Participant.telegram_user_id == telegram_user_id,
        Participant.status != ParticipantStatus.ERASED,
    )
    participant: Participant | None = None
    if participant_id is not None:
        participant = await session.scalar(on_phone.where(Participant.id == participant_id))
        if participant is None:
            return InviteProblem.UNKNOWN  # not a person of this phone: a forged choice
    elif not new_person:
        participant = (await session.scalars(on_phone.order_by(Participant.id).limit(1))).first()
    already_known = participant is not None
    if participant is None:
        participant = Participant(
            first_name=invite.first_name,
            language=language,
            telegram_user_id=telegram_user_id,
            telegram_chat_id=chat_id,
            telegram_language=telegram_language,
            status=ParticipantStatus.ACTIVE,
            consent_at=now,
            consent_version=CONSENT_VERSION,
            created_at=now,
        )
        session.add(participant)
        await session.flush()
    else:
        participant.language = language
        participant.status = ParticipantStatus.ACTIVE
        participant.consent_at = now
        participant.consent_version = CONSENT_VERSION
    membership = await session.scalar(
        select(Membership).where(
            Membership.group_id == invite.group_id,
            Membership.participant_id == participant.id,
        )
    )
    if membership is None:
        session.add(
            Membership(group_id=invite.group_id, participant_id=participant.id, joined_at=now)
        )
    else:
        membership.left_at = None
    invite.participant_id = participant.id
    # The record keeps how consent was given: alone on the phone, or explained in person
    # by a referent (who, in which language); with the notice's version and the date.
    participant.consent_method = "in_person" if invite.explained_by_id else "self"
    participant.consent_explained_by_id = invite.explained_by_id
    participant.consent_language = invite.explained_language or language
    return Enrolled(participant.id, participant.first_name, checked.group_name, already_known)


async def set_participant_language(
    session: AsyncSession, participant_id: int, language: str
) -> None:
    await session.execute(
        update(Participant).where(Participant.id == participant_id).values(language=language)
    )


async def set_participant_status(
    session: AsyncSession, participant_id: int, status: ParticipantStatus
) -> None:
    await session.execute(
        update(Participant).where(Participant.id == participant_id).values(status=status)
    )


async def set_staff_language(session: AsyncSession, staff_id: int, language: str) -> None:
    await session.execute(update(Staff).where(Staff.id == staff_id).values(language=language))
