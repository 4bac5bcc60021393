"""The tables. Times are aware UTC (``UTCDateTime``); names keep to first name and initial."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Role(StrEnum):
    REFERENT = "referent"
    LEAD = "lead"
    ADMIN = "admin"


class ParticipantStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"  # pressed /stop: no more messages, record kept
    ERASED = "erased"


class SessionKind(StrEnum):
    WORKSHOP = "workshop"
    OUTING = "outing"
    INTERVIEW = "interview"
    TRAINING = "training"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RsvpAnswer(StrEnum):
    YES = "yes"
    NO = "no"


class DeclineReason(StrEnum):
    ILL = "ill"
    CHILDREN = "children"
    APPOINTMENT = "appointment"
    WORK = "work"
    OTHER = "other"


class OutboxKind(StrEnum):
    REMINDER = "reminder"
    NOTICE = "notice"  # a session moved or was cancelled
    STAFF_ALERT = "staff_alert"
    FEEDBACK_TRIGGER = "feedback_due"  # after a session: ask those present, once marked
    FEEDBACK = "feedback"  # one participant's question


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher; a stale claim is retried after a crash
    SENT = "sent"
    SKIPPED = "skipped"  # no longer relevant (left the group, /stop, session cancelled)
    EXPIRED = "expired"  # fell due while the bot was down and the session had begun
    FAILED = "failed"  # the participant is unreachable (blocked the bot)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(16), default="fr")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Module(Base):
    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    reminder_plan: Mapped[str | None] = mapped_column(String(200), default=None)
    feedback_questions: Mapped[str] = mapped_column(String(100), default="how")
    feedback_delay_minutes: Mapped[int] = mapped_column(Integer, default=15)
    feedback_scale: Mapped[int] = mapped_column(Integer, default=4)

    groups: Mapped[list[Group]] = relationship(back_populates="module", order_by="Group.name")


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    name: Mapped[str] = mapped_column(String(80), unique=True)
    referent_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    module: Mapped[Module] = relationship(back_populates="groups")
    referent: Mapped[Staff] = relationship()


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(16))
    # Not unique: a family may share one phone, one Telegram account for several people.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True, default=None)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    telegram_language: Mapped[str | None] = mapped_column(String(16), default=None)
    status: Mapped[str] = mapped_column(String(16), default=ParticipantStatus.ACTIVE)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    consent_version: Mapped[str | None] = mapped_column(String(16), default=None)
    consent_method: Mapped[str | None] = mapped_column(String(16), default=None)
    consent_language: Mapped[str | None] = mapped_column(String(16), default=None)
    consent_explained_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id"), default=None
    )
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    voice_only: Mapped[bool] = mapped_column(Boolean, default=False)
    erasure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Optional, entered by staff for the funder's breakdowns; the bot never asks.
    gender: Mapped[str | None] = mapped_column(String(8), default=None)
    birth_year: Mapped[int | None] = mapped_column(Integer, default=None)
    nationality_group: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("group_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Invite(Base):
    """A single-use enrolment link; only the SHA-256 of its token is kept."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    first_name: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), default=None)
    # Consent explained in person by a referent, in a language, before the link is opened.
    explained_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    explained_language: Mapped[str | None] = mapped_column(String(16), default=None)
    explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Session(Base):
    """One occurrence of a module's calendar, keyed by (group, UID, occurrence key).

    Series are expanded into rows so that reminders, RSVPs and attendance attach to a
    concrete occurrence and survive re-imports.
    """

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("group_id", "uid", "occurrence_key"),
        Index("ix_sessions_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), default=None)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), default=None)
    referent_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place_name: Mapped[str | None] = mapped_column(String(200), default=None)
    place_address: Mapped[str | None] = mapped_column(String(300), default=None)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.SCHEDULED)
    uid: Mapped[str] = mapped_column(String(255))
    occurrence_key: Mapped[str] = mapped_column(String(32))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16), default="bot")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attendance_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    voice_file_id: Mapped[str | None] = mapped_column(String(200), default=None)

    module: Mapped[Module] = relationship()
    group: Mapped[Group | None] = relationship()


class Rsvp(Base):
    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    answer: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(16), default=None)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message the bot owes someone, due at a time: reminders are rows, not memory.

    ``dedupe_key`` makes planning idempotent; ``status`` moves pending -> sending -> sent
    under a row claim, so a restart or a second process never loses or doubles one.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due_at", "status", "due_at"),
        Index("ix_outbox_participant_id_status", "participant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), default=None)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), default=None)
    rule_key: Mapped[str | None] = mapped_column(String(32), default=None)
    payload: Mapped[str | None] = mapped_column(Text, default=None)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A send timed out after the request left: Telegram may have delivered it. Such a row
    # is retried once, never twice (Telegram has no idempotency key).
    maybe_sent: Mapped[bool] = mapped_column(Boolean, default=False)


class Mark(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    EXCUSED = "excused"
    LATE = "late"


class AbsenceReason(StrEnum):
    ILL = "ill"
    TRAVEL = "travel"
    CHILDCARE = "childcare"
    APPOINTMENT = "appointment"


class Attendance(Base):
    """One participant's mark at one session, with who recorded it and when."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    mark: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)


class AttendanceChange(Base):
    """The audit trail of marks: who changed what, when, from what to what."""

    __tablename__ = "attendance_changes"
    __table_args__ = (Index("ix_attendance_changes_session_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    old_mark: Mapped[str | None] = mapped_column(String(16), default=None)
    new_mark: Mapped[str | None] = mapped_column(String(16), default=None)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SessionGuest(Base):
    """A participant added to one session only (a walk-in, a replacement)."""

    __tablename__ = "session_guests"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AbsencePeriod(Base):
    """A participant away until a date: sessions pre-marked excused, reminders paused."""

    __tablename__ = "absence_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedbackAnswer(Base):
    """One face tapped for one question after one session.

    ``participant_id`` is emptied when a person's data is erased: the score stays, anonymous.
    """

    __tablename__ = "feedback_answers"
    __table_args__ = (UniqueConstraint("session_id", "participant_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), default=None)
    question: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    scale: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedbackComment(Base):
    """ "Tell us more": a text, or a voice message kept as Telegram's file id."""

    __tablename__ = "feedback_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    voice_file_id: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """A staff action that changed data: who, when, what, before and after.

    Personal values (names, Telegram ids) are never copied here, only that they changed,
    so erasing a person leaves nothing of them in the log.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(60))
    before: Mapped[str | None] = mapped_column(Text, default=None)
    after: Mapped[str | None] = mapped_column(Text, default=None)


class VoiceNotice(Base):
    """The consent screen or /help recorded by staff as a voice message, per language."""

    __tablename__ = "voice_notices"
    __table_args__ = (UniqueConstraint("kind", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "consent" or "help"
    language: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SenderHeartbeat(Base):
    """A process that sends for the bot, and when it last said so: the processes alive
    share Telegram's overall limit between them."""

    __tablename__ = "sender_heartbeats"

    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarImport(Base):
    """A calendar file sent to the bot, waiting for its referent to confirm the preview.

    Kept in the database, not in memory, so that a confirmation tapped after a restart
    still applies; the file itself stays on Telegram's side (``file_id``) and is fetched
    again on confirmation, checked against ``digest``.
    """

    __tablename__ = "calendar_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), default=None)
    file_id: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)  # applied/dropped


class HandledUpdate(Base):
    """An update the webhook has handled: Telegram re-delivers an update it saw no 200 for,
    and a re-delivery of one handled already is acknowledged without handling it twice."""

    __tablename__ = "handled_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
