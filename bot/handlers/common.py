"""What every handler needs: who is writing, in which language, and how to answer."""

from __future__ import annotations

from dataclasses import dataclass

from babel.support import NullTranslations
from telegram import Update

from bot.context import BotContext
from bot.core.people import ParticipantView, StaffView, active_staff, enrolled_participant
from bot.i18n import resolve_language, translations
from storage.audit import current_actor
from storage.db import unit_of_work


@dataclass(frozen=True)
class Who:
    """The sender of an update, resolved once per update."""

    telegram_user_id: int
    telegram_language: str | None
    language: str
    staff: StaffView | None
    participant: ParticipantView | None

    @property
    def t(self) -> NullTranslations:
        return translations(self.language)


async def identify(update: Update, context: BotContext) -> Who | None:
    """Look the sender up; None for updates without a user (channel posts)."""
    user = update.effective_user
    if user is None:
        return None
    async with unit_of_work(context.deps.sessionmaker) as session:
        staff = await active_staff(session, user.id)
        participant = None if staff else await enrolled_participant(session, user.id)
    return _who(update, context, staff, participant)


def as_staff(update: Update, context: BotContext, staff: StaffView) -> Who:
    """The sender, when a domain function has just found them active staff (a tap reads
    the role in the same query as the session, to keep a tap to a few statements)."""
    return _who(update, context, staff, None)


def _who(
    update: Update,
    context: BotContext,
    staff: StaffView | None,
    participant: ParticipantView | None,
) -> Who:
    user = update.effective_user
    assert user is not None
    # Staff actions in this update are audited under this name (storage/audit.py).
    current_actor.set(f"staff:{staff.id}" if staff else None)
    # For the structured log line of this update (bot/logs.py): a role, never an identity.
    context.role = staff.role.value if staff else "participant" if participant else "unknown"  # type: ignore[attr-defined]
    stored = staff.language if staff else participant.language if participant else None
    language = resolve_language(stored, user.language_code, context.deps.settings.default_language)
    return Who(user.id, user.language_code, language, staff, participant)


async def answer(update: Update, text: str) -> None:
    """Reply in the chat the update came from, or as a toast for a button press."""
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=len(text) > 60)
    elif update.effective_chat is not None:
        await update.get_bot().send_message(update.effective_chat.id, text)


async def refuse_staff_only(update: Update, who: Who) -> None:
    """Staff commands are refused on every call, not only hidden from menus."""
    _ = who.t.gettext
    await answer(update, _("⛔ Cette commande est réservée à l'équipe."))


async def answer_unknown(update: Update, who: Who) -> None:
    """Someone neither enrolled nor staff: a polite pointer, and nothing stored about them."""
    _ = who.t.gettext
    await answer(
        update,
        _(
            "👋 Bonjour ! Ce robot sert aux participants d'ACTIV'UP (CPAS de Charleroi).\n"
            "Pour vous inscrire, demandez un lien d'invitation à votre référent."
        ),
    )


async def staff_only(update: Update, context: BotContext) -> Who | None:
    """Every staff action re-checks the role, so a forwarded button does nothing."""
    who = await identify(update, context)
    if who is None:
        return None
    if who.staff is None:
        await refuse_staff_only(update, who)
        return None
    return who
