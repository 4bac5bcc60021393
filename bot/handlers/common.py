"""What every handler needs: who is writing, in which language, and how to answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from babel.support import NullTranslations
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler

from bot import callback_data
from bot.context import BotContext
from bot.core.people import ParticipantView, StaffView, active_staff, enrolled_participants
from bot.i18n import LANGUAGE_CODES, resolve_language, rtl_line, translations
from bot.views import for_person
from storage.audit import current_actor
from storage.db import unit_of_work


@dataclass(frozen=True)
class Who:
    """The sender of an update, resolved once per update."""

    telegram_user_id: int
    telegram_language: str | None
    language: str
    staff: StaffView | None
    # The person this update acts for: the one enrolled from this account, or on a shared
    # phone the one the button names or the sender picked; None until then.
    participant: ParticipantView | None
    # Everyone enrolled from this Telegram account (a shared phone holds several).
    participants: tuple[ParticipantView, ...] = ()

    @property
    def t(self) -> NullTranslations:
        return translations(self.language)

    @property
    def shared_phone(self) -> bool:
        return len(self.participants) > 1

    def acting_for(self, participant_id: int) -> Who | None:
        """The same sender acting for one of the people on their phone, in that person's
        language; None when the id is not one of them (a forged or forwarded button)."""
        for person in self.participants:
            if person.id == participant_id:
                language = person.language if person.language in LANGUAGE_CODES else self.language
                return replace(self, participant=person, language=language)
        return None

    def named(self, text: str) -> str:
        """On a shared phone, a reply says whom it is for, in its first line."""
        if not self.shared_phone or self.participant is None:
            return text
        return for_person(self.t, self.participant.first_name, self.language, text)


async def identify(update: Update, context: BotContext) -> Who | None:
    """Look the sender up; None for updates without a user (channel posts)."""
    user = update.effective_user
    if user is None:
        return None
    async with unit_of_work(context.deps.sessionmaker) as session:
        staff = await active_staff(session, user.id)
        people = [] if staff else await enrolled_participants(session, user.id)
    return _who(update, context, staff, tuple(people))


def as_staff(update: Update, context: BotContext, staff: StaffView) -> Who:
    """The sender, when a domain function has just found them active staff (a tap reads
    the role in the same query as the session, to keep a tap to a few statements)."""
    return _who(update, context, staff, ())


def _who(
    update: Update,
    context: BotContext,
    staff: StaffView | None,
    people: tuple[ParticipantView, ...],
) -> Who:
    user = update.effective_user
    assert user is not None
    # Staff actions in this update are audited under this name (storage/audit.py).
    current_actor.set(f"staff:{staff.id}" if staff else None)
    # For the structured log line of this update (bot/logs.py): a role, never an identity.
    context.role = staff.role.value if staff else "participant" if people else "unknown"  # type: ignore[attr-defined]
    # On a shared phone, until a person is chosen: the language of the first enrolled.
    stored = staff.language if staff else people[0].language if people else None
    language = resolve_language(stored, user.language_code, context.deps.settings.default_language)
    participant = people[0] if len(people) == 1 else None
    return Who(user.id, user.language_code, language, staff, participant, people)


# -- a shared phone: which person a command is for -----------------------------------------

PICK_PERSON = "pp"
PersonAction = Callable[[Update, BotContext, Who], Awaitable[None]]
_PERSON_ACTIONS: dict[str, PersonAction] = {}


def person_action(name: str) -> Callable[[PersonAction], PersonAction]:
    """Register what a command does for one person, so the "for whom?" question can run it."""

    def register(action: PersonAction) -> PersonAction:
        _PERSON_ACTIONS[name] = action
        return action

    return register


async def for_one_person(update: Update, context: BotContext, who: Who, action: str) -> None:
    """Run a participant command for its person; on a shared phone, ask whom it is for.

    Each person on the phone gets a button with their name; the tap runs the command for
    that person only, in their language.
    """
    if who.participant is not None:
        await _PERSON_ACTIONS[action](update, context, who)
        return
    if not who.participants:
        await answer_unknown(update, who)
        return
    buttons = [
        [
            InlineKeyboardButton(
                f"👤 {person.first_name}"[:60],
                callback_data=callback_data.encode(PICK_PERSON, action, person.id),
            )
        ]
        for person in who.participants
    ]
    assert update.effective_chat is not None
    await update.get_bot().send_message(
        update.effective_chat.id,
        rtl_line(who.t.gettext("👥 C'est pour qui ?"), who.language),
        reply_markup=InlineKeyboardMarkup(buttons),
    )


async def person_picked(update: Update, context: BotContext) -> None:
    """A name tapped under "for whom?": the command runs for that person."""
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    fields = callback_data.decode(query.data, PICK_PERSON, 2, ids=[1])
    chosen = (
        who.acting_for(int(fields[1]))
        if fields is not None and fields[0] in _PERSON_ACTIONS
        else None
    )
    if fields is None or chosen is None or chosen.participant is None:
        await answer_stale(update, who)
        return
    await query.answer()
    await query.edit_message_text(f"👤 {chosen.participant.first_name}")
    await _PERSON_ACTIONS[fields[0]](update, context, chosen)


PERSON_HANDLERS = [
    CallbackQueryHandler(person_picked, pattern=callback_data.pattern(PICK_PERSON)),
]


async def answer(update: Update, text: str) -> None:
    """Reply in the chat the update came from, or as a toast for a button press."""
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=len(text) > 60)
    elif update.effective_chat is not None:
        await update.get_bot().send_message(update.effective_chat.id, text)


async def for_the_person_named(
    update: Update, who: Who, participant_id: int
) -> tuple[Who, int] | None:
    """The sender acting for the person a button names (on a shared phone, each answers
    for themselves), with that person's id; None, answered, when it is not theirs."""
    person = who.acting_for(participant_id)
    if person is None or person.participant is None:
        await answer(update, who.t.gettext("⛔ Ce bouton n'est pas pour vous."))
        return None
    return person, person.participant.id


async def reply(update: Update, text: str) -> None:
    """A message in the chat, also after a button (whose toast is already spent)."""
    if update.effective_chat is not None:
        await update.get_bot().send_message(update.effective_chat.id, text)


async def answer_stale(update: Update, who: Who) -> None:
    """A button that no longer means anything (old, forged, from another version)."""
    await answer(update, who.t.gettext("⚠️ Ce bouton n'est plus valable."))


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
