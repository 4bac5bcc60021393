"""The kinds of message a referent, team lead or admin gets from the bot (outbox alerts).

One enum instead of strings spread over the modules that queue alerts and the one that
renders them: a kind queued is a kind rendered. Stored as its value in the outbox payload
(``{"alert": "late_decline"}``), so the values must not change.
"""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    LATE_DECLINE = "late_decline"  # a participant declined shortly before the session
    RECORD_ATTENDANCE = "record_attendance"  # the session ended: mark who came
    UNANSWERED = "unanswered"  # absent today, silent to the reminders
    TWO_ABSENCES = "two_absences"  # absent twice in a row, without excuse
    ERASURE_REQUEST = "erasure_request"  # a participant asked to be forgotten
    ERROR = "error"  # the bot failed (admins, once an hour per kind)
    DIGEST = "digest"  # a referent's day, in the morning
    UNREACHABLE = "unreachable"  # the bot can no longer write to a participant
    OUTAGE = "outage"  # the database was unreachable for a while (admins, once it is back)

    @classmethod
    def of(cls, payload: dict[str, object]) -> AlertKind | None:
        """The kind named by a stored payload, or None for one this version does not know."""
        try:
            return cls(str(payload.get("alert")))
        except ValueError:
            return None
