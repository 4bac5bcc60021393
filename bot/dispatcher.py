"""Sends what the outbox says is due, one message at a time, and wakes at the next due time.

The scheduler (python-telegram-bot's JobQueue, i.e. APScheduler) only wakes this code;
the rows are the truth. One send in flight per process keeps a crash to at most one
duplicate; the rate limiter keeps the pace under Telegram's limits.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes, ExtBot

from bot import callback_data
from bot.context import Deps
from bot.core import feedback, outbox, senders
from bot.core.outbox import Claimed, Verdict
from bot.core.people import sharing_a_phone
from bot.core.schedule import participants_with_answers, sessions_of_referent_on
from bot.i18n import format_day, format_time, isolate, rtl_line, translations
from bot.rate_limit import SlidingWindowRateLimiter, retry_after_seconds
from bot.views import (
    cancelled_text,
    face_buttons,
    feedback_question_text,
    for_person,
    moved_text,
    reason_label,
    reminder_text,
    series_moved_text,
)
from storage.audit import current_actor
from storage.db import unit_of_work
from storage.models import (
    DeclineReason,
    Module,
    OutboxKind,
    OutboxStatus,
    Participant,
    Session,
    Staff,
)

log = logging.getLogger(__name__)

RSVP = "rsvp"
SHEET = "ats"  # opens an attendance sheet (bot/handlers/attendance.py)
ERASE = "erc"  # confirms an erasure (bot/handlers/privacy.py)
# Outbox sends are bulk: paced at one a second per chat (see bot/rate_limit.py).
PACED = {"paced": 1}
JOB_NAME = "outbox"
SWEEP_SECONDS = 30.0
MAX_ATTEMPTS = 8
BATCH = 20  # rows claimed per transaction; still sent one at a time


def rsvp_buttons(session_id: int, participant_id: int, yes: str, no: str) -> InlineKeyboardMarkup:
    """The buttons name their person: on a shared phone, each answers for themselves."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    yes, callback_data=callback_data.encode(RSVP, session_id, participant_id, "y")
                ),
                InlineKeyboardButton(
                    no, callback_data=callback_data.encode(RSVP, session_id, participant_id, "n")
                ),
            ]
        ]
    )


@dataclass
class DispatchStats:
    sent: int = 0
    skipped: int = 0
    expired: int = 0
    failed: int = 0
    retried: int = 0


def _state(deps: Deps) -> dict[str, Any]:
    return deps.extras.setdefault("dispatcher", {"lock": asyncio.Lock(), "stats": DispatchStats()})


BEAT_EVERY_SECONDS = 10.0


def _batch_size(bot: ExtBot[Any], lease_seconds: float) -> int:
    """As many rows as this process can send in half a lease at its share of the budget:
    a claimed row must go out before its lease ends and another process may take it."""
    limiter = bot.rate_limiter
    rate = limiter.overall_max_rate if isinstance(limiter, SlidingWindowRateLimiter) else 0
    if not rate:
        return BATCH
    return max(1, min(BATCH, int(rate * lease_seconds / 2)))


async def _take_share_of_budget(bot: ExtBot[Any], deps: Deps, state: dict[str, Any]) -> None:
    """Now and then, say that this process sends, and keep to its share of the 30 a second
    (bot/core/senders.py). Real time, not the domain clock: it is about live processes."""
    limiter = bot.rate_limiter
    if not isinstance(limiter, SlidingWindowRateLimiter):
        return
    moment = time.monotonic()
    if moment - state.get("beat_at", -math.inf) < BEAT_EVERY_SECONDS:
        return
    state["beat_at"] = moment
    try:
        async with unit_of_work(deps.sessionmaker) as session:
            share = await senders.share_of_budget(
                session,
                instance_id=deps.instance_id,
                now=datetime.now(UTC),
                total=deps.settings.telegram_messages_per_second,
            )
            await session.commit()
    except Exception:  # the budget stays as it was; sending goes on
        log.exception("could not record this process's heartbeat")
        return
    if share != limiter.overall_max_rate:
        log.info("sending at %d messages a second (a share of the bot's budget)", share)
    limiter.set_overall_max_rate(share)


async def stop_sending(deps: Deps) -> None:
    """A clean stop: the other processes get this one's share of the budget."""
    try:
        async with unit_of_work(deps.sessionmaker) as session:
            await senders.stopped(session, instance_id=deps.instance_id)
            await session.commit()
    except Exception:
        log.exception("could not remove this process's heartbeat")


