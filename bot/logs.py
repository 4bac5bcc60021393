"""Structured logs: one JSON line per event; one line per handled update.

Nothing a person wrote, no name and no Telegram id is logged at info level: an update is
described by its id, the sender's role, what kind of action it was, and how long it took.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
)

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


_KNOWN = "logs.known_actions"


def known_actions(application: Application[Any, Any, Any, Any, Any, Any]) -> frozenset[str]:
    """The commands and button prefixes the bot's handlers understand, read once."""
    cached = application.bot_data.get(_KNOWN)
    if cached is None:
        cached = frozenset(
            name
            for handlers in application.handlers.values()
            for handler in handlers
            for name in _names(handler)
        )
        application.bot_data[_KNOWN] = cached
    return cached


def _names(handler: BaseHandler[Any, Any, Any]) -> list[str]:
    if isinstance(handler, ConversationHandler):
        inner = [*handler.entry_points, *handler.fallbacks]
        inner += [h for state in handler.states.values() for h in state]
        return [name for child in inner for name in _names(child)]
    if isinstance(handler, CommandHandler):
        return [f"/{command}" for command in handler.commands]
    if isinstance(handler, CallbackQueryHandler) and isinstance(handler.pattern, re.Pattern):
        prefix = re.match(r"\^(\w+):", handler.pattern.pattern)
        return [f"button:{prefix.group(1)}"] if prefix else []
    return []


def action_of(update: Update, known: frozenset[str] = frozenset()) -> str:
    """What kind of action an update is, without its content: "/today", "button:atm", "text".

    Only names in ``known`` are logged as such: "/0470123456" is a phone number someone
    typed, and forged button data is anything at all.
    """
    if update.callback_query is not None:
        kind = "button:" + (update.callback_query.data or "").split(":", 1)[0]
        return kind if kind in known else "button:unknown"
    message = update.effective_message
    if message is None:
        return "other"
    if message.text and message.text.startswith("/"):
        command = message.text.split()[0].split("@")[0]
        return command if command in known else "command:unknown"
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
            "handler": action_of(update, known_actions(context.application)),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        },
    )
