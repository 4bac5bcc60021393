"""The one place that wires the bot: reading it lists every command and button it knows.

Order matters: conversations first (they own their typing steps), then commands and
buttons, then the catch-all answer for anything else; all in one handler group, so an
update is handled by the first handler that matches and by no other.
"""

from __future__ import annotations

import logging
import warnings
from datetime import time
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    TypeHandler,
)
from telegram.warnings import PTBUserWarning

from bot import dispatcher, logs
from bot.context import BotContext, Deps
from bot.conversations import absence, invite, session_edit
from bot.core import outbox
from bot.core import privacy as privacy_rules
from bot.core.people import active_staff_members
from bot.handlers import (
    admin,
    attendance,
    calendar_upload,
    common,
    enrolment,
    feedback,
    general,
    menus,
    privacy,
    private_chats,
    report,
    rsvp,
    sessions,
    voice_notes,
)
from bot.handlers.errors import on_error
from bot.rate_limit import SlidingWindowRateLimiter
from bot.sheet_redraws import SheetRedraws
from bot.update_order import PerChatUpdateProcessor
from storage.db import unit_of_work

log = logging.getLogger(__name__)


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
        # Different people at once, each person's updates in order (bot/update_order.py).
        .concurrent_updates(PerChatUpdateProcessor(settings.updates_at_once))
        .defaults(Defaults(tzinfo=settings.tz))
        .rate_limiter(
            SlidingWindowRateLimiter(
                overall_max_rate=settings.telegram_messages_per_second,
                max_retries=3,
                max_in_flight=settings.outbox_in_flight,
            )
        )
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    application.bot_data["deps"] = deps
    deps.extras["sheet_redraws"] = SheetRedraws(settings.sheet_redraw_seconds)

    # Conversations first: while one waits for typed text, it gets that text.
    with warnings.catch_warnings():
        # These conversations mix buttons and typing on purpose; their state is per user.
        warnings.filterwarnings("ignore", message=r".*per_message=False.*", category=PTBUserWarning)
        application.add_handler(invite.conversation())
        application.add_handler(session_edit.conversation())
        application.add_handler(absence.conversation())
    # Participants: enrolment, answers to reminders, /next.
    application.add_handlers(enrolment.HANDLERS)
    application.add_handlers(invite.IN_PERSON_HANDLERS)
    application.add_handlers(rsvp.HANDLERS)
    # Staff: /sessions and its buttons.
    application.add_handlers(sessions.HANDLERS)
    application.add_handlers(calendar_upload.HANDLERS)
    # Staff: /today, /past and the attendance sheet; participants: /me.
    application.add_handlers(attendance.HANDLERS)
    # Feedback: the faces, "tell us more", and /feedback for staff.
    application.add_handlers(feedback.HANDLERS)
    # Voice notes for people who read little.
    application.add_handlers(voice_notes.HANDLERS)
    # Data rights: /mydata, /forget and the referent's confirmation.
    application.add_handlers(privacy.HANDLERS)
    # Team leads: /report.
    application.add_handlers(report.HANDLERS)
    # Admins: /staff; team leads: /group (roles checked on every call).
    application.add_handlers(admin.HANDLERS)
    # A shared phone: "for whom?" before a participant command.
    application.add_handlers(common.PERSON_HANDLERS)
    # Everyone: /help, /language, /stop.
    application.add_handlers(general.HANDLERS)
    # Last in the same group: only an update no handler above took reaches it.
    application.add_handlers(general.FALLBACK_HANDLERS)
    # Before everything: private chats only, edits ignored (bot/handlers/private_chats.py).
    application.add_handler(TypeHandler(Update, private_chats.only_private_chats), group=-2)
    # Around everything: one structured log line per update (bot/logs.py).
    application.add_handler(TypeHandler(Update, logs.update_started), group=-1)
    application.add_handler(TypeHandler(Update, logs.update_finished), group=99)
    application.add_error_handler(on_error)
    return application


async def _post_init(application: BotApplication) -> None:
    """Menus, then the reminders: plan what is coming and wake at the next due time."""
    deps: Deps = application.bot_data["deps"]
    await menus.set_default_menus(application)
    async with unit_of_work(deps.sessionmaker) as session:
        staff = await active_staff_members(session)
        await outbox.plan_coming(session, now=deps.clock.now(), tz=deps.settings.tz)
        await session.commit()
    for member in staff:
        await menus.set_staff_menu(application, member.telegram_user_id, member.language)
    if deps.settings.dispatcher_enabled:
        dispatcher.start_sweeping(application)
    if application.job_queue is not None:
        application.job_queue.run_daily(
            _retention, time=time(3, 0, tzinfo=deps.settings.tz), name="retention"
        )


async def _post_stop(application: BotApplication) -> None:
    """Drop sheet redraws still waiting (a stale sheet is redrawn by the next tap), and
    hand this process's share of the sending budget back to the others."""
    deps: Deps = application.bot_data["deps"]
    await deps.extras["sheet_redraws"].close()
    if deps.settings.dispatcher_enabled:
        await dispatcher.stop_sending(deps)


async def _retention(context: BotContext) -> None:
    """Nightly: anonymise participants inactive for the retention period (GDPR)."""
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        erased = await privacy_rules.apply_retention(
            session, now=deps.clock.now(), months=deps.settings.retention_months
        )
        await session.commit()
    log.info("retention: %d participant(s) anonymised", erased)


# No edited messages (an edit must not re-run a command); my_chat_member to leave groups.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