async def drain(bot: ExtBot[Any], deps: Deps, *, limit: int | None = None) -> DispatchStats:
    """Send every due row, in due order; returns what this call did.

    Serialised per process by a lock: two wake-ups never send in parallel.
    """
    current_actor.set(None)  # sending is the bot's own work, not a staff action
    state = _state(deps)
    stats = DispatchStats()
    async with state["lock"]:
        count = 0
        while limit is None or count < limit:
            await _take_share_of_budget(bot, deps, state)
            lease = deps.settings.outbox_lease_seconds
            size = _batch_size(bot, lease)
            async with unit_of_work(deps.sessionmaker) as session:
                batch = await outbox.claim_batch(
                    session,
                    now=deps.clock.now(),
                    instance_id=deps.instance_id,
                    lease=timedelta(seconds=lease),
                    limit=size if limit is None else min(size, limit - count),
                )
                if not batch:
                    break
                shared = await sharing_a_phone(
                    session, [c.participant_id for c in batch if c.participant_id is not None]
                )
            # Past most of the lease, another process may take the rest of the batch: leave
            # them to come back rather than risk sending one twice.
            deadline = time.monotonic() + 0.8 * lease
            for index, claimed in enumerate(batch):  # one send in flight at a time
                if time.monotonic() > deadline:
                    left = len(batch) - index
                    log.warning("outbox lease nearly over: %d claimed rows left for later", left)
                    break
                count += 1
                await _deliver(bot, deps, claimed, stats, shared=claimed.participant_id in shared)
    total: DispatchStats = state["stats"]
    for field in ("sent", "skipped", "expired", "failed", "retried"):
        setattr(total, field, getattr(total, field) + getattr(stats, field))
    return stats


async def _deliver(
    bot: ExtBot[Any], deps: Deps, claimed: Claimed, stats: DispatchStats, *, shared: bool = False
) -> None:
    """Decide, render and send one claimed row; ``shared``: the person shares a phone."""
    now = deps.clock.now()
    if claimed.kind == OutboxKind.FEEDBACK_TRIGGER:
        await _fire_feedback_trigger(deps, claimed)
        return
    async with unit_of_work(deps.sessionmaker) as session:
        verdict = await outbox.verdict_for(session, claimed, now=now)
        rendered = (
            await _render(session, deps, claimed, shared=shared)
            if verdict == Verdict.SEND
            else None
        )
    if verdict != Verdict.SEND or rendered is None:
        status = OutboxStatus.EXPIRED if verdict == Verdict.EXPIRE else OutboxStatus.SKIPPED
        if status == OutboxStatus.EXPIRED:
            stats.expired += 1
            log.info("outbox %s expired: due %s, session begun", claimed.id, claimed.due_at)
        else:
            stats.skipped += 1
        async with unit_of_work(deps.sessionmaker) as session:
            await outbox.finish(session, claimed.id, status, now=now, error=str(verdict))
        return
    try:
        message = await rendered.send(bot)
    except Forbidden as exc:
        stats.failed += 1
        await _unreachable(deps, claimed, str(exc))
        return
    except RetryAfter as exc:
        stats.retried += 1
        seconds = retry_after_seconds(exc)
        await _retry(deps, claimed, now + timedelta(seconds=seconds), f"429 {seconds}s")
        return
    except (TimedOut, NetworkError) as exc:
        if isinstance(exc, BadRequest):
            stats.failed += 1
            async with unit_of_work(deps.sessionmaker) as session:
                await outbox.finish(
                    session, claimed.id, OutboxStatus.FAILED, now=now, error=str(exc)
                )
            log.warning("outbox %s refused by Telegram: %s", claimed.id, exc)
            return
        stats.retried += 1
        backoff = timedelta(seconds=min(300, 2 ** min(claimed.attempts, 8)))
        await _retry(deps, claimed, now + backoff, type(exc).__name__)
        return
    stats.sent += 1
    async with unit_of_work(deps.sessionmaker) as session:
        await outbox.finish(
            session,
            claimed.id,
            OutboxStatus.SENT,
            now=deps.clock.now(),
            message_id=message.message_id,
        )


