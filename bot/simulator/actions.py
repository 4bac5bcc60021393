"""What a test's users do in Telegram, turned into the updates the bot will poll.

Each action changes the fake's world first (a user message is stored in its
chat, an edit is applied in place) and then queues an ``Update`` exactly shaped
like Telegram's, checked against the spec's ``Update`` type, so a test plays a
user without writing update JSON by hand.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .api_spec import ApiSpec
from .formatting import utf16_len
from .models import FakeChat, FakeUser, JsonDict, StoredMessage
from .state import TelegramState, chat_instance

ChatRef = int | FakeUser | FakeChat
"""Where a chat is expected, tests may pass its id, its FakeChat or (private chat) the user."""

_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?(?![A-Za-z0-9_@/])")
_FAKE_OGG = b"OggS\x00\x02" + bytes(58)
_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9"
_FAKE_WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(28)


def chat_id_of(ref: ChatRef) -> int:
    """The id behind a chat reference."""
    return ref.id if isinstance(ref, FakeUser | FakeChat) else int(ref)


def command_entities(text: str) -> list[JsonDict]:
    """``bot_command`` entities, as Telegram adds them (CommandHandler depends on them)."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group(0)),
        }
        for match in _COMMAND.finditer(text)
    ]


class UserActions:
    """Mixin of :class:`~bot.simulator.server.FakeTelegram`: registering and acting."""

    state: TelegramState
    spec: ApiSpec
    violations: list[str]

    def _notify(self) -> None:
        raise NotImplementedError  # provided by FakeTelegram

    # -- who exists ---------------------------------------------------------------------

    def user(
        self,
        id: int,
        first_name: str = "Ana",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
    ) -> FakeUser:
        """Register a user and its private chat (chat id == user id)."""
        if id <= 0:
            raise ValueError("user ids are positive; groups and channels are negative")
        user = FakeUser(id, first_name, last_name, username, language_code)
        self.state.add_user(user)
        return user

    def group_chat(
        self, id: int, title: str, *, supergroup: bool = False, username: str | None = None
    ) -> FakeChat:
        """Register a group (or supergroup, whose ids look like -100...)."""
        if id >= 0:
            raise ValueError("group chat ids are negative")
        kind = "supergroup" if supergroup else "group"
        return self.state.add_chat(FakeChat(id, kind, title=title, username=username))

    def channel(self, id: int, title: str, *, username: str | None = None) -> FakeChat:
        """Register a channel the bot can post to (by id, or ``@username`` if given)."""
        if id >= 0:
            raise ValueError("channel ids are negative")
        return self.state.add_chat(FakeChat(id, "channel", title=title, username=username))

    # -- messages ---------------------------------------------------------------------

    def send_text(
        self,
        user: FakeUser,
        text: str,
        chat: ChatRef | None = None,
        *,
        reply_to: JsonDict | None = None,
    ) -> JsonDict:
        """The user types ``text``; commands ("/start PAYLOAD", "/help@bot") get entities."""
        entities = command_entities(text)
        return self._user_message(user, chat, reply_to, text=text, entities=entities or None)

    def send_document(
        self,
        user: FakeUser,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
        chat: ChatRef | None = None,
    ) -> JsonDict:
        """The user sends a file; the bot can getFile and download these exact bytes."""
        stored = self.state.add_file("document", content, mime_type=mime_type, file_name=filename)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        return self._user_message(user, chat, None, document=document, caption=caption)

    def send_voice(
        self,
        user: FakeUser,
        duration: int = 3,
        *,
        content: bytes = _FAKE_OGG,
        chat: ChatRef | None = None,
    ) -> JsonDict:
        """The user records a voice note."""
        stored = self.state.add_file("voice", content, mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }
        return self._user_message(user, chat, None, voice=voice)

    def send_photo(
        self,
        user: FakeUser,
        *,
        caption: str | None = None,
        content: bytes = _FAKE_JPEG,
        chat: ChatRef | None = None,
    ) -> JsonDict:
        """The user sends a photo (two sizes, as Telegram does)."""
        sizes = []
        for width, height in ((90, 67), (1280, 960)):
            stored = self.state.add_file("photo", content, mime_type="image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": stored.size,
                }
            )
        return self._user_message(user, chat, None, photo=sizes, caption=caption)

    def send_sticker(
        self, user: FakeUser, *, emoji: str = "👍", chat: ChatRef | None = None
    ) -> JsonDict:
        """The user sends a sticker."""
        stored = self.state.add_file("sticker", _FAKE_WEBP, mime_type="image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.size,
        }
        return self._user_message(user, chat, None, sticker=sticker)

    def send_location(
        self, user: FakeUser, lat: float, lon: float, *, chat: ChatRef | None = None
    ) -> JsonDict:
        """The user shares a location."""
        return self._user_message(user, chat, None, location={"latitude": lat, "longitude": lon})

    def send_contact(
        self, user: FakeUser, phone_number: str, *, chat: ChatRef | None = None
    ) -> JsonDict:
        """The user shares their own contact (the "request_contact" keyboard button)."""
        contact = {
            "phone_number": phone_number,
            "first_name": user.first_name,
            "user_id": user.id,
        }
        return self._user_message(user, chat, None, contact=contact)

    def edit_text(self, user: FakeUser, message: JsonDict, new_text: str) -> JsonDict:
        """The user edits one of their text messages: an ``edited_message`` update."""
        stored = self._stored(message)
        if stored.from_bot or stored.data.get("from", {}).get("id") != user.id:
            raise AssertionError(f"{user.first_name} can only edit their own messages")
        entities = command_entities(new_text)
        stored.history.append(copy.deepcopy(stored.data))
        stored.data["text"] = new_text
        stored.data.pop("entities", None)
        if entities:
            stored.data["entities"] = entities
        stored.data["edit_date"] = max(self.state.unix_time(), stored.data["date"])
        return self.inject({"edited_message": copy.deepcopy(stored.data)})

    def send_channel_post(self, channel: FakeChat, text: str) -> JsonDict:
        """Someone posts in a channel where the bot is admin: a ``channel_post`` update."""
        message = self.state.new_message(channel, None, text=text)
        self.state.store(message, from_bot=False)
        return self.inject({"channel_post": copy.deepcopy(message)})

    # -- buttons ----------------------------------------------------------------------

    def press_button(
        self,
        user: FakeUser,
        message: JsonDict,
        *,
        text: str | None = None,
        data: str | None = None,
    ) -> JsonDict:
        """Tap an inline button of the message *as it is now* (edits applied).

        The button is found by its visible ``text`` or its ``callback_data`` (or
        both); the callback query carries a fresh id, the current message and a
        ``chat_instance``, like Telegram's.
        """
        if text is None and data is None:
            raise ValueError("press_button needs text= or data= to find the button")
        stored = self._stored(message)
        chat = stored.data["chat"]
        if stored.deleted:
            raise AssertionError(f"message {stored.data['message_id']} was deleted: no buttons")
        if chat["type"] == "private" and chat["id"] != user.id:
            raise AssertionError(f"{user.first_name} cannot see private chat {chat['id']}")
        buttons = [
            button
            for row in (stored.data.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        found = [
            button
            for button in buttons
            if (text is None or button.get("text") == text)
            and (data is None or button.get("callback_data") == data)
        ]
        if not found:
            available = "; ".join(_describe_button(b) for b in buttons) or "no inline keyboard"
            wanted = " and ".join(
                f"{label}={value!r}" for label, value in (("text", text), ("data", data)) if value
            )
            raise AssertionError(
                f"no button with {wanted} in message {stored.data['message_id']} of chat "
                f"{chat['id']}; available: {available}"
            )
        button = found[0]
        if "callback_data" not in button:
            raise AssertionError(f"button {_describe_button(button)} sends no callback query")
        return self._callback(user, stored.data, chat["id"], button["callback_data"])

    def send_callback(
        self, user: FakeUser, message_id: int, chat_id: ChatRef, data: str
    ) -> JsonDict:
        """A raw callback query with any (possibly forged) data, e.g. for a deleted button."""
        target = chat_id_of(chat_id)
        stored = self.state.find_message(target, message_id)
        if stored is not None and not stored.deleted:
            message: JsonDict = stored.data
        else:
            chat = self.state.resolve_chat(target)
            chat_dict = chat.to_dict() if chat else {"id": target, "type": "private"}
            message = {"chat": chat_dict, "message_id": message_id, "date": 0}
        return self._callback(user, message, target, data)

    def _callback(self, user: FakeUser, message: JsonDict, chat_id: int, data: str) -> JsonDict:
        record = self.state.new_callback_query(user, chat_id, message.get("message_id"), data)
        query = {
            "id": record.id,
            "from": user.to_dict(),
            "message": copy.deepcopy(message),
            "chat_instance": chat_instance(chat_id),
            "data": data,
        }
        return self.inject({"callback_query": query})

    # -- membership -------------------------------------------------------------------

    def block(self, user: FakeUser, *, notify: bool = True) -> JsonDict | None:
        """The user blocks the bot: sends to them answer 403 from now on.

        With ``notify`` the bot also gets the ``my_chat_member`` update Telegram sends.
        """
        self.state.blocked.add(user.id)
        return self._membership(user, "member", "kicked") if notify else None

    def unblock(self, user: FakeUser, *, notify: bool = True) -> JsonDict | None:
        """The user restarts the bot."""
        self.state.blocked.discard(user.id)
        return self._membership(user, "kicked", "member") if notify else None

    def add_bot_to(self, user: FakeUser, chat: FakeChat, *, status: str = "member") -> JsonDict:
        """The user adds the bot to a group (or, with ``status="administrator"``, a channel).

        The bot is a member until it calls ``leaveChat``; its sends there answer 403 after.
        """
        self.state.left_chats.discard(chat.id)
        return self._membership(user, "left", status, chat=chat)

    def _membership(
        self, user: FakeUser, old: str, new: str, *, chat: FakeChat | None = None
    ) -> JsonDict:
        chat = chat or self.state.chats[user.id]
        bot = self.state.bot.to_dict()

        def member(status: str) -> JsonDict:
            return {
                "status": status,
                "user": bot,
                **({"until_date": 0} if status == "kicked" else {}),
                **(_ADMIN_RIGHTS if status == "administrator" else {}),
            }

        change = {
            "chat": chat.to_dict(),
            "from": user.to_dict(),
            "date": self.state.unix_time(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self.inject({"my_chat_member": change})

    # -- raw --------------------------------------------------------------------------

    def inject(self, update: JsonDict, *, check: bool = True) -> JsonDict:
        """Queue any update (its ``update_id`` is assigned) and wake long-polling bots.

        With ``check`` the update must be a valid ``Update`` per the spec, else a
        violation is recorded: a test should not feed the bot shapes Telegram never sends.
        """
        queued = self.state.queue_update(copy.deepcopy(update))
        if check:
            errors = self.spec.check_value(queued, ["Update"], "update")
            if len([key for key in queued if key != "update_id"]) != 1:
                errors.append("an Update carries exactly one kind of content")
            if errors:
                self.violations.append(f"[test bug] injected update is not an Update: {errors}")
        self._notify()
        return copy.deepcopy(queued)

    # -- helpers ----------------------------------------------------------------------

    def _user_message(
        self, user: FakeUser, chat: ChatRef | None, reply_to: JsonDict | None, **content: Any
    ) -> JsonDict:
        target = self._chat_for(user, chat)
        replied = None
        if reply_to is not None:
            replied = copy.deepcopy(self._stored(reply_to).data)
            replied.pop("reply_to_message", None)
        message = self.state.new_message(target, user, reply_to_message=replied, **content)
        self.state.store(message, from_bot=False)
        kind = "channel_post" if target.type == "channel" else "message"
        return self.inject({kind: copy.deepcopy(message)})

    def _chat_for(self, user: FakeUser, chat: ChatRef | None) -> FakeChat:
        if user.id not in self.state.users:
            raise AssertionError(f"register {user.first_name} with server.user() first")
        target = self.state.resolve_chat(user.id if chat is None else chat_id_of(chat))
        if target is None:
            raise AssertionError(f"chat {chat!r} is not registered (server.group_chat?)")
        return target

    def _stored(self, message: JsonDict) -> StoredMessage:
        stored = self.state.find_message(message["chat"]["id"], message["message_id"])
        if stored is None:
            raise AssertionError(
                f"message {message.get('message_id')} of chat {message['chat']['id']} "
                "does not exist on the fake server"
            )
        return stored


_ADMIN_RIGHTS: JsonDict = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
}


def _describe_button(button: JsonDict) -> str:
    action = next((key for key in button if key not in ("text", "style")), "?")
    return f"{button.get('text')!r} -> {action}={button.get(action)!r}"
