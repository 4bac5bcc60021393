"""Several outbox sends on their way at once, each chat's in order, each outcome kept.

Why: Telegram answers a send in 50-200 ms. One send at a time, a process manages about 7
a second, not the 30 Telegram allows. Here every claimed row gets a task; a chat's rows
wait for the one before (a person's messages never overtake each other, and a shared
phone's messages keep their order); the rate limiter (``bot/rate_limit.py``) paces each
chat and the whole bot, and bounds the requests in flight.

What became of a send stays in memory until the database has it, so a database fault never
makes this process forget that it sent something: it records the outcome when the database
answers again. A claimed row waiting for its turn has its lease renewed; one whose lease
could not be renewed in time waits for the database instead of going out unowned, and is
dropped if another process has taken it meanwhile (the claim's fence, ``bot/core/outbox.py``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.context import Deps
from bot.core import outbox
from bot.core.alert_kinds import AlertKind
from bot.core.outbox import Claimed, Outcome
from bot.outbox_render import Rendered
from bot.rate_limit import SlidingWindowRateLimiter, retry_after_seconds
from storage.db import unit_of_work
from storage.models import OutboxStatus, Participant, Session

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
DATABASE_ERRORS = (SQLAlchemyError, OSError)
"""What a database that does not answer raises; the pipeline waits and tries again."""

# A request that failed before it could reach Telegram: safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass
class DispatchStats:
    sent: int = 0
    skipped: int = 0
    expired: int = 0
    failed: int = 0
    retried: int = 0
    maybe_sent: int = 0  # timed out after the request left: retried once, maybe a double
    lost_claims: int = 0  # taken by another process after the lease: not sent here

    def add(self, other: DispatchStats, sign: int = 1) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))

    def copy(self) -> DispatchStats:
        return DispatchStats(**{n: getattr(self, n) for n in self.__dataclass_fields__})


@dataclass
class _Held:
    claim: Claimed
    deadline: float  # monotonic: past it, the lease must be renewed before sending


def may_have_arrived(exc: Exception) -> bool:
    """Whether a send that failed with ``exc`` may still have reached Telegram.

    A read timeout, or a connection closed before the answer: the request had left.
    A refused connection or a full pool: it never did. Telegram's own error answers
    (500 and others, no transport cause) mean it was not sent.
    """
    cause = exc.__cause__
    if isinstance(cause, _NOT_SENT) or str(exc).startswith("Pool timeout"):
        return False
    if isinstance(cause, httpx.HTTPError):
        return True
    return isinstance(exc, TimedOut)


class SendPipeline:
    """One per process: the rows it holds, their sends, and outcomes not yet recorded."""

    def __init__(self, bot: ExtBot[Any], deps: Deps) -> None:
        self._bot = bot
        self._deps = deps
        self._held: dict[int, _Held] = {}
        self._chains: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unrecorded: list[Outcome] = []
        self._follow_ups: list[Claimed] = []  # 403s: tell the referent once recorded
        self._keeper: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._generation = 0
        self._flushing = asyncio.Lock()
        self._renewed_at = -math.inf
        self._backoff = 0.1
        self.fault_at = -math.inf  # monotonic time of the last database error seen
        self.stats = DispatchStats()
        # Sends on their way or sent and not yet recorded: what a crash could double.
        self._open = 0
        self._open_changed = asyncio.Condition()
        self._record_times: deque[float] = deque(maxlen=20)  # recording outcomes took
        self._sent_ids: set[int] = set()  # outcomes holding an open place until recorded

    @property
    def lease(self) -> float:
        return self._deps.settings.outbox_lease_seconds

    # -- what the dispatcher asks ----------------------------------------------------

    def holding(self) -> frozenset[int]:
        """Rows this process still answers for: held, or sent and not yet recorded."""
        return frozenset(self._held) | {o.claim.id for o in self._unrecorded}

    def busy(self) -> int:
        return len(self._held) + len(self._unrecorded)

    def held(self) -> int:
        return len(self._held)

    def fault(self) -> float:
        """Note a database error; returns how long to wait before the next attempt."""
        self.fault_at = time.monotonic()
        delay = self._backoff
        self._backoff = min(1.0, self._backoff * 2)
        return delay

    def healthy(self) -> None:
        self._backoff = 0.1

    @property
    def generation(self) -> int:
        """Counts changes: a row done, an outcome recorded, a claim lost."""
        return self._generation

    async def changed(self, since: int, at_most: float) -> None:
        """Return once something changed after ``since``, or after ``at_most`` seconds."""
        while self._generation == since:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), at_most)
            except TimeoutError:
                return

    def _notify(self) -> None:
        self._generation += 1
        self._changed.set()

    def submit(self, claim: Claimed, rendered: Rendered) -> None:
        """Send ``rendered`` for ``claim`` after the chat's previous message."""
        self._held[claim.id] = _Held(claim, time.monotonic() + 0.8 * self.lease)
        previous = self._chains.get(rendered.chat_id)
        task = asyncio.create_task(self._send(claim, rendered, previous))
        self._chains[rendered.chat_id] = task
        self._tasks.add(task)

        def done(finished: asyncio.Task[None], chat: int = rendered.chat_id) -> None:
            self._tasks.discard(finished)
            if self._chains.get(chat) is finished:
                del self._chains[chat]

        task.add_done_callback(done)

    def record(self, outcome: Outcome) -> None:
        """Keep ``outcome`` until the database has it; the row is no longer held."""
        self._held.pop(outcome.claim.id, None)
        self._unrecorded.append(outcome)
        self._count(outcome)
        self._ensure_keeper()
        self._notify()

    async def flush(self) -> None:
        """Record every outcome kept in memory now (raises when the database fails)."""
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        if self._unrecorded:
            outcomes = list(self._unrecorded)
            started = time.monotonic()
            async with unit_of_work(self._deps.sessionmaker) as db:
                kept = await outbox.record_outcomes(db, outcomes)
            self._record_times.append(time.monotonic() - started)
            del self._unrecorded[: len(outcomes)]
            sent = sum(1 for o in outcomes if o.claim.id in self._sent_ids)
            self._sent_ids.difference_update(o.claim.id for o in outcomes)
            if sent:
                await self._close_place(sent)
            for outcome, ok in zip(outcomes, kept, strict=True):
                if not ok:
                    self.stats.lost_claims += 1
                    log.warning(
                        "outbox %s: taken by another process before its outcome (%s) was recorded",
                        outcome.claim.id,
                        outcome.status,
                    )
            self._notify()
        while self._follow_ups:
            await _unreachable(self._deps, self._follow_ups[0])
            self._follow_ups.pop(0)

    async def settle(self) -> None:
        """Until every held row is sent and every outcome recorded (a clean stop)."""
        self._ensure_keeper()
        while self.busy():
            await self.changed(self._generation, 0.5)

    # -- sending ------------------------------------------------------------------------

    async def _send(
        self, claim: Claimed, rendered: Rendered, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own business
        if not await self._still_ours(claim):
            return
        await self._open_place()
        if not await self._still_ours(claim):  # the wait may have been long
            await self._close_place()
            return
        now = self._deps.clock.now
        self._sent_ids.add(claim.id)
        try:
            message = await rendered.send(self._bot)
        except Forbidden as exc:
            self._follow_ups.append(claim)
            self.record(Outcome(claim, OutboxStatus.FAILED, now(), error=str(exc)))
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            self.record(_retry(claim, now(), timedelta(seconds=seconds), f"429 {seconds}s"))
        except BadRequest as exc:
            log.warning("outbox %s refused by Telegram: %s", claim.id, exc)
            self.record(Outcome(claim, OutboxStatus.FAILED, now(), error=str(exc)))
        except (TimedOut, NetworkError) as exc:
            self.record(self._after_network_error(claim, exc))
        except Exception as exc:  # a bug must not stop the other sends
            log.exception("outbox %s: sending failed", claim.id)
            self.record(_retry(claim, now(), timedelta(minutes=5), repr(exc)))
        else:
            self.record(Outcome(claim, OutboxStatus.SENT, now(), message_id=message.message_id))

    def _places(self) -> int:
        """Sends open at once: enough to keep to this process's rate while Telegram takes
        its time to answer and the database to record, and no more, for every open send
        is one a crash could double. One when Telegram answers at once."""
        limiter = self._bot.rate_limiter
        cap = max(1, self._deps.settings.outbox_in_flight)
        if not isinstance(limiter, SlidingWindowRateLimiter) or not limiter.overall_max_rate:
            return cap
        round_trip = limiter.paced_seconds + min(self._record_times, default=0.0)
        return max(1, min(cap, math.ceil(1.3 * limiter.overall_max_rate * round_trip)))

    async def _open_place(self) -> None:
        async with self._open_changed:
            await self._open_changed.wait_for(lambda: self._open < self._places())
            self._open += 1

    async def _close_place(self, places: int = 1) -> None:
        async with self._open_changed:
            self._open -= places
            self._open_changed.notify_all()

    def _after_network_error(self, claim: Claimed, exc: Exception) -> Outcome:
        now = self._deps.clock.now()
        name = type(exc).__name__
        if not may_have_arrived(exc):
            backoff = timedelta(seconds=min(300, 2 ** min(claim.attempts, 8)))
            return _retry(claim, now, backoff, name)
        if claim.maybe_sent:
            log.error(
                "outbox %s: send timed out again after the request left; not sent a third "
                "time (Telegram may have delivered it)",
                claim.id,
            )
            return Outcome(claim, OutboxStatus.FAILED, now, error=f"maybe sent twice: {name}")
        log.warning(
            "outbox %s: %s after the request left; Telegram may have delivered it: "
            "retrying once (a possible double)",
            claim.id,
            name,
        )
        outcome = _retry(claim, now, timedelta(seconds=2), f"maybe sent: {name}")
        return Outcome(
            claim,
            outcome.status,
            now,
            error=outcome.error,
            retry_at=outcome.retry_at,
            maybe_sent=True,
        )

    async def _still_ours(self, claim: Claimed) -> bool:
        """True while the lease holds; past it, renew first (and wait out a database fault)."""
        while True:
            held = self._held.get(claim.id)
            if held is None:
                return False
            if time.monotonic() < held.deadline:
                return True
            try:
                await self._renew([held])
            except DATABASE_ERRORS:
                await asyncio.sleep(self.fault())
            if claim.id not in self._held:
                return False

    async def _renew(self, held: list[_Held]) -> None:
        """Renew the leases of ``held``; a row taken by another process is let go."""
        if not held:
            return
        lease = self.lease
        asked = time.monotonic()
        async with unit_of_work(self._deps.sessionmaker) as db:
            renewed = await outbox.renew_claims(
                db,
                [h.claim for h in held],
                now=self._deps.clock.now(),
                lease=timedelta(seconds=lease),
            )
        self.healthy()
        for item in held:
            if item.claim.id in renewed:
                item.deadline = asked + 0.8 * lease
            elif self._held.pop(item.claim.id, None) is not None:
                self.stats.lost_claims += 1
                log.warning("outbox %s: claim lost to another process; not sent", item.claim.id)
                self._notify()

    # -- keeping: outcomes recorded, leases renewed --------------------------------------

    def _ensure_keeper(self) -> None:
        if not self.busy() and not self._follow_ups:
            return
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._keep())

    async def _keep(self) -> None:
        """While rows are held or outcomes unrecorded: record, renew, and ride out faults."""
        while self._held or self._unrecorded or self._follow_ups:
            try:
                await self.flush()
                if self._held and time.monotonic() - self._renewed_at > self.lease / 3:
                    await self._renew(list(self._held.values()))
                    self._renewed_at = time.monotonic()
                self.healthy()
            except Exception:  # mostly the database away; never let the keeper die
                delay = self.fault()
                log.warning(
                    "could not record outcomes: %d kept", len(self._unrecorded), exc_info=True
                )
                await asyncio.sleep(delay)
                continue
            if not self._unrecorded:
                await self.changed(self._generation, min(1.0, self.lease / 3))

    def _count(self, outcome: Outcome) -> None:
        stats = self.stats
        if outcome.status == OutboxStatus.SENT:
            stats.sent += 1
        elif outcome.status == OutboxStatus.PENDING:
            stats.retried += 1
            stats.maybe_sent += outcome.maybe_sent
        elif outcome.status == OutboxStatus.SKIPPED:
            stats.skipped += 1
        elif outcome.status == OutboxStatus.EXPIRED:
            stats.expired += 1
        else:
            stats.failed += 1