async def _fire_feedback_trigger(deps: Deps, claimed: Claimed) -> None:
    """Not a message: it queues the feedback questions once attendance is recorded."""
    now = deps.clock.now()
    assert claimed.session_id is not None
    async with unit_of_work(deps.sessionmaker) as session:
        outcome = await feedback.fire_trigger(
            session,
            outbox_id=claimed.id,
            session_id=claimed.session_id,
            now=now,
            tz=deps.settings.tz,
        )
        status = {
            feedback.TriggerOutcome.ASKED: OutboxStatus.SENT,
            feedback.TriggerOutcome.GAVE_UP: OutboxStatus.EXPIRED,
            feedback.TriggerOutcome.NOT_APPLICABLE: OutboxStatus.SKIPPED,
        }.get(outcome)
        if status is not None:
            await feedback.mark_trigger_done(session, claimed.id, status, now)
        await session.commit()


async def _retry(deps: Deps, claimed: Claimed, at: datetime, error: str) -> None:
    async with unit_of_work(deps.sessionmaker) as session:
        if claimed.attempts >= MAX_ATTEMPTS:
            await outbox.finish(
                session, claimed.id, OutboxStatus.FAILED, now=deps.clock.now(), error=error
            )
        else:
            await outbox.retry_later(session, claimed.id, at=at, error=error)


async def _unreachable(deps: Deps, claimed: Claimed, error: str) -> None:
    """403: the person blocked the bot. Record it, and tell the referent once."""
    now = deps.clock.now()
    async with unit_of_work(deps.sessionmaker) as session:
        await outbox.finish(session, claimed.id, OutboxStatus.FAILED, now=now, error=error)
    if claimed.participant_id is None:
        return
    async with unit_of_work(deps.sessionmaker) as session:
        participant = await session.get(Participant, claimed.participant_id)
        if participant is None:
            return
        first_time = participant.unreachable_at is None
        participant.unreachable_at = participant.unreachable_at or now
        referent_id = None
        if claimed.session_id is not None:
            row = await session.get(Session, claimed.session_id)
            referent_id = row.referent_id if row else None
        if first_time and referent_id is not None:
            await outbox.alert_staff(
                session,
                staff_id=referent_id,
                dedupe_key=f"unreach:{participant.id}:{int(now.timestamp())}",
                payload={"alert": "unreachable"},
                now=now,
                participant_id=participant.id,
            )
        await session.commit()


@dataclass
class Rendered:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None
    venue: tuple[float, float, str, str] | None = None
    voice: str | None = None  # a referent's voice note, by Telegram file id
    voice_only: bool = False
    voice_caption: str | None = None  # on a shared phone: whom the voice note is for

    async def send(self, bot: ExtBot[Any]) -> Message:
        """Text, then the map pin, then the voice note; the buttons go on the last one.

        A participant who asked for voice only gets no text when a voice note exists.
        One reminder is one unit: only its first message is paced per chat.
        """
        steps: list[str] = []
        if not (self.voice_only and self.voice):
            steps.append("text")
        if self.venue is not None:
            steps.append("venue")
        if self.voice is not None:
            steps.append("voice")
        message: Message | None = None
        for index, step in enumerate(steps):
            markup = self.markup if index == len(steps) - 1 else None
            pace = PACED if index == 0 else None
            if step == "text":
                message = await bot.send_message(
                    self.chat_id, self.text, reply_markup=markup, rate_limit_args=pace
                )
            elif step == "venue" and self.venue is not None:
                latitude, longitude, title, address = self.venue
                message = await bot.send_venue(
                    self.chat_id,
                    latitude,
                    longitude,
                    title,
                    address,
                    reply_markup=markup,
                    rate_limit_args=pace,
                )
            elif self.voice is not None:
                message = await bot.send_voice(
                    self.chat_id,
                    self.voice,
                    caption=self.voice_caption,
                    reply_markup=markup,
                    rate_limit_args=pace,
                )
        assert message is not None
        return message


async def _render(
    session: Any, deps: Deps, claimed: Claimed, *, shared: bool = False
) -> Rendered | None:
    if claimed.kind == OutboxKind.STAFF_ALERT:
        return await _render_staff_alert(session, deps, claimed)
    rendered = await _render_for_participant(session, deps, claimed)
    if rendered is None or claimed.participant_id is None:
        return rendered
    if shared:
        # A family's phone: the first line says whom the message is for.
        participant = await session.get(Participant, claimed.participant_id)
        if participant is None:
            return rendered
        language = participant.language
        text = for_person(translations(language), participant.first_name, language, rendered.text)
        # Voice only (for who cannot read): the name at least, under the voice note.
        return replace(rendered, text=text, voice_caption=f"👤 {participant.first_name}")
    return rendered


