"""Time planning a year of reminders: ``python -m benchmarks.planning --participants 2000``.

Builds a fresh SQLite database (or ``--database-url``), ``--series`` weekly series spread
over groups with ``--participants`` participants, imports them as iCalendar, then times
``plan_coming`` over ``--days`` days and prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.core import organisation, schedule
from bot.core.calendars import parse_ics
from bot.core.outbox import plan_coming
from storage import migrate
from storage.db import make_engine, make_sessionmaker
from storage.models import Membership, OutboxMessage, Participant, ParticipantStatus

BRUSSELS = ZoneInfo("Europe/Brussels")


def series_ics(uid: str, weekday: int, hour: int, days: int) -> bytes:
    start = datetime(2027, 1, 4 + weekday, hour, 0, tzinfo=BRUSSELS)
    count = days // 7
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nSUMMARY:Atelier {uid}\r\n"
        f"DTSTART;TZID=Europe/Brussels:{start:%Y%m%dT%H%M%S}\r\n"
        f"DTEND;TZID=Europe/Brussels:{start + timedelta(hours=2):%Y%m%dT%H%M%S}\r\n"
        f"RRULE:FREQ=WEEKLY;COUNT={count}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


async def build(url: str, participants: int, series: int, days: int, now: datetime) -> None:
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        await organisation.add_staff(
            session, telegram_user_id=1, name="Referent", role="referent", now=now
        )
        groups = []
        for index in range(series):
            module = ("insertion", "benevolat", "start")[index % 3]
            group = await organisation.create_group(
                session, module=module, name=f"G{index}", referent_telegram_id=1, now=now
            )
            groups.append(group.id)
        people = [
            Participant(
                first_name=f"P{i}",
                language="fr",
                telegram_user_id=10_000 + i,
                telegram_chat_id=10_000 + i,
                status=ParticipantStatus.ACTIVE,
                created_at=now,
            )
            for i in range(participants)
        ]
        session.add_all(people)
        await session.flush()
        session.add_all(
            Membership(group_id=groups[i % series], participant_id=p.id, joined_at=now)
            for i, p in enumerate(people)
        )
        for index, group_id in enumerate(groups):
            data = series_ics(f"s{index}", index % 5, 9 + index % 8, days)
            occurrences = parse_ics(
                data, window_start=now, window_end=now + timedelta(days=days + 14)
            )
            await schedule.import_occurrences(
                session, group_id=group_id, occurrences=occurrences, now=now, window_start=now
            )
        await session.commit()
    await engine.dispose()


async def measure(url: str, days: int, now: datetime) -> dict[str, float | int]:
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    started = time.perf_counter()
    async with maker() as session:
        await plan_coming(session, now=now, tz=BRUSSELS, horizon=timedelta(days=days + 14))
        await session.commit()
    elapsed = time.perf_counter() - started
    async with maker() as session:
        reminders = await session.scalar(select(func.count(OutboxMessage.id)))
    await engine.dispose()
    return {"elapsed_s": round(elapsed, 3), "reminders": int(reminders or 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--series", type=int, default=60)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    now = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        migrate.upgrade(url)
        asyncio.run(build(url, args.participants, args.series, args.days, now))
        figures = asyncio.run(measure(url, args.days, now))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "participants": args.participants,
                "series": args.series,
                "days": args.days,
                **figures,
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "database": url.split(":", 1)[0] if args.database_url else "sqlite",
            }
        )
    )


if __name__ == "__main__":
    main()
