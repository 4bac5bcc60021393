"""What the fake Telegram "remembers": chats, their messages, files, pending updates.

Kept apart from HTTP and from the method rules so that both the Bot API side
(``methods.py``) and the test side (``actions.py``) change the same world the
same way: a user message and a bot message share one message-id sequence per
chat, just as in Telegram.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from typing import Any

from .models import CallbackQueryRecord, FakeChat, FakeUser, JsonDict, StoredFile, StoredMessage

UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "guest_message",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
    "managed_bot",
)
DEFAULT_ALLOWED_UPDATES = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
"""What Telegram delivers when a bot never asked for anything else."""

_FILE_KINDS = {
    "photo": ("photos", "jpg"),
    "document": ("documents", None),
    "voice": ("voice", "oga"),
    "audio": ("music", "mp3"),
    "sticker": ("stickers", "webp"),
}


def now() -> int:
    """Unix time for ``date`` fields (Telegram's clock, not the bot's)."""
    return int(time.time())


def update_type(update: JsonDict) -> str | None:
    """The kind of an Update: the one key besides ``update_id``."""
    return next((key for key in update if key != "update_id"), None)


class TelegramState:
    """Every chat, message, file and pending update of one fake Telegram."""

    def __init__(
        self, bot: FakeUser, token: str, unix_time: Callable[[], int] | None = None
    ) -> None:
        self.bot = bot
        self.token = token
        # Telegram's clock for ``date`` fields; the demo passes its movable clock.
        self.unix_time: Callable[[], int] = unix_time or now
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.messages: dict[int, list[StoredMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.pending_updates: list[JsonDict] = []
        self.next_update_id = 1
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self._next_callback_id = 1
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.menu_buttons: dict[int | None, JsonDict] = {}
        self.reply_keyboards: dict[int, JsonDict | None] = {}
        self.blocked: set[int] = set()
        # Groups and channels the bot left (leaveChat): sends there answer 403.
        self.left_chats: set[int] = set()
        self.webhook: JsonDict = {}

    # -- chats ------------------------------------------------------------------------

    def add_user(self, user: FakeUser) -> FakeChat:
        """Register a user and its private chat (private chat id == user id)."""
        self.users[user.id] = user
        chat = FakeChat(
            id=user.id,
            type="private",
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
        )
        self.chats[chat.id] = chat
        return chat

    def add_chat(self, chat: FakeChat) -> FakeChat:
        """Register a group, supergroup or channel."""
        self.chats[chat.id] = chat
        return chat

    def resolve_chat(self, chat_id: Any) -> FakeChat | None:
        """Find a chat by id or ``@username`` the way Telegram resolves ``chat_id``."""
        if isinstance(chat_id, bool):
            return None
        if isinstance(chat_id, int):
            return self.chats.get(chat_id)
        if isinstance(chat_id, str):
            if chat_id.startswith("@"):
                wanted = chat_id[1:].lower()
                return next(
                    (c for c in self.chats.values() if (c.username or "").lower() == wanted),
                    None,
                )
            try:
                return self.chats.get(int(chat_id))
            except ValueError:
                return None
        return None

    # -- messages ---------------------------------------------------------------------

    def new_message(self, chat: FakeChat, sender: FakeUser | None, **content: Any) -> JsonDict:
        """A fresh ``Message`` dict in ``chat`` (not stored yet); ``sender`` None = channel."""
        message_id = self._next_message_id.get(chat.id, 1)
        self._next_message_id[chat.id] = message_id + 1
        message: JsonDict = {"message_id": message_id}
        if sender is not None and chat.type != "channel":
            message["from"] = sender.to_dict()
        if chat.type == "channel":
            message["sender_chat"] = chat.to_dict()
        message["chat"] = chat.to_dict()
        message["date"] = self.unix_time()
        message.update({key: value for key, value in content.items() if value is not None})
        return message

    def store(self, message: JsonDict, *, from_bot: bool) -> StoredMessage:
        """Keep a message in its chat's ordered history."""
        stored = StoredMessage(data=message, from_bot=from_bot)
        self.messages.setdefault(message["chat"]["id"], []).append(stored)
        return stored

    def find_message(self, chat_id: int, message_id: Any) -> StoredMessage | None:
        """The stored message, deleted or not (callers decide what a deleted one means)."""
        for stored in self.messages.get(chat_id, []):
            if stored.data["message_id"] == message_id:
                return stored
        return None

    def apply_edit(
        self, stored: StoredMessage, changes: JsonDict, removed: tuple[str, ...]
    ) -> None:
        """Edit in place, keeping the previous version in ``history``."""
        stored.history.append(copy.deepcopy(stored.data))
        for key in removed:
            stored.data.pop(key, None)
        stored.data.update({key: value for key, value in changes.items() if value is not None})
        stored.data["edit_date"] = max(self.unix_time(), stored.data["date"])

    # -- files ------------------------------------------------------------------------

    def add_file(
        self,
        kind: str,
        content: bytes,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
    ) -> StoredFile:
        """Give content a file_id and a download path, as Telegram does on upload."""
        number = len(self.files) + 1
        digest = hashlib.sha256(content + number.to_bytes(4, "big")).hexdigest()
        folder, extension = _FILE_KINDS.get(kind, ("documents", None))
        if extension is None:
            extension = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        stored = StoredFile(
            file_id=f"{kind[:3].upper()}{number:04d}-{digest[:24]}",
            file_unique_id=f"U{digest[24:40]}",
            content=content,
            file_path=f"{folder}/file_{number}.{extension}",
            mime_type=mime_type,
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    # -- updates ----------------------------------------------------------------------

    def queue_update(self, update: JsonDict) -> JsonDict:
        """Give the update the next id (ids increase from 1) and queue it for getUpdates."""
        update.pop("update_id", None)
        queued = {"update_id": self.next_update_id, **update}
        self.next_update_id += 1
        self.pending_updates.append(queued)
        return queued

    def confirm(self, offset: int | None) -> None:
        """Telegram's ``offset``: ids below it are confirmed and forgotten.

        A negative offset keeps only the last ``-offset`` updates.
        """
        if offset is None or offset == 0:
            return
        if offset > 0:
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        else:
            self.pending_updates = self.pending_updates[offset:]

    def deliverable(self, limit: int) -> list[JsonDict]:
        """Up to ``limit`` pending updates, silently dropping kinds the bot did not allow."""
        self.pending_updates = [
            u for u in self.pending_updates if update_type(u) in self.allowed_updates
        ]
        return copy.deepcopy(self.pending_updates[:limit])

    # -- callback queries -------------------------------------------------------------

    def new_callback_query(
        self, user: FakeUser, chat_id: int | None, message_id: int | None, data: str | None
    ) -> CallbackQueryRecord:
        """A callback query with a fresh id, remembered until (and after) it is answered."""
        query_id = str(4_000_000_000_000_000 + self._next_callback_id)
        self._next_callback_id += 1
        record = CallbackQueryRecord(query_id, user.id, chat_id, message_id, data)
        self.callback_queries[query_id] = record
        return record


def chat_instance(chat_id: int) -> str:
    """A stable, opaque ``chat_instance`` per chat, as Telegram sends with callback queries."""
    return str(int(hashlib.sha256(str(chat_id).encode()).hexdigest()[:15], 16))
