"""Command menus: participants' commands per language, staff's own per chat."""

from __future__ import annotations

import logging

from babel.support import NullTranslations
from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import Application

from bot.context import BotContext
from bot.i18n import LANGUAGES, SOURCE_LANGUAGE, translations

log = logging.getLogger(__name__)


def participant_commands(t: NullTranslations) -> list[BotCommand]:
    _ = t.gettext
    return [
        BotCommand("next", _("Mes prochaines activités")),
        BotCommand("me", _("Mes présences")),
        BotCommand("voice", _("Rappels en message vocal")),
        BotCommand("language", _("Changer de langue")),
        BotCommand("help", _("Aide")),
        BotCommand("mydata", _("Mes données")),
        BotCommand("forget", _("Effacer mes données")),
        BotCommand("stop", _("Ne plus recevoir de messages")),
    ]


def staff_commands(t: NullTranslations) -> list[BotCommand]:
    _ = t.gettext
    return [
        BotCommand("today", _("Les séances du jour et les présences")),
        BotCommand("invite", _("Inviter un participant")),
        BotCommand("sessions", _("Les prochaines séances")),
        BotCommand("past", _("Corriger une séance passée")),
        BotCommand("feedback", _("Les avis des participants")),
        BotCommand("report", _("Le rapport pour le financeur")),
        BotCommand("absence", _("Noter une absence prévue")),
        BotCommand("language", _("Changer de langue")),
        BotCommand("help", _("Aide")),
    ]


async def set_default_menus(application: Application) -> None:
    """The participants' menu in every shipped language (Telegram picks by app language)."""
    bot = application.bot
    await bot.set_my_commands(
        participant_commands(translations(SOURCE_LANGUAGE)), scope=BotCommandScopeDefault()
    )
    for lang in LANGUAGES:
        # Telegram language codes are two letters: Dari (fa_AF) serves Persian apps ("fa").
        await bot.set_my_commands(
            participant_commands(translations(lang.code)),
            scope=BotCommandScopeDefault(),
            language_code=lang.code.split("_")[0].lower(),
        )


async def set_chat_menu(context: BotContext, chat_id: int, language: str, *, staff: bool) -> None:
    """A person's own menu, in the language they chose in the bot."""
    t = translations(language)
    commands = staff_commands(t) if staff else participant_commands(t)
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # a menu is a comfort: never fail the action for it
        log.warning("could not set the command menu: %s", exc.__class__.__name__)


async def set_staff_menu(application: Application, chat_id: int, language: str) -> None:
    """Staff see their own commands in their chat with the bot."""
    try:
        await application.bot.set_my_commands(
            staff_commands(translations(language)), scope=BotCommandScopeChat(chat_id)
        )
    except TelegramError as exc:  # e.g. a staff member who never opened the bot
        log.info("no staff menu for one chat: %s", exc.__class__.__name__)
