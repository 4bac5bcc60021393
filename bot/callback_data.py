"""Short, versioned button payloads: one place builds and parses them.

Telegram caps ``callback_data`` at 64 bytes and anyone can forge it, so payloads carry
only ids and codes, and every handler re-checks who may do what on the server.
"""

from __future__ import annotations

MAX_BYTES = 64
VERSION = "1"
SEPARATOR = ":"


def encode(prefix: str, *fields: str | int) -> str:
    parts = [prefix, VERSION, *(str(f) for f in fields)]
    if any(SEPARATOR in part for part in parts):
        raise ValueError("a callback field may not contain ':'")
    data = SEPARATOR.join(parts)
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None, prefix: str, arity: int) -> list[str] | None:
    """The fields of a payload of this kind and version, or None for anything else."""
    if not data:
        return None
    parts = data.split(SEPARATOR)
    if len(parts) != arity + 2 or parts[0] != prefix or parts[1] != VERSION:
        return None
    return parts[2:]


def decode_ints(data: str | None, prefix: str, arity: int) -> list[int] | None:
    fields = decode(data, prefix, arity)
    if fields is None:
        return None
    try:
        values = [int(f) for f in fields]
    except ValueError:
        return None
    if any(v < 0 or v > 2**62 for v in values):
        return None
    return values


def pattern(prefix: str) -> str:
    """Regex for ``CallbackQueryHandler`` that routes a kind of payload to its handler."""
    return rf"^{prefix}{SEPARATOR}"
