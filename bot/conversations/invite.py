"""/invite: a referent picks a group, types a first name, gets the link and its QR code."""

from __future__ import annotations

from enum import IntEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callback_data
from bot.context import BotContext
from bot.core import enrolment, notices, organisation
from bot.handlers.common import answer, answer_stale, identify, staff_only
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, format_date, isolate, rtl_line
from bot.keyboards import group_picker
from bot.qr import deep_link, qr_png
from storage.db import unit_of_work

GROUP = "invg"
IN_PERSON = "inp"
IN_PERSON_LANGUAGE = "inl"
GROUP_KEY = "invite_group_id"


class State(IntEnum):
    CHOOSE_GROUP = 1
    TYPE_NAME = 2


async def start_invite(update: Update, context: BotContext) -> int:
    """/invite: the groups this staff member may invite to, as buttons."""
    who = await staff_only(update, context)
    if who is None or who.staff is None or update.effective_chat is None:
        return ConversationHandler.END
    async with unit_of_work(context.deps.sessionmaker) as session:
        groups = await organisation.groups_for_staff(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything
        )
    _ = who.t.gettext
    if not groups:
        await answer(
            update,
            _("Vous n'avez pas encore de groupe. Un responsable peut en créer un."),
        )
        return ConversationHandler.END
    keyboard = group_picker(groups, GROUP)
    await update.get_bot().send_message(
        update.effective_chat.id, _("👥 Pour quel groupe ?"), reply_markup=keyboard
    )
    return State.CHOOSE_GROUP


async def group_chosen(update: Update, context: BotContext) -> int:
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return ConversationHandler.END
    _ = who.t.gettext
    fields = callback_data.decode_ints(query.data, GROUP, 1)
    async with unit_of_work(context.deps.sessionmaker) as session:
        allowed = await organisation.groups_for_staff(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything
        )
    group = next((g for g in allowed if fields is not None and g.id == fields[0]), None)
    if group is None:
        await answer(update, _("⚠️ Ce groupe n'est plus disponible."))
        return State.CHOOSE_GROUP
    assert context.user_data is not None
    context.user_data[GROUP_KEY] = group.id
    await query.answer()
    await query.edit_message_text(
        _("✏️ Groupe %(group)s.\nPrénom et initiale du participant ? (par exemple : Amina K.)")
        % {"group": group.name}
    )
    return State.TYPE_NAME


async def name_typed(update: Update, context: BotContext) -> int:
    who = await staff_only(update, context)
    message = update.effective_message
    if who is None or who.staff is None or message is None or message.text is None:
        return ConversationHandler.END
    _ = who.t.gettext
    first_name = enrolment.clean_first_name(message.text)
    if first_name is None:
        await answer(
            update, _("⚠️ Écrivez seulement le prénom et l'initiale (40 caractères au plus).")
        )
        return State.TYPE_NAME
    assert context.user_data is not None
    group_id = context.user_data.pop(GROUP_KEY, None)
    if group_id is None:
        return ConversationHandler.END
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        try:
            created = await enrolment.create_invite(
                session,
                group_id=group_id,
                first_name=first_name,
                created_by_id=who.staff.id,
                now=deps.clock.now(),
                valid_days=deps.settings.invite_days,
            )
        except LookupError:
            await answer(update, _("⚠️ Ce groupe n'est plus disponible."))
            return ConversationHandler.END
        await session.commit()
    link = deep_link(context.bot.username, created.token)
    values = {
        "name": first_name,
        "group": created.info.group_name,
        "date": format_date(created.info.expires_at, who.language, deps.settings.tz),
        "link": link,
    }
    await message.reply_text(
        _(
            "✅ Invitation pour %(name)s (%(group)s).\n"
            "Valable une seule fois, jusqu'au %(date)s :\n%(link)s"
        )
        % values
    )
    await message.reply_photo(
        qr_png(link),
        caption=rtl_line(
            _("📱 %(name)s : scannez ce code pour vous inscrire à ACTIV'UP.")
            % {"name": isolate(first_name, who.language)},
            who.language,
        ),
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("🤝 J'ai expliqué en personne"),
                        callback_data=callback_data.encode(IN_PERSON, created.info.invite_id),
                    )
                ]
            ]
        ),
    )
    return ConversationHandler.END


async def in_person_tapped(update: Update, context: BotContext) -> None:
    """The referent explained the notice beside the participant: in which language?"""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None:
        return
    values = callback_data.decode_ints(query.data, IN_PERSON, 1)
    if values is None:
        await answer_stale(update, who)
        return
    buttons = [
        InlineKeyboardButton(
            lang.native_name,
            callback_data=callback_data.encode(IN_PERSON_LANGUAGE, values[0], lang.code),
        )
        for lang in LANGUAGES
    ]
    await query.answer()
    await query.edit_message_reply_markup(
        InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])
    )


async def in_person_language(update: Update, context: BotContext) -> None:
    """Recorded on the invite; the participant's consent then keeps it (who, language, date)."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return
    _ = who.t.gettext
    fields = callback_data.decode(query.data, IN_PERSON_LANGUAGE, 2, ids=[0])
    if fields is None or fields[1] not in LANGUAGE_NAMES:
        await answer(update, _("⚠️ Ce bouton n'est plus valable."))
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        done = await notices.explained_in_person(
            session,
            invite_id=int(fields[0]),
            staff_id=who.staff.id,
            language=fields[1],
            now=context.deps.clock.now(),
        )
        if done:
            await session.commit()
    if not done:
        await answer(update, _("⛔ Action non autorisée."))
        return
    await query.answer(
        _("✅ Noté : expliqué en personne, en %(language)s.")
        % {"language": LANGUAGE_NAMES[fields[1]]},
        show_alert=True,
    )
    await query.edit_message_reply_markup(None)


IN_PERSON_HANDLERS = [
    CallbackQueryHandler(in_person_tapped, pattern=callback_data.pattern(IN_PERSON)),
    CallbackQueryHandler(in_person_language, pattern=callback_data.pattern(IN_PERSON_LANGUAGE)),
]


async def cancel(update: Update, context: BotContext) -> int:
    who = await identify(update, context)
    if context.user_data is not None:
        context.user_data.pop(GROUP_KEY, None)
    if who is not None:
        await answer(update, who.t.gettext("👌 Annulé."))
    return ConversationHandler.END


def conversation() -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CommandHandler("invite", start_invite)],
        states={
            State.CHOOSE_GROUP: [
                CallbackQueryHandler(group_chosen, pattern=callback_data.pattern(GROUP))
            ],
            State.TYPE_NAME: [MessageHandler(filters.TEXT & ~filters.COMMAND, name_typed)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=900,
        name="invite",
        allow_reentry=True,
    )
