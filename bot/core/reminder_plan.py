"""When to remind a participant of a session: the reminder plan of a module, as pure functions.

A module's plan is a short list of rules ("the day before at 18:00", "2 hours before") plus
quiet hours during which the bot stays silent. Everything here is pure and deterministic:
aware datetimes and frozen dataclasses in, aware UTC datetimes out, no clock, no database,
no Telegram. The scheduler turns the result into outbox rows keyed by ``rule_key``, so the
keys must stay stable when the configuration text is rewritten.

Two kinds of rule, because people think about them differently:

* **wall-time rules** (``d-1@18:00``) are read on the local calendar: "the evening before"
  means 18:00 on the clock in Charleroi, whatever the UTC offset is that day;
* **elapsed-time rules** (``-2h``) subtract real time in UTC: "two hours before" a 09:00
  session is exactly two real hours before it, even on the night the clocks change.

Local wall times that do not name exactly one instant are resolved by a single rule,
"the first instant at which the local clock shows that time or later":

* a **nonexistent** time (in the spring-forward gap, e.g. 02:30 on 2026-03-29 in Brussels)
  maps to the first instant after the gap (03:00 CEST, 01:00 UTC). This is deliberately not
  PEP 495's ``fold=0`` reading (which would give 03:30): the end of the gap is the moment
  the clock first reads "02:30 or later", and it is also exactly when quiet hours that
  start inside the gap really begin;
* an **ambiguous** time (in the repeated hour of the fall-back night, e.g. 02:30 on
  2026-10-25) takes its FIRST occurrence (``fold=0``: 02:30 CEST, 00:30 UTC).

Quiet hours (default 21:00 to 08:00 local) hold back everything. A reminder that would fall
inside them moves EARLIER, to one minute before the quiet period began, because a reminder
that arrives after the participant has left home is useless; other messages (feedback
questions) move LATER, to the end of the quiet period. See :func:`latest_allowed_at_or_before`
and :func:`next_allowed_send_time`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_PLAN",
    "DEFAULT_TZ",
    "MIN_GAP_BETWEEN_REMINDERS",
    "PlannedReminder",
    "ReminderPlan",
    "ReminderRule",
    "is_quiet",
    "latest_allowed_at_or_before",
    "next_allowed_send_time",
    "plan_reminders",
]

DEFAULT_TZ = ZoneInfo("Europe/Brussels")
"""The CPAS works on Brussels time; callers pass it explicitly so tests can use other zones."""

MIN_GAP_BETWEEN_REMINDERS = timedelta(minutes=60)
"""Two reminders closer than this are one too many: only the later one is kept.

