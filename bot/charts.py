"""Charts as PNG for staff, drawn with matplotlib (no screen needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from babel.support import NullTranslations

from bot.core.feedback import ChartPoint


def satisfaction_chart(points: Sequence[ChartPoint], t: NullTranslations, tz: ZoneInfo) -> bytes:
    """Satisfaction per activity over time, one line per module, labels in the viewer's language."""
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
) -> bytes:
    """Attendance rate and satisfaction per month, one line per module, two panels."""
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
