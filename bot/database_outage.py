"""While the database is unreachable: one log line when the outage starts, one when it
ends, and one alert to the admins once it is back (no alert can be queued before).

Every failure seen during an outage would otherwise log an error with its traceback
(each health probe, each job, each update), burying the one line that matters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from telegram.ext import Application

from bot.context import Deps
from bot.core import outbox
from bot.core.alert_kinds import AlertKind
from bot.core.people import admin_ids
from storage.db import unit_of_work
from storage.models import Module, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

WATCH_JOB = "database-watch"
# SQLite says "operational" for a schema that is wrong, not only for a file it cannot open.
_NOT_AN_OUTAGE = ("no such table", "no such column", "syntax error")


def database_unavailable(error: BaseException | None) -> bool:
    """The database did not answer (down, restarting, unreachable, locked): worth a retry."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error, OperationalError | InterfaceError):
        text = str(error.orig).lower()
        return not any(part in text for part in _NOT_AN_OUTAGE)
    return False


@dataclass
class Outage:
    since: datetime | None = None


def _outage(deps: Deps) -> Outage:
    outage = deps.extras.setdefault("database_outage", Outage())
    assert isinstance(outage, Outage)
    return outage


def database_down(application: Application[Any, Any, Any, Any, Any, Any], error: object) -> bool:
    """Note that the database failed; True (and one log line) only when an outage begins.

    From then on a job polls the database until it answers again.
    """
    deps: Deps = application.bot_data["deps"]
    outage = _outage(deps)
    if outage.since is not None:
        return False
    outage.since = deps.clock.now()
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    log.error("database unreachable: %s", first_line[:300])
    _watch_again(application, deps)
    return True


def _watch_again(application: Application[Any, Any, Any, Any, Any, Any], deps: Deps) -> None:
    """One probe at a time (a probe can wait for a connection longer than the interval)."""
    job_queue = application.job_queue
    if job_queue is not None and not job_queue.get_jobs_by_name(WATCH_JOB):
        job_queue.run_once(_watch, when=deps.settings.database_watch_seconds, name=WATCH_JOB)


async def check_database(application: Application[Any, Any, Any, Any, Any, Any]) -> str:
    """ "ok" when a real query against a table answers, else the error's kind.

    A query on a table, not ``SELECT 1``: a SQLite file replaced underneath still answers
    ``SELECT 1``. Notes the start and the end of an outage.
    """
    deps: Deps = application.bot_data["deps"]
    try:
        async with _probe_engine(deps).connect() as connection:
            await connection.execute(select(Module.id).limit(1))
    except Exception as exc:
        database_down(application, exc)
        return type(exc).__name__
    if _outage(deps).since is not None:
        await _database_back(application, deps)
    return "ok"


def _probe_engine(deps: Deps) -> AsyncEngine:
    """An engine that opens a new connection for each probe: a pooled SQLite connection
    keeps reading the file it opened, even once another file has taken its place."""
    url = deps.sessionmaker.kw["bind"].url
    engine = deps.extras.get("probe_engine")
    if not isinstance(engine, AsyncEngine) or engine.url != url:
        # A server that does not answer must not hold a probe (or /health) for long.
        connect_args = {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
        engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
        deps.extras["probe_engine"] = engine
    return engine


async def _watch(context: Any) -> None:
    application = context.application
    await check_database(application)
    deps: Deps = application.bot_data["deps"]
    if _outage(deps).since is not None:
        _watch_again(application, deps)


async def _database_back(
    application: Application[Any, Any, Any, Any, Any, Any], deps: Deps
) -> None:
    """One alert per admin (deduplicated per outage), then the delayed messages go out."""
    outage = _outage(deps)
    since = outage.since
    if since is None:
        return
    now = deps.clock.now()
    try:
        async with unit_of_work(deps.sessionmaker) as session:
            delayed = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                    OutboxMessage.due_at <= now,
                )
            )
            for staff_id in await admin_ids(session):
                await outbox.alert_staff(
                    session,
                    staff_id=staff_id,
                    dedupe_key=f"outage:{staff_id}:{since.isoformat()}",
                    payload={
                        "alert": AlertKind.OUTAGE.value,
                        "since": since.isoformat(),
                        "until": now.isoformat(),
                        "delayed": int(delayed or 0),
                    },
                    now=now,
                )
            await session.commit()
    except Exception:  # not back after all: the watch tries again
        return
    outage.since = None
    log.warning(
        "database back: unreachable from %s to %s, %d message(s) delayed",
        since.isoformat(timespec="seconds"),
        now.isoformat(timespec="seconds"),
        delayed or 0,
    )
    if deps.settings.dispatcher_enabled:
        # Imported here: the dispatcher may itself report the outages it meets.
        from bot.dispatcher import wake

        wake(application)
