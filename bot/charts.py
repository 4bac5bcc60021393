"""Charts as PNG for staff, drawn with matplotlib (no screen needed), in their language.

Since 3.11 matplotlib lays text out with libraqm (HarfBuzz shaping, FriBiDi ordering):
Arabic, Dari and Pashto labels come out joined and right to left as they are. Passing
them through arabic-reshaper and python-bidi first, as older versions needed, would now
reverse them a second time. DejaVu Sans lacks some Pashto letters (ۍ): right-to-left
charts are drawn with Noto Sans Arabic, which has them all.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import fontpkg_noto_sans_arabic
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from babel.support import NullTranslations
from matplotlib import font_manager
from matplotlib.typing import RcKeyType

from bot.core.feedback import ChartPoint
from bot.i18n import RTL_LANGUAGES

FONT = "DejaVu Sans"
ARABIC_SCRIPT_FONT: str = fontpkg_noto_sans_arabic.FAMILY


@cache
def _add_arabic_script_font() -> None:
    for path in sorted((fontpkg_noto_sans_arabic.ROOT / "files").glob("*.ttf")):
        font_manager.fontManager.addfont(str(path))


def _text_style(language: str) -> dict[RcKeyType, Any]:
    """A font with every glyph of the language, and the language (BCP 47) to shape for."""
    families = [FONT]
    if language in RTL_LANGUAGES:
        _add_arabic_script_font()
        families = [ARABIC_SCRIPT_FONT, FONT]
    return {"font.family": families, "text.language": language.replace("_", "-")}


def satisfaction_chart(
    points: Sequence[ChartPoint], t: NullTranslations, tz: ZoneInfo, language: str
) -> bytes:
    """Satisfaction per activity over time, one line per module, labels in the viewer's language."""
    with plt.rc_context(_text_style(language)):
        return _satisfaction_chart(points, t, tz)


def _satisfaction_chart(points: Sequence[ChartPoint], t: NullTranslations, tz: ZoneInfo) -> bytes:
    _ = t.gettext
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        modules = sorted({p.module for p in points})
        for module in modules:
            mine = [p for p in points if p.module == module]
            axes.plot(
                mdates.date2num([p.starts_at.astimezone(tz) for p in mine]),
                [round(100 * p.happiness) for p in mine],
                marker="o",
                label=module,
            )
        axes.set_ylim(0, 100)
        axes.set_ylabel(_("Satisfaction (%)"))
        axes.set_title(_("Satisfaction par activité, 3 derniers mois"))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m", tz=tz))
        axes.grid(alpha=0.3)
        if modules:
            axes.legend(loc="lower left")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def monthly_chart(
    months: Sequence[str],
    rates: dict[str, list[float | None]],
    satisfaction: dict[str, list[float | None]],
    t: NullTranslations,
    language: str,
) -> bytes:
    """Attendance rate and satisfaction per month, one line per module, two panels."""
    with plt.rc_context(_text_style(language)):
        return _monthly_chart(months, rates, satisfaction, t)


def _monthly_chart(
    months: Sequence[str],
    rates: dict[str, list[float | None]],
    satisfaction: dict[str, list[float | None]],
    t: NullTranslations,
) -> bytes:
    _ = t.gettext
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), dpi=100, sharex=True)
    try:
        for module, values in rates.items():
            top.plot(
                months, [None if v is None else 100 * v for v in values], marker="o", label=module
            )
        for module, values in satisfaction.items():
            bottom.plot(months, values, marker="o", label=module)
        top.set_title(_("Taux de présence par mois (%)"))
        bottom.set_title(_("Satisfaction par mois (%)"))
        for axes in (top, bottom):
            axes.set_ylim(0, 100)
            axes.grid(alpha=0.3)
        top.legend(loc="lower left")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
