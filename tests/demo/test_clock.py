"""The demo's clock runs like a real one and jumps ahead when the page asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.demo.clock import MovableClock

START = datetime(2026, 12, 2, 6, 50, tzinfo=UTC)


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_time_passes_from_the_start_and_an_hour_is_added_at_once():
    ticks = Ticks()
    clock = MovableClock(START, monotonic=ticks)
    ticks.now += 90
    assert clock.now() == START + timedelta(seconds=90)
    clock.advance(timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1, seconds=90)
    ticks.now += 10
    assert clock.now() == START + timedelta(hours=1, seconds=100)
    assert clock.unix_time() == int((START + timedelta(hours=1, seconds=100)).timestamp())


def test_the_clock_never_goes_back_and_refuses_naive_times():
    clock = MovableClock(START, monotonic=Ticks())
    with pytest.raises(ValueError):
        clock.set(START - timedelta(minutes=1))
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 12, 3, 9, 0))  # noqa: DTZ001 - the point of the test
    clock.set(START + timedelta(days=1))
    assert clock.now() == START + timedelta(days=1)
    clock.jump_to(START)  # already passed: nothing happens
    assert clock.now() == START + timedelta(days=1)
