"""Specification of the reminder plan: when ACTIV'UP reminds a participant of a session.

Times are written in Brussels local time and checked in UTC, so every DST case states
its offset explicitly: +01:00 in winter, +02:00 in summer.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.reminder_plan import (
    DEFAULT_PLAN,
    MIN_GAP_BETWEEN_REMINDERS,
    PlannedReminder,
    ReminderPlan,
    ReminderRule,
    is_quiet,
    latest_allowed_at_or_before,
    next_allowed_send_time,
    plan_reminders,
)

BXL = ZoneInfo("Europe/Brussels")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
NO_QUIET = "quiet=off"


def bxl(year: int, month: int, day: int, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BXL, fold=fold)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def plan_for(
    starts_at: datetime, plan: ReminderPlan = DEFAULT_PLAN, now: datetime = LONG_AGO
) -> list[tuple[str, datetime]]:
    return [(r.rule_key, r.due_at) for r in plan_reminders(starts_at, plan, tz=BXL, now=now)]


# --------------------------------------------------------------------------- the default plan


def test_default_plan_is_the_evening_before_at_18_and_two_hours_before_quiet_21_to_8() -> None:
    assert DEFAULT_PLAN.to_text() == "d-1@18:00,-2h;quiet=21:00-08:00"
    assert ReminderPlan.parse("d-1@18:00,-2h") == DEFAULT_PLAN


def test_tuesday_0930_session_reminds_monday_1800_and_moves_the_0730_reminder_to_monday_2059() -> (
    None
):
    # 2026-01-13 is a Tuesday in winter (+01:00). 07:30 is inside 21:00-08:00 quiet hours,
    # so "-2h" moves EARLIER, to one minute before quiet hours began on Monday evening.
    assert plan_for(bxl(2026, 1, 13, 9, 30)) == [
        ("d-1@18:00", utc(2026, 1, 12, 17, 0)),
        ("-2h", utc(2026, 1, 12, 19, 59)),
    ]


def test_summer_tuesday_0930_session_uses_the_summer_offset() -> None:
    assert plan_for(bxl(2026, 6, 16, 9, 30)) == [
        ("d-1@18:00", utc(2026, 6, 15, 16, 0)),
        ("-2h", utc(2026, 6, 15, 18, 59)),
    ]


def test_afternoon_session_at_1400_reminds_the_day_before_at_1800_and_at_1200_same_day() -> None:
    assert plan_for(bxl(2026, 1, 13, 14, 0)) == [
        ("d-1@18:00", utc(2026, 1, 12, 17, 0)),
        ("-2h", utc(2026, 1, 13, 11, 0)),
    ]


def test_due_times_are_aware_utc_and_sorted() -> None:
    reminders = plan_reminders(bxl(2026, 1, 13, 14, 0), DEFAULT_PLAN, tz=BXL, now=LONG_AGO)
    assert [r.due_at for r in reminders] == sorted(r.due_at for r in reminders)
    assert all(r.due_at.tzinfo is UTC for r in reminders)


# --------------------------------------------------------------------------- DST weeks


@pytest.mark.parametrize(
    ("session", "day_before_1800", "two_hours_before_moved"),
    [
        pytest.param(
            bxl(2026, 3, 29, 9, 30),  # the spring-forward Sunday itself, +02:00
            utc(2026, 3, 28, 17, 0),  # Saturday 18:00 +01:00
            utc(2026, 3, 28, 19, 59),  # Saturday 20:59 +01:00
            id="spring-forward-sunday",
        ),
        pytest.param(
            bxl(2026, 3, 30, 9, 30),  # Monday after, +02:00
            utc(2026, 3, 29, 16, 0),  # Sunday 18:00 +02:00
            utc(2026, 3, 29, 18, 59),  # Sunday 20:59 +02:00
            id="monday-after-spring-forward",
        ),
        pytest.param(
            bxl(2026, 10, 25, 9, 30),  # the fall-back Sunday itself, +01:00
            utc(2026, 10, 24, 16, 0),  # Saturday 18:00 +02:00
            utc(2026, 10, 24, 18, 59),  # Saturday 20:59 +02:00
            id="fall-back-sunday",
        ),
        pytest.param(
            bxl(2026, 10, 26, 9, 30),  # Monday after, +01:00
            utc(2026, 10, 25, 17, 0),  # Sunday 18:00 +01:00
            utc(2026, 10, 25, 19, 59),  # Sunday 20:59 +01:00
            id="monday-after-fall-back",
        ),
    ],
)
def test_day_before_reminder_is_at_1800_brussels_wall_time_across_dst_changes(
    session: datetime, day_before_1800: datetime, two_hours_before_moved: datetime
) -> None:
    assert plan_for(session) == [("d-1@18:00", day_before_1800), ("-2h", two_hours_before_moved)]
    local = day_before_1800.astimezone(BXL)
    assert (local.hour, local.minute) == (18, 0)
    assert local.date() == session.date() - timedelta(days=1)
    moved = two_hours_before_moved.astimezone(BXL)
    assert (moved.hour, moved.minute) == (20, 59)


@pytest.mark.parametrize(
    "session",
    [
        pytest.param(bxl(2026, 3, 29, 3, 30), id="just-after-spring-forward-gap"),
        pytest.param(bxl(2026, 3, 29, 9, 0), id="0900-on-spring-forward-day"),
        pytest.param(bxl(2026, 10, 25, 2, 30, fold=1), id="second-0230-on-fall-back-day"),
        pytest.param(bxl(2026, 10, 25, 3, 15), id="just-after-fall-back"),
        pytest.param(bxl(2026, 3, 29, 14, 0), id="afternoon-spring-forward-day"),
    ],
)
def test_two_hours_before_is_exactly_two_real_hours_even_when_clocks_change(
    session: datetime,
) -> None:
    plan = ReminderPlan.parse(f"-2h;{NO_QUIET}")
    [(key, due)] = plan_for(session, plan)
    assert key == "-2h"
    assert session - due == timedelta(hours=2)  # aware subtraction across zones is real time


def test_two_hours_before_a_0330_session_on_spring_forward_day_is_0030_winter_time() -> None:
    # 03:30 CEST = 01:30 UTC; two real hours earlier is 23:30 UTC = 00:30 CET (3 wall hours).
    plan = ReminderPlan.parse(f"-2h;{NO_QUIET}")
    assert plan_for(bxl(2026, 3, 29, 3, 30), plan) == [("-2h", utc(2026, 3, 28, 23, 30))]


def test_nonexistent_local_time_maps_to_the_first_instant_after_the_spring_forward_gap() -> None:
    # 02:30 does not exist on 2026-03-29 in Brussels (02:00 CET -> 03:00 CEST).
    plan = ReminderPlan.parse(f"d-1@02:30;{NO_QUIET}")
    [(_, due)] = plan_for(bxl(2026, 3, 30, 9, 30), plan)
    assert due == utc(2026, 3, 29, 1, 0)
    assert due.astimezone(BXL).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 0)  # noqa: DTZ001


def test_nonexistent_time_on_the_session_day_itself() -> None:
    plan = ReminderPlan.parse(f"d-0@02:15;{NO_QUIET}")
    assert plan_for(bxl(2026, 3, 29, 10, 0), plan) == [("d-0@02:15", utc(2026, 3, 29, 1, 0))]


def test_ambiguous_local_time_takes_the_first_occurrence_on_the_fall_back_night() -> None:
    # 02:30 happens twice on 2026-10-25: first at +02:00 (00:30 UTC), then at +01:00.
    plan = ReminderPlan.parse(f"d-1@02:30;{NO_QUIET}")
    assert plan_for(bxl(2026, 10, 26, 9, 30), plan) == [("d-1@02:30", utc(2026, 10, 25, 0, 30))]


# --------------------------------------------------------------------------- quiet hours


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (bxl(2026, 1, 12, 20, 59), False),
        (bxl(2026, 1, 12, 21, 0), True),
        (bxl(2026, 1, 12, 23, 59), True),
        (bxl(2026, 1, 13, 0, 0), True),
        (bxl(2026, 1, 13, 7, 59), True),
        (bxl(2026, 1, 13, 8, 0), False),
        (bxl(2026, 1, 13, 12, 0), False),
    ],
)
def test_default_quiet_hours_run_from_2100_included_to_0800_excluded(
    local: datetime, quiet: bool
) -> None:
    assert is_quiet(local, DEFAULT_PLAN, BXL) is quiet
    assert is_quiet(local.astimezone(UTC), DEFAULT_PLAN, BXL) is quiet


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (bxl(2026, 1, 13, 11, 59), False),
        (bxl(2026, 1, 13, 12, 0), True),
        (bxl(2026, 1, 13, 13, 59), True),
        (bxl(2026, 1, 13, 14, 0), False),
        (bxl(2026, 1, 13, 23, 0), False),
        (bxl(2026, 1, 13, 3, 0), False),
    ],
)
def test_quiet_hours_that_do_not_wrap_midnight(local: datetime, quiet: bool) -> None:
    plan = ReminderPlan.parse("-1h;quiet=12:00-14:00")
    assert is_quiet(local, plan, BXL) is quiet


def test_equal_quiet_start_and_end_means_no_quiet_hours() -> None:
    plan = ReminderPlan(rules=(), quiet_start=time(5, 0), quiet_end=time(5, 0))
    assert not plan.has_quiet_hours
    for hour in range(24):
        assert not is_quiet(bxl(2026, 1, 13, hour, 0), plan, BXL)


def test_reminder_in_non_wrapping_quiet_hours_moves_to_just_before_they_start() -> None:
    plan = ReminderPlan.parse("-1h;quiet=12:00-14:00")
    # 13:30 is quiet: moves to 11:59 the same day.
    assert plan_for(bxl(2026, 1, 13, 14, 30), plan) == [("-1h", bxl(2026, 1, 13, 11, 59))]


def test_reminder_after_midnight_moves_back_to_the_previous_evening() -> None:
    assert latest_allowed_at_or_before(bxl(2026, 1, 13, 0, 30), DEFAULT_PLAN, BXL) == bxl(
        2026, 1, 12, 20, 59
    )


def test_reminder_late_evening_moves_back_to_the_same_evening() -> None:
    assert latest_allowed_at_or_before(bxl(2026, 1, 12, 22, 15), DEFAULT_PLAN, BXL) == bxl(
        2026, 1, 12, 20, 59
    )


def test_allowed_moments_are_returned_unchanged_in_utc() -> None:
    moment = bxl(2026, 1, 13, 10, 17)
    for result in (
        latest_allowed_at_or_before(moment, DEFAULT_PLAN, BXL),
        next_allowed_send_time(moment, DEFAULT_PLAN, BXL),
    ):
        assert result == moment
        assert result.tzinfo is UTC


def test_other_messages_wait_for_the_end_of_quiet_hours() -> None:
    assert next_allowed_send_time(bxl(2026, 1, 12, 23, 0), DEFAULT_PLAN, BXL) == bxl(
        2026, 1, 13, 8, 0
    )
    assert next_allowed_send_time(bxl(2026, 1, 13, 7, 0), DEFAULT_PLAN, BXL) == bxl(
        2026, 1, 13, 8, 0
    )
    plan = ReminderPlan.parse("-1h;quiet=12:00-14:00")
    assert next_allowed_send_time(bxl(2026, 1, 13, 12, 30), plan, BXL) == bxl(2026, 1, 13, 14, 0)


def test_end_of_quiet_hours_across_spring_forward_is_0800_summer_time() -> None:
    assert next_allowed_send_time(bxl(2026, 3, 28, 23, 0), DEFAULT_PLAN, BXL) == utc(
        2026, 3, 29, 6, 0
    )


def test_quiet_hours_starting_inside_the_gap_begin_when_the_gap_ends() -> None:
    # Quiet from 02:30: on 2026-03-29 the clock jumps 02:00 -> 03:00, so quiet hours start
    # at 03:00 CEST (01:00 UTC) and the last allowed minute is 01:59 CET (00:59 UTC).
    plan = ReminderPlan.parse("-1h;quiet=02:30-05:00")
    assert latest_allowed_at_or_before(bxl(2026, 3, 29, 4, 0), plan, BXL) == utc(2026, 3, 29, 0, 59)


def test_end_of_quiet_hours_in_the_repeated_hour_is_the_second_occurrence() -> None:
    # Quiet until 02:30 on the fall-back night: at 02:10 (second time, +01:00) the first
    # 02:30 is already past, so quiet hours end at the second 02:30 (01:30 UTC).
    plan = ReminderPlan.parse("-1h;quiet=21:00-02:30")
    moment = bxl(2026, 10, 25, 2, 10, fold=1)
    assert is_quiet(moment, plan, BXL)
    assert next_allowed_send_time(moment, plan, BXL) == utc(2026, 10, 25, 1, 30)


def test_quiet_hours_starting_in_the_repeated_hour_begin_again_at_its_second_occurrence() -> None:
    # Quiet from 02:15 on the fall-back night: quiet at 02:15 CEST, not quiet again from
    # 02:00 to 02:15 CET (the clock went back), quiet from the second 02:15 (01:15 UTC).
    plan = ReminderPlan.parse("-1h;quiet=02:15-05:00")
    assert not is_quiet(utc(2026, 10, 25, 1, 10), plan, BXL)
    assert latest_allowed_at_or_before(bxl(2026, 10, 25, 3, 0), plan, BXL) == utc(
        2026, 10, 25, 1, 14
    )


# --------------------------------------------------------------------------- dropping


def test_reminders_whose_time_has_passed_are_skipped_not_sent_late() -> None:
    session = bxl(2026, 1, 13, 9, 30)
    assert plan_for(session, now=bxl(2026, 1, 12, 19, 0)) == [("-2h", utc(2026, 1, 12, 19, 59))]
    assert plan_for(session, now=bxl(2026, 1, 13, 8, 30)) == [("-2h", utc(2026, 1, 13, 7, 30))]


def test_a_session_added_in_quiet_hours_gets_its_reminder_when_they_end() -> None:
    # Added at 21:30 for 09:30: the 07:30 reminder would move back to 20:59, already past.
    session = bxl(2026, 1, 13, 9, 30)
    assert plan_for(session, now=bxl(2026, 1, 12, 21, 30)) == [("-2h", utc(2026, 1, 13, 7, 0))]
    # Replanning later (a restart) keeps the same key and time: one reminder, not two.
    assert plan_for(session, now=bxl(2026, 1, 13, 6, 0)) == [("-2h", utc(2026, 1, 13, 7, 0))]


def test_a_session_added_outside_quiet_hours_after_its_reminder_time_is_reminded_at_once() -> None:
    session = bxl(2026, 1, 13, 14, 0)
    now = bxl(2026, 1, 13, 13, 0)
    assert plan_for(session, now=now) == [("-2h", utc(2026, 1, 13, 12, 0))]


def test_no_reminder_when_quiet_hours_last_until_the_start() -> None:
    # Added at 23:00 for 07:30: quiet until 08:00, after the start.
    assert plan_for(bxl(2026, 1, 13, 7, 30), now=bxl(2026, 1, 12, 23, 0)) == []


def test_a_reminder_due_exactly_now_is_kept() -> None:
    session = bxl(2026, 1, 13, 14, 0)
    assert plan_for(session, now=bxl(2026, 1, 13, 12, 0)) == [("-2h", utc(2026, 1, 13, 11, 0))]


@pytest.mark.parametrize(
    ("config", "session"),
    [
        pytest.param("d-0@18:00", bxl(2026, 1, 13, 9, 30), id="later-the-same-day"),
        pytest.param("d-0@09:30", bxl(2026, 1, 13, 9, 30), id="at-the-start"),
        # 23:30 is quiet and would move to 20:59, but it was after the start to begin with.
        pytest.param("d-0@23:30", bxl(2026, 1, 13, 23, 0), id="after-start-then-quiet"),
    ],
)
def test_a_reminder_not_strictly_before_the_start_is_dropped(
    config: str, session: datetime
) -> None:
    assert plan_for(session, ReminderPlan.parse(config)) == []


def test_an_empty_plan_plans_nothing() -> None:
    assert plan_for(bxl(2026, 1, 13, 9, 30), ReminderPlan.parse("none")) == []


# --------------------------------------------------------------------------- 60-minute dedupe


def test_two_reminders_moved_to_the_same_minute_keep_the_one_closer_to_the_session() -> None:
    # Session 08:30: -2h (06:30) and -1h (07:30) both move to 20:59 the evening before.
    plan = ReminderPlan.parse("-2h,-1h")
    assert plan_for(bxl(2026, 1, 13, 8, 30), plan) == [("-1h", utc(2026, 1, 12, 19, 59))]
    assert plan_for(bxl(2026, 1, 13, 8, 30), ReminderPlan.parse("-1h,-2h")) == [
        ("-1h", utc(2026, 1, 12, 19, 59))
    ]


def test_reminders_less_than_an_hour_apart_keep_only_the_later_one() -> None:
    # 20:30 and the moved "-2h" at 20:59 are 29 minutes apart.
    plan = ReminderPlan.parse("d-1@20:30,-2h")
    assert plan_for(bxl(2026, 1, 13, 9, 0), plan) == [("-2h", utc(2026, 1, 12, 19, 59))]


def test_reminders_exactly_an_hour_apart_are_both_kept() -> None:
    assert MIN_GAP_BETWEEN_REMINDERS == timedelta(minutes=60)
    plan = ReminderPlan.parse("-2h,-1h")
    assert plan_for(bxl(2026, 1, 13, 15, 0), plan) == [
        ("-2h", utc(2026, 1, 13, 12, 0)),
        ("-1h", utc(2026, 1, 13, 13, 0)),
    ]


def test_dedupe_compares_with_the_reminders_kept_not_the_ones_dropped() -> None:
    # 13:00, 13:40, 14:20: 13:40 is dropped (too close to 14:20); 13:00 is 80 minutes
    # before 14:20 and stays.
    plan = ReminderPlan.parse("-3h,-2h20m,-1h40m")
    assert plan_for(bxl(2026, 1, 13, 16, 0), plan) == [
        ("-3h", bxl(2026, 1, 13, 13, 0)),
        ("-1h40m", bxl(2026, 1, 13, 14, 20)),
    ]


# --------------------------------------------------------------------------- aware datetimes only


def test_naive_datetimes_are_rejected() -> None:
    naive = bxl(2026, 1, 13, 9, 30).replace(tzinfo=None)
    aware = bxl(2026, 1, 13, 9, 30)
    with pytest.raises(ValueError, match="aware"):
        plan_reminders(naive, DEFAULT_PLAN, tz=BXL, now=LONG_AGO)
    with pytest.raises(ValueError, match="aware"):
        plan_reminders(aware, DEFAULT_PLAN, tz=BXL, now=naive)
    with pytest.raises(ValueError, match="aware"):
        is_quiet(naive, DEFAULT_PLAN, BXL)
    with pytest.raises(ValueError, match="aware"):
        next_allowed_send_time(naive, DEFAULT_PLAN, BXL)
    with pytest.raises(ValueError, match="aware"):
        latest_allowed_at_or_before(naive, DEFAULT_PLAN, BXL)
    with pytest.raises(ValueError, match="aware"):
        PlannedReminder(rule_key="-2h", due_at=naive)


def test_planned_reminder_normalises_its_due_time_to_utc() -> None:
    reminder = PlannedReminder(rule_key="-2h", due_at=bxl(2026, 6, 16, 7, 30))
    assert reminder.due_at.tzinfo is UTC
    assert reminder.due_at == utc(2026, 6, 16, 5, 30)


# --------------------------------------------------------------------------- rules and config


def test_a_rule_is_either_wall_time_or_elapsed_time() -> None:
    assert ReminderRule("d-1@18:00", days_before=1, at_local=time(18, 0)).spec == "d-1@18:00"
    assert ReminderRule("-2h", before=timedelta(hours=2)).spec == "-2h"
    with pytest.raises(ValueError, match="not both"):
        ReminderRule("x", days_before=1, at_local=time(18, 0), before=timedelta(hours=2))
    with pytest.raises(ValueError, match="either"):
        ReminderRule("x")
    with pytest.raises(ValueError, match="go together"):
        ReminderRule("x", days_before=1)
    with pytest.raises(ValueError, match="go together"):
        ReminderRule("x", at_local=time(18, 0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days_before": -1, "at_local": time(18, 0)}, ">= 0"),
        ({"days_before": True, "at_local": time(18, 0)}, "int"),
        ({"days_before": 1, "at_local": time(18, 0, 30)}, "whole minute"),
        ({"days_before": 1, "at_local": time(18, 0, tzinfo=UTC)}, "naive"),
        ({"before": timedelta(0)}, "positive"),
        ({"before": timedelta(minutes=-5)}, "positive"),
        ({"before": timedelta(minutes=5, seconds=1)}, "whole minutes"),
    ],
)
def test_invalid_rules_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReminderRule("x", **kwargs)  # type: ignore[arg-type]


def test_a_rule_needs_a_key_and_keys_are_unique_in_a_plan() -> None:
    with pytest.raises(ValueError, match="key"):
        ReminderRule(" ", before=timedelta(hours=1))
    rule = ReminderRule.before_start(timedelta(hours=1))
    with pytest.raises(ValueError, match="duplicate"):
        ReminderPlan(rules=(rule, rule))


def test_quiet_hours_must_be_whole_minutes() -> None:
    with pytest.raises(ValueError, match="whole minute"):
        ReminderPlan(rules=(), quiet_start=time(21, 0, 30))


def test_a_list_of_rules_is_stored_as_a_tuple() -> None:
    plan = ReminderPlan(rules=list(DEFAULT_PLAN.rules))  # type: ignore[arg-type]
    assert plan == DEFAULT_PLAN
    assert hash(plan) == hash(DEFAULT_PLAN)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("d-1@18:00,-2h,-30m;quiet=21:00-08:00", "d-1@18:00,-2h,-30m;quiet=21:00-08:00"),
        ("d-1@18:00,-2h", "d-1@18:00,-2h;quiet=21:00-08:00"),
        (" D-1@9:00 , -2H ; Quiet = 22:00 - 07:30 ", "d-1@09:00,-2h;quiet=22:00-07:30"),
        ("-90m", "-1h30m;quiet=21:00-08:00"),
        ("-1h90m", "-2h30m;quiet=21:00-08:00"),
        ("d-0@07:00,-24h;quiet=12:00-14:00", "d-0@07:00,-24h;quiet=12:00-14:00"),
        ("none;quiet=off", "none;quiet=off"),
        ("-2h;quiet=00:00-00:00", "-2h;quiet=off"),
        ("-2h;quiet=05:00-05:00", "-2h;quiet=05:00-05:00"),
    ],
)
def test_parse_reads_the_config_format_and_to_text_writes_it_canonically(
    text: str, canonical: str
) -> None:
    plan = ReminderPlan.parse(text)
    assert plan.to_text() == canonical
    assert ReminderPlan.parse(canonical) == plan


def test_parsed_rules_get_their_canonical_spelling_as_key() -> None:
    plan = ReminderPlan.parse("d-2@9:05,-90m")
    assert [rule.key for rule in plan.rules] == ["d-2@09:05", "-1h30m"]
    assert plan.rules[0] == ReminderRule("d-2@09:05", days_before=2, at_local=time(9, 5))
    assert plan.rules[1] == ReminderRule("-1h30m", before=timedelta(minutes=90))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no rules"),
        (";quiet=21:00-08:00", "no rules"),
        ("d-1", "invalid reminder rule"),
        ("d--1@18:00", "invalid reminder rule"),
        ("d-1@1800", "invalid reminder rule"),
        ("d-1@25:00", "hours 00-23"),
        ("d-1@18:60", "minutes 00-59"),
        ("2h", "invalid reminder rule"),
        ("-2x", "invalid reminder rule"),
        ("-", "invalid reminder rule"),
        ("-0m", "positive"),
        ("-0h0m", "positive"),
        ("d-1@18:00,,-2h", "empty rule"),
        ("d-1@18:00,", "empty rule"),
        ("-2h,-120m", "duplicate"),
        ("-2h;quiet=21:00", "quiet hours"),
        ("-2h;quiet=25:00-08:00", "invalid time"),
        ("-2h;quiet", "unknown reminder plan option"),
        ("-2h;silence=21:00-08:00", "unknown reminder plan option"),
        ("-2h;quiet=21:00-08:00;quiet=off", "twice"),
    ],
)
def test_bad_config_raises_a_clear_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReminderPlan.parse(text)


def test_to_text_refuses_a_custom_key_it_cannot_write_back() -> None:
    plan = ReminderPlan(rules=(ReminderRule("evening", days_before=1, at_local=time(18, 0)),))
    with pytest.raises(ValueError, match="evening"):
        plan.to_text()


# --------------------------------------------------------------------------- properties

ZONES = st.sampled_from(
    [
        BXL,
        ZoneInfo("UTC"),
        ZoneInfo("America/New_York"),
        ZoneInfo("Australia/Lord_Howe"),  # 30-minute DST shift
        ZoneInfo("America/Santiago"),  # changes at midnight
        ZoneInfo("Asia/Kolkata"),
    ]
)
# Hypothesis wants naive bounds; built from aware values to keep the linter honest.
START_MIN = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
START_MAX = datetime(2027, 12, 31, 23, 59, tzinfo=UTC).replace(tzinfo=None)

minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
wall_rules = st.builds(ReminderRule.at_wall_time, st.integers(0, 7), minute_times)
elapsed_rules = st.builds(
    ReminderRule.before_start, st.integers(1, 3 * 24 * 60).map(lambda m: timedelta(minutes=m))
)
plans = st.builds(
    ReminderPlan,
    rules=st.lists(st.one_of(wall_rules, elapsed_rules), max_size=6, unique_by=lambda r: r.key).map(
        tuple
    ),
    quiet_start=minute_times,
    quiet_end=minute_times,
)
instants = st.datetimes(min_value=START_MIN, max_value=START_MAX, timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(
    starts_at=instants,
    plan=plans,
    tz=ZONES,
    now_before_start=st.integers(-3 * 60, 10 * 24 * 60).map(lambda m: timedelta(minutes=m)),
)
def test_every_planned_reminder_is_before_the_start_not_past_not_quiet_and_utc(
    starts_at: datetime, plan: ReminderPlan, tz: ZoneInfo, now_before_start: timedelta
) -> None:
    now = starts_at - now_before_start
    reminders = plan_reminders(starts_at, plan, tz=tz, now=now)
    for reminder in reminders:
        assert reminder.due_at < starts_at
        assert reminder.due_at >= now
        assert not is_quiet(reminder.due_at, plan, tz)
        assert reminder.due_at.tzinfo is UTC
    dues = [r.due_at for r in reminders]
    assert all(later - earlier >= MIN_GAP_BETWEEN_REMINDERS for earlier, later in pairwise(dues))
    keys = [r.rule_key for r in reminders]
    assert len(set(keys)) == len(keys)
    assert set(keys) <= {rule.key for rule in plan.rules}
    # Pure and deterministic, and the order of the rules in the config does not matter.
    assert plan_reminders(starts_at, plan, tz=tz, now=now) == reminders
    reversed_plan = ReminderPlan(
        rules=plan.rules[::-1], quiet_start=plan.quiet_start, quiet_end=plan.quiet_end
    )
    assert plan_reminders(starts_at, reversed_plan, tz=tz, now=now) == reminders
    # The input's own zone does not matter either, only the instant.
    assert plan_reminders(starts_at.astimezone(tz), plan, tz=tz, now=now) == reminders


@settings(max_examples=200, deadline=None)
@given(starts_at=instants, plan=plans, tz=ZONES)
def test_reminders_only_ever_move_earlier(
    starts_at: datetime, plan: ReminderPlan, tz: ZoneInfo
) -> None:
    by_key = {rule.key: rule for rule in plan.rules}
    for reminder in plan_reminders(starts_at, plan, tz=tz, now=LONG_AGO):
        rule = by_key[reminder.rule_key]
        if rule.before is not None:
            assert reminder.due_at <= starts_at - rule.before


@settings(max_examples=300, deadline=None)
@given(moment=instants, plan=plans, tz=ZONES)
def test_quiet_hour_moves_land_outside_quiet_hours_in_the_right_direction(
    moment: datetime, plan: ReminderPlan, tz: ZoneInfo
) -> None:
    earlier = latest_allowed_at_or_before(moment, plan, tz)
    later = next_allowed_send_time(moment, plan, tz)
    assert earlier <= moment <= later
    assert not is_quiet(earlier, plan, tz)
    assert not is_quiet(later, plan, tz)
    assert earlier.tzinfo is UTC and later.tzinfo is UTC
    if not is_quiet(moment, plan, tz):
        assert earlier == moment == later
    else:
        assert earlier < moment < later


@settings(max_examples=200, deadline=None)
@given(plan=plans)
def test_to_text_then_parse_gives_back_the_same_plan(plan: ReminderPlan) -> None:
    assert ReminderPlan.parse(plan.to_text()) == plan


BRUSSELS_CLOCK_CHANGES = [
    utc(2026, 3, 29, 1, 0),
    utc(2026, 10, 25, 1, 0),
    utc(2027, 3, 28, 1, 0),
    utc(2027, 10, 31, 1, 0),
]


@settings(max_examples=100, deadline=None)
@given(
    change=st.sampled_from(BRUSSELS_CLOCK_CHANGES),
    minutes_from_change=st.integers(-12 * 60, 12 * 60),
    quiet_start=minute_times,
    quiet_end=minute_times,
)
def test_quiet_hour_moves_match_a_minute_by_minute_scan_around_clock_changes(
    change: datetime, minutes_from_change: int, quiet_start: time, quiet_end: time
) -> None:
    """next/latest are exactly the first/last allowed minute, found here the slow way."""
    plan = ReminderPlan(rules=(), quiet_start=quiet_start, quiet_end=quiet_end)
    moment = change + timedelta(minutes=minutes_from_change)
    step = timedelta(minutes=1)
    later = moment
    while is_quiet(later, plan, BXL):
        later += step
    earlier = moment
    while is_quiet(earlier, plan, BXL):
        earlier -= step
    assert next_allowed_send_time(moment, plan, BXL) == later
    assert latest_allowed_at_or_before(moment, plan, BXL) == earlier