Reminders exactly this far apart are both kept, so a plan such as ``-2h,-1h`` works as written.
"""

_ONE_MINUTE = timedelta(minutes=1)
_ONE_DAY = timedelta(days=1)
# Moving out of quiet hours takes one step, two in contrived cases (quiet hours that start
# inside a DST gap); a bound turns a bug into an error instead of an endless loop.
_MAX_QUIET_STEPS = 8


# --------------------------------------------------------------------------- rules and plans


def _check_whole_minute_time(value: object, what: str) -> time:
    """Wall times must be naive, whole-minute ``time`` values.

    Naive because the zone is a separate parameter (a ``time`` with its own tzinfo would
    silently disagree with it); whole minutes because the config format only has HH:MM and
    because "one minute before quiet hours" is then guaranteed to be outside them.
    """
    if not isinstance(value, time):
        raise ValueError(f"{what} must be a datetime.time, got {value!r}")
    if value.tzinfo is not None:
        raise ValueError(f"{what} must be a naive local time (the zone is passed separately)")
    if value.second or value.microsecond:
        raise ValueError(f"{what} must be a whole minute (HH:MM), got {value.isoformat()}")
    return value


@dataclass(frozen=True)
class ReminderRule:
    """One line of a reminder plan.

    Either a wall-time rule (``days_before`` and ``at_local``: N days before the session's
    local date, at that local wall time) or an elapsed-time rule (``before``: that long
    before the start, in real time). ``key`` is the stable id used to dedupe outbox rows;
    rules built by :meth:`ReminderPlan.parse`, :meth:`at_wall_time` or :meth:`before_start`
    use the canonical spelling (:attr:`spec`), e.g. ``"d-1@18:00"`` or ``"-2h"``.
    """

    key: str
    days_before: int | None = None
    at_local: time | None = None
    before: timedelta | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError("a reminder rule needs a non-empty key")
        wall = self.days_before is not None or self.at_local is not None
        elapsed = self.before is not None
        if wall and elapsed:
            raise ValueError(
                f"reminder rule {self.key!r}: set either days_before+at_local or before, not both"
            )
        if not wall and not elapsed:
            raise ValueError(
                f"reminder rule {self.key!r}: set either days_before+at_local or before"
            )
        if wall:
            if self.days_before is None or self.at_local is None:
                raise ValueError(
                    f"reminder rule {self.key!r}: days_before and at_local go together"
                )
            if isinstance(self.days_before, bool) or not isinstance(self.days_before, int):
                raise ValueError(f"reminder rule {self.key!r}: days_before must be an int")
            if self.days_before < 0:
                raise ValueError(f"reminder rule {self.key!r}: days_before must be >= 0")
            _check_whole_minute_time(self.at_local, f"reminder rule {self.key!r}: at_local")
        else:
            if not isinstance(self.before, timedelta):
                raise ValueError(f"reminder rule {self.key!r}: before must be a timedelta")
            if self.before <= timedelta(0):
                raise ValueError(f"reminder rule {self.key!r}: before must be positive")
            if self.before % _ONE_MINUTE:
                raise ValueError(f"reminder rule {self.key!r}: before must be whole minutes")

    @classmethod
    def at_wall_time(cls, days_before: int, at_local: time) -> ReminderRule:
        """A wall-time rule with its canonical key, e.g. ``at_wall_time(1, time(18))``."""
        return cls(
            key=_wall_spec(days_before, at_local), days_before=days_before, at_local=at_local
        )

    @classmethod
    def before_start(cls, before: timedelta) -> ReminderRule:
        """An elapsed-time rule with its canonical key: two hours gives ``"-2h"``."""
        return cls(key=_elapsed_spec(before), before=before)

    @property
    def spec(self) -> str:
        """The canonical config spelling of this rule (what :meth:`ReminderPlan.parse` reads)."""
        if self.before is not None:
            return _elapsed_spec(self.before)
        assert self.days_before is not None and self.at_local is not None  # by __post_init__
        return _wall_spec(self.days_before, self.at_local)


def _wall_spec(days_before: int, at_local: time) -> str:
    return f"d-{days_before}@{at_local.hour:02d}:{at_local.minute:02d}"


def _elapsed_spec(before: timedelta) -> str:
    """``-2h``, ``-30m``, ``-1h30m``: hours and minutes only, never days.

    Days are left out on purpose: ``-1d`` would read like "the day before", which is a
    wall-time rule (``d-1@HH:MM``); 24 real hours is written ``-24h``.
    """
    hours, minutes = divmod(before // _ONE_MINUTE, 60)
    if hours and minutes:
        return f"-{hours}h{minutes}m"
    if hours:
        return f"-{hours}h"
    return f"-{minutes}m"


_WALL_RULE_RE = re.compile(r"d-(\d{1,4})@(\d{1,2}:\d{2})")
_ELAPSED_RULE_RE = re.compile(r"-(?:(\d{1,5})h)?(?:(\d{1,6})m)?")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
_RULE_HELP = (
    "expected 'd-N@HH:MM' (N days before the session, at that local time), "
    "or '-Nh', '-Nm', '-NhMm' (that long before the start)"
)


def _parse_time(text: str, where: str) -> time:
    match = _TIME_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{where}: invalid time {text!r}, expected HH:MM")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"{where}: invalid time {text!r}, hours 00-23 and minutes 00-59")
    return time(hour, minute)


def _parse_rule(token: str) -> ReminderRule:
    wall = _WALL_RULE_RE.fullmatch(token)
    if wall is not None:
        at_local = _parse_time(wall.group(2), f"reminder rule {token!r}")
        return ReminderRule.at_wall_time(int(wall.group(1)), at_local)
    elapsed = _ELAPSED_RULE_RE.fullmatch(token)
    if elapsed is not None and (elapsed.group(1) or elapsed.group(2)):
        before = timedelta(hours=int(elapsed.group(1) or 0), minutes=int(elapsed.group(2) or 0))
        if before <= timedelta(0):
            raise ValueError(f"invalid reminder rule {token!r}: the delay must be positive")
        return ReminderRule.before_start(before)
    raise ValueError(f"invalid reminder rule {token!r}: {_RULE_HELP}")


@dataclass(frozen=True)
class ReminderPlan:
    """The reminder rules of a module and its quiet hours (local wall times).

    Quiet hours run from ``quiet_start`` (included) to ``quiet_end`` (excluded). They may
    wrap midnight (21:00-08:00) or not (12:00-14:00); ``quiet_start == quiet_end`` means no
    quiet hours at all.

    Config format, for module settings and the admin screens::

        d-1@18:00,-2h,-30m;quiet=21:00-08:00

    Rules are comma-separated (``none`` for no reminders); options follow after ``;``. The
    only option is ``quiet=HH:MM-HH:MM`` (or ``quiet=off``); without it the default quiet
    hours apply. Spaces and letter case are ignored.
    """

    rules: tuple[ReminderRule, ...]
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)

    def __post_init__(self) -> None:
        # Accept any iterable (a list from a caller) but store a tuple, so plans stay hashable.
        rules = tuple(self.rules)
        object.__setattr__(self, "rules", rules)
        seen: set[str] = set()
        for rule in rules:
            if not isinstance(rule, ReminderRule):
                raise ValueError(f"a reminder plan holds ReminderRule values, got {rule!r}")
            if rule.key in seen:
                # The key dedupes outbox rows: two rules with one key would silently merge.
                raise ValueError(f"duplicate reminder rule {rule.key!r}")
            seen.add(rule.key)
        _check_whole_minute_time(self.quiet_start, "quiet_start")
        _check_whole_minute_time(self.quiet_end, "quiet_end")

    @property
    def has_quiet_hours(self) -> bool:
        return self.quiet_start != self.quiet_end

    @classmethod
    def parse(cls, text: str) -> ReminderPlan:
        """Read the config format; :class:`ValueError` with a message an admin can act on.

        Rule keys are the canonical spelling of each rule, so ``-90m`` and ``-1h30m`` are the
        same rule with the same key, and rewriting the config does not resend reminders.
        """
        if not isinstance(text, str):
            raise ValueError(f"a reminder plan is text, got {type(text).__name__}")
        sections = [part.strip() for part in text.lower().split(";")]
        rules_text, options = sections[0], sections[1:]
        if not rules_text:
            raise ValueError(f"reminder plan {text!r} has no rules (write 'none' for no reminders)")
        rules: list[ReminderRule] = []
        if rules_text != "none":
            for raw in rules_text.split(","):
                token = raw.replace(" ", "")
                if not token:
                    raise ValueError(f"reminder plan {text!r} has an empty rule between commas")
                rules.append(_parse_rule(token))
        quiet: tuple[time, time] | None = None
        for option in options:
            name, sep, value = (piece.strip() for piece in option.partition("="))
            if not sep or name != "quiet":
                raise ValueError(
                    f"unknown reminder plan option {option!r}: expected 'quiet=HH:MM-HH:MM' "
                    "or 'quiet=off'"
                )
            if quiet is not None:
                raise ValueError(f"reminder plan {text!r} sets quiet hours twice")
            quiet = _parse_quiet(value.replace(" ", ""))
        if quiet is None:
            return cls(rules=tuple(rules))
        return cls(rules=tuple(rules), quiet_start=quiet[0], quiet_end=quiet[1])

    def to_text(self) -> str:
        """The config text that :meth:`parse` reads back into an equal plan.

        Raises :class:`ValueError` for a rule whose key is not its canonical spelling: the
        config format cannot carry a custom key, and losing it would change the outbox
        dedupe ids (and resend reminders) without anyone noticing.
        """
        for rule in self.rules:
            if rule.key != rule.spec:
                raise ValueError(
                    f"reminder rule key {rule.key!r} is not its config spelling {rule.spec!r}"
                )
        rules_text = ",".join(rule.spec for rule in self.rules) or "none"
        if self.quiet_start == self.quiet_end == time(0, 0):
            quiet_text = "off"
        else:
            quiet_text = f"{self.quiet_start:%H:%M}-{self.quiet_end:%H:%M}"
        return f"{rules_text};quiet={quiet_text}"


def _parse_quiet(value: str) -> tuple[time, time]:
    if value in ("off", "none"):
        return time(0, 0), time(0, 0)
    start, sep, end = value.partition("-")
    if not sep:
        raise ValueError(f"invalid quiet hours {value!r}: expected HH:MM-HH:MM or off")
    return _parse_time(start, "quiet hours"), _parse_time(end, "quiet hours")


DEFAULT_PLAN = ReminderPlan(
    rules=(
        ReminderRule.at_wall_time(1, time(18, 0)),
        ReminderRule.before_start(timedelta(hours=2)),
    ),
)
"""The evening before at 18:00 and two hours before, silent from 21:00 to 08:00."""


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder to put in the outbox: which rule, and when (aware, normalised to UTC)."""

    rule_key: str
    due_at: datetime
    # The one reminder of a session whose planned slots all went by (see plan_reminders).
    catch_up: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "due_at", _to_utc(self.due_at, "due_at"))