async def _render_for_participant(session: Any, deps: Deps, claimed: Claimed) -> Rendered | None:
    tz = deps.settings.tz
    participant = await session.get(Participant, claimed.participant_id)
    row = await session.get(Session, claimed.session_id) if claimed.session_id else None
    if participant is None or participant.telegram_chat_id is None or row is None:
        return None
    language = participant.language
    t = translations(language)
    _ = t.gettext
    if claimed.kind == OutboxKind.REMINDER:
        markup = rsvp_buttons(row.id, participant.id, _("✅ Je viens"), _("❌ Je ne viens pas"))
        venue = None
        if row.latitude is not None and row.longitude is not None:
            venue = (
                row.latitude,
                row.longitude,
                row.place_name or row.title,
                row.place_address or row.place_name or "",
            )
        return Rendered(
            participant.telegram_chat_id,
            reminder_text(t, row, language, tz),
            markup,
            venue,
            voice=row.voice_file_id,
            voice_only=participant.voice_only,
        )
    if claimed.kind == OutboxKind.FEEDBACK:
        module = await session.get(Module, row.module_id)
        question = str(claimed.payload.get("question", "how"))
        scale = module.feedback_scale if module is not None else 4
        return Rendered(
            participant.telegram_chat_id,
            feedback_question_text(t, row, question, language),
            face_buttons(row.id, participant.id, question, scale),
        )
    change = claimed.payload.get("change")
    if change == "cancelled":
        return Rendered(participant.telegram_chat_id, cancelled_text(t, row, language, tz))
    previous_raw = claimed.payload.get("previous_start")
    if change == "series_moved" and previous_raw:
        before = datetime.fromisoformat(previous_raw)
        return Rendered(
            participant.telegram_chat_id, series_moved_text(t, row, language, tz, before)
        )
    previous = ""
    if previous_raw:
        before = datetime.fromisoformat(previous_raw)
        previous = f"{format_day(before, language, tz)}, {format_time(before, language, tz)}"
    return Rendered(
        participant.telegram_chat_id,
        moved_text(t, row, language, tz, previous),
        rsvp_buttons(row.id, participant.id, _("✅ Je viens"), _("❌ Je ne viens pas")),
    )


async def _render_staff_alert(session: Any, deps: Deps, claimed: Claimed) -> Rendered | None:
    staff = await session.get(Staff, claimed.staff_id)
    if staff is None or not staff.active:
        return None
    language = staff.language
    t = translations(language)
    _ = t.gettext
    participant = (
        await session.get(Participant, claimed.participant_id) if claimed.participant_id else None
    )
    name = isolate(participant.first_name if participant else "?", language)
    row = await session.get(Session, claimed.session_id) if claimed.session_id else None
    alert = claimed.payload.get("alert")
    if alert == "late_decline" and row is not None:
        reason = claimed.payload.get("reason")
        values = {
            "name": name,
            "title": isolate(row.title, language),
            "day": format_day(row.starts_at, language, deps.settings.tz),
            "time": format_time(row.starts_at, language, deps.settings.tz),
            "reason": reason_label(t, DeclineReason(reason)) if reason else "…",
        }
        text = (
            _("⚠️ %(name)s ne viendra pas : %(title)s, %(day)s %(time)s.\nRaison : %(reason)s")
            % values
        )
    elif alert == "record_attendance" and row is not None:
        text = _("📋 Fin de la séance : %(title)s, %(time)s.\nNotez les présences :") % {
            "title": isolate(row.title, language),
            "time": format_time(row.starts_at, language, deps.settings.tz),
        }
        button = InlineKeyboardButton(
            _("📋 Ouvrir la feuille"), callback_data=callback_data.encode(SHEET, row.id)
        )
        return Rendered(
            staff.telegram_user_id, rtl_line(text, language), InlineKeyboardMarkup([[button]])
        )
    elif alert == "unanswered":
        text = _("📞 Appelez %(name)s : absent aujourd'hui, sans réponse aux rappels.") % {
            "name": name
        }
    elif alert == "two_absences":
        text = _("📞 Appelez %(name)s : deux absences de suite, sans excuse.") % {"name": name}
    elif alert == "erasure_request" and participant is not None:
        text = _("🗑 %(name)s demande l'effacement de ses données. Confirmer ?") % {"name": name}
        button = InlineKeyboardButton(
            _("🗑 Confirmer l'effacement"),
            callback_data=callback_data.encode(ERASE, participant.id),
        )
        return Rendered(
            staff.telegram_user_id, rtl_line(text, language), InlineKeyboardMarkup([[button]])
        )
    elif alert == "error":
        text = _(
            "🛠 Le robot a rencontré une erreur (%(kind)s). Voir le journal du serveur. "
            "Pas d'autre alerte de ce type pendant une heure."
        ) % {"kind": claimed.payload.get("kind", "?")}
    elif alert == "outage":
        text = _(
            "🛠 Base de données injoignable de %(start)s à %(end)s. Messages retardés : %(count)s."
        ) % {
            "start": format_time(
                datetime.fromisoformat(claimed.payload["since"]), language, deps.settings.tz
            ),
            "end": format_time(
                datetime.fromisoformat(claimed.payload["until"]), language, deps.settings.tz
            ),
            "count": claimed.payload.get("delayed", 0),
        }
    elif alert == "digest":
        return await _render_digest(session, deps, staff, claimed.payload.get("day", ""))
    elif alert == "unreachable":
        text = _(
            "📞 Appelez %(name)s : le robot ne peut plus lui écrire (bot bloqué ou compte fermé)."
        ) % {"name": name}
    else:
        return None
    return Rendered(staff.telegram_user_id, rtl_line(text, language))


