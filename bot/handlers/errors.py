"""The error handler: a short apology to the user, the error in the log.

Telegram answers some edits of old or foreign messages with a 400 (a button tapped on a
message that is gone, or tapped twice). Those are expected: the tap was already
answered, and the log gets an info line, not an error.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, TelegramError

from bot.context import BotContext
from bot.i18n import resolve_language, translations

log = logging.getLogger(__name__)

STALE_MESSAGE_ERRORS = (
    "message to edit not found",
    "message is not modified",
    "message can't be edited",
    "message to delete not found",
    "query is too old",
    "can only edit their own",
)


def _is_stale(error: BaseException | None) -> bool:
    text = str(error).lower()
    return isinstance(error, BadRequest) and any(part in text for part in STALE_MESSAGE_ERRORS)


async def on_error(update: object, context: BotContext) -> None:
    """Log with the update id only (never message text or names) and answer the user."""
    update_id = update.update_id if isinstance(update, Update) else None
    user = update.effective_user if isinstance(update, Update) else None
    t = translations(
        resolve_language(
            None, user.language_code if user else None, context.deps.settings.default_language
        )
    )
    if _is_stale(context.error):
        # The tap was answered before the edit failed; the message simply stays as it was.
        log.info("stale message for update %s: %s", update_id, context.error)
        return
    log.error("handler failed for update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    text = t.gettext("😕 Désolé, un problème est survenu. Réessayez dans un moment.")
    try:
        # A chat message, not a callback answer: the handler may have answered already.
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:  # already answered, or the chat is gone: nothing more to say
        log.info("could not tell the user about the failure of update %s", update_id)
