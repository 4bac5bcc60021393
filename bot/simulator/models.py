"""Plain data kept by the fake Telegram server: people, chats, files and recorded requests.

These are deliberately dumb containers: the rules live in ``rules.py`` and
``methods.py``, the HTTP side in ``server.py``. Tests receive and pass these
objects around, so they stay small and printable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class FakeUser:
    """A Telegram user the test plays; ``to_dict`` gives the Bot API ``User`` object."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> JsonDict:
        """Return the ``User`` object Telegram would put in ``from``."""
        data: JsonDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass
class FakeChat:
    """A chat the server knows; only known chats can receive messages (else "chat not found")."""

    id: int
    type: str  # "private", "group", "supergroup" or "channel"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    def to_dict(self) -> JsonDict:
        """Return the ``Chat`` object Telegram puts in every message."""
        data: JsonDict = {"id": self.id, "type": self.type}
        for name in ("title", "username", "first_name", "last_name"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass
class UploadedFile:
    """One multipart file part exactly as the bot uploaded it."""

    filename: str
    content: bytes
    content_type: str

    def describe(self) -> JsonDict:
        """A JSON-friendly stand-in used in recorded params (bytes are not printable)."""
        return {
            "uploaded_file": self.filename,
            "size": len(self.content),
            "content_type": self.content_type,
        }


@dataclass
class StoredFile:
    """A file Telegram "has": uploaded by the bot or sent by a user; downloadable via getFile."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes, as Telegram reports it in ``file_size``."""
        return len(self.content)


@dataclass
class StoredMessage:
    """A message in a chat; ``data`` is the current ``Message`` object, edits applied in place."""

    data: JsonDict
    from_bot: bool
    deleted: bool = False
    history: list[JsonDict] = field(default_factory=list)


@dataclass
class CallbackQueryRecord:
    """A callback query the test injected, and what the bot answered (the toast the user saw)."""

    id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    answer: JsonDict | None = None


@dataclass
class RecordedRequest:
    """One Bot API request as the server saw and answered it.

    ``status`` is the HTTP status sent back (0 when the connection was dropped on
    purpose); ``fault`` names the injected fault, if any; ``params`` are decoded
    values (uploaded files appear as small description dicts).
    """

    method: str
    params: JsonDict
    monotonic: float
    wall: float
    http_method: str = "POST"
    status: int = 0
    description: str | None = None
    result: Any = None
    fault: str | None = None
    files: dict[str, UploadedFile] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when Telegram would have answered ``{"ok": true}``."""
        return self.status == 200

    def summary(self) -> str:
        """One line for failure dumps: method, status, description and short params."""
        shown = ", ".join(f"{key}={_short(value)}" for key, value in self.params.items())
        outcome = f"{self.status}" + (f" {self.description}" if self.description else "")
        fault = f" [fault={self.fault}]" if self.fault else ""
        return f"{self.method}({shown}) -> {outcome}{fault}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ApiError(Exception):
    """An error answer, shaped like Telegram's: ``{"ok": false, "error_code", "description"}``.

    ``violation`` says whether the bot broke the Bot API contract (recorded in
    ``server.violations``) or merely hit a legitimate Telegram answer such as
    "message is not modified" or a 403 from a user who blocked the bot.
    ``detail`` adds context to the violation text without changing the answer.
    """

    def __init__(
        self,
        status: int,
        description: str,
        *,
        violation: bool = True,
        parameters: JsonDict | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.violation = violation
        self.parameters = parameters
        self.detail = detail

    def payload(self) -> JsonDict:
        """The JSON body Telegram would send."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str, *, violation: bool = True, detail: str | None = None) -> ApiError:
    """Shortcut for a 400 whose description starts with "Bad Request: " like Telegram's."""
    return ApiError(400, f"Bad Request: {description}", violation=violation, detail=detail)
