"""Structured logs: one JSON line per event; one line per handled update.

Nothing a person wrote, no name and no Telegram id is logged at info level: an update is
described by its id, the sender's role, what kind of action it was, and how long it took.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from telegram import Update

from bot.context import BotContext
from storage.audit import current_actor

log = logging.getLogger("bot.updates")

EXTRA_FIELDS = ("update_id", "role", "handler", "duration_ms", "outcome")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def action_of(update: Update) -> str:
    """What kind of action an update is, without its content: "/today", "atm", "text"."""
    if update.callback_query is not None:
        return "button:" + (update.callback_query.data or "").split(":", 1)[0][:8]
    message = update.effective_message
    if message is None:
        return "other"
    if message.text and message.text.startswith("/"):
        return message.text.split()[0].split("@")[0][:24]
    for kind in ("text", "voice", "document", "photo", "sticker", "location"):
        if getattr(message, kind, None):
            return kind
    return "message"


async def update_started(update: object, context: BotContext) -> None:
    """First handler group: note when the update began; nobody acts yet."""
    current_actor.set(None)
    context.started_at = time.perf_counter()  # type: ignore[attr-defined]


async def update_finished(update: object, context: BotContext) -> None:
    """Last handler group: one line with role, action and duration."""
    if not isinstance(update, Update):
        return
    started = getattr(context, "started_at", None)
    log.info(
        "update handled",
        extra={
            "update_id": update.update_id,
            "role": getattr(context, "role", "unknown"),
            "handler": action_of(update),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        },
    )