def _retry(claim: Claimed, now: Any, after: timedelta, error: str) -> Outcome:
    """Try again later, or give up after ``MAX_ATTEMPTS`` claims."""
    if claim.attempts >= MAX_ATTEMPTS:
        return Outcome(claim, OutboxStatus.FAILED, now, error=error)
    return Outcome(claim, OutboxStatus.PENDING, now, error=error, retry_at=now + after)


async def _unreachable(deps: Deps, claimed: Claimed) -> None:
    """403: the person blocked the bot. Record it, and tell the referent once."""
    if claimed.participant_id is None:
        return
    now = deps.clock.now()
    async with unit_of_work(deps.sessionmaker) as db:
        participant = await db.get(Participant, claimed.participant_id)
        if participant is None:
            return
        first_time = participant.unreachable_at is None
        participant.unreachable_at = participant.unreachable_at or now
        referent_id = None
        if claimed.session_id is not None:
            row = await db.get(Session, claimed.session_id)
            referent_id = row.referent_id if row else None
        if first_time and referent_id is not None:
            await outbox.alert_staff(
                db,
                staff_id=referent_id,
                dedupe_key=f"unreach:{participant.id}:{int(now.timestamp())}",
                payload={"alert": AlertKind.UNREACHABLE},
                now=now,
                participant_id=participant.id,
            )
        await db.commit()
