"""The audit log, written automatically when a staff member's unit of work changes data.

Whoever acts is held in a context variable (set per update for staff, "cli" for the
command line); a ``before_flush`` listener turns the changed rows into ``AuditEntry``
rows in the same transaction, so an action and its trace commit or roll back together.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session as OrmSession

from storage.models import (
    AbsencePeriod,
    AuditEntry,
    Group,
    Invite,
    Membership,
    Module,
    Participant,
    Session,
    Staff,
)

current_actor: ContextVar[str | None] = ContextVar("current_actor", default=None)

AUDITED = (Staff, Group, Membership, Invite, Session, Module, AbsencePeriod, Participant)
REDACTED = frozenset(
    {
        "first_name",
        "telegram_user_id",
        "telegram_chat_id",
        "telegram_language",
        "token_hash",
        "voice_file_id",
    }
)
SKIPPED = frozenset({"created_at", "updated_at"})


def _value(name: str, value: Any) -> Any:
    if name in REDACTED:
        return "(changed)" if value is not None else None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in SKIPPED:
            continue
        history = state.attrs[attr.key].history
        if history.has_changes():
            before[attr.key] = _value(attr.key, history.deleted[0] if history.deleted else None)
            after[attr.key] = _value(attr.key, history.added[0] if history.added else None)
    return before, after


def _snapshot(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {
        attr.key: _value(attr.key, getattr(obj, attr.key))
        for attr in state.mapper.column_attrs
        if attr.key not in SKIPPED
    }


@event.listens_for(OrmSession, "after_flush")
def _audit(session: OrmSession, _context: Any) -> None:
    # after_flush: new rows have their ids, and new/dirty/deleted still show what changed.
    actor = session.info.get("actor") or current_actor.get()
    if actor is None:
        return
    now = datetime.now(UTC)
    entries: list[tuple[str, Any, dict[str, Any] | None, dict[str, Any] | None]] = []
    for obj in session.new:
        if isinstance(obj, AUDITED):
            entries.append(("create", obj, None, _snapshot(obj)))
    for obj in session.dirty:
        if isinstance(obj, AUDITED) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                entries.append(("update", obj, before, after))
    for obj in session.deleted:
        if isinstance(obj, AUDITED):
            entries.append(("delete", obj, _snapshot(obj), None))
    rows = []
    for action, obj, old, new in entries:
        ident = inspect(obj).mapper.primary_key_from_instance(obj)
        rows.append(
            {
                "at": now,
                "actor": str(actor)[:40],
                "action": action,
                "target": f"{obj.__tablename__}:{ident[0]}",
                "before": json.dumps(old, ensure_ascii=False, default=str) if old else None,
                "after": json.dumps(new, ensure_ascii=False, default=str) if new else None,
            }
        )
    if rows:
        # The flush is under way: write through its connection, in its transaction.
        session.connection().execute(insert(AuditEntry), rows)
