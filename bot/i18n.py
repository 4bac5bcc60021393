"""Languages, translations and locale-aware formatting.

French is the source language: msgids are French. Catalogues are compiled from the
``.po`` files in memory on first use (no ``.mo`` to build or to forget), cached one per
language, and never installed globally (handlers run concurrently).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_skeleton, match_skeleton
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

SOURCE_LANGUAGE = "fr"
RTL_LANGUAGES = frozenset({"ar", "fa_AF", "ps"})
FSI, PDI, RLM = "\u2068", "\u2069", "\u200f"


@dataclass(frozen=True)
class Language:
    code: str  # our code, also the Babel locale identifier
    native_name: str  # shown in the picker, in its own script
    flag: str


# Picker order when the Telegram app's language is not among them.
LANGUAGES: tuple[Language, ...] = (
    Language("fr", "Français", "🇫🇷"),
    Language("nl", "Nederlands", "🇳🇱"),
    Language("en", "English", "🇬🇧"),
    Language("ar", "العربية", "🇸🇦"),
    Language("fa_AF", "دری", "🇦🇫"),
    Language("ps", "پښتو", "🇦🇫"),
    Language("ti", "ትግርኛ", "🇪🇷"),
    Language("so", "Soomaali", "🇸🇴"),
    Language("tr", "Türkçe", "🇹🇷"),
    Language("ru", "Русский", "🇷🇺"),
    Language("uk", "Українська", "🇺🇦"),
    Language("es", "Español", "🇪🇸"),
)
LANGUAGE_CODES = frozenset(lang.code for lang in LANGUAGES)
LANGUAGE_NAMES = {lang.code: lang.native_name for lang in LANGUAGES}

# Telegram sends IETF tags ("en-US", "fa"); map them onto the catalogues we ship.
_TELEGRAM_ALIASES = {"fa": "fa_AF", "prs": "fa_AF", "fa-af": "fa_AF"}


def _locales_dir() -> resources.abc.Traversable:
    return resources.files("locales")


def normalize_language(code: str | None) -> str | None:
    """Map a Telegram ``language_code`` to a shipped language, or None."""
    if not code:
        return None
    lowered = code.strip().lower().replace("_", "-")
    if lowered in _TELEGRAM_ALIASES and _TELEGRAM_ALIASES[lowered] in LANGUAGE_CODES:
        return _TELEGRAM_ALIASES[lowered]
    for candidate in (lowered, lowered.split("-")[0]):
        for lang in LANGUAGES:
            if lang.code.lower().replace("_", "-") == candidate:
                return lang.code
    return None


def resolve_language(stored: str | None, telegram_code: str | None, default: str) -> str:
    """Stored choice first, then the Telegram app's language, then the configured default."""
    if stored in LANGUAGE_CODES:
        return stored
    return normalize_language(telegram_code) or (default if default in LANGUAGE_CODES else "fr")


def picker_order(telegram_code: str | None) -> list[Language]:
    """The Telegram app's language first when we have it, otherwise French first."""
    first = normalize_language(telegram_code) or SOURCE_LANGUAGE
    return sorted(LANGUAGES, key=lambda lang: lang.code != first)


