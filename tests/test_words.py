"""Words agreed after the review of the catalogues (issue 18), held in every string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parents[1] / "locales"
# One term for "référent" per language (locales/README.md), in every string that has one.
REFERENT = {
    "nl": "begeleider",
    "en": "support worker",
    "ar": "مرشدك الاجتماعي",
    "fa_AF": "مددکار",
    "ps": "ټولنیز کارکوونک",
    "ti": "ማሕበራዊ ሰራሕተኛ",
    "so": "la-taliy",
    "tr": "danışman",
    "ru": "социальн",
    "uk": "соціальн",
    "es": "persona de referencia",
}
# Words a reviewer asked to replace, that no string may bring back.
AVOIDED = {
    "ar": ["مرافق", "هل نحصل على موافقتك", "هل نراك"],
    "fa_AF": ["دکمه", "پیام"],
    "nl": ["Bel %(name)s op", "om de gegevens"],
    "en": ["Who sees it"],
}


def _strings(language: str) -> list[tuple[str, str]]:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    pairs = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs += [(ids[0], form) for form in forms]
    return pairs


@pytest.mark.parametrize("language", sorted(REFERENT))
def test_each_language_names_the_referent_with_one_term(language):
    for msgid, text in _strings(language):
        if "référent" in msgid:
            assert REFERENT[language].casefold() in text.casefold(), (msgid, text)


@pytest.mark.parametrize("language", sorted(AVOIDED))
def test_replaced_words_do_not_come_back(language):
    for msgid, text in _strings(language):
        for word in AVOIDED[language]:
            assert word not in text, (msgid, text)


def test_ukrainian_uses_its_own_apostrophe():
    for msgid, text in _strings("uk"):
        assert not re.search(r"[а-яіїєґ]['’][а-яіїєґ]", text, re.IGNORECASE), (msgid, text)
