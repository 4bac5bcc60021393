"""Every shipped language has every string, with the source's placeholders and plurals."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, SOURCE_LANGUAGE, translations

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
SHIPPED = [lang.code for lang in LANGUAGES if lang.code != SOURCE_LANGUAGE]


def _source_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")]
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _template() -> dict[str | tuple[str, ...], object]:
    with (LOCALES / "messages.pot").open("rb") as handle:
        return {m.id if isinstance(m.id, str) else tuple(m.id): m for m in read_po(handle) if m.id}


def _catalog(language: str):
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_the_template_holds_exactly_the_strings_of_the_code():
    source, template = _source_messages(), set(_template())
    assert source - template == set(), "run pybabel extract: the template misses strings"
    assert template - source == set(), "run pybabel extract: the template has stale strings"


@pytest.mark.parametrize("language", SHIPPED)
def test_every_string_is_translated_with_the_same_placeholders(language):
    catalog = _catalog(language)
    for msgid in _template():
        message = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        assert message is not None and not message.fuzzy, f"{language} misses {msgid!r}"
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        source = msgid if isinstance(msgid, tuple) else (msgid,)
        expected = set(PLACEHOLDER.findall(source[-1]))
        for form in forms:
            assert form, f"{language}: empty translation of {msgid!r}"
            assert set(PLACEHOLDER.findall(form)) == expected, f"{language}: {msgid!r} -> {form!r}"


@pytest.mark.parametrize("language", SHIPPED)
def test_plural_forms_follow_the_languages_own_rules(language):
    catalog = _catalog(language)
    expected = {"ar": 6, "fr": 2, "nl": 2, "en": 2, "ru": 3, "uk": 3}.get(language)
    if expected is not None:
        assert catalog.num_plurals == expected
    for message in catalog:
        if message.id and isinstance(message.id, tuple):
            assert len(message.string) == catalog.num_plurals


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not installed")
@pytest.mark.parametrize("language", SHIPPED)
def test_msgfmt_check_passes(language):
    po = LOCALES / language / "LC_MESSAGES" / "messages.po"
    result = subprocess.run(
        ["msgfmt", "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_french_plurals_use_the_singular_for_zero_and_one():
    t = translations("fr")
    msgid = (
        "🚫 Séance annulée. %(count)d participant est prévenu.",
        "🚫 Séance annulée. %(count)d participants sont prévenus.",
    )
    assert "participant est" in t.ngettext(*msgid, 0)
    assert "participants sont" in t.ngettext(*msgid, 2)


@pytest.mark.parametrize("language", SHIPPED)
def test_a_translation_is_used_at_run_time(language):
    text = translations(language).gettext("⚠️ Ce bouton n'est plus valable.")
    assert text != "⚠️ Ce bouton n'est plus valable."
