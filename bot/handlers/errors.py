"""The error handler: a short apology to the user, the error in the log."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import BotContext
from bot.i18n import resolve_language, translations

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log with the update id only (never message text or names) and apologise."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("handler failed for update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    language = resolve_language(
        None, user.language_code if user else None, context.deps.settings.default_language
    )
    try:
        await context.bot.send_message(
            update.effective_chat.id,
            translations(language).gettext(
                "😕 Désolé, un problème est survenu. Réessayez dans un moment."
            ),
        )
    except Exception:
        log.warning("could not send the apology for update %s", update_id)
