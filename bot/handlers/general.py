"""/help, /language, /stop, and the answer to anything the bot does not understand."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.core import enrolment, notices
from bot.core.notices import NoticeKind
from bot.core.people import note_reachable
from bot.handlers.common import (
    Who,
    answer,
    answer_stale,
    answer_unknown,
    for_one_person,
    identify,
    person_action,
    reply,
)
from bot.handlers.feedback import take_comment
from bot.handlers.voice_notes import take_staff_voice
from bot.i18n import picker_order, rtl_line
from bot.keyboards import language_picker
from storage.db import unit_of_work
from storage.models import ParticipantStatus


async def help_command(update: Update, context: BotContext) -> None:
    """Participants get the few things they can do; staff get their commands."""
    who = await identify(update, context)
    if who is None:
        return
    _ = who.t.gettext
    if who.staff is not None:
        text = _(
            "🧭 Commandes de l'équipe :\n"
            "/today : les séances du jour et la feuille de présences\n"
            "/past : corriger une séance des 30 derniers jours\n"
            "/absence : noter une absence prévue\n"
            "/invite : inviter un participant (lien et QR code)\n"
            "/sessions : les prochaines séances de vos groupes\n"
            "/corrections : les dernières corrections (responsables)\n"
            "/feedback : les avis des participants (/feedback module : le graphique)\n"
            "/language : changer de langue\n"
            "/help : cette aide"
        )
    elif who.participants:
        text = _(
            "❓ Aide\n\n"
            "📅 Vous recevez ici les rappels de vos activités.\n"
            "✅ = je viens\n"
            "❌ = je ne viens pas\n\n"
            "/next : mes prochaines activités\n"
            "/me : mes présences\n"
            "/voice : rappels en message vocal (oui / non)\n"
            "/language : changer de langue\n"
            "/stop : ne plus recevoir de messages\n\n"
            "Une question ? Parlez à votre référent."
        )
    else:
        await answer_unknown(update, who)
        return
    await answer(update, rtl_line(text, who.language))
    async with unit_of_work(context.deps.sessionmaker) as session:
        voice = await notices.voice_for(session, NoticeKind.HELP, who.language)
    if voice is not None and update.effective_chat is not None:
        await update.get_bot().send_voice(update.effective_chat.id, voice)


async def language_command(update: Update, context: BotContext) -> None:
    """Show the picker; the tap is handled with the enrolment picker's handler."""
    who = await identify(update, context)
    if who is None or update.effective_chat is None:
        return
    if who.staff is not None:
        await update.get_bot().send_message(
            update.effective_chat.id,
            who.t.gettext("🌍 Choisissez votre langue :"),
            reply_markup=language_picker(picker_order(who.language)),
        )
        return
    await for_one_person(update, context, who, "language")


@person_action("language")
async def _language_for(update: Update, context: BotContext, who: Who) -> None:
    assert who.participant is not None and update.effective_chat is not None
    await update.get_bot().send_message(
        update.effective_chat.id,
        who.named(rtl_line(who.t.gettext("🌍 Choisissez votre langue :"), who.language)),
        reply_markup=language_picker(picker_order(who.language), who.participant.id),
    )


async def stop_command(update: Update, context: BotContext) -> None:
    """No more messages; the record stays until it is erased."""
    who = await identify(update, context)
    if who is None:
        return
    if who.staff is not None:
        await answer(update, who.t.gettext("⛔ /stop est fait pour les participants."))
        return
    await for_one_person(update, context, who, "stop")


@person_action("stop")
async def _stop_for(update: Update, context: BotContext, who: Who) -> None:
    """Only this person stops; others on a shared phone keep their reminders."""
    assert who.participant is not None
    async with unit_of_work(context.deps.sessionmaker) as session:
        await enrolment.set_participant_status(
            session, who.participant.id, ParticipantStatus.STOPPED
        )
        await session.commit()
    _ = who.t.gettext
    await reply(
        update,
        who.named(
            rtl_line(
                _(
                    "🔕 D'accord, vous ne recevrez plus de messages.\n"
                    "Pour recommencer, envoyez /start."
                ),
                who.language,
            )
        ),
    )


async def fallback_message(update: Update, context: BotContext) -> None:
    """Any other private message: a pointer to the buttons and to /help."""
    who = await identify(update, context)
    if who is None:
        return
    if who.staff is None and not who.participants:
        await answer_unknown(update, who)
        return
    if await take_comment(update, context, who) or await take_staff_voice(update, context, who):
        return
    _ = who.t.gettext
    await answer(
        update,
        rtl_line(
            _(
                "🤖 Je suis un robot : utilisez les boutons.\n"
                "Pour parler à quelqu'un, contactez votre référent.\n"
                "/help : l'aide"
            ),
            who.language,
        ),
    )


async def unknown_button(update: Update, context: BotContext) -> None:
    """A button no handler knows (an old format, a typo): answered, so it stops spinning."""
    who = await identify(update, context)
    if who is not None:
        await answer_stale(update, who)


async def blocked_or_back(update: Update, context: BotContext) -> None:
    """Someone blocked the bot or restarted it (in their private chat: the gate in
    bot/handlers/private_chats.py leaves groups before this)."""
    change = update.my_chat_member
    if change is None:
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        await note_reachable(
            session,
            change.from_user.id,
            reachable=change.new_chat_member.status != ChatMember.BANNED,
            now=context.deps.clock.now(),
        )
        await session.commit()


HANDLERS = [
    ChatMemberHandler(blocked_or_back, ChatMemberHandler.MY_CHAT_MEMBER),
    CommandHandler("help", help_command),
    CommandHandler("language", language_command),
    CommandHandler("stop", stop_command),
]

# Registered last, in its own group, so that conversations and commands win.
FALLBACK_HANDLERS = [
    MessageHandler(filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED, fallback_message),
    CallbackQueryHandler(unknown_button),
]
