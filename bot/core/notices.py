"""Voice versions of the consent screen and /help, per language, and consent in person."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite, VoiceNotice


class NoticeKind(StrEnum):
    CONSENT = "consent"
    HELP = "help"


async def voice_for(session: AsyncSession, kind: NoticeKind, language: str) -> str | None:
    """The recorded voice message's file id, if staff recorded one for this language."""
    return await session.scalar(
        select(VoiceNotice.file_id).where(
            VoiceNotice.kind == kind, VoiceNotice.language == language
        )
    )


async def record_voice(
    session: AsyncSession,
    *,
    kind: NoticeKind,
    language: str,
    file_id: str,
    staff_id: int,
    now: datetime,
) -> None:
    """A new recording replaces the previous one for that kind and language."""
    existing = await session.scalar(
        select(VoiceNotice).where(VoiceNotice.kind == kind, VoiceNotice.language == language)
    )
    if existing is None:
        session.add(
            VoiceNotice(
                kind=kind,
                language=language,
                file_id=file_id,
                recorded_by_id=staff_id,
                recorded_at=now,
            )
        )
    else:
        existing.file_id = file_id
        existing.recorded_by_id = staff_id
        existing.recorded_at = now


async def explained_in_person(
    session: AsyncSession, *, invite_id: int, staff_id: int, language: str, now: datetime
) -> bool:
    """The referent confirms they explained the notice in person, in ``language``."""
    invite = await session.get(Invite, invite_id)
    if invite is None or invite.used_at is not None or invite.created_by_id != staff_id:
        return False
    invite.explained_by_id = staff_id
    invite.explained_language = language
    invite.explained_at = now
    return True
