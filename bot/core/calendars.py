"""Calendar files (ICS) in and out: the pure part of syncing sessions with staff agendas.

Referents keep their sessions in Outlook, Google Calendar or Thunderbird. The bot imports
those agendas from an ICS feed (:func:`parse_ics`), publishes its own sessions as an ICS
feed they can subscribe to (:func:`export_ics`), and stores the series it creates itself
in the same format (:func:`build_series_event`) so that one code path expands every series.

Everything here works on bytes and frozen dataclasses: no Telegram, no database, no clock,
no network. Errors are :class:`CalendarError` values with a machine-readable ``kind`` and
a ``detail`` (an event UID or a number); callers translate the kind for the user.

Recurrence expansion is NOT done here: :mod:`recurring_ical_events` does it (RRULE, RDATE,
EXDATE, moved occurrences, X-WR-TIMEZONE, VTIMEZONE including Outlook's Windows zone
names). This module only

1. refuses what is not a calendar, and sets aside what the bot cannot represent: all-day
   events (holidays, school breaks) are left out and listed in :class:`CalendarRead`;
2. makes the input unambiguous before expansion: floating times get a zone, an event with
   neither DTEND nor DURATION lasts one hour, a floating ``UNTIL`` becomes UTC, UIDs lose
   their surrounding spaces (a DATE ``UNTIL`` is left to the library, whose reading the
   test calendars are checked against);
3. bounds the work an expansion may cost *before* running it, because the feed comes from
   outside and a single ``RRULE:FREQ=SECONDLY`` would otherwise take minutes and gigabytes
   (see :func:`_bound_expansion`);
4. maps the library's components to :class:`ImportedOccurrence`.

An imported occurrence is identified by ``(uid, occurrence_key)``: the key is the
occurrence's RECURRENCE-ID (its *original* start) in UTC, so it survives the organiser
moving that one occurrence. After a ``RECURRENCE-ID;RANGE=THISANDFUTURE`` split, the
library stamps every later occurrence with the split's RECURRENCE-ID; their key is their
own original start, found by undoing the split's shift. Cancelled occurrences are returned
with ``cancelled=True``;
occurrences removed with EXDATE are simply absent, and the caller treats a key that
vanished from a known UID as a cancellation.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone
from dateutil.rrule import rrule as DateutilRule
from dateutil.rrule import rrulestr
from icalendar.timezone import tzp

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_MAX_RECURRENCE_DEPTH",
    "DEFAULT_TZ",
    "PRODID",
    "AllDayEvent",
    "CalendarError",
    "CalendarErrorKind",
    "CalendarRead",
    "ExportableSession",
    "ImportedOccurrence",
    "Place",
    "build_series_event",
    "export_ics",
    "parse_ics",
    "read_ics",
]

DEFAULT_TZ: Final = ZoneInfo("Europe/Brussels")
"""Where floating times (no TZID, no Z) are read: the CPAS works on Brussels time."""

PRODID: Final = "-//CPAS Charleroi//ACTIV'UP//FR"

DEFAULT_DURATION: Final = timedelta(hours=1)
"""Length given to an event with neither DTEND nor DURATION.

RFC 5545 says such an event lasts zero seconds, but a session "from 9:30" typed without an
end is a session of a usual length, and a zero-length session would break attendance.
"""

DEFAULT_MAX_RECURRENCE_DEPTH: Final = 100_000
"""Units of expansion work :func:`parse_ics` accepts *outside* the counted occurrences.

One unit is one occurrence generated before the window (a weekly series started ten years
ago costs about 520) or one rule period that a filtered rule may step through without
producing anything. At a few microseconds each, the default keeps a hostile feed under a
second while leaving room for a hundred weekly series going back twenty years.
"""

_PROBE_YEAR: Final = 9992
"""Leap year eight years before ``datetime.MAXYEAR``: see :func:`_fires_within_probe`."""

_TIME_PROPERTIES: Final = frozenset(
    {"UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
)
"""Properties that decide when an event happens: if icalendar could not read one, refuse."""

_RRULE_PARTS: Final = frozenset(
    {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYSECOND",
        "BYMINUTE",
        "BYHOUR",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    }
)

_SHORTEST_PERIOD: Final = {
    "SECONDLY": timedelta(seconds=1),
    "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(weeks=1),
    "MONTHLY": timedelta(days=28),
    "YEARLY": timedelta(days=365),
}
"""Lower bound of one period of each frequency, to bound how many periods a span holds."""

_EXPANDING_PARTS: Final = {
    "WEEKLY": frozenset({"BYDAY", "BYHOUR", "BYMINUTE", "BYSECOND"}),
    "DAILY": frozenset({"BYHOUR", "BYMINUTE", "BYSECOND"}),
    "HOURLY": frozenset({"BYMINUTE", "BYSECOND"}),
    "MINUTELY": frozenset({"BYSECOND"}),
    "SECONDLY": frozenset(),
}
"""BY-parts that can only add instances to every period of that frequency, never empty one.

