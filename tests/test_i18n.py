"""Rendering helpers of bot/i18n.py: right-to-left layout and the clock face."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import FSI, PDI, RLM, clock_face, rtl_line

BRUSSELS = ZoneInfo("Europe/Brussels")
HOURS = "TWELVE ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN ELEVEN".split()


@pytest.mark.parametrize("half_hour", range(48))
def test_the_clock_face_shows_each_half_hour_of_the_day(half_hour):
    local = datetime(2026, 12, 8, tzinfo=BRUSSELS) + timedelta(minutes=30 * half_hour)
    hour, minute = local.hour, local.minute
    expected = f"CLOCK FACE {HOURS[hour % 12]}" + ("-THIRTY" if minute else " OCLOCK")
    assert unicodedata.name(clock_face(local.astimezone(UTC), BRUSSELS)) == expected


def test_the_clock_face_is_read_in_brussels_time_also_in_summer():
    assert clock_face(datetime(2026, 12, 8, 8, 30, tzinfo=UTC), BRUSSELS) == "🕤"  # 9:30 CET
    assert clock_face(datetime(2026, 7, 7, 7, 30, tzinfo=UTC), BRUSSELS) == "🕤"  # 9:30 CEST


def test_a_time_between_half_hours_shows_the_nearest_face():
    at = datetime(2026, 12, 8, tzinfo=BRUSSELS)
    assert clock_face(at.replace(hour=9, minute=10), BRUSSELS) == "🕘"
    assert clock_face(at.replace(hour=9, minute=20), BRUSSELS) == "🕤"
    assert clock_face(at.replace(hour=11, minute=50), BRUSSELS) == "🕛"


def test_a_command_in_a_right_to_left_line_is_isolated_so_it_reads_as_typed():
    line = rtl_line("/next: أنشطتي القادمة\nاكتب /help للمساعدة", "ar")
    first, second = line.split("\n")
    assert first == f"{RLM}{FSI}/next{PDI}: أنشطتي القادمة"
    assert second == f"{RLM}اكتب {FSI}/help{PDI} للمساعدة"


def test_latin_words_of_a_translation_are_isolated_with_their_inner_punctuation():
    line = rtl_line("يرسل لك ACTIV'UP (CPAS de Charleroi) هنا (/mydata).", "fa_AF")
    assert f"{FSI}ACTIV'UP (CPAS de Charleroi){PDI}" in line
    assert f"({FSI}/mydata{PDI})." in line, "the brackets and the full stop stay outside"


def test_a_time_or_date_a_translation_carries_keeps_its_order():
    line = rtl_line("⚠️ لم أفهم. يُرجى الكتابة هكذا مثلًا: 15/12 14:00", "ar")
    assert line.endswith(f"{FSI}15/12 14:00{PDI}"), "not shown as 14:00 15/12"


def test_isolated_spans_and_links_are_kept_whole_and_wrapping_twice_changes_nothing():
    text = f"👤 {FSI}Amina K.{PDI}: https://t.me/activup_bot?start=abc-12"
    once = rtl_line(text, "ps")
    assert f"{FSI}Amina K.{PDI}" in once and once.count(FSI) == 2
    assert f"{FSI}https://t.me/activup_bot?start=abc-12{PDI}" in once
    assert rtl_line(once, "ps") == once


def test_left_to_right_languages_are_left_alone():
    text = "❓ Aide\n/next : mes prochaines activités"
    assert rtl_line(text, "fr") == text and rtl_line(text, "ti") == text
