"""What a calendar import says to staff: why a file was refused, what it changes.

Kept apart from the handler so that the handler only parses, calls and replies; every
line is one complete translated sentence, counts through ``ngettext``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel.support import NullTranslations

from bot.core.calendars import AllDayEvent, CalendarError, CalendarErrorKind
from bot.core.schedule import ImportSummary
from bot.i18n import format_date

SHOWN_TITLES = 3
_UTC_ZONE = ZoneInfo("UTC")  # a local date, shown as it is


def calendar_error_text(t: NullTranslations, error: CalendarError, language: str = "fr") -> str:
    """One line that says why, naming the event or the limit when the error knows it."""
    _ = t.gettext
    kind, limit = error.kind, error.limit
    if kind == CalendarErrorKind.MISSING_UID and error.title and error.day is not None:
        return _(
            "⚠️ L'événement « %(title)s » du %(day)s n'a pas d'identifiant (UID). "
            "Rien n'a été importé."
        ) % {"title": error.title, "day": _day(error.day, language)}
    if kind == CalendarErrorKind.MISSING_UID:
        return _(
            "⚠️ L'événement n° %(position)s n'a pas d'identifiant (UID). Rien n'a été importé."
        ) % {"position": error.detail}
    if kind == CalendarErrorKind.MALFORMED and error.title:
        return _(
            "⚠️ L'événement « %(title)s » a une date ou une répétition illisible. "
            "Rien n'a été importé."
        ) % {"title": error.title}
    if kind == CalendarErrorKind.TOO_LARGE and limit:
        return _("⚠️ Ce fichier dépasse %(size)d Mo. Rien n'a été importé.") % {
            "size": max(1, limit // 1_000_000)
        }
    if kind == CalendarErrorKind.TOO_MANY_EVENTS and limit:
        return _("⚠️ Ce calendrier a plus de %(limit)d événements. Rien n'a été importé.") % {
            "limit": limit
        }
    if kind == CalendarErrorKind.TOO_MANY_OCCURRENCES and limit:
        return _("⚠️ Ce calendrier a plus de %(limit)d séances sur un an. Rien n'a été importé.") % {
            "limit": limit
        }
    texts = {
        CalendarErrorKind.MALFORMED: _("⚠️ Ce fichier n'est pas un calendrier lisible (.ics)."),
        CalendarErrorKind.TOO_LARGE: _("⚠️ Ce calendrier est trop grand. Rien n'a été importé."),
        CalendarErrorKind.TOO_MANY_OCCURRENCES: _(
            "⚠️ Ce calendrier a trop de séances sur un an. Rien n'a été importé."
        ),
        CalendarErrorKind.RECURRENCE_TOO_DEEP: _(
            "⚠️ Les répétitions de ce calendrier sont trop complexes. Rien n'a été importé."
        ),
        CalendarErrorKind.ALL_DAY: _(
            "⚠️ Ce calendrier ne contient que des événements « toute la journée » : "
            "aucune séance à importer."
        ),
        CalendarErrorKind.NO_EVENTS: _("⚠️ Ce calendrier ne contient aucun événement."),
    }
    return texts.get(error.kind, texts[CalendarErrorKind.MALFORMED])


def _day(day: date, language: str) -> str:
    return format_date(datetime.combine(day, time(12), tzinfo=UTC), language, _UTC_ZONE)


def _titles(events: tuple[AllDayEvent, ...] | tuple[str, ...]) -> str:
    names = [e.title if isinstance(e, AllDayEvent) else e for e in events]
    shown = ", ".join(f"« {name} »" for name in names[:SHOWN_TITLES] if name)
    return f"{shown}, …" if len(names) > SHOWN_TITLES else shown


def summary_lines(t: NullTranslations, summary: ImportSummary, language: str) -> list[str]:
    """One complete sentence per line: what changes, who is told, what is left out."""
    counted = [
        (
            summary.created,
            t.ngettext(
                "➕ %(count)d nouvelle séance", "➕ %(count)d nouvelles séances", summary.created
            ),
        ),
        (
            summary.moved,
            t.ngettext(
                "🔄 %(count)d séance déplacée", "🔄 %(count)d séances déplacées", summary.moved
            ),
        ),
        (
            summary.cancelled,
            t.ngettext(
                "🚫 %(count)d séance annulée", "🚫 %(count)d séances annulées", summary.cancelled
            ),
        ),
        (
            summary.updated,
            t.ngettext(
                "✏️ %(count)d séance modifiée (titre ou lieu)",
                "✏️ %(count)d séances modifiées (titre ou lieu)",
                summary.updated,
            ),
        ),
        (
            summary.unchanged,
            t.ngettext(
                "▫️ %(count)d séance sans changement",
                "▫️ %(count)d séances sans changement",
                summary.unchanged,
            ),
        ),
    ]
    lines = [text % {"count": count} for count, text in counted if count]
    _ = t.gettext
    if summary.removed_series:
        lines.append(
            _("⚠️ Série absente du fichier, ses séances à venir sont annulées : %(titles)s")
            % {"titles": _titles(summary.removed_series)}
        )
    lines.append(
        t.ngettext(
            "📣 %(count)d participant sera prévenu.",
            "📣 %(count)d participants seront prévenus.",
            summary.told,
        )
        % {"count": summary.told}
    )
    if summary.all_day:
        lines.append(
            t.ngettext(
                "📅 %(count)d événement « toute la journée » laissé de côté "
                "(le robot n'importe que les séances avec une heure) : %(titles)s",
                "📅 %(count)d événements « toute la journée » laissés de côté "
                "(le robot n'importe que les séances avec une heure) : %(titles)s",
                len(summary.all_day),
            )
            % {"count": len(summary.all_day), "titles": _titles(summary.all_day)}
        )
    for event in summary.all_day_on_session_days:
        lines.append(
            _("⚠️ « %(title)s » (%(first)s – %(last)s) tombe sur des jours de séance du groupe.")
            % {
                "title": event.title,
                "first": _day(event.first_day, language),
                "last": _day(event.last_day, language),
            }
        )
    if summary.merged_uids:
        count = len(summary.merged_uids)
        lines.append(
            t.ngettext(
                "🔗 %(count)d série écrite deux fois (UID avec espaces) : lue une fois.",
                "🔗 %(count)d séries écrites deux fois (UID avec espaces) : lues une fois.",
                count,
            )
            % {"count": count}
        )
    return lines