A rule using only these yields at least one instance per period, so counting instances
bounds the work. Any other BY-part (and MONTHLY/YEARLY, whose default day may not exist in
every month) can make periods empty, and the rule may step through many of them silently.
"""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Place:
    """Where a session happens, as far as a calendar file says.

    ``name`` is what people recognise ("CPAS - salle 3"), ``address`` what a map needs.
    Either coordinate alone is meaningless, so both are set or both are None.
    """

    name: str
    address: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class ImportedOccurrence:
    """One occurrence of one event of an imported calendar, in UTC.

    ``title`` is SUMMARY stripped and may be empty: the caller decides what to show then.
    ``sequence`` is the SEQUENCE of the VEVENT this occurrence comes from (the override's
    own for a moved or edited occurrence, the master's otherwise), so editing one
    occurrence does not make every other one look changed.
    """

    uid: str
    occurrence_key: str
    starts_at: datetime
    ends_at: datetime
    title: str
    description: str
    place: Place | None
    cancelled: bool
    sequence: int


@dataclass(frozen=True)
class AllDayEvent:
    """An all-day event left out of an import: the bot's sessions have a start time.

    ``first_day`` and ``last_day`` (inclusive) are local dates; a recurring all-day event
    (a yearly holiday) is listed once with the days of its first VEVENT.
    """

    uid: str
    title: str
    first_day: date
    last_day: date
    recurring: bool


@dataclass(frozen=True)
class CalendarRead:
    """What a calendar holds for the bot: its timed occurrences and what was set aside.

    ``merged_uids`` names the UIDs that several VEVENTs wrote with different surrounding
    spaces (Outlook add-ins do): they are read as one series.
    """

    occurrences: list[ImportedOccurrence]
    all_day: tuple[AllDayEvent, ...] = ()
    merged_uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportableSession:
    """A session as the bot publishes it; ``updated_at`` becomes DTSTAMP.

    ``recurrence_id`` (a UTC key such as ``20261207T083000Z``) is written as the event's
    RECURRENCE-ID, so that the occurrence of an imported series keeps its series' UID and
    a re-import into the same group recognises it.
    """

    uid: str
    starts_at: datetime
    ends_at: datetime
    title: str
    description: str
    place: Place | None
    cancelled: bool
    sequence: int
    updated_at: datetime
    recurrence_id: str | None = None


class CalendarErrorKind(StrEnum):
    """Why a calendar was refused; callers map each kind to a translated message."""

    MALFORMED = "malformed"
    MISSING_UID = "missing_uid"
    TOO_LARGE = "too_large"
    TOO_MANY_EVENTS = "too_many_events"
    TOO_MANY_OCCURRENCES = "too_many_occurrences"
    ALL_DAY = "all_day"  # only when nothing but all-day events remains
    NO_EVENTS = "no_events"
    RECURRENCE_TOO_DEEP = "recurrence_too_deep"


class CalendarError(Exception):
    """A calendar refused as a whole: nothing of it is imported.

    ``detail`` is an event UID, a number (a size, a count, the position of an event without
    UID) or None. It is for logs and for the caller to build a message; never show
    ``str(error)`` to a participant. ``limit`` is the bound that was exceeded, and
    ``title``/``day`` name the event at fault when it has them, so that the referent reads
    "event 'Atelier cuisine' on 3 Dec has no UID" rather than a position.
    """

    def __init__(
        self,
        kind: CalendarErrorKind,
        detail: str | int | None = None,
        *,
        limit: int | None = None,
        title: str | None = None,
        day: date | None = None,
    ) -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail
        self.limit = limit
        self.title = title
        self.day = day

    def __str__(self) -> str:
        return self.kind.value if self.detail is None else f"{self.kind.value}: {self.detail!r}"


# --------------------------------------------------------------------------- import


@dataclass
class _Master:
    """What the expansion guard and the mapping need to know about a series' master."""

    start: datetime
    duration: timedelta
    rules: list[icalendar.vRecur]
    cancelled: bool
    sequence: int


@dataclass
class _Facts:
    """Facts gathered from the normalised VEVENTs, keyed by UID."""

    masters: dict[str, _Master] = field(default_factory=dict)
    override_sequences: dict[tuple[str, str], int] = field(default_factory=dict)
    # How far past the window an override may pull the expansion (a moved-earlier occurrence).
    extensions: defaultdict[str, timedelta] = field(default_factory=lambda: defaultdict(timedelta))
    # Rule instances that may not turn into occurrences: EXDATE values and overrides.
    slack: int = 0
    # RANGE=THISANDFUTURE overrides: (uid, key) -> (the override's own start, wall shift).
    splits: dict[tuple[str, str], tuple[datetime, timedelta]] = field(default_factory=dict)


class _FloatingTimeWalker(x_wr_timezone.CalendarWalker):
    """Gives floating DTSTART/DTEND/RDATE/EXDATE/RECURRENCE-ID values a time zone.

    Reuses x-wr-timezone's walker (the one recurring_ical_events applies for X-WR-TIMEZONE)
    so that every value wrapper icalendar uses is handled the same way.
    """

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone

    def walk_value_datetime(self, dt: datetime) -> datetime:
        return dt.replace(tzinfo=self._zone) if dt.tzinfo is None else dt


def parse_ics(
    data: bytes,
    *,
    window_start: datetime,
    window_end: datetime,
    max_bytes: int = 2_000_000,
    max_occurrences: int = 5_000,
    max_events: int = 2_000,
    max_recurrence_depth: int = DEFAULT_MAX_RECURRENCE_DEPTH,
    default_tz: tzinfo = DEFAULT_TZ,
) -> list[ImportedOccurrence]:
    """The timed occurrences of :func:`read_ics`, for callers that need nothing else."""
    return read_ics(
        data,
        window_start=window_start,
        window_end=window_end,
        max_bytes=max_bytes,
        max_occurrences=max_occurrences,
        max_events=max_events,
        max_recurrence_depth=max_recurrence_depth,
        default_tz=default_tz,
    ).occurrences


def read_ics(
    data: bytes,
    *,
    window_start: datetime,
    window_end: datetime,
    max_bytes: int = 2_000_000,
    max_occurrences: int = 5_000,
    max_events: int = 2_000,
    max_recurrence_depth: int = DEFAULT_MAX_RECURRENCE_DEPTH,
    default_tz: tzinfo = DEFAULT_TZ,
) -> CalendarRead:
    """Every timed occurrence that overlaps ``[window_start, window_end)``, sorted by start
    and UID, with the all-day events set aside.

    The whole calendar is refused with :class:`CalendarError` rather than imported in part,
    because a partial import would make the missing sessions look cancelled:

    * more than ``max_bytes`` (checked before parsing): TOO_LARGE; more than ``max_events``
      VEVENTs: TOO_MANY_EVENTS; both with ``limit`` set;
    * not a VCALENDAR, or an unreadable date, rule...: MALFORMED; an event without UID:
      MISSING_UID, with its title and day;
    * no VEVENT at all: NO_EVENTS (an empty feed is more likely a broken export than a
      decision to cancel everything); only all-day events: ALL_DAY;
    * more than ``max_occurrences`` occurrences in the window: TOO_MANY_OCCURRENCES;
    * a series whose expansion would cost more than ``max_recurrence_depth`` units of work
      before or around the window, or whose rule (almost) never fires: RECURRENCE_TOO_DEEP.

    All-day events are not refused: a real agenda mixes them with the sessions (holidays,
    school breaks), and the bot has no session without a time. They come back in
    ``all_day`` for the caller to list.

    Floating times are read in the calendar's X-WR-TIMEZONE when it names a known zone,
    else in ``default_tz``.

    Raises:
        ValueError: if the window bounds are naive or in the wrong order (a caller bug).
    """
    _require_aware(window_start, "window_start")
    _require_aware(window_end, "window_end")
    if window_end <= window_start:
        raise ValueError("window_end must be after window_start")
    if len(data) > max_bytes:
        raise CalendarError(CalendarErrorKind.TOO_LARGE, len(data), limit=max_bytes)

    calendar = _load_calendar(data)
    events = _events_of(calendar)
    if len(events) > max_events:
        raise CalendarError(CalendarErrorKind.TOO_MANY_EVENTS, len(events), limit=max_events)
    if not events:
        raise CalendarError(CalendarErrorKind.NO_EVENTS)
    all_day_uids: set[str] = set()
    for position, event in enumerate(events, start=1):
        if _check_event(event, position, default_tz):
            all_day_uids.add(_uid_of(event))
    merged = _normalise_uids(events)

    calendar = _with_zones(calendar, default_tz)
    all_day = _set_aside_all_day(calendar, all_day_uids, default_tz)
    if not _events_of(calendar):
        raise CalendarError(CalendarErrorKind.ALL_DAY, len(all_day))
    facts = _normalise_events(_events_of(calendar))
    try:
        query = recurring_ical_events.of(calendar)
    except Exception as error:  # untrusted input inside a third-party library
        raise CalendarError(CalendarErrorKind.MALFORMED, _unbuildable_uid(calendar)) from error

    _bound_expansion(
        query,
        facts,
        window_start=window_start,
        window_end=window_end,
        max_occurrences=max_occurrences,
        max_work=max_recurrence_depth,
    )
    try:
        components = query.between(window_start, window_end)
    except Exception as error:  # untrusted input inside a third-party library
        raise CalendarError(CalendarErrorKind.MALFORMED) from error
    if len(components) > max_occurrences:
        raise CalendarError(
            CalendarErrorKind.TOO_MANY_OCCURRENCES, len(components), limit=max_occurrences
        )

    by_key: dict[tuple[str, str], ImportedOccurrence] = {}
    for component in components:
        occurrence = _to_occurrence(component, facts)
        key = (occurrence.uid, occurrence.occurrence_key)
        known = by_key.get(key)
        # Two VEVENTs claiming the same occurrence: keep the newer, as calendar apps do.
        if known is None or occurrence.sequence >= known.sequence:
            by_key[key] = occurrence
    occurrences = sorted(by_key.values(), key=lambda o: (o.starts_at, o.uid, o.occurrence_key))
    return CalendarRead(occurrences, tuple(all_day), tuple(merged))


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")


def _load_calendar(data: bytes) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as error:  # icalendar raises ValueError, but also others on odd bytes
        raise CalendarError(CalendarErrorKind.MALFORMED) from error
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise CalendarError(CalendarErrorKind.MALFORMED)
    return calendar


def _events_of(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    """The VEVENTs, which must all sit directly in the VCALENDAR.

    recurring_ical_events collects VEVENTs at any depth, but the normalisation here (like
    x-wr-timezone's) only visits the top level; a nested VEVENT would escape it.
    """
    events = [c for c in calendar.subcomponents if isinstance(c, icalendar.Event)]
    try:
        everywhere = len(calendar.walk("VEVENT"))
    except RecursionError as error:  # thousands of nested BEGIN: lines
        raise CalendarError(CalendarErrorKind.MALFORMED) from error
    if everywhere != len(events):
        raise CalendarError(CalendarErrorKind.MALFORMED)
    return events


def _value_of(component: icalendar.Component, name: str) -> object:
    """The Python value (``.dt``) of a date, time or duration property; None if absent."""
    prop = component.get(name)
    return None if prop is None else getattr(prop, "dt", prop)


def _datetime_of(component: icalendar.Component, name: str, uid: str) -> datetime:
    """A property that :func:`_check_event` already found to be an aware date-time."""
    value = _value_of(component, name)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise CalendarError(CalendarErrorKind.MALFORMED, uid)
    return value


def _uid_of(event: icalendar.Component) -> str:
    value = event.get("UID")
    return "" if value is None else str(value).strip()


def _check_event(event: icalendar.Event, position: int, zone: tzinfo) -> bool:
    """Refuse, before anything is converted, an event the bot cannot take as it is.

    Returns True for an all-day event (a date DTSTART), which is set aside, not refused.
    """
    uid = _uid_of(event)
    if not uid:  # the UID is the only link between an occurrence and its session
        start = _value_of(event, "DTSTART")
        day = None
        if isinstance(start, datetime):
            day = (start.astimezone(zone) if start.tzinfo else start).date()
        elif isinstance(start, date):
            day = start
        raise CalendarError(
            CalendarErrorKind.MISSING_UID,
            position,
            title=_text(event.get("SUMMARY")) or None,
            day=day,
        )
    if any(name.upper() in _TIME_PROPERTIES for name, _ in getattr(event, "errors", ())):
        raise CalendarError(CalendarErrorKind.MALFORMED, uid, title=_text(event.get("SUMMARY")))
    start = _value_of(event, "DTSTART")
    if isinstance(start, date) and not isinstance(start, datetime):
        return True
    if not isinstance(start, datetime):
        raise CalendarError(CalendarErrorKind.MALFORMED, uid, title=_text(event.get("SUMMARY")))
    for name in ("DTEND", "RECURRENCE-ID"):
        value = _value_of(event, name)
        if value is not None and not isinstance(value, datetime):
            raise CalendarError(CalendarErrorKind.MALFORMED, uid, title=_text(event.get("SUMMARY")))
    duration = _value_of(event, "DURATION")
    if duration is not None and not isinstance(duration, timedelta):
        raise CalendarError(CalendarErrorKind.MALFORMED, uid, title=_text(event.get("SUMMARY")))
    return False


def _normalise_uids(events: list[icalendar.Event]) -> list[str]:
    """Strip every UID in place; return those that several spellings now share.

    The library groups occurrences by the raw UID, so " x" and "x" would be two series
    giving the same occurrences twice.
    """
    spellings: defaultdict[str, set[str]] = defaultdict(set)
    for event in events:
        raw = str(event.get("UID"))
        uid = raw.strip()
        spellings[uid].add(raw)
        if raw != uid:
            del event["UID"]
            event.add("UID", uid)
    return sorted(uid for uid, raws in spellings.items() if len(raws) > 1)


def _set_aside_all_day(
    calendar: icalendar.Calendar, uids: set[str], zone: tzinfo
) -> list[AllDayEvent]:
    """Remove the all-day events (and their overrides) from ``calendar``; describe them.

    An override of an all-day series goes with its series; a timed override of it would
    otherwise stand alone as a session nobody planned.
    """
    if not uids:
        return []
    kept, left_out = [], []
    for component in calendar.subcomponents:
        if isinstance(component, icalendar.Event) and _uid_of(component) in uids:
            if "RECURRENCE-ID" not in component:
                left_out.append(_all_day_event(component, zone))
        else:
            kept.append(component)
    calendar.subcomponents[:] = kept
    left_out.sort(key=lambda e: (e.first_day, e.title, e.uid))
    return left_out


def _all_day_event(event: icalendar.Event, zone: tzinfo) -> AllDayEvent:
    start = _value_of(event, "DTSTART")
    first = start.astimezone(zone).date() if isinstance(start, datetime) else start
    assert isinstance(first, date)
    end = _value_of(event, "DTEND")
    duration = _value_of(event, "DURATION")
    if isinstance(end, datetime):
        last = end.astimezone(zone).date()
    elif isinstance(end, date):
        last = end - timedelta(days=1)  # DTEND of a date is exclusive
    elif isinstance(duration, timedelta):
        last = first + duration - timedelta(days=1)
    else:
        last = first
    return AllDayEvent(
        uid=_uid_of(event),
        title=_text(event.get("SUMMARY")),
        first_day=first,
        last_day=max(first, last),
        recurring="RRULE" in event or "RDATE" in event,
    )


def _with_zones(calendar: icalendar.Calendar, default_tz: tzinfo) -> icalendar.Calendar:
    """Apply X-WR-TIMEZONE, then give the remaining floating times a zone.

    Google writes UTC times plus X-WR-TIMEZONE and means "this series follows Brussels
    clocks"; converting first makes a weekly 09:30 stay 09:30 across DST. The property is
    resolved with icalendar (Olson or Windows names) and removed, so that the library
    does not apply it a second time, nor crash on a zone name it does not know.
    """
    floating_zone = default_tz
    name = calendar.get("X-WR-TIMEZONE")
    if name is not None:
        del calendar["X-WR-TIMEZONE"]
        try:
            zone = tzp.timezone(str(name).strip())
        except Exception:  # an unknown zone name is ignored: UTC times stay correct instants
            zone = None
        if zone is not None:
            calendar = x_wr_timezone.to_standard(calendar, timezone=zone)
            floating_zone = zone
    walked: icalendar.Calendar = _FloatingTimeWalker(floating_zone).walk(calendar)
    return walked


def _unbuildable_uid(calendar: icalendar.Calendar) -> str | None:
    """The UID of the first series the library cannot build on its own, to name it.

    dateutil refuses some rules only when the library builds the series (e.g. an
    ``INTERVAL=24`` hourly rule restricted to another hour); the library does not say which.
    """
    groups: defaultdict[str, list[icalendar.Event]] = defaultdict(list)
    for event in _events_of(calendar):
        groups[_uid_of(event)].append(event)
    for uid, events in groups.items():
        alone = icalendar.Calendar()
        for event in events:
            alone.add_component(event)
        try:
            recurring_ical_events.of(alone)
        except Exception:
            return uid
    return None


def _rules_of(event: icalendar.Event) -> list[icalendar.vRecur]:
    value = event.get("RRULE")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _count_dates(value: Any) -> int:
    if value is None:
        return 0
    values = value if isinstance(value, list) else [value]
    return sum(len(getattr(v, "dts", ())) for v in values)


def _normalise_events(events: list[icalendar.Event]) -> _Facts:
    """Give every event an explicit end and a UTC UNTIL, and gather facts per UID.

    Mutates the events in place; they belong to the calendar parsed for this call.
    """
    facts = _Facts()
    for event in events:
        uid = _uid_of(event)
        start = _datetime_of(event, "DTSTART", uid)
        duration = _value_of(event, "DURATION")
        if "DTEND" in event:
            end = _datetime_of(event, "DTEND", uid)
        elif isinstance(duration, timedelta):
            end = start + duration
        else:
            end = start + DEFAULT_DURATION
            event.add("DTEND", end)
        if end < start:
            raise CalendarError(CalendarErrorKind.MALFORMED, uid)

        rules = _rules_of(event)
        for rule in rules:
            if not rule.get("FREQ"):
                raise CalendarError(CalendarErrorKind.MALFORMED, uid)
            _normalise_until(rule, start, dates_too=False)

        sequence = _sequence_of(event)
        if "RECURRENCE-ID" in event:
            if rules:
                # An override with its own RRULE makes the library walk the master's rule up
                # to the override's date, however far, outside any bound; no client writes it.
                raise CalendarError(CalendarErrorKind.MALFORMED, uid)
            original = _datetime_of(event, "RECURRENCE-ID", uid)
            facts.override_sequences[(uid, _utc_key(original))] = sequence
            if str(event["RECURRENCE-ID"].params.get("RANGE", "")).upper() == "THISANDFUTURE":
                wall_shift = start.astimezone(original.tzinfo).replace(
                    tzinfo=None
                ) - original.replace(tzinfo=None)
                facts.splits[(uid, _utc_key(original))] = (start, wall_shift)
            facts.extensions[uid] = max(facts.extensions[uid], original - start)
            facts.slack += 1
            continue

        facts.slack += _count_dates(event.get("EXDATE"))
        master = _Master(
            start=start,
            duration=end - start,
            rules=rules,
            cancelled=_is_cancelled(event),
            sequence=sequence,
        )
        known = facts.masters.get(uid)
        if known is None or master.sequence >= known.sequence:
            # recurring_ical_events keeps the master with the highest SEQUENCE; so do we.
            facts.masters[uid] = master
    return facts


def _normalise_until(rule: icalendar.vRecur, start: datetime, *, dates_too: bool = True) -> None:
    """Rewrite UNTIL in UTC, read in the zone of DTSTART when it has none.

    RFC 5545 wants UNTIL in UTC when DTSTART has a zone, but exporters also write a local
    time. The library would read that as UTC, cutting the last occurrence of a series that
    ends "on Friday at 9:30". A bare date means the whole local day for the bot's own
    series (``dates_too``); in an imported file it is left as the library reads it, since
    the referent's calendar app shows that reading too (the test calendars check it).
    """
    values = rule.get("UNTIL")
    if not values:
        return
    until = values[0]
    if isinstance(until, datetime):
        aware = until if until.tzinfo is not None else until.replace(tzinfo=start.tzinfo)
    elif isinstance(until, date) and dates_too:
        aware = datetime.combine(until, time(23, 59, 59), tzinfo=start.tzinfo)
    else:
        return
    rule["UNTIL"] = [aware.astimezone(UTC)]


def _sequence_of(component: icalendar.Component) -> int:
    try:
        return max(0, int(component.get("SEQUENCE", 0)))
    except (TypeError, ValueError):  # an unreadable SEQUENCE is no reason to refuse
        return 0


def _is_cancelled(component: icalendar.Component) -> bool:
    return str(component.get("STATUS", "")).strip().upper() == "CANCELLED"


def _utc_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# --------------------------------------------------------------------------- bounded expansion


def _bound_expansion(
    query: Any,
    facts: _Facts,
    *,
    window_start: datetime,
    window_end: datetime,
    max_occurrences: int,
    max_work: int,
) -> None:
    """Refuse, cheaply, a calendar whose expansion would be too long or too large.

    ``query.between`` asks dateutil for each rule's instances from DTSTART to the end of
    the window and keeps them all in memory; the library's own ``after()`` pages in time
    windows but still starts every page at DTSTART. Neither can be stopped half-way. So,
    before calling it, each rule is iterated *lazily* on the very dateutil objects the
    library will use (whose cache it then reuses), counting:

    * instances that will become occurrences in the window, against ``max_occurrences``
      (plus one per EXDATE value or override, which may remove one each);
    * every other instance, plus an upper bound of the empty periods a filtered rule may
      step through, against ``max_work``.

    Iteration stops at the first instance past the window, or as soon as a limit is
    exceeded, so the cost of a refusal is bounded by the limits, not by the rule. Two
    arithmetic checks refuse even earlier: the empty periods above, and the instances a
    rule is certain to yield before the window. A rule that never fires would make
    dateutil search until the year 9999 for its next instance; :func:`_fires_within_probe`
    catches it first.
    """
    series_list = getattr(query, "series", None)
    if series_list is None:
        raise RuntimeError(
            "recurring_ical_events no longer exposes CalendarQuery.series; "
            "the expansion bound in bot.core.calendars must be adapted"
        )
    allowed = max_occurrences + facts.slack
    in_window = 0
    work = 0
    for series in series_list:
        uid = str(series.uid).strip()
        master = facts.masters.get(uid)
        rules = getattr(getattr(series, "recurrence", None), "rrules", None)
        if master is None or rules is None:
            continue  # overrides without a master: one occurrence per VEVENT, already bounded
        stop = window_end + facts.extensions[uid]
        counted_from = window_start - master.duration
        shapes = [_RuleShape.of(rule) for rule in master.rules]
        work += sum(shape.empty_periods_bound(master.start, stop) for shape in shapes)
        certain = sum(shape.certain_instances(master.start, counted_from) for shape in shapes)
        if work + certain > max_work:
            raise CalendarError(CalendarErrorKind.RECURRENCE_TOO_DEEP, uid)
        for dateutil_rule in rules:
            if isinstance(dateutil_rule, DateutilRule) and not _fires_within_probe(
                dateutil_rule, master.start, uid
            ):
                raise CalendarError(CalendarErrorKind.RECURRENCE_TOO_DEEP, uid)

        previous: datetime | None = None
        try:
            # The library's first "rule" is the set of DTSTART and RDATEs, which the RRULEs
            # may also produce: merge them in time order and count each instant once.
            for instance in heapq.merge(*rules):
                if instance >= stop:
                    break
                if instance == previous:
                    continue
                previous = instance
                if counted_from < instance < window_end:
                    in_window += 1
                    if in_window > allowed:
                        raise CalendarError(CalendarErrorKind.TOO_MANY_OCCURRENCES, in_window)
                else:
                    work += 1
                    if work > max_work:
                        raise CalendarError(CalendarErrorKind.RECURRENCE_TOO_DEEP, uid)
        except CalendarError:
            raise
        except Exception as error:  # dateutil refuses some rules only when iterating them
            raise CalendarError(CalendarErrorKind.MALFORMED, uid) from error


@dataclass(frozen=True)
class _RuleShape:
    """The parts of an RRULE that decide how much work expanding it may cost."""

    frequency: str
    interval: int
    count: int | None
    until: datetime | None
    yields_every_period: bool

    @classmethod
    def of(cls, rule: icalendar.vRecur) -> _RuleShape:
        frequency = str(rule["FREQ"][0]).upper()
        by_parts = {str(part).upper() for part in rule if str(part).upper().startswith("BY")}
        expanding = _EXPANDING_PARTS.get(frequency)
        until = (rule.get("UNTIL") or [None])[0]
        return cls(
            frequency=frequency,
            interval=max(1, _int_or(rule.get("INTERVAL"), None) or 1),
            count=_int_or(rule.get("COUNT"), None),
            until=until if isinstance(until, datetime) else None,
            yields_every_period=expanding is not None and by_parts <= expanding,
        )

    def _span(self, start: datetime, end: datetime) -> timedelta:
        if self.until is not None and self.until < end:
            end = self.until
        return max(end - start, timedelta(0))

    def empty_periods_bound(self, start: datetime, stop: datetime) -> int:
        """Upper bound of the periods the rule may step through without yielding.

        Zero for a rule that yields in every period (its instances are counted instead).
        Otherwise the span from DTSTART to ``stop`` (or UNTIL) over the shortest period:
        ``FREQ=SECONDLY;BYHOUR=3`` over a year yields 365 times but steps through 31
        million seconds, which is what costs.
        """
        shortest = _SHORTEST_PERIOD.get(self.frequency)
        if self.yields_every_period or shortest is None:
            return 0  # an unknown FREQ is refused when the library builds the rule
        return self._span(start, stop) // (shortest * self.interval) + 1

    def certain_instances(self, start: datetime, before: datetime) -> int:
        """Lower bound of the instances yielded before ``before``, to refuse without looping.

        Only a rule that yields in every period is certain to: one per whole period, less
        the first (which may start before DTSTART), capped by COUNT. dateutil steps in
        local time, so an hour is taken off the span for a daylight-saving change.
        """
        unit = _SHORTEST_PERIOD.get(self.frequency)
        if not self.yields_every_period or unit is None:
            return 0
        span = self._span(start, before) - timedelta(hours=1)
        periods = max(0, span // (unit * self.interval) - 1)
        return periods if self.count is None else min(periods, self.count)


def _int_or(values: object, default: int | None) -> int | None:
    """The first integer of a vRecur part (a list), or ``default``."""
    if isinstance(values, list) and values:
        try:
            return int(values[0])
        except (TypeError, ValueError):
            return default
    return default


def _fires_within_probe(rule: DateutilRule, start: datetime, uid: str) -> bool:
    """Whether the rule, free of COUNT and UNTIL, yields anything in its last eight years.

    dateutil looks for the next instance until the year 9999 without checking UNTIL on the
    periods it filters out, so ``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`` costs seconds even
    with an UNTIL. Replaying the same rule from the same month, day and time in 9992 lets
    it meet ``MAXYEAR`` after eight years: a rule that fires less often than that is of no
    use for sessions and is refused. 9992 is a leap year, so a 29 February start still
    exists.
    """
    probe_start = start.replace(year=_PROBE_YEAR, tzinfo=None)
    try:
        probe = rule.replace(dtstart=probe_start, count=None, until=None)
        return next(iter(probe), None) is not None
    except Exception as error:  # dateutil refuses some combinations only when iterating
        raise CalendarError(CalendarErrorKind.MALFORMED, uid) from error


# --------------------------------------------------------------------------- mapping


def _to_occurrence(component: icalendar.Component, facts: _Facts) -> ImportedOccurrence:
    uid = str(component.get("UID", "")).strip()
    local_start = _datetime_of(component, "DTSTART", uid)
    local_end = _datetime_of(component, "DTEND", uid)
    starts_at = local_start.astimezone(UTC)
    ends_at = local_end.astimezone(UTC)
    if ends_at <= starts_at and local_end.replace(tzinfo=None) > local_start.replace(tzinfo=None):
        # A start in the hour skipped by the spring-forward night (02:30) is read as the
        # instant the clocks jump; its end must not fall on or before it: keep the length.
        ends_at = starts_at + (local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None))
    original = (
        _datetime_of(component, "RECURRENCE-ID", uid) if "RECURRENCE-ID" in component else starts_at
    )
    key = _utc_key(original)
    split = facts.splits.get((uid, key))
    if split is not None and split[0].astimezone(UTC) != starts_at:
        # A later occurrence of a THISANDFUTURE split: undo the shift to find its own start.
        zone = original.tzinfo
        wall = local_start.astimezone(zone).replace(tzinfo=None) - split[1]
        key = _utc_key(wall.replace(tzinfo=zone))
    master = facts.masters.get(uid)
    # The library stamps every occurrence with the series' highest SEQUENCE; use the
    # SEQUENCE of the VEVENT the occurrence really comes from.
    sequence = facts.override_sequences.get((uid, key))
    if sequence is None:
        sequence = master.sequence if master is not None else _sequence_of(component)
    return ImportedOccurrence(
        uid=uid,
        occurrence_key=key,
        starts_at=starts_at,
        ends_at=ends_at,
        title=_text(component.get("SUMMARY")),
        description=_text(component.get("DESCRIPTION")),
        place=_place(component.get("LOCATION"), component.get("GEO")),
        cancelled=_is_cancelled(component) or (master is not None and master.cancelled),
        sequence=sequence,
    )


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _place(location: object, geo: object) -> Place | None:
    """LOCATION's first line (or what comes before its first comma) names the place.

    Outlook writes "CPAS de Charleroi, Boulevard Joseph II 13, 6000 Charleroi" on one line;
    Thunderbird and the bot's own export put the address on the following lines.
    """
    text = "" if location is None else str(location).replace("\r\n", "\n").replace("\r", "\n")
    if "\n" in text:
        name, _, rest = text.partition("\n")
        lines = [line.strip() for line in rest.split("\n")]
        address = "\n".join(line for line in lines if line) or None
    else:
        name, _, rest = text.partition(",")
        address = rest.strip() or None
    name = name.strip()
    latitude, longitude = _coordinates(geo)
    if not name and address is None and latitude is None:
        return None
    return Place(name=name, address=address, latitude=latitude, longitude=longitude)


def _coordinates(geo: object) -> tuple[float | None, float | None]:
    """GEO as (latitude, longitude); an unreadable or impossible GEO is just left out."""
    if not isinstance(geo, icalendar.vGeo):
        return None, None
    latitude, longitude = float(geo.latitude), float(geo.longitude)
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None, None
    return latitude, longitude


# --------------------------------------------------------------------------- export


def export_ics(sessions: Iterable[ExportableSession], *, calendar_name: str, tz: ZoneInfo) -> bytes:
    """The bot's sessions as a calendar that Outlook, Google and Thunderbird subscribe to.

    Times are written in ``tz`` with a TZID and a VTIMEZONE, so the agendas show them on
    Brussels clocks; the one exception is a start or end in the repeated hour of the
    fall-back night, written in UTC because a local time there would name two instants.
    ICS has whole seconds: sub-second parts are dropped. Sessions are written in
    (start, UID) order so that the same sessions always give the same bytes, and
    ``parse_ics`` gives them back as the same occurrences (an empty feed is valid here,
    though ``parse_ics`` refuses one as NO_EVENTS). icalendar writes a literal backslash
    followed by ``N`` in a text as a line break; that sequence alone does not round-trip.

    Raises:
        ValueError: on a naive datetime, an end before the start, a negative SEQUENCE,
            half a coordinate pair, a UID and RECURRENCE-ID given twice or a RECURRENCE-ID
            that is not a UTC key (caller bugs).
    """
    ordered = list(sessions)
    for session in ordered:
        for what, moment in (
            ("starts_at", session.starts_at),
            ("ends_at", session.ends_at),
            ("updated_at", session.updated_at),
        ):
            _require_aware(moment, f"{what} of session {session.uid!r}")
        if session.ends_at < session.starts_at:
            raise ValueError(f"session {session.uid!r} ends before it starts")
        if session.sequence < 0:
            raise ValueError(f"session {session.uid!r} has a negative sequence")
    uids = [(session.uid, session.recurrence_id) for session in ordered]
    if len(set(uids)) != len(uids):
        raise ValueError("each session must have its own UID and RECURRENCE-ID")
    ordered.sort(key=lambda s: (s.starts_at, s.uid))

    calendar = _new_calendar()
    calendar.add("x-wr-calname", calendar_name)
    for session in ordered:
        calendar.add_component(_session_event(session, tz))
    _add_timezones(calendar, [s.starts_at for s in ordered] + [s.ends_at for s in ordered], tz)
    ical: bytes = calendar.to_ical()
    return ical


def _new_calendar() -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    return calendar


def _add_timezones(calendar: icalendar.Calendar, moments: Sequence[datetime], tz: tzinfo) -> None:
    """Add the VTIMEZONE, covering the years used rather than icalendar's 1970-2038."""
    if not moments:
        calendar.add_missing_timezones()
        return
    years = [moment.astimezone(tz).year for moment in moments]
    calendar.add_missing_timezones(
        first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1)
    )


def _session_event(session: ExportableSession, tz: ZoneInfo) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", session.uid)
    event.add("dtstamp", session.updated_at.astimezone(UTC).replace(microsecond=0))
    if session.recurrence_id is not None:
        original = datetime.strptime(session.recurrence_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        event.add("recurrence-id", original)
    event.add("dtstart", _written_time(session.starts_at, tz))
    event.add("dtend", _written_time(session.ends_at, tz))
    event.add("sequence", session.sequence)
    event.add("status", "CANCELLED" if session.cancelled else "CONFIRMED")
    if session.title:
        event.add("summary", session.title)
    if session.description:
        event.add("description", session.description)
    if session.place is not None:
        location = _location_text(session.place)
        if location:
            event.add("location", location)
        latitude, longitude = session.place.latitude, session.place.longitude
        if (latitude is None) != (longitude is None):
            raise ValueError(f"session {session.uid!r} has only one coordinate")
        if latitude is not None and longitude is not None:
            event.add("geo", (latitude, longitude))
    return event


def _written_time(moment: datetime, tz: ZoneInfo) -> datetime:
    """``moment`` on the clocks of ``tz``, or in UTC if that clock reading is ambiguous.

    A reader takes 02:30 on the fall-back night as its first occurrence (``fold=0``); if
    that is not ``moment``, only UTC can say which 02:30 is meant.
    """
    exact = moment.replace(microsecond=0)
    local = exact.astimezone(tz)
    if local.replace(fold=0).astimezone(UTC) != exact.astimezone(UTC):
        return exact.astimezone(UTC)
    return local.replace(fold=0)


def _location_text(place: Place) -> str:
    """Name on the first line, address below, as :func:`_place` reads it back.

    A name alone that contains a comma gets a trailing line break, otherwise the reader
    would take what follows the comma for an address. Line breaks inside a name are
    flattened: a name is one line.
    """
    name = " ".join(place.name.splitlines())
    if place.address:
        return f"{name}\n{place.address}"
    if "," in name:
        return f"{name}\n"
    return name


# --------------------------------------------------------------------------- series from the bot


def build_series_event(
    uid: str,
    *,
    title: str,
    starts_at_local: datetime,
    duration: timedelta,
    rrule: str,
    exdates: Sequence[datetime] = (),
    tz: ZoneInfo,
    dtstamp: datetime | None = None,
) -> bytes:
    """A one-VEVENT calendar for a series a referent creates in the bot.

    Storing the bot's own series as ICS means :func:`parse_ics` expands them exactly like
    imported ones, DST and EXDATE included. ``starts_at_local`` (and each of ``exdates``)
    is a wall time in ``tz`` when naive, converted to ``tz`` when aware; the series
    follows ``tz``'s clocks, so a 09:30 session stays at 09:30 after the DST change.
    ``rrule`` is the RRULE value ("FREQ=WEEKLY;BYDAY=TU;COUNT=10"), with or without the
    "RRULE:" prefix; a floating or DATE UNTIL is read in ``tz`` (a date meaning that whole
    day). ``dtstamp`` defaults to now: it only tells readers when the file was written.

    Raises:
        CalendarError: MALFORMED (detail = ``uid``) if ``rrule`` is not a valid rule, or
            one that never produces an occurrence.
        ValueError: on an empty UID or a duration that is not positive.
    """
    if not uid.strip():
        raise ValueError("a series needs a UID")
    if duration <= timedelta(0):
        raise ValueError("a session lasts a positive time")
    start = _in_zone(starts_at_local, tz)
    rule = _series_rule(rrule, start, uid)

    event = icalendar.Event()
    event.add("uid", uid)
    stamp = datetime.now(UTC) if dtstamp is None else dtstamp
    _require_aware(stamp, "dtstamp")
    event.add("dtstamp", stamp.astimezone(UTC).replace(microsecond=0))
    event.add("dtstart", start)
    # Elapsed time, not wall time: a session is as long on the night the clocks change.
    event.add("dtend", (start.astimezone(UTC) + duration).astimezone(tz))
    if title:
        event.add("summary", title)
    event.add("rrule", rule)
    if exdates:
        event.add("exdate", sorted({_in_zone(moment, tz) for moment in exdates}))

    calendar = _new_calendar()
    calendar.add_component(event)
    _add_timezones(calendar, [start], tz)
    ical: bytes = calendar.to_ical()
    return ical


def _in_zone(moment: datetime, tz: ZoneInfo) -> datetime:
    """A naive ``moment`` is a wall time in ``tz``; an aware one is converted to ``tz``."""
    local = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
    return local.replace(microsecond=0)


def _series_rule(text: str, start: datetime, uid: str) -> icalendar.vRecur:
    """Parse and check an RRULE value; ``vRecur.from_ical`` alone accepts almost anything."""
    raw = text.strip()
    if raw.upper().startswith("RRULE:"):
        raw = raw[len("RRULE:") :]
    try:
        rule = icalendar.vRecur.from_ical(raw)
    except ValueError as error:
        raise CalendarError(CalendarErrorKind.MALFORMED, uid) from error
    parts = {str(part).upper() for part in rule}
    if "FREQ" not in parts or not parts <= _RRULE_PARTS or {"COUNT", "UNTIL"} <= parts:
        raise CalendarError(CalendarErrorKind.MALFORMED, uid)
    _normalise_until(rule, start)
    try:
        checked = rrulestr(rule.to_ical().decode(), dtstart=start)
    except ValueError as error:  # ranges: BYHOUR=25, BYDAY=9MO...
        raise CalendarError(CalendarErrorKind.MALFORMED, uid) from error
    if not isinstance(checked, DateutilRule) or not _fires_within_probe(checked, start, uid):
        raise CalendarError(CalendarErrorKind.MALFORMED, uid)
    return rule
