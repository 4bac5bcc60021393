"""Telegram's content rules that the spec's types cannot express.

The spec says ``callback_data`` is a String; Telegram also says 1-64 *bytes*.
These checks are the ones real bots trip over in production (a French label
with accents in callback data, a 4097-character report, markup Telegram cannot
parse), so each one answers with Telegram's own error words and counts as a
contract violation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .api_spec import ApiSpec
from .formatting import PARSE_MODES, EntityParseError, parse_text, utf16_len
from .models import ApiError, JsonDict, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER = 200
MAX_INLINE_BUTTONS = 100
MAX_COMMANDS = 100
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")
_BUTTON_URL = re.compile(r"(https?|tg)://\S+", re.IGNORECASE)
# Fields of InlineKeyboardButton that decorate a button instead of giving it an action.
_BUTTON_DECORATIONS = frozenset({"text", "icon_custom_emoji_id", "style"})


def check_parse_mode(params: Mapping[str, Any]) -> None:
    """``parse_mode`` must be HTML, MarkdownV2 or Markdown (any case) when present."""
    mode = params.get("parse_mode")
    if mode is None or mode == "":
        return
    if not isinstance(mode, str) or mode.lower() not in PARSE_MODES:
        raise bad_request("unsupported parse_mode", detail=f"parse_mode={mode!r}")


def parsed_text(text: str, params: Mapping[str, Any]) -> tuple[str, list[JsonDict]]:
    """Text and entities as Telegram stores them: parse_mode markup or explicit entities."""
    try:
        plain, entities = parse_text(text, params.get("parse_mode"))
    except EntityParseError as error:
        raise bad_request(f"can't parse entities: {error}") from error
    explicit = params.get("entities")
    if explicit and not params.get("parse_mode"):
        entities = [dict(e) for e in explicit]
        _check_entities(entities, text)
    return plain, entities


def check_message_text(text: Any, params: Mapping[str, Any]) -> tuple[str, list[JsonDict]]:
    """1-4096 characters after entities parsing, else Telegram's refusal."""
    if not isinstance(text, str):
        raise bad_request("message text is empty")
    plain, entities = parsed_text(text, params)
    if not plain:
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad_request("message is too long", detail=f"{len(plain)} characters > {MAX_TEXT}")
    return plain, entities


def check_caption(params: Mapping[str, Any]) -> tuple[str | None, list[JsonDict]]:
    """Caption of at most 1024 characters after entities parsing (it may be empty)."""
    caption = params.get("caption")
    if caption is None:
        return None, []
    explicit = params.get("caption_entities")
    try:
        plain, entities = parse_text(caption, params.get("parse_mode"))
    except EntityParseError as error:
        raise bad_request(f"can't parse entities: {error}") from error
    if explicit and not params.get("parse_mode"):
        entities = [dict(e) for e in explicit]
        _check_entities(entities, caption)
    if len(plain) > MAX_CAPTION:
        raise bad_request(
            "message caption is too long", detail=f"{len(plain)} characters > {MAX_CAPTION}"
        )
    return (plain or None), entities


def _check_entities(entities: list[JsonDict], text: str) -> None:
    total = utf16_len(text)
    for entity in entities:
        offset, length = entity.get("offset", -1), entity.get("length", 0)
        if offset < 0 or length <= 0 or offset + length > total:
            raise bad_request(
                "entity beginning or end is out of the text",
                detail=f"entity {entity} on a text of {total} UTF-16 units",
            )


def check_reply_markup(markup: Any, spec: ApiSpec) -> None:
    """Inline keyboards: list of rows of buttons, each with text and exactly one action."""
    if not isinstance(markup, dict):
        return
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"], spec)
    elif "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])


def _check_inline_keyboard(rows: Any, spec: ApiSpec) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    actions = set(spec.type_fields("InlineKeyboardButton")) - _BUTTON_DECORATIONS
    count = 0
    for row in rows:
        for button in row:
            count += 1
            if not isinstance(button, dict):
                raise bad_request("can't parse inline keyboard button: object expected")
            label = button.get("text")
            if not isinstance(label, str) or not label.strip():
                raise bad_request("can't parse inline keyboard button: Text is empty")
            used = sorted(actions & set(button))
            if not used:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                    detail=f"button {label!r} has no action field",
                )
            if len(used) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: exactly one action field must be used",
                    detail=f"button {label!r} has {used}",
                )
            _check_button_action(button, label)
    if count > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long", detail=f"{count} buttons")


def _check_button_action(button: JsonDict, label: str) -> None:
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode("utf-8")) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request(
                "BUTTON_DATA_INVALID",
                detail=f"button {label!r}: callback_data {data!r} is {size} bytes "
                f"(must be 1-{MAX_CALLBACK_DATA_BYTES})",
            )
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not _BUTTON_URL.fullmatch(url):
            raise bad_request("BUTTON_URL_INVALID", detail=f"button {label!r}: url {url!r}")


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            label = button.get("text") if isinstance(button, dict) else button
            if not isinstance(label, str) or not label.strip():
                raise bad_request("can't parse keyboard button: Text is empty")


def check_callback_answer(params: Mapping[str, Any]) -> None:
    """A toast of at most 200 characters."""
    text = params.get("text")
    if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG", detail=f"answer text of {len(text)} characters")


def check_chat_action(action: Any) -> None:
    """Only the documented chat actions exist."""
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request", detail=f"action={action!r}")


def check_commands(params: Mapping[str, Any]) -> None:
    """Commands: lowercase 1-32 ``[a-z0-9_]``, descriptions 1-256 characters, at most 100."""
    commands = params.get("commands") or []
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands", detail=f"{len(commands)} commands")
    for command in commands:
        name = command.get("command", "")
        if not isinstance(name, str) or not _COMMAND.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID", detail=f"command {name!r}")
        description = command.get("description", "")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request(
                "command description must be 1-256 characters",
                detail=f"/{name}: {description!r}",
            )
    check_language_code(params)


def check_language_code(params: Mapping[str, Any]) -> None:
    """``language_code`` of command/description methods: empty or two-letter ISO 639-1."""
    code = params.get("language_code")
    if code in (None, ""):
        return
    if not isinstance(code, str) or not _LANGUAGE_CODE.fullmatch(code):
        raise bad_request(
            "invalid language code specified",
            detail=f"language_code={code!r} (a two-letter ISO 639-1 code is required)",
        )


def check_coordinates(params: Mapping[str, Any]) -> None:
    """Latitude within ±90 and longitude within ±180."""
    latitude, longitude = params.get("latitude"), params.get("longitude")
    if isinstance(latitude, int | float) and not -90 <= latitude <= 90:
        raise bad_request("wrong latitude", detail=f"latitude={latitude}")
    if isinstance(longitude, int | float) and not -180 <= longitude <= 180:
        raise bad_request("wrong longitude", detail=f"longitude={longitude}")


def too_many_requests(retry_after: int) -> ApiError:
    """Telegram's flood-control answer; python-telegram-bot raises RetryAfter from it."""
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        violation=False,
        parameters={"retry_after": retry_after},
    )
