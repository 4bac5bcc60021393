"""What referents type on a phone becomes the right Brussels time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.timeparse import parse_when

BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["15/12 14:00", "15.12 14h00", "15-12 14h", "15/12/2026 14:00"])
def test_common_spellings_give_the_same_winter_time(typed):
    start, end = parse_when(typed, now=NOW, tz=BRUSSELS)
    assert start == datetime(2026, 12, 15, 13, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 15, 15, 0, tzinfo=UTC)


def test_an_end_time_can_be_given():
    start, end = parse_when("3/4 9:30-11h", now=NOW, tz=BRUSSELS)
    assert start == datetime(2027, 4, 3, 7, 30, tzinfo=UTC)  # summer time: UTC+2
    assert end == datetime(2027, 4, 3, 9, 0, tzinfo=UTC)


def test_a_date_already_past_this_year_means_next_year():
    start, _ = parse_when("10/01 10:00", now=NOW, tz=BRUSSELS)
    assert start.year == 2027


@pytest.mark.parametrize("typed", ["", "demain", "31/02 10:00", "15/12 25:00", "15/12 14:00-13:00"])
def test_unreadable_input_gives_nothing(typed):
    assert parse_when(typed, now=NOW, tz=BRUSSELS) is None
