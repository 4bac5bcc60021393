"""The bot works in private chats only: one gate in front of every handler.

A participant's /mydata typed in a family group would post their data to the whole
group, a referent's /today the names of a session. So an update that does not come from
a private chat stops here, before any handler reads or stores anything; an edited message
stops too (editing a message into /mydata must not send the data again). Added to a
group or channel, the bot says once, in the language of whoever added it, that it works
in private, and leaves.
"""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.i18n import resolve_language, rtl_line, translations

log = logging.getLogger(__name__)

_PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.RESTRICTED)


async def only_private_chats(update: object, context: BotContext) -> None:
    """Let private chats through; answer or leave anything else, and stop it here."""
    if not isinstance(update, Update):
        raise ApplicationHandlerStop
    if update.edited_message is not None or update.edited_channel_post is not None:
        raise ApplicationHandlerStop
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        return
    if update.my_chat_member is not None:
        if update.my_chat_member.new_chat_member.status in _PRESENT:
            await _say_private_only_and_leave(update, context)
    elif update.callback_query is not None:
        # A toast seen by the person who tapped only, never by the group.
        await update.callback_query.answer(_private_only(update, context))
    log.debug("update %s ignored: not a private chat", update.update_id)
    raise ApplicationHandlerStop


def _private_only(update: Update, context: BotContext) -> str:
    user = update.effective_user
    language = resolve_language(
        None, user.language_code if user else None, context.deps.settings.default_language
    )
    text = translations(language).gettext(
        "🔒 Je travaille seulement en conversation privée. Écrivez-moi directement."
    )
    return rtl_line(text, language)


async def _say_private_only_and_leave(update: Update, context: BotContext) -> None:
    """Nothing about the group or its members is stored: one message, then leave."""
    chat = update.effective_chat
    assert chat is not None
    try:
        await context.bot.send_message(chat.id, _private_only(update, context))
    except TelegramError:  # a channel where the bot may not post: leave all the same
        log.info("could not say goodbye in chat %s", chat.id)
    try:
        await context.bot.leave_chat(chat.id)
    except TelegramError:
        log.info("could not leave chat %s", chat.id)
