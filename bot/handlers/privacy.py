"""/mydata and /forget: the participants' data rights, from their phone."""

from __future__ import annotations

import io
import json

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import callback_data
from bot.context import BotContext
from bot.core import privacy
from bot.dispatcher import ERASE, wake
from bot.handlers.common import (
    Who,
    answer,
    answer_stale,
    for_one_person,
    identify,
    person_action,
    reply,
    staff_only,
)
from bot.i18n import LANGUAGE_NAMES, isolate, rtl_line, translations
from storage.db import unit_of_work
from storage.models import Group, Membership, Participant, ParticipantStatus

ASK = "fgt"
CONFIRM = ERASE


async def mydata_command(update: Update, context: BotContext) -> None:
    """Everything the bot holds about the person: a short message and the whole as JSON."""
    who = await identify(update, context)
    if who is None or update.effective_chat is None:
        return
    if who.staff is not None:
        await answer(update, who.t.gettext("⛔ /mydata est fait pour les participants."))
        return
    await for_one_person(update, context, who, "mydata")


@person_action("mydata")
async def _mydata_for(update: Update, context: BotContext, who: Who) -> None:
    """Only the chosen person's data, also on a phone a family shares."""
    assert who.participant is not None and update.effective_chat is not None
    async with unit_of_work(context.deps.sessionmaker) as session:
        data = await privacy.everything_about(session, who.participant.id)
    _ = who.t.gettext
    person = data["person"]
    text = _(
        "🔎 Ce que le robot garde sur vous :\n"
        "• prénom : %(name)s\n"
        "• langue : %(language)s\n"
        "• groupes : %(groups)d\n"
        "• présences notées : %(marks)d\n"
        "• réponses aux rappels : %(answers)d\n"
        "• avis donnés : %(feedback)d\n\n"
        "Tout le détail est dans le fichier joint.\n"
        "/forget : demander l'effacement."
    ) % {
        "name": isolate(person["first_name"], who.language),
        # Its name, in its own script ("دری"), not the code ("fa_AF").
        "language": LANGUAGE_NAMES.get(person["language"], person["language"]),
        "groups": len(data["groups"]),
        "marks": len(data["attendance"]),
        "answers": len(data["answers_to_reminders"]),
        "feedback": len(data["feedback"]),
    }
    await reply(update, who.named(rtl_line(text, who.language)))
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await update.get_bot().send_document(
        update.effective_chat.id,
        io.BytesIO(payload),
        filename="activup-mydata.json",
        caption=rtl_line(_("📎 Vos données (JSON)"), who.language),
    )


async def forget_command(update: Update, context: BotContext) -> None:
    """/forget: asks once more, with two big buttons."""
    who = await identify(update, context)
    if who is None or update.effective_chat is None:
        return
    if who.staff is not None:
        await answer(update, who.t.gettext("⛔ /forget est fait pour les participants."))
        return
    await for_one_person(update, context, who, "forget")


@person_action("forget")
async def _forget_for(update: Update, context: BotContext, who: Who) -> None:
    assert who.participant is not None and update.effective_chat is not None
    _ = who.t.gettext
    person = who.participant.id
    await update.get_bot().send_message(
        update.effective_chat.id,
        who.named(
            rtl_line(
                _(
                    "🗑 Effacer vos données ?\n"
                    "Votre prénom et votre compte Telegram seront effacés. Vos présences restent "
                    "seulement comme chiffres anonymes. Votre référent confirme l'effacement."
                ),
                who.language,
            )
        ),
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("🗑 Oui, effacer"),
                        callback_data=callback_data.encode(ASK, "yes", person),
                    )
                ],
                [
                    InlineKeyboardButton(
                        _("❌ Non"), callback_data=callback_data.encode(ASK, "no", person)
                    )
                ],
            ]
        ),
    )


async def forget_answered(update: Update, context: BotContext) -> None:
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    fields = callback_data.decode(query.data, ASK, 2, ids=[1])
    # The question named its person: on a shared phone, only that person is erased.
    person = who.acting_for(int(fields[1])) if fields is not None else None
    if fields is None or person is None or person.participant is None:
        await answer_stale(update, who)
        return
    who = person
    _ = who.t.gettext
    await query.answer()
    if fields[0] != "yes":
        await query.edit_message_text(_("👌 D'accord, rien n'est effacé."))
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        await privacy.request_erasure(session, person.participant.id, now=context.deps.clock.now())
        await session.commit()
    wake(context.application)
    await query.edit_message_text(
        who.named(
            rtl_line(
                _("📨 Demande envoyée. Votre référent va confirmer l'effacement."), who.language
            )
        )
    )


async def erasure_confirmed(update: Update, context: BotContext) -> None:
    """The referent's tap: the person is erased (their group's referent, or a lead)."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return
    _ = who.t.gettext
    values = callback_data.decode_ints(query.data, CONFIRM, 1)
    if values is None:
        await answer(update, _("⚠️ Ce bouton n'est plus valable."))
        return
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        person = await session.get(Participant, values[0])
        in_my_group = await session.scalar(
            select(Membership.id)
            .join(Group, Group.id == Membership.group_id)
            .where(Membership.participant_id == values[0], Group.referent_id == who.staff.id)
        )
        allowed = who.staff.sees_everything or in_my_group is not None
        pending = person is not None and person.erasure_requested_at is not None
        chat_id = person.telegram_chat_id if person else None
        language = person.language if person else None
        if (
            not allowed
            or not pending
            or person is None
            or person.status == ParticipantStatus.ERASED
        ):
            await answer(update, _("⛔ Action non autorisée."))
            return
        await privacy.erase(session, values[0], now=deps.clock.now())
        await session.commit()
    await query.answer()
    await query.edit_message_text(_("🗑 Effacé. Il ne reste que des chiffres anonymes."))
    if chat_id is not None and language is not None:
        await context.bot.send_message(
            chat_id,
            rtl_line(
                translations(language).gettext("🗑 Vos données sont effacées. Au revoir !"), language
            ),
        )


HANDLERS = [
    CommandHandler("mydata", mydata_command),
    CommandHandler("forget", forget_command),
    CallbackQueryHandler(forget_answered, pattern=callback_data.pattern(ASK)),
    CallbackQueryHandler(erasure_confirmed, pattern=callback_data.pattern(CONFIRM)),
]
