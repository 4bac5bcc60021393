"""Texts people read: long views are split into pages that Telegram accepts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.views import pages, shorten, utf16_length


def test_shorten_cuts_with_an_ellipsis_only_when_needed() -> None:
    assert shorten("court", 10) == "court"
    assert shorten("un texte bien trop long", 10) == "un texte…"


@given(st.lists(st.text(alphabet="abcé😀 ", min_size=1, max_size=400), max_size=30))
def test_pages_keep_every_item_in_order_within_the_budget(items: list[str]) -> None:
    head = ["📅 Atelier FLE", "", "😀 ▇ 1"]
    split = pages(head, items, budget=1000)
    assert all(utf16_length(page) <= 1000 for page in split)
    assert split[0].startswith("\n".join(head))
    assert all(page.startswith("📅 Atelier FLE") for page in split)
    joined, position = "\n".join(split), 0
    for item in items:  # each whole, in order
        position = joined.index(item, position) + len(item)
