"""A believable ACTIV'UP programme for the demo, written through the product's own rules.

Why through ``organisation``, ``calendar_sync``, ``enrolment``, ``rsvp`` and
``attendance`` rather than rows: the demo then shows what a real week would leave in
the database (planned reminders, audit lines, consent records), and a rule that changes
changes the demo with it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import attendance, enrolment, organisation, rsvp
from bot.core.calendar_sync import import_calendar
from bot.core.people import staff_view
from storage.models import Group, Mark, RsvpAnswer, Session, Staff


@dataclass(frozen=True)
class Person:
    """A Telegram account of the demo: whose phone it is, in which app language."""

    telegram_id: int
    name: str
    language: str


@dataclass(frozen=True)
class StaffMember(Person):
    role: str


@dataclass(frozen=True)
class Enrolled(Person):
    group: str


LEAD = StaffMember(1001, "Nadia Lambert", "fr", "lead")
KARIM = StaffMember(1002, "Karim Benali", "fr", "referent")
JULIE = StaffMember(1003, "Julie Martin", "fr", "referent")
STAFF = (LEAD, KARIM, JULIE)

FLE = "FLE Charleroi-Nord"
TILLEULS = "Les Tilleuls"
PROJET = "Projet pro"
GROUPS = (("insertion", FLE, KARIM), ("benevolat", TILLEULS, JULIE), ("start", PROJET, JULIE))

SHARED_PHONE = 2003
"""Farid and Zahra, a couple, share one phone."""
PARTICIPANTS = (
    Enrolled(2001, "Amina K.", "ar", FLE),
    Enrolled(2002, "Yonas T.", "ti", FLE),
    Enrolled(SHARED_PHONE, "Farid H.", "fa_AF", FLE),
    Enrolled(SHARED_PHONE, "Zahra H.", "fa_AF", TILLEULS),
    Enrolled(2004, "Fatou D.", "fr", TILLEULS),
    Enrolled(2005, "Kevin S.", "nl", TILLEULS),
    Enrolled(2006, "Olena K.", "uk", PROJET),
    Enrolled(2007, "Selam G.", "ti", PROJET),
)

START_OF_DAY = time(7, 50)
"""The demo opens on a working morning, ten minutes before the referents' digests."""


@dataclass(frozen=True)
class Place:
    name: str
    address: str
    latitude: float
    longitude: float


ASSOCIATIONS = Place("Maison des associations", "Rue de Marcinelle 10, Charleroi", 50.4087, 4.4418)
RESIDENCE = Place("Résidence Les Tilleuls", "Rue du Parc 25, Marcinelle", 50.3935, 4.4390)
CPAS = Place("CPAS de Charleroi, salle 3", "Boulevard Joseph II 13, Charleroi", 50.4124, 4.4439)


@dataclass(frozen=True)
class Planned:
    """One session of a group's calendar, ``day`` days after the demo's first day."""

    title: str
    day: int
    start: time
    hours: float
    place: Place


CALENDARS: dict[str, tuple[Planned, ...]] = {
    FLE: (
        Planned("Atelier de français", -1, time(13, 30), 2, ASSOCIATIONS),
        Planned("Atelier de français", 0, time(13, 30), 2, ASSOCIATIONS),
        Planned("Atelier de français", 2, time(13, 30), 2, ASSOCIATIONS),
        Planned("Sortie au musée des Beaux-Arts", 3, time(9, 30), 2.5, ASSOCIATIONS),
        Planned("Atelier de français", 7, time(13, 30), 2, ASSOCIATIONS),
    ),
    TILLEULS: (
        Planned("Animation à la maison de repos", -1, time(10, 0), 2, RESIDENCE),
        Planned("Animation à la maison de repos", 1, time(10, 0), 2, RESIDENCE),
        Planned("Animation à la maison de repos", 8, time(10, 0), 2, RESIDENCE),
    ),
    PROJET: (
        Planned("Atelier confiance en soi", -1, time(14, 0), 2, CPAS),
        Planned("Atelier confiance en soi", 2, time(9, 30), 2, CPAS),
        Planned("Atelier projet professionnel", 9, time(9, 30), 2, CPAS),
    ),
}


