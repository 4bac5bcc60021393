"""Sends what the outbox says is due, several sends in flight, and wakes at the next due time.

The scheduler (python-telegram-bot's JobQueue, i.e. APScheduler) only wakes this code;
the rows are the truth. ``drain`` claims due rows in small batches, renders them
(``bot/outbox_render.py``) and hands them to the sending pipeline
(``bot/send_pipeline.py``), which keeps each chat's order and records every outcome. The
rate limiter keeps the pace under Telegram's limits; the heartbeat shares them between
processes and tells the others this process is alive.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.ext import Application, ContextTypes, ExtBot

from bot.callback_data import ERASE, RSVP, SHEET
from bot.context import Deps
from bot.core import feedback, outbox, senders
from bot.core.outbox import Claimed, ClaimRules, Outcome, Verdict
from bot.core.people import sharing_a_phone
from bot.outbox_render import Rendered, render, rsvp_buttons
from bot.rate_limit import SlidingWindowRateLimiter
from bot.send_pipeline import DATABASE_ERRORS, MAX_ATTEMPTS, DispatchStats, SendPipeline
from storage.audit import current_actor
from storage.db import unit_of_work
from storage.models import OutboxKind, OutboxStatus

__all__ = [
    "ERASE",
    "MAX_ATTEMPTS",
    "RSVP",
    "SHEET",
    "DispatchStats",
    "Rendered",
    "drain",
    "rsvp_buttons",
    "schedule_next",
    "start_sweeping",
    "stop_sending",
    "wake",
    "wake_within",
]

log = logging.getLogger(__name__)

JOB_NAME = "outbox"
SWEEP_SECONDS = 30.0
BATCH = 20  # rows claimed per transaction
HOLD = 2 * BATCH  # rows held at most (claimed, waiting for their turn)
BEAT_EVERY_SECONDS = 1.0
STOP_WAIT_SECONDS = 10.0


@dataclass
class _State:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stats: DispatchStats = field(default_factory=DispatchStats)
    pipeline: SendPipeline | None = None
    beat_at: float = -math.inf
    stopping: bool = False


def _state(deps: Deps) -> _State:
    state = deps.extras.setdefault("dispatcher", _State())
    assert isinstance(state, _State)
    return state


def _batch_size(bot: ExtBot[Any], lease_seconds: float) -> int:
    """As many rows as this process can send in half a lease at its share of the budget:
    a claimed row must go out before its lease ends, or have its lease renewed."""
    limiter = bot.rate_limiter
    rate = limiter.overall_max_rate if isinstance(limiter, SlidingWindowRateLimiter) else 0
    if not rate:
        return BATCH
    return max(1, min(BATCH, int(rate * lease_seconds / 2)))


async def _take_share_of_budget(bot: ExtBot[Any], deps: Deps, state: _State) -> None:
    """Every second, say that this process sends, and keep to its share of the 30 a second
    (bot/core/senders.py). Real time, not the domain clock: it is about live processes."""
    limiter = bot.rate_limiter
    if not isinstance(limiter, SlidingWindowRateLimiter):
        return
    moment = time.monotonic()
    if moment - state.beat_at < BEAT_EVERY_SECONDS:
        return
    state.beat_at = moment
    try:
        async with unit_of_work(deps.sessionmaker) as db:
            share = await senders.share_of_budget(
                db,
                instance_id=deps.instance_id,
                now=datetime.now(UTC),
                total=deps.settings.telegram_messages_per_second,
            )
            await db.commit()
    except Exception:  # the budget stays as it was; sending goes on
        log.warning("could not record this process's heartbeat", exc_info=True)
        return
    if share != limiter.overall_max_rate:
        log.info("sending at %d messages a second (a share of the bot's budget)", share)
    limiter.set_overall_max_rate(share)


async def stop_sending(deps: Deps) -> None:
    """A clean stop: what is on its way is sent and recorded (for a while), and the other
    processes get this one's share of the budget."""
    state = _state(deps)
    state.stopping = True
    if state.pipeline is not None:
        try:
            await asyncio.wait_for(state.pipeline.settle(), STOP_WAIT_SECONDS)
        except TimeoutError:
            log.warning("stopping with %d outbox rows not settled", state.pipeline.busy())
    try:
        async with unit_of_work(deps.sessionmaker) as db:
            await senders.stopped(db, instance_id=deps.instance_id)
            await db.commit()
    except Exception:
        log.exception("could not remove this process's heartbeat")


def _rules(deps: Deps, pipeline: SendPipeline) -> ClaimRules:
    """Take others' claims only when they died; after a database fault of our own, wait
    until the others had time to say they are alive."""
    alive_for = senders.ALIVE_FOR.total_seconds()
    return ClaimRules(
        instance_id=deps.instance_id,
        alive_since=datetime.now(UTC) - senders.ALIVE_FOR,
        take_others=time.monotonic() - pipeline.fault_at > alive_for,
        resume_own=True,
        holding=pipeline.holding(),
    )


