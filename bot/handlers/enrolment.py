"""Enrolment by invite link: /start TOKEN, the language picker, then consent.

The token waits in ``user_data`` between taps; nothing about the person is written to
the database before they accept.
"""

from __future__ import annotations

from babel.support import NullTranslations
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import callback_data
from bot.context import BotContext
from bot.core import enrolment, notices
from bot.core.enrolment import InviteProblem
from bot.core.notices import NoticeKind
from bot.handlers.common import (
    Who,
    answer,
    answer_stale,
    for_one_person,
    identify,
    person_action,
    reply,
)
from bot.handlers.menus import set_chat_menu
from bot.i18n import LANGUAGE_CODES, LANGUAGE_NAMES, isolate, picker_order, rtl_line, translations
from bot.keyboards import CONSENT, LANGUAGE, consent_buttons, language_picker
from storage.db import unit_of_work
from storage.models import ParticipantStatus

TOKEN_KEY = "enrol_token"
LANGUAGE_KEY = "enrol_language"
PERSON_KEY = "enrol_person"  # on a phone already enrolled: a participant id, or NEW_PERSON
NEW_PERSON = "new"
SHARED = "shp"


def problem_text(t: NullTranslations, problem: InviteProblem) -> str:
    _ = t.gettext
    texts = {
        InviteProblem.UNKNOWN: _(
            "⚠️ Ce lien d'invitation n'est pas valable.\nDemandez un nouveau lien à votre référent."
        ),
        InviteProblem.USED: _(
            "⚠️ Ce lien d'invitation a déjà été utilisé.\nDemandez un nouveau lien à votre référent."
        ),
        InviteProblem.EXPIRED: _(
            "⚠️ Ce lien d'invitation a expiré.\nDemandez un nouveau lien à votre référent."
        ),
        InviteProblem.GROUP_CLOSED: _("⚠️ Ce groupe est fermé. Parlez-en à votre référent."),
    }
    return texts[problem]


def consent_text(t: NullTranslations, first_name: str, language: str) -> str:
    """One pictogram line per point, for who reads little; under 250 characters in French."""
    _ = t.gettext
    text = _(
        "📋 Bonjour %(name)s ! Ici, vos rappels ACTIV'UP.\n"
        "On garde : 👤 prénom · 🌍 langue · ✅ réponses · 📊 présences\n"
        "👥 Qui voit : votre référent, l'équipe\n"
        "🔎 /mydata : tout voir\n"
        "🗑 /forget : tout effacer\n"
        "⏳ 12 mois sans activité : tout est anonyme\n"
        "D'accord ?"
    ) % {"name": isolate(first_name, language)}
    return rtl_line(text, language)


async def start(update: Update, context: BotContext) -> None:
    """/start, with an invite token from a deep link or without."""
    who = await identify(update, context)
    if who is None or update.effective_chat is None:
        return
    token = context.args[0] if context.args else None
    if who.staff is not None:
        await _welcome_staff(update, who)
    elif token is not None:
        await _open_invite(update, context, who, token)
    else:
        await for_one_person(update, context, who, "start")


async def _welcome_staff(update: Update, who: Who) -> None:
    _ = who.t.gettext
    assert who.staff is not None
    await answer(
        update,
        _("👋 Bonjour %(name)s ! Votre compte d'équipe est actif.\n/help : vos commandes")
        % {"name": who.staff.name},
    )


@person_action("start")
async def _welcome_back(update: Update, context: BotContext, who: Who) -> None:
    assert who.participant is not None
    _ = who.t.gettext
    if who.participant.status == ParticipantStatus.STOPPED:
        async with unit_of_work(context.deps.sessionmaker) as session:
            await enrolment.set_participant_status(
                session, who.participant.id, ParticipantStatus.ACTIVE
            )
            await session.commit()
        text = _("🔔 C'est reparti : vous recevrez de nouveau vos rappels ici.")
    else:
        text = _("👋 Bonjour %(name)s ! Vos rappels arrivent ici.\n/help : l'aide") % {
            "name": isolate(who.participant.first_name, who.language)
        }
    await reply(update, who.named(rtl_line(text, who.language)))