def _compile(catalog: Catalog) -> Translations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def _source_catalog() -> Catalog:
    """French: the template with each msgid as its own translation, under French plural rules."""
    template = _locales_dir() / "messages.pot"
    with template.open("rb") as handle:
        pot = read_po(handle)
    catalog = Catalog(locale=SOURCE_LANGUAGE)
    for message in pot:
        if not message.id:
            continue
        catalog.add(message.id, string=message.id, context=message.context)
    return catalog


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue for ``language``, falling back to the French source for missing strings."""
    source = _compile(_source_catalog())
    if language == SOURCE_LANGUAGE:
        return source
    po_file = _locales_dir() / language / "LC_MESSAGES" / "messages.po"
    if not po_file.is_file():
        return source
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = _compile(catalog)
    compiled.add_fallback(source)
    return compiled


def isolate(value: object, language: str) -> str:
    """Keep a name, time or code readable inside right-to-left text (FSI ... PDI)."""
    text = str(value)
    return f"{FSI}{text}{PDI}" if language in RTL_LANGUAGES else text


# An isolated span (kept as it is), or a run of Latin script or digits that a translation
# carries ("/help", "ACTIV'UP (CPAS de Charleroi)", "15/12 14:00"): letters and digits,
# with the spaces and punctuation inside it, ending on a letter, a digit or a bracket.
_ISOLATED_OR_LATIN = re.compile(
    rf"{FSI}[^{FSI}{PDI}]*{PDI}"
    r"|https?://[!-~]+"
    r"|/?[A-Za-z0-9\u00C0-\u024F][A-Za-z0-9\u00C0-\u024F'’_./:\- ()]*[A-Za-z0-9\u00C0-\u024F)]"
    r"|/?[A-Za-z0-9]"
)


def _isolate_latin(line: str) -> str:
    def wrap(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith(FSI):
            return text
        if text.endswith(")") and text.count("(") < text.count(")"):
            return f"{FSI}{text[:-1]}{PDI})"  # the bracket closes the translation's own
        return f"{FSI}{text}{PDI}"

    return _ISOLATED_OR_LATIN.sub(wrap, line)


def rtl_line(text: str, language: str) -> str:
    """Lay a text out right to left in right-to-left languages, so Telegram keeps its order.

    Each line starts with RLM, so Telegram picks the direction; every run of Latin script
    the translation carries (a /command, "ACTIV'UP") is isolated like the names and times
    put in it, or "/next" shows as "next/". Lines that already start with RLM keep one
    and isolated spans are left alone: a rendered text can be wrapped again (a shared
    phone's "for NAME" line above a reminder).
    """
    if language not in RTL_LANGUAGES:
        return text
    return "\n".join(
        RLM + _isolate_latin(line.removeprefix(RLM)) if line else line for line in text.split("\n")
    )


def babel_locale(language: str) -> Locale:
    return Locale.parse(language)


@cache
def _day_pattern(language: str) -> str:
    # CLDR's closest skeleton abbreviates the weekday ("mar."); people who read little
    # recognise the whole word, so widen it to the full name.
    locale = babel_locale(language)
    pattern = str(locale.datetime_skeletons[match_skeleton("MMMMEEEEd", locale.datetime_skeletons)])
    return re.sub(r"c+", "cccc", re.sub(r"E+", "EEEE", pattern))


def format_day(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """Weekday spelled out, day and month, e.g. "mardi 3 décembre", in the viewer's zone."""
    return format_datetime(moment, _day_pattern(language), tzinfo=tz, locale=babel_locale(language))


def format_time(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """Hours and minutes in 24-hour style, e.g. "9:30", in the viewer's zone."""
    return format_skeleton("Hm", moment.astimezone(tz), locale=babel_locale(language))


# Unicode runs from one o'clock (U+1F550) to twelve, then half past one (U+1F55C) to half
# past twelve; here twelve comes first, so that the hour modulo 12 is the index.
_CLOCK_HOURS = "🕛🕐🕑🕒🕓🕔🕕🕖🕗🕘🕙🕚"
_CLOCK_HALVES = "🕧🕜🕝🕞🕟🕠🕡🕢🕣🕤🕥🕦"


def clock_face(moment: datetime, tz: ZoneInfo) -> str:
    """The clock face nearest the time ("🕤" for 9:30), for who reads a dial more easily
    than digits; a quarter past rounds to the half hour, a quarter to, to the next hour."""
    local = moment.astimezone(tz)
    halves = (local.hour * 60 + local.minute + 15) // 30
    hour, half = divmod(halves, 2)
    return (_CLOCK_HALVES if half else _CLOCK_HOURS)[hour % 12]


def format_date(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """Day, month and year, e.g. "3 décembre 2026", for validity dates."""
    return format_skeleton("yMMMMd", moment.astimezone(tz), locale=babel_locale(language))