# --------------------------------------------------------------------------- time helpers


def _to_utc(moment: datetime, what: str) -> datetime:
    """Reject naive datetimes: a naive value here is a bug upstream, not a local time."""
    if not isinstance(moment, datetime):
        raise ValueError(f"{what} must be a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _check_tz(tz: tzinfo) -> None:
    if not isinstance(tz, tzinfo):
        raise ValueError(f"tz must be a zoneinfo.ZoneInfo, got {tz!r}")


def _utc_offset_at(epoch_seconds: int, tz: tzinfo) -> timedelta | None:
    return datetime.fromtimestamp(epoch_seconds, tz).utcoffset()


def _resolve_wall_time(day: date, at: time, tz: tzinfo) -> datetime:
    """The first instant (UTC) at which the clock in ``tz`` shows ``day at`` or later.

    For an ordinary time that is simply that time. For an ambiguous one (fall back) it is
    the first occurrence. For a nonexistent one (spring forward) it is the end of the gap:
    the instant of the transition, found by bisection between the two ``fold`` readings,
    which lie on either side of it (zoneinfo does not expose its transition table).
    """
    local = datetime.combine(day, at)
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first  # exists; fold=0 is the first occurrence when ambiguous
    # In a gap, fold=0 reads the time with the offset before the transition (an instant
    # after the gap) and fold=1 with the offset after it (an instant before the gap).
    low = math.floor(local.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    high = math.ceil(first.timestamp())
    offset_before_gap = _utc_offset_at(low, tz)
    while high - low > 1:  # transitions are on whole seconds in the tz database
        middle = (low + high) // 2
        if _utc_offset_at(middle, tz) == offset_before_gap:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _is_quiet_wall_time(wall: time, plan: ReminderPlan) -> bool:
    start, end = plan.quiet_start, plan.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end  # wraps midnight


def _quiet_period_start(moment_utc: datetime, plan: ReminderPlan, tz: tzinfo) -> datetime:
    """When the quiet period containing ``moment_utc`` began (never after ``moment_utc``)."""
    local = moment_utc.astimezone(tz)
    wraps = plan.quiet_start > plan.quiet_end
    start_day = local.date()
    if wraps and local.time() < plan.quiet_end:
        start_day -= _ONE_DAY  # after midnight: the period started the evening before
    start = _resolve_wall_time(start_day, plan.quiet_start, tz)
    # If quiet_start falls in the repeated hour of a fall-back night and we are past its
    # second occurrence, the clock left quiet hours in between (it went back to before
    # quiet_start): the period we are in began at the second occurrence.
    second = datetime.combine(start_day, plan.quiet_start, tzinfo=tz).replace(fold=1)
    second = second.astimezone(UTC)
    if start < second <= moment_utc:
        return second
    return start


def _quiet_period_end(moment_utc: datetime, plan: ReminderPlan, tz: tzinfo) -> datetime:
    """When the quiet period containing ``moment_utc`` ends (always after ``moment_utc``)."""
    local = moment_utc.astimezone(tz)
    wraps = plan.quiet_start > plan.quiet_end
    end_day = local.date()
    if wraps and local.time() >= plan.quiet_start:
        end_day += _ONE_DAY  # before midnight: the period ends the next morning
    end = _resolve_wall_time(end_day, plan.quiet_end, tz)
    if end <= moment_utc:
        # Only in the repeated hour of a fall-back night: the first occurrence of quiet_end
        # is already behind us, the second one is the real end.
        end = datetime.combine(end_day, plan.quiet_end, tzinfo=tz).replace(fold=1)
        end = end.astimezone(UTC)
    return end


# --------------------------------------------------------------------------- public functions


def is_quiet(moment: datetime, plan: ReminderPlan, tz: ZoneInfo) -> bool:
    """Whether the local wall clock at ``moment`` is inside the plan's quiet hours."""
    moment_utc = _to_utc(moment, "moment")
    _check_tz(tz)
    return _is_quiet_wall_time(moment_utc.astimezone(tz).time(), plan)


def next_allowed_send_time(moment: datetime, plan: ReminderPlan, tz: ZoneInfo) -> datetime:
    """For messages that may wait (feedback questions): ``moment``, or the end of quiet hours.

    Waiting is right for these: a question asked at 08:00 instead of 23:00 loses nothing.
    The result is aware UTC, equal to ``moment`` when it is not in quiet hours.
    """
    result = _to_utc(moment, "moment")
    _check_tz(tz)
    start = result
    for _ in range(_MAX_QUIET_STEPS):
        if not _is_quiet_wall_time(result.astimezone(tz).time(), plan):
            return _scan_if_clock_changed(start, result, plan, tz, step=_ONE_MINUTE)
        result = _quiet_period_end(result, plan, tz)
    raise RuntimeError(f"no allowed send time found after {moment.isoformat()} in {tz}")


def latest_allowed_at_or_before(moment: datetime, plan: ReminderPlan, tz: ZoneInfo) -> datetime:
    """For reminders: ``moment``, or one minute before the quiet period around it began.

    A reminder must come before the session, so it never waits for quiet hours to end:
    a 07:00 reminder under 21:00-08:00 quiet hours goes out at 20:59 the evening before.
    The result is aware UTC, equal to ``moment`` when it is not in quiet hours.
    """
    result = _to_utc(moment, "moment")
    _check_tz(tz)
    start = result
    for _ in range(_MAX_QUIET_STEPS):
        if not _is_quiet_wall_time(result.astimezone(tz).time(), plan):
            return _scan_if_clock_changed(start, result, plan, tz, step=-_ONE_MINUTE)
        result = _quiet_period_start(result, plan, tz) - _ONE_MINUTE
    raise RuntimeError(f"no allowed send time found before {moment.isoformat()} in {tz}")


def _scan_if_clock_changed(
    start: datetime, found: datetime, plan: ReminderPlan, tz: ZoneInfo, *, step: timedelta
) -> datetime:
    """On a night the clocks change, check the jump minute by minute from ``start``.

    The wall-clock arithmetic above can skip a short allowed stretch that only exists
    because an hour is repeated (quiet hours ending inside it); that happens twice a
    year at most, so the slow, exact walk is affordable there and only there.
    """
    if start == found or start.astimezone(tz).utcoffset() == found.astimezone(tz).utcoffset():
        return found
    moment = start
    while moment != found and _is_quiet_wall_time(moment.astimezone(tz).time(), plan):
        moment += step
    return moment


def _raw_due(rule: ReminderRule, starts_at_utc: datetime, tz: tzinfo) -> datetime:
    if rule.before is not None:
        return starts_at_utc - rule.before  # real elapsed time: UTC arithmetic
    assert rule.days_before is not None and rule.at_local is not None  # by __post_init__
    session_day = starts_at_utc.astimezone(tz).date()
    return _resolve_wall_time(session_day - timedelta(days=rule.days_before), rule.at_local, tz)


def _keep_spaced(candidates: Iterable[tuple[datetime, datetime, str]]) -> list[PlannedReminder]:
    """Drop reminders closer than the minimum gap to a later kept one.

    Walking from the latest down and comparing with the last reminder kept (not the last
    one seen) keeps the reminders closest to the session, which are the useful ones.
    Candidates are ``(due, raw_due, key)``; on equal due times the one whose rule aimed
    closer to the session wins, then the key, so the result never depends on rule order.
    """
    kept: list[PlannedReminder] = []
    for due, _raw, key in sorted(candidates, reverse=True):
        if kept and kept[-1].due_at - due < MIN_GAP_BETWEEN_REMINDERS:
            continue
        kept.append(PlannedReminder(rule_key=key, due_at=due))
    kept.reverse()
    return kept


def plan_reminders(
    starts_at: datetime, plan: ReminderPlan, *, tz: ZoneInfo, now: datetime
) -> list[PlannedReminder]:
    """The reminders to send for a session starting at ``starts_at``, sorted, in UTC.

    For each rule: compute its time (wall-time rules on the local calendar of ``tz``,
    elapsed-time rules in real time); drop it if it is not strictly before the start
    (checked before any quiet-hours move, so "d-0@23:30" for a 23:00 session never turns
    into a 20:59 reminder); move it earlier out of quiet hours; drop it if that is before
    ``now`` (a missed reminder is skipped, never sent late). Finally, of reminders less
    than :data:`MIN_GAP_BETWEEN_REMINDERS` apart, only the later one is kept.

    When that leaves nothing although some rule aimed before the start (a session added at
    22:00 for 09:00 tomorrow: its 07:00 reminder moved back to 20:59, already past), one
    reminder still goes, under the key of the rule closest to the start: at once outside
    quiet hours, else when they end, if that is before the start. Otherwise none can go,
    and the caller says so.
    """
    starts_at_utc = _to_utc(starts_at, "starts_at")
    now_utc = _to_utc(now, "now")
    _check_tz(tz)
    candidates: list[tuple[datetime, datetime, str]] = []
    for rule in plan.rules:
        raw = _raw_due(rule, starts_at_utc, tz)
        if raw >= starts_at_utc:
            continue
        due = latest_allowed_at_or_before(raw, plan, tz)
        if due < now_utc:
            continue
        candidates.append((due, raw, rule.key))
    kept = _keep_spaced(candidates)
    if kept or starts_at_utc <= now_utc:
        return kept
    aimed = [
        (raw, rule.key)
        for rule in plan.rules
        if (raw := _raw_due(rule, starts_at_utc, tz)) < starts_at_utc
    ]
    catch_up = next_allowed_send_time(now_utc, plan, tz)
    if not aimed or catch_up >= starts_at_utc:
        return []
    return [PlannedReminder(rule_key=max(aimed)[1], due_at=catch_up, catch_up=True)]
