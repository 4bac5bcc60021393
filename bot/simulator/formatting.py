"""Telegram's text formatting: turn ``parse_mode`` markup into plain text plus entities.

Why: the 4096/1024 limits apply *after* entities parsing, and the commonest
production failure of a Telegram bot is markup Telegram refuses ("can't parse
entities: Unsupported start tag", an unescaped "." in MarkdownV2). The fake must
refuse the same texts, and must store what a user would see (the plain text),
so edits compare like Telegram's "message is not modified" does.

This follows the documented rules (https://core.telegram.org/bots/api#formatting-options)
and Telegram's error wording; it does not auto-detect URLs, mentions or hashtags
in plain text the way the real server adds entities for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

PARSE_MODES = {"html": "HTML", "markdownv2": "MarkdownV2", "markdown": "Markdown"}
"""Accepted ``parse_mode`` values, by lower-cased name (Telegram ignores the case)."""


class EntityParseError(ValueError):
    """Telegram's "can't parse entities: ..." refusal; ``str(error)`` is the part after it."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of every entity offset and length."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of ``text[index]``, the unit of Telegram's parse error positions."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[JsonDict]]:
    """Return the text a user sees and its entities; raise :class:`EntityParseError`.

    Like Telegram, leading and trailing whitespace is removed (entities adjusted).
    ``parse_mode`` must already be validated; None or "" means plain text.
    """
    mode = PARSE_MODES.get((parse_mode or "").lower())
    if mode == "HTML":
        builder = _parse_html(text.strip())
    elif mode == "MarkdownV2":
        builder = _parse_markdown_v2(text.strip())
    elif mode == "Markdown":
        builder = _parse_markdown(text.strip())
    else:
        builder = _Builder()
        builder.add(text)
    return strip_with_entities(builder.text(), builder.entities)


def strip_with_entities(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Strip surrounding whitespace and keep entities pointing at the same characters."""
    stripped_left = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    kept: list[JsonDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return result, kept


@dataclass
class _Open:
    kind: str
    offset: int  # UTF-16 offset in the produced text
    source_index: int  # index in the source, for error positions
    extra: JsonDict = field(default_factory=dict)


class _Builder:
    """Accumulates produced text and entities, tracking the UTF-16 position."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.position = 0
        self.entities: list[JsonDict] = []

    def add(self, chunk: str) -> None:
        self._parts.append(chunk)
        self.position += utf16_len(chunk)

    def close(self, opened: _Open, kind: str | None = None, **extra: Any) -> None:
        length = self.position - opened.offset
        if length > 0:
            entity: JsonDict = {"type": kind or opened.kind, "offset": opened.offset}
            entity["length"] = length
            entity.update({k: v for k, v in extra.items() if v is not None})
            self.entities.append(entity)

    def text(self) -> str:
        return "".join(self._parts)


# -- HTML ------------------------------------------------------------------------------

_HTML_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_NAMED_HTML = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(r"&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|([a-zA-Z]+));")


def _html_entity(source: str, index: int) -> tuple[str, int] | None:
    """Decode ``&lt;``, ``&#65;``, ``&#x41;`` at ``index``; unknown names stay literal."""
    match = _HTML_ENTITY.match(source, index)
    if match is None:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        # Telegram knows only four names; others are left as typed.
        char = _NAMED_HTML.get(name)
        return (char, match.end()) if char is not None else None
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF:
        return None
    return chr(code), match.end()


def _parse_html(source: str) -> _Builder:
    out = _Builder()
    stack: list[_Open] = []
    index, size = 0, len(source)
    while index < size:
        char = source[index]
        if char == "&":
            decoded = _html_entity(source, index)
            if decoded is not None:
                out.add(decoded[0])
                index = decoded[1]
                continue
        if char != "<":
            out.add(char)
            index += 1
            continue
        tag_start = index
        where = byte_offset(source, tag_start)
        if index + 1 < size and source[index + 1] == "/":
            index = _close_html_tag(source, index, stack, out, where)
            continue
        index += 1
        name_start = index
        while index < size and not source[index].isspace() and source[index] not in ">/":
            index += 1
        if index >= size:
            raise EntityParseError(f"Unclosed start tag at byte offset {where}")
        tag = source[name_start:index].lower()
        if tag not in _HTML_KINDS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {where}')
        attributes, index = _html_attributes(source, index, tag, where)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {where}'
            )
        stack.append(_Open(tag, out.position, tag_start, attributes))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].kind}"')
    return out


