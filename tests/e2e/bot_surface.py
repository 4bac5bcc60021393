"""What the running bot understands, read from its handlers: every command, every button."""

from __future__ import annotations

import re
from typing import Any

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from tests.e2e.harness import Harness


def _flatten(handler: BaseHandler[Any, Any, Any]) -> list[BaseHandler[Any, Any, Any]]:
    if isinstance(handler, ConversationHandler):
        inner = [*handler.entry_points, *handler.fallbacks]
        inner += [h for state in handler.states.values() for h in state]
        return [h for child in inner for h in _flatten(child)]
    return [handler]


def commands_and_prefixes(h: Harness) -> tuple[list[str], list[str]]:
    """Every command and button prefix the running bot understands, read from its handlers."""
    handlers = [
        flat for group in h.app.handlers.values() for one in group for flat in _flatten(one)
    ]
    commands = sorted(
        {c for one in handlers if isinstance(one, CommandHandler) for c in one.commands}
    )
    prefixes = sorted(
        {
            match.group(1)
            for one in handlers
            if isinstance(one, CallbackQueryHandler) and isinstance(one.pattern, re.Pattern)
            for match in [re.match(r"\^(\w+):", one.pattern.pattern)]
            if match
        }
    )
    return commands, prefixes