async def drain(bot: ExtBot[Any], deps: Deps, *, limit: int | None = None) -> DispatchStats:
    """Send every due row, in due order, and return what this call did.

    Serialised per process by a lock: two wake-ups never claim in parallel. Returns once
    nothing is due and every outcome is recorded; a database fault is waited out with a
    short back-off, never left to the next sweep.
    """
    current_actor.set(None)  # sending is the bot's own work, not a staff action
    state = _state(deps)
    async with state.lock:
        if state.pipeline is None:
            state.pipeline = SendPipeline(bot, deps)
        pipeline = state.pipeline
        before = pipeline.stats.copy()
        count = 0
        while not state.stopping:
            try:
                await _take_share_of_budget(bot, deps, state)
                seen = pipeline.generation
                await pipeline.flush()
                room = HOLD - pipeline.held()
                if room <= 0 or (limit is not None and count >= limit):
                    if not pipeline.busy():
                        break
                    await pipeline.changed(seen, BEAT_EVERY_SECONDS)
                    continue
                lease = deps.settings.outbox_lease_seconds
                size = min(_batch_size(bot, lease), room)
                if limit is not None:
                    size = min(size, limit - count)
                async with unit_of_work(deps.sessionmaker) as db:
                    batch = await outbox.claim_batch(
                        db,
                        now=deps.clock.now(),
                        instance_id=deps.instance_id,
                        lease=timedelta(seconds=lease),
                        limit=size,
                        rules=_rules(deps, pipeline),
                    )
                if not batch:
                    if not pipeline.busy():
                        break
                    # A person's next message waits for the one on its way.
                    await pipeline.changed(seen, BEAT_EVERY_SECONDS)
                    continue
                count += len(batch)
                await _prepare(deps, pipeline, batch)
                pipeline.healthy()
            except DATABASE_ERRORS as exc:
                delay = pipeline.fault()
                # One line per retry, no traceback: the outage itself is logged once, by
                # bot.database_outage, when the dispatcher's job notes it.
                log.info(
                    "database unavailable (%s); sending again in %.1f s", type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
        stats = pipeline.stats.copy()
        stats.add(before, -1)
    state.stats.add(stats)
    return stats


async def _prepare(deps: Deps, pipeline: SendPipeline, batch: list[Claimed]) -> None:
    """Decide and render a claimed batch in one transaction, then hand it to the pipeline."""
    messages = [c for c in batch if c.kind != OutboxKind.FEEDBACK_TRIGGER]
    for claimed in batch:
        if claimed.kind == OutboxKind.FEEDBACK_TRIGGER:
            await _fire_feedback_trigger(deps, claimed)
    if not messages:
        return
    now = deps.clock.now()
    ready: list[tuple[Claimed, Rendered]] = []
    async with unit_of_work(deps.sessionmaker) as db:
        shared = await sharing_a_phone(
            db, [c.participant_id for c in messages if c.participant_id is not None]
        )
        for claimed in messages:
            verdict = await outbox.verdict_for(db, claimed, now=now)
            rendered = None
            if verdict == Verdict.SEND:
                rendered = await render(db, deps, claimed, shared=claimed.participant_id in shared)
            if rendered is not None:
                ready.append((claimed, rendered))
                continue
            status = OutboxStatus.EXPIRED if verdict == Verdict.EXPIRE else OutboxStatus.SKIPPED
            if status == OutboxStatus.EXPIRED:
                log.info("outbox %s expired: due %s, session begun", claimed.id, claimed.due_at)
            pipeline.record(Outcome(claimed, status, now, error=str(verdict)))
    for claimed, rendered in ready:
        pipeline.submit(claimed, rendered)


async def _fire_feedback_trigger(deps: Deps, claimed: Claimed) -> None:
    """Not a message: it queues the feedback questions once attendance is recorded."""
    now = deps.clock.now()
    assert claimed.session_id is not None
    async with unit_of_work(deps.sessionmaker) as db:
        outcome = await feedback.fire_trigger(
            db,
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
            await feedback.mark_trigger_done(db, claimed.id, status, now)
        await db.commit()


# --- waking up -------------------------------------------------------------------------


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    deps: Deps = application.bot_data["deps"]
    try:
        await drain(application.bot, deps)
        await schedule_next(application)
    except DATABASE_ERRORS as exc:
        # Not the next sweep: a database back within a second is used within a second.
        # The outage is logged (and later reported to the admins) once, not at every try.
        from bot.database_outage import database_down

        if not database_down(application, exc):
            log.debug("database still unavailable; the dispatcher tries again in 1 s")
        wake(application, 1.0)


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