def _html_attributes(source: str, index: int, tag: str, where: int) -> tuple[dict[str, str], int]:
    """Read ``name="value"`` pairs up to ``>``; returns them and the index after ``>``."""
    attributes: dict[str, str] = {}
    size = len(source)
    while True:
        while index < size and source[index].isspace():
            index += 1
        if index >= size:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {where}')
        if source[index] == ">":
            return attributes, index + 1
        if source[index] == "/" and index + 1 < size and source[index + 1] == ">":
            return attributes, index + 2
        name_start = index
        while index < size and not source[index].isspace() and source[index] not in "=>/\"'":
            index += 1
        name = source[name_start:index].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {where}'
            )
        while index < size and source[index].isspace():
            index += 1
        if index >= size or source[index] != "=":
            attributes[name] = ""
            continue
        index += 1
        while index < size and source[index].isspace():
            index += 1
        if index >= size:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {where}')
        if source[index] in "\"'":
            quote = source[index]
            end = source.find(quote, index + 1)
            if end < 0:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {where}')
            raw_value = source[index + 1 : end]
            index = end + 1
        else:
            value_start = index
            while index < size and (source[index].isalnum() or source[index] in ".-_"):
                index += 1
            raw_value = source[value_start:index]
        attributes[name] = re.sub(
            _HTML_ENTITY, lambda m: (_html_entity(m.group(0), 0) or (m.group(0), 0))[0], raw_value
        )


def _close_html_tag(source: str, index: int, stack: list[_Open], out: _Builder, where: int) -> int:
    size = len(source)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {where}")
    index += 2
    name_start = index
    while index < size and not source[index].isspace() and source[index] != ">":
        index += 1
    name = source[name_start:index].lower()
    while index < size and source[index].isspace():
        index += 1
    if index >= size or source[index] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {where}")
    opened = stack.pop()
    if name and name != opened.kind:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {where}, expected "</{opened.kind}>", '
            f'found "</{name}>"'
        )
    attributes = opened.extra
    kind = _HTML_KINDS[opened.kind]
    if opened.kind == "a":
        href = attributes.get("href", "")
        if href.startswith("tg://user?id="):
            user_id = href.removeprefix("tg://user?id=")
            out.close(opened, "text_mention", user={"id": int(user_id) if user_id.isdigit() else 0})
        else:
            out.close(opened, "text_link", url=href)
    elif opened.kind == "code":
        language = attributes.get("class", "").removeprefix("language-") or None
        parent = stack[-1] if stack else None
        if parent is not None and parent.kind == "pre" and language:
            parent.extra["language"] = language  # <pre><code class="language-x"> is one pre
        else:
            out.close(opened, "code")
    elif opened.kind == "pre":
        out.close(opened, "pre", language=attributes.get("language"))
    elif opened.kind == "blockquote":
        out.close(opened, "expandable_blockquote" if "expandable" in attributes else "blockquote")
    elif opened.kind == "tg-emoji":
        out.close(opened, "custom_emoji", custom_emoji_id=attributes.get("emoji-id"))
    elif opened.kind == "tg-time":
        unix = attributes.get("unix", "")
        out.close(
            opened,
            "date_time",
            unix_time=int(unix) if unix.isdigit() else None,
            date_time_format=attributes.get("format"),
        )
    else:
        out.close(opened, kind)
    return index + 1


# -- MarkdownV2 --------------------------------------------------------------------------

_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_V2_TOGGLES = (("__", "underline"), ("||", "spoiler"), ("*", "bold"), ("_", "italic"))


def _reserved(char: str) -> EntityParseError:
    return EntityParseError(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


def _parse_markdown_v2(source: str) -> _Builder:
    out = _Builder()
    stack: list[_Open] = []
    quote: _Open | None = None
    line_start = True
    index, size = 0, len(source)
    while index < size:
        char = source[index]
        top = stack[-1].kind if stack else None
        if char == "\\" and index + 1 < size and 0 < ord(source[index + 1]) <= 126:
            out.add(source[index + 1])
            line_start = source[index + 1] == "\n"
            index += 2
            continue
        if top == "code" or top == "pre":
            closing = "```" if top == "pre" else "`"
            if source.startswith(closing, index):
                opened = stack.pop()
                out.close(opened, language=opened.extra.get("language"))
                index += len(closing)
            else:
                out.add(char)
                index += 1
            continue
        if char == "\n":
            if quote is not None and not source.startswith(">", index + 1):
                out.close(quote, "blockquote")
                quote = None
            out.add(char)
            line_start = True
            index += 1
            continue
        if char == ">" and line_start:
            if quote is None:
                quote = _Open("blockquote", out.position, index)
            line_start = False
            index += 1
            continue
        line_start = False
        if char not in _V2_RESERVED:
            out.add(char)
            index += 1
            continue
        index = _markdown_v2_marker(source, index, stack, out)
    if quote is not None:
        out.close(quote, "blockquote")
    if stack:
        opened = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_V2_NAMES[opened.kind]} entity at byte offset "
            f"{byte_offset(source, opened.source_index)}"
        )
    return out


