"""Short, versioned button payloads: one place builds and parses them.

Telegram caps ``callback_data`` at 64 bytes and anyone can forge it, so payloads carry
only ids and codes, and every handler re-checks who may do what on the server.
"""

from __future__ import annotations

from collections.abc import Collection

MAX_BYTES = 64
VERSION = "1"
SEPARATOR = ":"
# Ids go to INTEGER columns: PostgreSQL's int4 refuses more, SQLite's driver overflows.
MAX_ID = 2**31 - 1


def encode(prefix: str, *fields: str | int) -> str:
    parts = [prefix, VERSION, *(str(f) for f in fields)]
    if any(SEPARATOR in part for part in parts):
        raise ValueError("a callback field may not contain ':'")
    data = SEPARATOR.join(parts)
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def is_id(field: str) -> bool:
    """ASCII digits within an INTEGER column's range: "²" and "٣" pass ``str.isdigit()`` but
    not ``int()``, and 2**31 passes ``int()`` but not the database."""
    return 0 < len(field) <= 10 and field.isascii() and field.isdigit() and int(field) <= MAX_ID


def decode(
    data: str | None, prefix: str, arity: int, *, ids: Collection[int] = ()
) -> list[str] | None:
    """The fields of a payload of this kind and version, or None for anything else.

    The fields at the positions in ``ids`` are checked with :func:`is_id`, so the caller
    may ``int()`` them; a payload that fails is refused as a whole ("no longer valid").
    """
    if not data:
        return None
    parts = data.split(SEPARATOR)
    if len(parts) != arity + 2 or parts[0] != prefix or parts[1] != VERSION:
        return None
    fields = parts[2:]
    if not all(is_id(fields[index]) for index in ids):
        return None
    return fields


def decode_ints(data: str | None, prefix: str, arity: int) -> list[int] | None:
    """A payload made of ids only, as ints; None for anything else."""
    fields = decode(data, prefix, arity, ids=range(arity))
    return None if fields is None else [int(f) for f in fields]


def pattern(prefix: str) -> str:
    """Regex for ``CallbackQueryHandler`` that routes a kind of payload to its handler."""
    return rf"^{prefix}{SEPARATOR}"


# The prefixes of the buttons that outbox messages carry; their handlers decode them.
RSVP = "rsvp"  # "I'll come" / "I can't" under a reminder (bot/handlers/rsvp.py)
SHEET = "ats"  # opens an attendance sheet (bot/handlers/attendance.py)
ERASE = "erc"  # confirms an erasure (bot/handlers/privacy.py)
