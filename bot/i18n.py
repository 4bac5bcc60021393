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


def rtl_line(text: str, language: str) -> str:
    """Start each line with RLM in right-to-left languages, so Telegram picks the direction.

    Lines that already start with it keep one: a rendered text can be wrapped again
    (a shared phone's "for NAME" line above a reminder).
    """
    if language not in RTL_LANGUAGES:
        return text
    return "\n".join(
        RLM + line if line and not line.startswith(RLM) else line for line in text.split("\n")
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


def format_date(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """Day, month and year, e.g. "3 décembre 2026", for validity dates."""
    return format_skeleton("yMMMMd", moment.astimezone(tz), locale=babel_locale(language))
