"""The error handler: a short apology to the user, the error in the log.

A tapped button always gets its answer (the apology), so it does not spin; the message
keeps its buttons, and the person can tap again. While the database is unreachable the
outage is logged once (bot/database_outage.py) and the admins hear of it once it is back.

Telegram answers some edits of old or foreign messages with a 400 (a button tapped on a
message that is gone, or tapped twice). Those are expected: the tap was already
answered, and the log gets an info line, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from telegram import Update
from telegram.error import BadRequest, TelegramError

from bot.context import BotContext, Deps
from bot.core import outbox
from bot.core.alert_kinds import AlertKind
from bot.core.people import active_staff, admin_ids, enrolled_participants
from bot.database_outage import database_down, database_unavailable
from bot.dispatcher import wake
from bot.i18n import resolve_language, translations
from storage.db import unit_of_work

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


_OUTCOMES = "update_errors"


@contextmanager
def errors_of(deps: Deps, update_id: int) -> Iterator[list[BaseException]]:
    """Collect the errors of one update while it is handled: the webhook answers by them."""
    outcomes: dict[int, list[BaseException]] = deps.extras.setdefault(_OUTCOMES, {})
    errors: list[BaseException] = []
    outcomes[update_id] = errors
    try:
        yield errors
    finally:
        outcomes.pop(update_id, None)


async def on_error(update: object, context: BotContext) -> None:
    """Log with the update id or the job's name only (never message text or names) and
    answer the user."""
    update_id = update.update_id if isinstance(update, Update) else None
    user = update.effective_user if isinstance(update, Update) else None
    error = context.error
    watching = context.deps.extras.get(_OUTCOMES, {}).get(update_id)
    if watching is not None and error is not None:
        watching.append(error)
    t = translations(
        resolve_language(
            await _stored_language(context, user.id if user else None),
            user.language_code if user else None,
            context.deps.settings.default_language,
        )
    )
    if _is_stale(context.error):
        # The tap was answered before the edit failed; the message simply stays as it was.
        log.info("stale message for update %s: %s", update_id, context.error)
        return
    failed = f"job {context.job.name}" if context.job is not None else f"update {update_id}"
    if database_unavailable(error):
        # One line when the outage starts; the admins hear of it once the database is back.
        database_down(context.application, error)
        log.info("%s failed: the database is unreachable", failed)
    else:
        log.error("%s failed", failed, exc_info=error)
        await _alert_admins(context, error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    text = t.gettext("😕 Désolé, un problème est survenu. Réessayez dans un moment.")
    if update.callback_query is not None:
        try:
            # Ends the spinner; the buttons stay, so the person can tap again.
            await context.bot.answer_callback_query(update.callback_query.id, text)
            return
        except TelegramError:  # answered before the failure: say it in the chat instead
            pass
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:  # already answered, or the chat is gone: nothing more to say
        log.info("could not tell the user about the failure of update %s", update_id)


async def _alert_admins(context: BotContext, error: BaseException | None) -> None:
    """Admins hear of a failure at most once per kind of error per hour (through the outbox)."""
    deps = context.deps
    now = deps.clock.now()
    kind = type(error).__name__ if error is not None else "Unknown"
    try:
        async with unit_of_work(deps.sessionmaker) as session:
            admins = await admin_ids(session)
            for staff_id in admins:
                await outbox.alert_staff(
                    session,
                    staff_id=staff_id,
                    dedupe_key=f"err:{staff_id}:{kind}:{now:%Y%m%d%H}",
                    payload={"alert": AlertKind.ERROR, "kind": kind},
                    now=now,
                )
            await session.commit()
    except Exception:
        log.warning("could not queue the admin alert for %s", kind)
        return
    wake(context.application)


async def _stored_language(context: BotContext, telegram_user_id: int | None) -> str | None:
    """The language the person chose, if the database still answers."""
    if telegram_user_id is None:
        return None
    try:
        async with unit_of_work(context.deps.sessionmaker) as session:
            staff = await active_staff(session, telegram_user_id)
            if staff is not None:
                return staff.language
            people = await enrolled_participants(session, telegram_user_id)
            return people[0].language if people else None
    except Exception:
        return None