def demo_start(today: date, tz: ZoneInfo) -> datetime:
    """Where the demo clock starts: this morning, before the day's first reminders."""
    return datetime.combine(today, START_OF_DAY, tzinfo=tz).astimezone(UTC)


def calendar_file(group: str, plans: tuple[Planned, ...], first_day: date, tz: ZoneInfo) -> bytes:
    """The group's calendar as an .ics file, as a referent would export it from Outlook."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//ACTIV'UP//demo//FR")
    calendar.add("version", "2.0")
    for index, plan in enumerate(plans):
        starts = datetime.combine(first_day + timedelta(days=plan.day), plan.start, tzinfo=tz)
        event = icalendar.Event()
        event.add("uid", f"demo-{zlib.crc32(group.encode())}-{index}@activup")
        event.add("summary", plan.title)
        event.add("dtstart", starts.astimezone(UTC))
        event.add("dtend", (starts + timedelta(hours=plan.hours)).astimezone(UTC))
        event.add("dtstamp", datetime(2026, 11, 1, tzinfo=UTC))
        event.add("location", f"{plan.place.name}, {plan.place.address}")
        event.add("geo", (plan.place.latitude, plan.place.longitude))
        calendar.add_component(event)
    return calendar.to_ical()


async def is_empty(db: AsyncSession) -> bool:
    return await db.scalar(select(Staff.id).limit(1)) is None


async def seed(db: AsyncSession, *, now: datetime, tz: ZoneInfo) -> None:
    """Staff, groups, calendars, participants, a few answers and yesterday's marks.

    One transaction; the caller commits. Reminders are planned when the bot starts.
    """
    for member in STAFF:
        await organisation.add_staff(
            db, telegram_user_id=member.telegram_id, name=member.name, role=member.role, now=now
        )
    groups: dict[str, Group] = {}
    for module, name, referent in GROUPS:
        groups[name] = await organisation.create_group(
            db, module=module, name=name, referent_telegram_id=referent.telegram_id, now=now
        )
    first_day = now.astimezone(tz).date()
    for name, plans in CALENDARS.items():
        await import_calendar(
            db,
            group_id=groups[name].id,
            data=calendar_file(name, plans, first_day, tz),
            now=now,
            tz=tz,
        )
    people: dict[str, int] = {}
    for person in PARTICIPANTS:
        created = await enrolment.create_invite(
            db,
            group_id=groups[person.group].id,
            first_name=person.name,
            created_by_id=None,
            now=now,
            valid_days=14,
        )
        enrolled = await enrolment.accept_invite(
            db,
            created.token,
            telegram_user_id=person.telegram_id,
            chat_id=person.telegram_id,
            language=person.language,
            telegram_language=person.language.split("_")[0],
            now=now,
            new_person=person.telegram_id == SHARED_PHONE and person.name.startswith("Zahra"),
        )
        assert isinstance(enrolled, enrolment.Enrolled), enrolled
        people[person.name] = enrolled.participant_id
    await _answers_and_marks(db, groups, people, now=now)


async def _answers_and_marks(
    db: AsyncSession, groups: dict[str, Group], people: dict[str, int], *, now: datetime
) -> None:
    """Yesterday's sessions recorded; a few answers to the coming ones."""
    sessions = (await db.scalars(select(Session).order_by(Session.starts_at))).all()
    past = [row for row in sessions if row.ends_at <= now]
    coming = [row for row in sessions if row.starts_at > now]
    for row in past:
        group = await db.get(Group, row.group_id)
        referent = await db.get(Staff, group.referent_id) if group else None
        if referent is None:
            continue
        await attendance.mark_many(
            db,
            session_id=row.id,
            staff=staff_view(referent),
            now=now,
            mark=Mark.PRESENT,
            only_unmarked=True,
        )
    answers = {"Farid H.": RsvpAnswer.YES, "Fatou D.": RsvpAnswer.YES, "Olena K.": RsvpAnswer.YES}
    for name, answer in answers.items():
        participant_id = people[name]
        for row in coming:
            outcome = await rsvp.record_answer(
                db, session_id=row.id, participant_id=participant_id, answer=answer, now=now
            )
            if not isinstance(outcome, rsvp.RsvpProblem):
                break  # their next session only
