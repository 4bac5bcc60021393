"""Inline keyboards shared by several handlers: big buttons, one idea each."""

from __future__ import annotations

from collections.abc import Sequence

from babel.support import NullTranslations
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callback_data
from bot.core.organisation import GroupView
from bot.i18n import Language

LANGUAGE = "lang"
CONSENT = "consent"


def language_picker(
    languages: Sequence[Language], participant_id: int | None = None
) -> InlineKeyboardMarkup:
    """Each language in its own name and script, two per row.

    The name comes first: Dari and Pashto share a flag, and the script tells them apart.

    For a participant the buttons carry their id: on a shared phone, each person keeps
    their own language.
    """
    person = () if participant_id is None else (participant_id,)
    buttons = [
        InlineKeyboardButton(
            f"{lang.native_name} {lang.flag}",
            callback_data=callback_data.encode(LANGUAGE, lang.code, *person),
        )
        for lang in languages
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def consent_buttons(t: NullTranslations) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("✅ J'accepte"), callback_data=callback_data.encode(CONSENT, "yes")
                )
            ],
            [
                InlineKeyboardButton(
                    _("❌ Je refuse"), callback_data=callback_data.encode(CONSENT, "no")
                )
            ],
        ]
    )


def group_picker(groups: Sequence[GroupView], prefix: str) -> InlineKeyboardMarkup:
    """One button per group, "MODULE · group", shared by every flow that asks for a group."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{group.module_name} · {group.name}"[:64],
                    callback_data=callback_data.encode(prefix, group.id),
                )
            ]
            for group in groups
        ]
    )


def one_per_row(choices: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Big buttons, one per row: (label, callback data) pairs already encoded."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label[:64], callback_data=data)] for label, data in choices]
    )