async def _render_digest(session: Any, deps: Deps, staff: Staff, day: str) -> Rendered | None:
    """The referent's day: each session with who confirmed, declined (and why), or is silent."""
    tz = deps.settings.tz
    language = staff.language
    t = translations(language)
    _ = t.gettext
    rows = await sessions_of_referent_on(
        session, staff_id=staff.id, day=date.fromisoformat(day), tz=tz
    )
    if not rows:
        return None
    lines = [_("☀️ Votre journée :")]
    for row in rows:
        lines.append("")
        lines.append(f"{format_time(row.starts_at, language, tz)} · {isolate(row.title, language)}")
        for participant, answer_value, reason in await participants_with_answers(session, row):
            name = isolate(participant.first_name, language)
            if answer_value == "yes":
                lines.append(f"  ✅ {name}")
            elif answer_value == "no":
                why = f" ({reason_label(t, DeclineReason(reason))})" if reason else ""
                lines.append(f"  ❌ {name}{why}")
            else:
                lines.append(f"  ❔ {name}")
    return Rendered(staff.telegram_user_id, rtl_line("\n".join(lines), language))


# --- waking up -------------------------------------------------------------------------


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    deps: Deps = application.bot_data["deps"]
    await drain(application.bot, deps)
    await schedule_next(application)


async def schedule_next(application: Application) -> None:
    """Arm one job at the next due time; a later plan change re-arms it earlier."""
    deps: Deps = application.bot_data["deps"]
    job_queue = application.job_queue
    if job_queue is None:
        return
    async with unit_of_work(deps.sessionmaker) as session:
        due = await outbox.next_due_at(session)
    if due is None:
        return
    delay = max(0.0, (due - deps.clock.now()).total_seconds())
    wake(application, delay)


def wake(application: Application, delay: float = 0.0) -> None:
    """Run the dispatcher after ``delay`` seconds, replacing the previous wake-up.

    Callers pass the earliest due time they know of (``schedule_next`` computes the true
    minimum over the rows), so replacing never loses an earlier wake-up for long: the
    sweep below catches anything else.
    """
    job_queue = application.job_queue
    if job_queue is None:
        return
    for job in job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    job_queue.run_once(_job, when=delay, name=JOB_NAME, job_kwargs={"misfire_grace_time": None})


def wake_within(application: Application, delay: float) -> None:
    """Make sure the dispatcher runs within ``delay`` seconds, keeping an earlier wake-up.

    For a row just written with a known due time: no query, unlike ``schedule_next``.
    """
    job_queue = application.job_queue
    if job_queue is None:
        return
    latest = datetime.now(UTC) + timedelta(seconds=delay)
    for job in job_queue.get_jobs_by_name(JOB_NAME):
        if job.next_t is not None and job.next_t <= latest:
            return
    wake(application, delay)


def start_sweeping(application: Application) -> None:
    """Send what is due now, then keep a slow safety sweep for rows written elsewhere.

    Rows written by another process or by the CLI do not wake this process; the sweep
    finds them within ``SWEEP_SECONDS``. Everything else wakes the dispatcher directly.
    """
    if application.job_queue is None:
        return
    wake(application, 0.0)
    application.job_queue.run_repeating(
        _job,
        interval=SWEEP_SECONDS,
        first=SWEEP_SECONDS,
        name="outbox-sweep",
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )
