"""Feedback: the faces participants tap, "tell us more", and what staff see (no names)."""

from __future__ import annotations

from babel.support import NullTranslations
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import callback_data
from bot.charts import satisfaction_chart
from bot.context import BotContext
from bot.core import feedback, schedule
from bot.core.feedback import AnswerProblem, SessionFeedback
from bot.dispatcher import wake
from bot.handlers.common import (
    Who,
    answer,
    answer_stale,
    for_the_person_named,
    identify,
    staff_only,
)
from bot.i18n import isolate, rtl_line
from bot.views import (
    FACE,
    face_buttons,
    feedback_question_text,
    pages,
    question_emoji,
    question_label,
    session_line,
    shorten,
)
from storage.db import unit_of_work
from storage.models import FeedbackComment, Session

NO_THANKS = "fbn"
CHANGE = "fbc"
SHOW = "fbs"
VOICE = "fbv"
COMMENT_KEY = "feedback_comment_session"
# A comment can run to 2000 characters; in the staff view each is cut here, so that one
# long comment does not push all the others to later pages.
COMMENT_LIMIT = 600


def problem_text(t: NullTranslations, problem: AnswerProblem) -> str:
    _ = t.gettext
    return {
        AnswerProblem.NOT_ASKED: _("⛔ Ce bouton n'est pas pour vous."),
        AnswerProblem.CLOSED: _("⏰ Trop tard : on répond dans les 24 heures après l'activité."),
        AnswerProblem.BAD_SCORE: _("⚠️ Ce bouton n'est plus valable."),
    }[problem]


async def face_tapped(update: Update, context: BotContext) -> None:
    """One tap records the answer; the buttons stay so it can change within 24 hours."""
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    fields = callback_data.decode(query.data, FACE, 4, ids=[0, 1, 3])
    if fields is None:
        await answer_stale(update, who)
        return
    named = await for_the_person_named(update, who, int(fields[1]))
    if named is None:
        return
    who, participant_id = named
    _ = who.t.gettext
    session_id, question, score = int(fields[0]), fields[2], int(fields[3])
    deps = context.deps
    async with unit_of_work(deps.sessionmaker) as session:
        result = await feedback.record_answer(
            session,
            session_id=session_id,
            participant_id=participant_id,
            question=question,
            score=score,
            now=deps.clock.now(),
        )
        row = await session.get(Session, session_id)
        if not isinstance(result, AnswerProblem):
            await session.commit()
    if isinstance(result, AnswerProblem):
        await answer(update, problem_text(who.t, result))
        return
    assert row is not None  # an answer was recorded for it
    chosen = feedback.faces(result.scale)[result.score]
    await query.answer(chosen)
    text = feedback_question_text(who.t, row, question, who.language)
    thanks = _("✅ Merci ! Votre réponse : %(face)s") % {"face": chosen}
    await query.edit_message_text(
        who.named(rtl_line(f"{text}\n\n{thanks}", who.language)),
        # The faces give way to the thanks; one small button brings them back to change.
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("✏️ Changer"),
                        callback_data=callback_data.encode(
                            CHANGE, session_id, participant_id, question
                        ),
                    )
                ]
            ]
        ),
    )
    if result.next_question is not None:
        wake(context.application)
    elif result.first_time and update.effective_chat is not None:
        assert context.user_data is not None
        context.user_data[COMMENT_KEY] = (session_id, participant_id)
        await update.get_bot().send_message(
            update.effective_chat.id,
            who.named(
                rtl_line(
                    _("✍️ Vous voulez en dire plus ? Écrivez, ou envoyez un message vocal 🎤."),
                    who.language,
                )
            ),
            reply_markup=InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            _("🙅 Non merci"),
                            callback_data=callback_data.encode(NO_THANKS, session_id),
                        )
                    ]
                ]
            ),
        )


async def change_answer(update: Update, context: BotContext) -> None:
    """Bring the faces back, while the answer can still change (24 hours)."""
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    fields = callback_data.decode(query.data, CHANGE, 3, ids=[0, 1])
    person = who.acting_for(int(fields[1])) if fields is not None else None
    if fields is None or person is None or person.participant is None:
        await answer_stale(update, who)
        return
    who, participant_id = person, person.participant.id
    session_id, question = int(fields[0]), fields[2]
    async with unit_of_work(context.deps.sessionmaker) as session:
        state = await feedback.can_change(
            session,
            session_id=session_id,
            participant_id=participant_id,
            question=question,
            now=context.deps.clock.now(),
        )
    if isinstance(state, AnswerProblem):
        await answer(update, problem_text(who.t, state))
        return
    await query.answer()
    await query.edit_message_reply_markup(
        face_buttons(session_id, participant_id, question, state.scale, chosen=state.score)
    )


async def no_thanks(update: Update, context: BotContext) -> None:
    query = update.callback_query
    who = await identify(update, context)
    if query is None or who is None:
        return
    if context.user_data is not None:
        context.user_data.pop(COMMENT_KEY, None)
    await query.answer()
    await query.edit_message_text(who.t.gettext("👌 Merci !"))


async def take_comment(update: Update, context: BotContext, who: Who) -> bool:
    """A text or voice right after "tell us more?": kept as a comment. False if none expected."""
    message = update.effective_message
    if context.user_data is None or message is None:
        return False
    waiting = context.user_data.get(COMMENT_KEY)
    if waiting is None or not (message.text or message.voice):
        return False
    session_id, participant_id = waiting
    # The comment is for the person who was just asked, also on a shared phone.
    person = who.acting_for(participant_id)
    if person is None:
        return False
    who = person
    context.user_data.pop(COMMENT_KEY, None)
    async with unit_of_work(context.deps.sessionmaker) as session:
        stored = await feedback.add_comment(
            session,
            session_id=session_id,
            participant_id=participant_id,
            text=message.text,
            voice_file_id=message.voice.file_id if message.voice else None,
            now=context.deps.clock.now(),
        )
        if stored:
            await session.commit()
    if not stored:
        return False
    await answer(
        update,
        who.named(
            rtl_line(
                who.t.gettext("🙏 Merci ! C'est transmis à l'équipe, sans votre nom."),
                who.language,
            )
        ),
    )
    return True


def _summary_line(t: NullTranslations, summary: SessionFeedback) -> str:
    if not summary.shown or not summary.questions:
        return t.ngettext("%(count)d réponse", "%(count)d réponses", summary.respondents) % {
            "count": summary.respondents
        }
    first = summary.questions[0]
    face = feedback.faces(first.scale)[first.average_index]
    return t.ngettext(
        "%(face)s · %(count)d réponse · 😊 %(happy)d %%",
        "%(face)s · %(count)d réponses · 😊 %(happy)d %%",
        summary.respondents,
    ) % {"face": face, "count": summary.respondents, "happy": round(100 * first.happy_share)}


async def feedback_command(update: Update, context: BotContext) -> None:
    """/feedback: recent collective activities with answers; /feedback module: a chart."""
    who = await staff_only(update, context)
    if who is None or who.staff is None or update.effective_chat is None:
        return
    deps = context.deps
    now = deps.clock.now()
    if context.args and context.args[0].lower() in ("module", "modules", "chart"):
        async with unit_of_work(deps.sessionmaker) as session:
            points = await feedback.chart_points(session, now=now)
        await update.get_bot().send_photo(
            update.effective_chat.id,
            satisfaction_chart(points, who.t, deps.settings.tz, who.language),
            caption=who.t.gettext("📈 Satisfaction par module, 3 derniers mois"),
        )
        return
    buttons = []
    async with unit_of_work(deps.sessionmaker) as session:
        rows = await feedback.recent_collective_sessions(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything, now=now
        )
        for row in rows:
            summary = await feedback.summary(session, row)
            line = session_line(row, who.language, deps.settings.tz)
            label = f"{line} · {_summary_line(who.t, summary)}"
            buttons.append(
                [InlineKeyboardButton(label[:90], callback_data=callback_data.encode(SHOW, row.id))]
            )
    _ = who.t.gettext
    text = _("💬 Les avis des dernières activités :") if rows else _("💬 Pas encore d'avis.")
    await update.get_bot().send_message(
        update.effective_chat.id,
        text,
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


async def show_feedback(update: Update, context: BotContext) -> None:
    """One activity: faces per question, the happy index, and comments, never with names."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None:
        return
    _ = who.t.gettext
    # The listing's button opens page 0; the arrows under a long view carry the page.
    values = callback_data.decode_ints(query.data, SHOW, 1) or callback_data.decode_ints(
        query.data, SHOW, 2
    )
    async with unit_of_work(context.deps.sessionmaker) as session:
        row = await session.get(Session, values[0]) if values else None
        allowed = row is not None and await schedule.may_manage(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything, row=row
        )
        summary = await feedback.summary(session, row) if row is not None and allowed else None
    if summary is None or row is None:
        await answer(update, _("⛔ Action non autorisée."))
        return
    lines = [session_line(row, who.language, context.deps.settings.tz), ""]
    comments: list[str] = []
    buttons: list[list[InlineKeyboardButton]] = []
    if not summary.shown:
        lines.append(
            _("🔒 Pas encore assez de réponses pour les montrer (%(count)d sur %(needed)d).")
            % {"count": summary.respondents, "needed": feedback.MIN_ANSWERS}
        )
    else:
        for item in summary.questions:
            lines.append(f"{question_emoji(item.question)} {question_label(who.t, item.question)}")
            for face, count in zip(feedback.faces(item.scale), item.counts, strict=True):
                lines.append(f"{face} {'▇' * count} {count}")
            lines.append(
                _("😊 Indice de bonheur : %(happy)d %%") % {"happy": round(100 * item.happy_share)}
            )
            lines.append("")
        texts = [c.text for c in summary.comments if c.text]
        if texts:
            lines.append(_("✍️ Commentaires :"))
            comments = [
                f"• {isolate(shorten(text, COMMENT_LIMIT), who.language)}" for text in texts
            ]
        voices: list[FeedbackComment] = [c for c in summary.comments if c.voice_file_id]
        buttons = [
            [
                InlineKeyboardButton(
                    _("🔊 Écouter le message %(number)d") % {"number": index},
                    callback_data=callback_data.encode(VOICE, comment.id),
                )
            ]
            for index, comment in enumerate(voices, start=1)
        ]
    assert values is not None
    texts_by_page = pages(lines, comments)
    page = values[1] if len(values) == 2 else 0
    if page >= len(texts_by_page):
        await answer_stale(update, who)
        return
    if len(texts_by_page) > 1:
        buttons.append(_page_arrows(row.id, page, len(texts_by_page)))
    await query.answer()
    await query.edit_message_text(
        rtl_line(texts_by_page[page], who.language),
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


def _page_arrows(session_id: int, page: int, count: int) -> list[InlineKeyboardButton]:
    """◀️ and ▶️ between the pages of a long view, with "2/3" to say where one is."""
    arrows = []
    if page > 0:
        arrows.append(
            InlineKeyboardButton(
                f"◀️ {page}/{count}", callback_data=callback_data.encode(SHOW, session_id, page - 1)
            )
        )
    if page + 1 < count:
        arrows.append(
            InlineKeyboardButton(
                f"{page + 2}/{count} ▶️",
                callback_data=callback_data.encode(SHOW, session_id, page + 1),
            )
        )
    return arrows


async def play_voice(update: Update, context: BotContext) -> None:
    """Staff listen to a voice comment: the bot sends it again by its Telegram file id."""
    query = update.callback_query
    who = await staff_only(update, context)
    if query is None or who is None or who.staff is None or update.effective_chat is None:
        return
    values = callback_data.decode_ints(query.data, VOICE, 1)
    async with unit_of_work(context.deps.sessionmaker) as session:
        comment = await session.get(FeedbackComment, values[0]) if values else None
        row = await session.get(Session, comment.session_id) if comment else None
        allowed = row is not None and await schedule.may_manage(
            session, staff_id=who.staff.id, sees_everything=who.staff.sees_everything, row=row
        )
    if comment is None or comment.voice_file_id is None or not allowed:
        await answer(update, who.t.gettext("⛔ Action non autorisée."))
        return
    await query.answer()
    await update.get_bot().send_voice(update.effective_chat.id, comment.voice_file_id)


HANDLERS = [
    CommandHandler("feedback", feedback_command),
    CallbackQueryHandler(face_tapped, pattern=callback_data.pattern(FACE)),
    CallbackQueryHandler(no_thanks, pattern=callback_data.pattern(NO_THANKS)),
    CallbackQueryHandler(change_answer, pattern=callback_data.pattern(CHANGE)),
    CallbackQueryHandler(show_feedback, pattern=callback_data.pattern(SHOW)),
    CallbackQueryHandler(play_voice, pattern=callback_data.pattern(VOICE)),
]