def _markdown_v2_marker(source: str, index: int, stack: list[_Open], out: _Builder) -> int:
    """Handle one unescaped reserved character; return the index after it."""
    top = stack[-1].kind if stack else None
    for marker, kind in _V2_TOGGLES:
        if source.startswith(marker, index):
            if top == kind:
                out.close(stack.pop())
            else:
                stack.append(_Open(kind, out.position, index))
            return index + len(marker)
    char = source[index]
    if char == "~":
        if top == "strikethrough":
            out.close(stack.pop())
        else:
            stack.append(_Open("strikethrough", out.position, index))
        return index + 1
    if char == "`":
        if source.startswith("```", index):
            start = index
            index += 3
            match = re.match(r"([^\s`]+)\n", source[index:])
            language = None
            if match:
                language = match.group(1)
                index += len(match.group(0))
            elif source.startswith("\n", index):
                index += 1
            stack.append(_Open("pre", out.position, start, {"language": language}))
            return index
        stack.append(_Open("code", out.position, index))
        return index + 1
    if char == "[":
        stack.append(_Open("text_link", out.position, index))
        return index + 1
    if char == "!" and source.startswith("![", index):
        stack.append(_Open("custom_emoji", out.position, index))
        return index + 2
    if char == "]" and top in ("text_link", "custom_emoji"):
        opened = stack.pop()
        index += 1
        if not source.startswith("(", index):
            if opened.kind == "custom_emoji":
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            return index  # "[text]" without a URL is plain text
        url, index = _markdown_v2_url(source, index + 1)
        if opened.kind == "custom_emoji":
            out.close(opened, "custom_emoji", custom_emoji_id=url.removeprefix("tg://emoji?id="))
        else:
            out.close(opened, "text_link", url=url)
        return index
    raise _reserved(char)


def _markdown_v2_url(source: str, index: int) -> tuple[str, int]:
    """Read an inline URL up to the unescaped ``)``; inside it only ``)`` and ``\\`` escape."""
    start = index
    chars: list[str] = []
    while index < len(source):
        char = source[index]
        if char == "\\" and index + 1 < len(source):
            chars.append(source[index + 1])
            index += 2
            continue
        if char == ")":
            return "".join(chars), index + 1
        chars.append(char)
        index += 1
    raise EntityParseError(f"Can't find end of a URL at byte offset {byte_offset(source, start)}")


# -- legacy Markdown ----------------------------------------------------------------------


def _parse_markdown(source: str) -> _Builder:
    """Legacy Markdown: ``*bold*``, ``_italic_``, backticks and ``[text](url)``, no nesting."""
    out = _Builder()
    index, size = 0, len(source)
    while index < size:
        char = source[index]
        if char == "\\" and index + 1 < size and source[index + 1] in "_*`[":
            out.add(source[index + 1])
            index += 2
            continue
        if char not in "_*`[":
            out.add(char)
            index += 1
            continue
        start = index
        if char == "[":
            end = source.find("]", index + 1)
            if end < 0:
                raise _legacy_unclosed(source, start)
            opened = _Open("text_link", out.position, start)
            out.add(source[index + 1 : end])
            index = end + 1
            if source.startswith("(", index):
                close = source.find(")", index)
                if close < 0:
                    raise _legacy_unclosed(source, start)
                out.close(opened, "text_link", url=source[index + 1 : close])
                index = close + 1
            continue
        if source.startswith("```", index):
            end = source.find("```", index + 3)
            if end < 0:
                raise _legacy_unclosed(source, start)
            body = source[index + 3 : end]
            language = None
            first_line, newline, rest = body.partition("\n")
            if newline and first_line and not first_line.isspace():
                language, body = first_line.strip(), rest
            opened = _Open("pre", out.position, start)
            out.add(body)
            out.close(opened, "pre", language=language)
            index = end + 3
            continue
        end = source.find(char, index + 1)
        if end < 0:
            raise _legacy_unclosed(source, start)
        kind = {"*": "bold", "_": "italic", "`": "code"}[char]
        opened = _Open(kind, out.position, start)
        out.add(source[index + 1 : end])
        out.close(opened)
        index = end + 1
    return out


def _legacy_unclosed(source: str, start: int) -> EntityParseError:
    return EntityParseError(
        f"Can't find end of the entity starting at byte offset {byte_offset(source, start)}"
    )
