"""Answers to reminders (✅ / ❌ and the reason), and /next for participants."""

from __future__ import annotations

from babel.support import NullTranslations
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import callback_data
from bot.context import BotContext
from bot.core import rsvp, schedule
from bot.core.rsvp import RsvpProblem
from bot.dispatcher import RSVP, wake
from bot.handlers.common import (
    Who,
    answer,
    answer_stale,
    for_one_person,
    for_the_person_named,
    identify,
    person_action,
    reply,
)
from bot.i18n import rtl_line
from bot.views import REASON_EMOJI, reason_label, session_line
from storage.db import unit_of_work
from storage.models import DeclineReason, RsvpAnswer

REASON = "why"


def problem_text(t: NullTranslations, problem: RsvpProblem) -> str:
    _ = t.gettext
    return {
        RsvpProblem.NOT_EXPECTED: _("⛔ Ce bouton n'est pas pour vous."),
        RsvpProblem.CANCELLED: _("⚠️ Cette activité est annulée."),
        RsvpProblem.STARTED: _("⏰ L'activité a déjà commencé : la réponse ne change plus."),
        RsvpProblem.UNKNOWN_SESSION: _("⚠️ Ce bouton n'est plus valable."),
    }[problem]


def reason_buttons(
    t: NullTranslations, session_id: int, participant_id: int
) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            reason_label(t, reason),
            callback_data=callback_data.encode(REASON, session_id, participant_id, reason),
        )
        for reason in REASON_EMOJI
    ]
    return InlineKeyboardMarkup([buttons[0:2], buttons[2:4], buttons[4:]])


async def rsvp_tapped(update: Update, context: BotContext) -> None:
    """✅ or ❌ under a reminder: store it; ❌ then asks why, with pictograms."""
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    fields = callback_data.decode(query.data, RSVP, 3, ids=[0, 1])
    if fields is None or fields[2] not in ("y", "n"):
        await answer_stale(update, who)
        return
    named = await for_the_person_named(update, who, int(fields[1]))
    if named is None:
        return
    who, participant_id = named
    _ = who.t.gettext
    session_id, choice = int(fields[0]), RsvpAnswer.YES if fields[2] == "y" else RsvpAnswer.NO
    async with unit_of_work(context.deps.sessionmaker) as session:
        result = await rsvp.record_answer(
            session,
            session_id=session_id,
            participant_id=participant_id,
            answer=choice,
            now=context.deps.clock.now(),
        )
        await session.commit()
    if isinstance(result, RsvpProblem):
        await answer(update, problem_text(who.t, result))
        return
    if choice == RsvpAnswer.YES:
        await query.answer(_("✅ Merci ! À bientôt."))
        await query.edit_message_reply_markup(
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            _("✅ Je viens (changer)"),
                            callback_data=callback_data.encode(
                                RSVP, session_id, participant_id, "n"
                            ),
                        )
                    ]
                ]
            )
        )
    else:
        await query.answer()
        wake(context.application)
        # The reasons come under a one-line question, at the bottom of the chat where the
        # eye is; the reminder (or an earlier question) gives its buttons up to it.
        await query.edit_message_reply_markup(None)
        assert update.effective_chat is not None
        await update.get_bot().send_message(
            update.effective_chat.id,
            who.named(rtl_line(_("❓ Pourquoi ?"), who.language)),
            reply_markup=reason_buttons(who.t, session_id, participant_id),
        )


async def reason_tapped(update: Update, context: BotContext) -> None:
    """The reason for not coming, one tap; it pre-marks the participant excused."""
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    fields = callback_data.decode(query.data, REASON, 3, ids=[0, 1])
    if fields is None or fields[2] not in {r.value for r in DeclineReason}:
        await answer_stale(update, who)
        return
    named = await for_the_person_named(update, who, int(fields[1]))
    if named is None:
        return
    who, participant_id = named
    _ = who.t.gettext
    session_id, reason = int(fields[0]), DeclineReason(fields[2])
    async with unit_of_work(context.deps.sessionmaker) as session:
        result = await rsvp.record_answer(
            session,
            session_id=session_id,
            participant_id=participant_id,
            answer=RsvpAnswer.NO,
            reason=reason,
            now=context.deps.clock.now(),
        )
        await session.commit()
    if isinstance(result, RsvpProblem):
        await answer(update, problem_text(who.t, result))
        return
    await query.answer(_("📝 Merci, c'est noté."))
    wake(context.application)
    await query.edit_message_reply_markup(
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        # Short: phones cut a long button, and ✏️ says it can change.
                        _("❌ %(reason)s ✏️") % {"reason": reason_label(who.t, reason)},
                        callback_data=callback_data.encode(RSVP, session_id, participant_id, "y"),
                    )
                ]
            ]
        )
    )


async def next_command(update: Update, context: BotContext) -> None:
    """/next: the participant's coming sessions, in their language and Brussels time."""
    who = await identify(update, context)
    if who is None:
        return
    if who.staff is not None:
        await answer(update, who.t.gettext("Pour l'équipe : /sessions"))
        return
    await for_one_person(update, context, who, "next")


@person_action("next")
async def _next_for(update: Update, context: BotContext, who: Who) -> None:
    assert who.participant is not None
    _ = who.t.gettext
    async with unit_of_work(context.deps.sessionmaker) as session:
        rows = await schedule.coming_sessions_of_participant(
            session, who.participant.id, now=context.deps.clock.now()
        )
    if not rows:
        await reply(
            update, who.named(rtl_line(_("📅 Pas d'activité prévue pour le moment."), who.language))
        )
        return
    lines = [session_line(row, who.language, context.deps.settings.tz) for row in rows]
    text = _("📅 Vos prochaines activités :") + "\n" + "\n".join(lines)
    await reply(update, who.named(rtl_line(text, who.language)))


HANDLERS = [
    CommandHandler("next", next_command),
    CallbackQueryHandler(rsvp_tapped, pattern=callback_data.pattern(RSVP)),
    CallbackQueryHandler(reason_tapped, pattern=callback_data.pattern(REASON)),
]
