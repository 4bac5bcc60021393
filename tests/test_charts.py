"""Charts for staff in their own language, Arabic script included.

``ACTIVUP_UPDATE_SNAPSHOTS=1`` writes the Arabic charts to ``docs/`` to be looked at.
"""

from __future__ import annotations

import itertools
import logging
import os
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from matplotlib import _text_helpers, font_manager

from bot.charts import ARABIC_SCRIPT_FONT, _text_style, monthly_chart, satisfaction_chart
from bot.core.feedback import ChartPoint
from bot.i18n import translations

DOCS = Path(__file__).resolve().parents[1] / "docs"
BRUSSELS = ZoneInfo("Europe/Brussels")
MONTHS = ["10/2026", "11/2026", "12/2026"]


def _points() -> list[ChartPoint]:
    first = datetime(2026, 9, 7, 8, 30, tzinfo=UTC)
    return [
        ChartPoint(module, first + timedelta(weeks=week), "Atelier", base + 0.03 * (week % 4))
        for module, base in (("INSERTION SOCIALE", 0.6), ("BENEVOLAT", 0.75), ("START", 0.5))
        for week in range(12)
    ]


def _draw(language: str) -> tuple[bytes, bytes]:
    t = translations(language)
    rates = {"INSERTION SOCIALE": [0.7, 0.8, None], "START": [0.6, 0.65, 0.9]}
    satisfaction: dict[str, list[float | None]] = {"INSERTION SOCIALE": [70, 75, 80]}
    return (
        satisfaction_chart(_points(), t, BRUSSELS, language),
        monthly_chart(MONTHS, rates, satisfaction, t, language),
    )


@pytest.mark.parametrize(
    ("word", "language"), [("نسبة", "ar"), ("فعالیت", "fa-AF"), ("حاضرۍ", "ps")]
)
def test_matplotlib_joins_the_letters_and_lays_them_right_to_left(word, language):
    """What the charts rely on: without it, labels would be loose letters in reverse."""
    _text_style("ar")  # the font is added on first use
    font = font_manager.get_font(font_manager.findfont(ARABIC_SCRIPT_FONT))
    laid_out = list(_text_helpers.layout(word, font, language=language))
    # A letter may be drawn as several glyphs (its body and its dots): one run per letter.
    letters = "".join(char for char, _ in itertools.groupby(item.char for item in laid_out))
    assert letters == word[::-1], "the first letter drawn rightmost"
    in_word = {item.glyph_index for item in laid_out if item.char == word[0]}
    alone = {item.glyph_index for item in _text_helpers.layout(word[0], font, language=language)}
    assert in_word != alone, "the first letter takes its joined form"


@pytest.mark.parametrize("language", ["ar", "fa_AF", "ps"])
def test_charts_in_arabic_script_have_every_glyph_and_the_readers_words(language, caplog):
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        satisfaction, monthly = _draw(language)
    missing = [str(w.message) for w in caught if "missing" in str(w.message).lower()]
    missing += [r.getMessage() for r in caplog.records if "missing" in r.getMessage().lower()]
    assert missing == []
    assert satisfaction.startswith(b"\x89PNG") and monthly.startswith(b"\x89PNG")
    assert (satisfaction, monthly) != _draw("fr"), "labelled in the reader's language"
    if os.environ.get("ACTIVUP_UPDATE_SNAPSHOTS") == "1" and language == "ar":
        (DOCS / "chart-feedback-module-ar.png").write_bytes(satisfaction)
        (DOCS / "chart-report-ar.png").write_bytes(monthly)
    if os.environ.get("ACTIVUP_UPDATE_SNAPSHOTS") == "1" and language != "ar":
        Path(f"/tmp/chart-report-{language}.png").write_bytes(monthly)