async def _open_invite(update: Update, context: BotContext, who: Who, token: str) -> None:
    async with unit_of_work(context.deps.sessionmaker) as session:
        checked = await enrolment.check_invite(session, token, context.deps.clock.now())
    if isinstance(checked, InviteProblem):
        await answer(update, problem_text(who.t, checked))
        return
    assert context.user_data is not None
    context.user_data[TOKEN_KEY] = token
    context.user_data.pop(PERSON_KEY, None)
    _ = who.t.gettext
    assert update.effective_chat is not None
    if who.participants:
        same = [
            p for p in who.participants if p.first_name.casefold() == checked.first_name.casefold()
        ]
        if same:  # the same person, joining another group
            context.user_data[PERSON_KEY] = same[0].id
        else:  # someone else on a phone already enrolled: a family's shared phone?
            await update.get_bot().send_message(
                update.effective_chat.id,
                _shared_question(who, checked.first_name),
                reply_markup=_shared_buttons(who, checked.first_name),
            )
            return
    await update.get_bot().send_message(
        update.effective_chat.id,
        rtl_line(_("🌍 Choisissez votre langue :"), who.language),
        reply_markup=language_picker(picker_order(who.telegram_language)),
    )


def _shared_question(who: Who, invited: str) -> str:
    names = ", ".join(p.first_name for p in who.participants)
    text = who.t.gettext(
        "📱 Ce téléphone reçoit déjà les messages de %(names)s.\n"
        "%(name)s est une autre personne qui utilise ce téléphone ?"
    ) % {"names": isolate(names, who.language), "name": isolate(invited, who.language)}
    return rtl_line(text, who.language)


def _shared_buttons(who: Who, invited: str) -> InlineKeyboardMarkup:
    _ = who.t.gettext
    # The name is isolated whole (never cut after its end mark), so that right to left it
    # does not come out as ".Amina K".
    rows = [
        [
            InlineKeyboardButton(
                _("👥 Oui, %(name)s est une autre personne")
                % {"name": isolate(invited[:40], who.language)},
                callback_data=callback_data.encode(SHARED, NEW_PERSON),
            )
        ]
    ]
    rows += [
        [
            InlineKeyboardButton(
                _("🙋 Non, c'est %(name)s")
                % {"name": isolate(person.first_name[:40], who.language)},
                callback_data=callback_data.encode(SHARED, person.id),
            )
        ]
        for person in who.participants
    ]
    return InlineKeyboardMarkup(rows)


async def shared_answered(update: Update, context: BotContext) -> None:
    """The answer to "another person on this phone?"; then the language picker, as usual."""
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    assert context.user_data is not None
    fields = callback_data.decode(query.data, SHARED, 1)
    choice: int | str | None = None
    if fields is not None and fields[0] == NEW_PERSON:
        choice = NEW_PERSON
    elif fields is not None and callback_data.is_id(fields[0]) and who.acting_for(int(fields[0])):
        choice = int(fields[0])
    if choice is None or TOKEN_KEY not in context.user_data or who.staff is not None:
        await answer(
            update,
            who.t.gettext(
                "⚠️ Ce bouton n'est plus valable. Ouvrez à nouveau votre lien d'invitation."
            ),
        )
        return
    context.user_data[PERSON_KEY] = choice
    await query.answer()
    await query.edit_message_text(
        rtl_line(who.t.gettext("🌍 Choisissez votre langue :"), who.language),
        reply_markup=language_picker(picker_order(who.telegram_language)),
    )


