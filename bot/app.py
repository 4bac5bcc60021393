"""The one place that wires the bot: reading it lists every command and button it knows.

Order matters: conversations first (they own their typing steps), then commands and
buttons, then, in a later group, the catch-all answer for anything else.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext, Deps
from bot.conversations import invite
from bot.core.people import active_staff_members
from bot.handlers import enrolment, general, menus
from bot.handlers.errors import on_error

log = logging.getLogger(__name__)

# The invite conversation mixes buttons and typing on purpose; its state is per user.
warnings.filterwarnings("ignore", message=r".*per_message=False.*", category=PTBUserWarning)

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]


def build_application(deps: Deps) -> BotApplication:
    """The real python-telegram-bot Application, talking to ``settings.telegram_api_url``."""
    settings = deps.settings
    application: BotApplication = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .context_types(ContextTypes(context=BotContext))
        .defaults(Defaults(tzinfo=settings.tz))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(_post_init)
        .build()
    )
    application.bot_data["deps"] = deps

    application.add_handler(invite.conversation())
    application.add_handlers(enrolment.HANDLERS)
    application.add_handlers(general.HANDLERS)
    application.add_handlers(general.FALLBACK_HANDLERS, group=1)
    application.add_error_handler(on_error)
    return application


async def _post_init(application: BotApplication) -> None:
    """Command menus: participants' per language, and each staff member's own."""
    deps: Deps = application.bot_data["deps"]
    await menus.set_default_menus(application)
    from storage.db import unit_of_work

    async with unit_of_work(deps.sessionmaker) as session:
        staff = await active_staff_members(session)
    for member in staff:
        await menus.set_staff_menu(application, member.telegram_user_id, member.language)


ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.EDITED_MESSAGE]