async def language_chosen(update: Update, context: BotContext) -> None:
    """A tap in the language picker: during enrolment, or to change language later."""
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    # Enrolment and staff pickers carry the language; a participant's also carries their id.
    fields = callback_data.decode(query.data, LANGUAGE, 1) or callback_data.decode(
        query.data, LANGUAGE, 2
    )
    if (
        fields is None
        or fields[0] not in LANGUAGE_CODES
        or (len(fields) == 2 and not callback_data.is_id(fields[1]))
    ):
        await answer_stale(update, who)
        return
    language = fields[0]
    person = who.acting_for(int(fields[1])) if len(fields) == 2 else None
    t = translations(language)
    _ = t.gettext
    assert context.user_data is not None
    if TOKEN_KEY in context.user_data and len(fields) == 1 and who.staff is None:
        context.user_data[LANGUAGE_KEY] = language
        await query.answer()
        notice = consent_text(t, await _invite_name(context, who), language)
        async with unit_of_work(context.deps.sessionmaker) as session:
            voice = await notices.voice_for(session, NoticeKind.CONSENT, language)
        if voice is None or update.effective_chat is None:
            await query.edit_message_text(notice, reply_markup=consent_buttons(t))
            return
        # For who cannot read: the notice spoken first, recorded by the team, then the
        # same in writing with the buttons, under it.
        await query.edit_message_text(_language_set(t, language))
        await update.get_bot().send_voice(update.effective_chat.id, voice)
        await update.get_bot().send_message(
            update.effective_chat.id, notice, reply_markup=consent_buttons(t)
        )
        return
    if who.staff is None and (person is None or person.participant is None):
        await answer(
            update,
            who.t.gettext(
                "⚠️ Ce bouton n'est plus valable. Ouvrez à nouveau votre lien d'invitation."
            ),
        )
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        if who.staff is not None:
            await enrolment.set_staff_language(session, who.staff.id, language)
        elif person is not None and person.participant is not None:
            # Only this person's language: others on a shared phone keep theirs.
            await enrolment.set_participant_language(session, person.participant.id, language)
        await session.commit()
    await query.answer()
    await query.edit_message_text(_language_set(t, language))
    await set_chat_menu(context, who.telegram_user_id, language, staff=who.staff is not None)


def _language_set(t: NullTranslations, language: str) -> str:
    return rtl_line(
        t.gettext("✅ Langue : %(language)s") % {"language": LANGUAGE_NAMES[language]}, language
    )


async def _invite_name(context: BotContext, who: Who) -> str:
    assert context.user_data is not None
    async with unit_of_work(context.deps.sessionmaker) as session:
        checked = await enrolment.check_invite(
            session, context.user_data[TOKEN_KEY], context.deps.clock.now()
        )
    return "" if isinstance(checked, InviteProblem) else checked.first_name


async def consent_given(update: Update, context: BotContext) -> None:
    """Accept or decline: only an accept stores anything."""
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None or update.effective_chat is None:
        return
    assert context.user_data is not None
    fields = callback_data.decode(query.data, CONSENT, 1)
    token = context.user_data.get(TOKEN_KEY)
    language = context.user_data.get(LANGUAGE_KEY, who.language)
    t = translations(language)
    _ = t.gettext
    if fields is None or fields[0] not in ("yes", "no") or token is None:
        await answer(
            update, _("⚠️ Ce bouton n'est plus valable. Ouvrez à nouveau votre lien d'invitation.")
        )
        return
    context.user_data.pop(TOKEN_KEY, None)
    context.user_data.pop(LANGUAGE_KEY, None)
    person = context.user_data.pop(PERSON_KEY, None)
    await query.answer()
    if fields[0] == "no":
        await query.edit_message_text(
            rtl_line(
                _(
                    "👌 D'accord. Nous n'avons rien gardé.\n"
                    "Si vous changez d'avis, ouvrez à nouveau votre lien d'invitation."
                ),
                language,
            )
        )
        return
    async with unit_of_work(context.deps.sessionmaker) as session:
        result = await enrolment.accept_invite(
            session,
            token,
            telegram_user_id=who.telegram_user_id,
            chat_id=update.effective_chat.id,
            language=language,
            telegram_language=who.telegram_language,
            now=context.deps.clock.now(),
            participant_id=person if isinstance(person, int) else None,
            new_person=person == NEW_PERSON,
        )
        if not isinstance(result, InviteProblem):
            await session.commit()
    if isinstance(result, InviteProblem):
        await query.edit_message_text(problem_text(t, result))
        return
    text = _(
        "✅ Bienvenue, %(name)s !\n\n"
        "Votre groupe : %(group)s.\n"
        "📅 Avant chaque activité, vous recevrez ici un rappel.\n"
        "Répondez avec ✅ (je viens) ou ❌ (je ne viens pas).\n\n"
        "/help : l'aide"
    ) % {
        "name": isolate(result.first_name, language),
        "group": isolate(result.group_name, language),
    }
    await query.edit_message_text(rtl_line(text, language))
    await set_chat_menu(context, who.telegram_user_id, language, staff=False)


HANDLERS = [
    CommandHandler("start", start),
    CallbackQueryHandler(language_chosen, pattern=callback_data.pattern(LANGUAGE)),
    CallbackQueryHandler(consent_given, pattern=callback_data.pattern(CONSENT)),
    CallbackQueryHandler(shared_answered, pattern=callback_data.pattern(SHARED)),
]
