"""The Bot API methods the fake implements, with real-shaped answers and Telegram's refusals.

``validate`` runs the content rules (pure, no state change) so that a request
is judged even when a fault is injected; ``execute`` then changes the state and
returns the ``result``. Methods the spec knows but the fake does not implement
are validated and answered ``true``. ``getUpdates`` lives in ``server.py``
because it waits.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from . import rules
from .api_spec import ApiSpec, MethodSpec
from .models import (
    FakeChat,
    JsonDict,
    StoredFile,
    StoredMessage,
    UploadedFile,
    bad_request,
)
from .state import DEFAULT_ALLOWED_UPDATES, UPDATE_TYPES, TelegramState

Params = Mapping[str, Any]
Files = Mapping[str, UploadedFile]
Handler = Callable[[Params, Files, FakeChat | None], Any]

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""Bots cannot download files bigger than 20 MB through getFile."""

_MEDIA_KEYS = ("photo", "document", "voice", "audio", "video", "animation")
_LANGUAGE_METHODS = frozenset(
    {
        "getMyCommands",
        "deleteMyCommands",
        "setMyDescription",
        "getMyDescription",
        "setMyShortDescription",
        "getMyShortDescription",
        "setMyName",
        "getMyName",
    }
)


def scope_key(scope: Any) -> str:
    """A readable key for a BotCommandScope: "default", "chat:42", "chat_member:-5:42"..."""
    if not isinstance(scope, dict):
        return "default"
    parts = [str(scope.get("type", "default"))]
    parts += [str(scope[key]) for key in ("chat_id", "user_id") if key in scope]
    return ":".join(parts)


def is_sending_method(name: str) -> bool:
    """Methods that post or change messages: the ones Telegram rate-limits.

    ``sendChatAction`` is left out: it posts nothing a user can read.
    """
    lowered = name.lower()
    return lowered.startswith(("send", "edit", "copy", "forward")) and lowered != "sendchataction"


def targets_user(name: str) -> bool:
    """Methods refused with 403 once the user blocked the bot."""
    return is_sending_method(name) or name.lower() == "sendchataction"


class BotApi:
    """Bot API methods over one :class:`TelegramState`."""

    def __init__(self, state: TelegramState, spec: ApiSpec) -> None:
        self.state = state
        self.spec = spec
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "deleteWebhook": self.delete_webhook,
            "setWebhook": self.set_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageCaption": self.edit_message_caption,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendVoice": self.send_voice,
            "sendAudio": self.send_audio,
            "sendVenue": self.send_venue,
            "sendLocation": self.send_location,
            "sendChatAction": self.answer_true,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "leaveChat": self.leave_chat,
            "close": self.answer_true,
            "logOut": self.answer_true,
        }

    # -- validation -------------------------------------------------------------------

    def validate(self, method: MethodSpec, params: Params, files: Files) -> FakeChat | None:
        """Telegram's content rules for one request; returns the target chat, if any."""
        chat = self.resolve(params["chat_id"]) if "chat_id" in params else None
        if "from_chat_id" in params:
            self.resolve(params["from_chat_id"])
        rules.check_parse_mode(params)
        if "reply_markup" in params:
            rules.check_reply_markup(params["reply_markup"], self.spec)
        name = method.name
        if name == "sendMessage" or (name == "editMessageText" and "rich_message" not in params):
            rules.check_message_text(params.get("text"), params)
        if "caption" in params:
            rules.check_caption(params)
        if name == "answerCallbackQuery":
            rules.check_callback_answer(params)
        elif name == "sendChatAction":
            rules.check_chat_action(params.get("action"))
        elif name == "setMyCommands":
            rules.check_commands(params)
        elif name in _LANGUAGE_METHODS:
            rules.check_language_code(params)
        elif name == "setWebhook":
            url = params.get("url", "")
            if url and not str(url).lower().startswith("https://"):
                raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        rules.check_coordinates(params)
        for field in method.fields.values():
            if field.accepts_file and field.name in params and field.name not in files:
                self._file_reference(params[field.name], files)
        return chat

    def resolve(self, chat_id: Any) -> FakeChat:
        """The chat behind a ``chat_id``; unknown chats are refused like Telegram does."""
        chat = self.state.resolve_chat(chat_id)
        if chat is None:
            raise bad_request("chat not found", detail=f"chat_id={chat_id!r} was never registered")
        return chat

    def _file_reference(self, value: Any, files: Files) -> StoredFile | None:
        """A file given as file_id, HTTP URL or attach://; None for a URL (not fetched)."""
        if isinstance(value, str):
            if value.startswith("attach://"):
                return None
            if value.lower().startswith(("http://", "https://")):
                return None
            known = self.state.files.get(value)
            if known is not None:
                return known
        raise bad_request(
            "wrong file identifier/HTTP URL specified", detail=f"{value!r} is no known file_id"
        )

    # -- dispatch ---------------------------------------------------------------------

    def execute(
        self, method: MethodSpec, params: Params, files: Files, chat: FakeChat | None
    ) -> Any:
        """Run a validated request; unimplemented methods answer ``true``."""
        handler = self.handlers.get(method.name, self.answer_true)
        return handler(params, files, chat)

    def answer_true(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Methods without visible effect in the fake: validated, then ``true``."""
        return True

    def leave_chat(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """The bot leaves a group or channel; a private chat cannot be left."""
        if chat is None or chat.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        self.state.left_chats.add(chat.id)
        return True

    # -- bot and setup ----------------------------------------------------------------

    def get_me(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """The bot's own ``User``, with the getMe-only capability flags."""
        return {
            **self.state.bot.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def delete_webhook(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Drop the webhook (and, on request, the pending updates)."""
        self.state.webhook = {}
        if params.get("drop_pending_updates"):
            self.state.pending_updates.clear()
        return True

    def set_webhook(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Remember the webhook; while set, getUpdates answers 409 (updates are not pushed)."""
        url = params.get("url", "")
        self.state.webhook = {"url": url, **dict(params)} if url else {}
        if params.get("drop_pending_updates"):
            self.state.pending_updates.clear()
        if "allowed_updates" in params:
            self.set_allowed_updates(params["allowed_updates"])
        return True

    def get_webhook_info(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """WebhookInfo: the url ("" when polling) and how many updates wait."""
        return {
            "url": self.state.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.pending_updates),
        }

    def set_allowed_updates(self, allowed: Any) -> None:
        """Telegram keeps the last ``allowed_updates``; an empty list means the default."""
        if allowed is None:
            return
        chosen = frozenset(a for a in allowed if a in UPDATE_TYPES)
        self.state.allowed_updates = chosen or DEFAULT_ALLOWED_UPDATES

    def set_my_commands(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Store the command list per (scope, language); an empty list deletes it."""
        key = (scope_key(params.get("scope")), params.get("language_code") or "")
        commands = [
            {"command": c["command"], "description": c["description"]} for c in params["commands"]
        ]
        if commands:
            self.state.commands[key] = commands
        else:
            self.state.commands.pop(key, None)
        return True

    def get_my_commands(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Exactly the list stored for that scope and language (no fallback, like Telegram)."""
        key = (scope_key(params.get("scope")), params.get("language_code") or "")
        return copy.deepcopy(self.state.commands.get(key, []))

    def delete_my_commands(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Forget the list of one scope and language."""
        key = (scope_key(params.get("scope")), params.get("language_code") or "")
        self.state.commands.pop(key, None)
        return True

    def set_chat_menu_button(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Store the menu button of one private chat, or the default one."""
        key = chat.id if chat is not None else None
        self.state.menu_buttons[key] = dict(params.get("menu_button") or {"type": "default"})
        return True

    def get_chat_menu_button(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """The chat's button, else the default one, else ``{"type": "default"}``."""
        buttons = self.state.menu_buttons
        key = chat.id if chat is not None else None
        return copy.deepcopy(buttons.get(key) or buttons.get(None) or {"type": "default"})

    # -- sending ----------------------------------------------------------------------

    def send_message(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """A text message, with inline keyboard and reply if asked."""
        text, entities = rules.check_message_text(params.get("text"), params)
        return self._post(chat, params, text=text, entities=entities or None)

    def send_photo(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """A photo: a small and a large PhotoSize, both downloadable."""
        big = self._stored_file(params, files, "photo", "photo", "image/jpeg", "photo.jpg")
        small = self.state.add_file("photo", big.content[:1024], mime_type=big.mime_type)
        sizes = [_photo_size(small, 90, 67), _photo_size(big, 1280, 960)]
        return self._post_media(chat, params, photo=sizes)

    def send_document(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """A document with its name and MIME type."""
        stored = self._stored_file(
            params, files, "document", "document", "application/octet-stream", "document"
        )
        return self._post_media(chat, params, document=_document(stored))

    def send_voice(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """A voice note (OGG/Opus)."""
        stored = self._stored_file(params, files, "voice", "voice", "audio/ogg", "voice.ogg")
        voice = {
            **_file_ids(stored),
            "duration": int(params.get("duration") or 1),
            "mime_type": stored.mime_type or "audio/ogg",
            "file_size": stored.size,
        }
        return self._post_media(chat, params, voice=voice)

    def send_audio(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """An audio track with the performer and title the bot gave."""
        stored = self._stored_file(params, files, "audio", "audio", "audio/mpeg", "audio.mp3")
        audio: JsonDict = {**_file_ids(stored), "duration": int(params.get("duration") or 0)}
        for key in ("performer", "title"):
            if params.get(key):
                audio[key] = params[key]
        audio.update(_optional(file_name=stored.file_name, mime_type=stored.mime_type))
        audio["file_size"] = stored.size
        return self._post_media(chat, params, audio=audio)

    def send_location(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """A point on the map."""
        return self._post(chat, params, location=_location(params))

    def send_venue(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """A venue: a location with a title and an address."""
        location = _location(params)
        venue = {"location": location, "title": params["title"], "address": params["address"]}
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if params.get(key):
                venue[key] = params[key]
        return self._post(chat, params, venue=venue, location=location)

    def _post_media(self, chat: FakeChat | None, params: Params, **media: Any) -> JsonDict:
        caption, caption_entities = rules.check_caption(params)
        extra = {"show_caption_above_media": params.get("show_caption_above_media") or None}
        return self._post(
            chat,
            params,
            **media,
            caption=caption,
            caption_entities=caption_entities or None,
            **extra,
        )

    def _post(self, chat: FakeChat | None, params: Params, **content: Any) -> JsonDict:
        """Store a bot message in ``chat`` and return it as Telegram would."""
        assert chat is not None  # the spec makes chat_id required for every send method
        markup = params.get("reply_markup")
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if isinstance(markup, dict) and "keyboard" in markup:
            self.state.reply_keyboards[chat.id] = copy.deepcopy(markup)
        elif isinstance(markup, dict) and markup.get("remove_keyboard"):
            self.state.reply_keyboards[chat.id] = None
        message = self.state.new_message(
            chat,
            self.state.bot,
            reply_to_message=self._replied(chat, params),
            **content,
            reply_markup=copy.deepcopy(inline),
        )
        self.state.store(message, from_bot=True)
        return copy.deepcopy(message)

    def _replied(self, chat: FakeChat, params: Params) -> JsonDict | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            return None
        target_chat = self.resolve(reply["chat_id"]) if "chat_id" in reply else chat
        stored = self.state.find_message(target_chat.id, reply.get("message_id"))
        if stored is None or stored.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found", violation=False)
        replied = copy.deepcopy(stored.data)
        replied.pop("reply_to_message", None)
        return replied

    def _stored_file(
        self,
        params: Params,
        files: Files,
        field: str,
        kind: str,
        default_mime: str,
        default_name: str,
    ) -> StoredFile:
        """The file a send method carries: an upload, a known file_id, or a URL."""
        value = params.get(field)
        upload = files.get(field)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
        if upload is not None:
            return self.state.add_file(
                kind,
                upload.content,
                mime_type=_mime(upload.content_type) or default_mime,
                file_name=upload.filename or default_name,
            )
        known = self._file_reference(value, files)
        if known is not None:
            return known
        name = str(value).rsplit("/", 1)[-1] or default_name
        return self.state.add_file(kind, b"", mime_type=default_mime, file_name=name)

    # -- editing ----------------------------------------------------------------------

    def edit_message_text(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Replace the text (and the inline keyboard: omitting it removes it)."""
        stored = self._editable(params, chat)
        if "text" not in stored.data:
            raise bad_request("there is no text in the message to edit")
        text, entities = rules.check_message_text(params.get("text"), params)
        markup = _inline_markup(params)
        unchanged = (
            stored.data.get("text") == text
            and stored.data.get("entities", []) == entities
            and stored.data.get("reply_markup") == markup
        )
        return self._edit(
            stored,
            unchanged,
            {"text": text, "entities": entities or None, "reply_markup": markup},
            ("entities", "reply_markup"),
        )

    def edit_message_caption(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Replace the caption of a media message."""
        stored = self._editable(params, chat)
        if not any(key in stored.data for key in _MEDIA_KEYS):
            raise bad_request("there is no caption in the message to edit")
        caption, entities = rules.check_caption(params)
        markup = _inline_markup(params)
        unchanged = (
            stored.data.get("caption") == caption
            and stored.data.get("caption_entities", []) == entities
            and stored.data.get("reply_markup") == markup
        )
        changes = {"caption": caption, "caption_entities": entities or None, "reply_markup": markup}
        return self._edit(
            stored, unchanged, changes, ("caption", "caption_entities", "reply_markup")
        )

    def edit_message_reply_markup(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Replace or remove the inline keyboard."""
        stored = self._editable(params, chat)
        markup = _inline_markup(params)
        unchanged = stored.data.get("reply_markup") == markup
        return self._edit(stored, unchanged, {"reply_markup": markup}, ("reply_markup",))

    def _edit(
        self, stored: StoredMessage, unchanged: bool, changes: JsonDict, removed: tuple[str, ...]
    ) -> JsonDict:
        if unchanged:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
                violation=False,
            )
        self.state.apply_edit(stored, copy.deepcopy(changes), removed)
        return copy.deepcopy(stored.data)

    def _editable(self, params: Params, chat: FakeChat | None) -> StoredMessage:
        if "inline_message_id" in params:
            raise bad_request(
                "MESSAGE_ID_INVALID",
                violation=False,
                detail="the fake server keeps no inline messages",
            )
        if chat is None or "message_id" not in params:
            raise bad_request("message identifier is not specified")
        stored = self.state.find_message(chat.id, params["message_id"])
        if stored is None or stored.deleted:
            raise bad_request("message to edit not found", violation=False)
        if not stored.from_bot:
            raise bad_request(
                "message can't be edited", detail="bots can edit only their own messages"
            )
        return stored

    def delete_message(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Delete one message (the bot's, or a user's in a private chat)."""
        assert chat is not None
        stored = self.state.find_message(chat.id, params["message_id"])
        if stored is None or stored.deleted:
            raise bad_request("message to delete not found", violation=False)
        stored.deleted = True
        return True

    def delete_messages(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Delete several messages; missing ones are skipped, like Telegram does."""
        assert chat is not None
        for message_id in params["message_ids"]:
            stored = self.state.find_message(chat.id, message_id)
            if stored is not None:
                stored.deleted = True
        return True

    # -- callbacks, files, chats --------------------------------------------------------

    def answer_callback_query(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """Remember the toast per query; unknown or twice-answered queries are refused."""
        record = self.state.callback_queries.get(str(params["callback_query_id"]))
        if record is None or record.answer is not None:
            why = "unknown" if record is None else "already answered"
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid",
                detail=f"callback query {params['callback_query_id']!r} is {why}",
            )
        record.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        return True

    def get_file(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """File metadata with the ``file_path`` to download it from."""
        stored = self.state.files.get(str(params["file_id"]))
        if stored is None:
            raise bad_request("invalid file_id", detail=f"file_id={params['file_id']!r}")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big", violation=False)
        return {**_file_ids(stored), "file_size": stored.size, "file_path": stored.file_path}

    def get_chat(self, params: Params, files: Files, chat: FakeChat | None) -> Any:
        """ChatFullInfo with the fields the spec requires."""
        assert chat is not None
        return {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


def _inline_markup(params: Params) -> JsonDict | None:
    markup = params.get("reply_markup")
    return copy.deepcopy(markup) if isinstance(markup, dict) and markup else None


def _file_ids(stored: StoredFile) -> JsonDict:
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}


def _photo_size(stored: StoredFile, width: int, height: int) -> JsonDict:
    return {**_file_ids(stored), "width": width, "height": height, "file_size": stored.size}


def _document(stored: StoredFile) -> JsonDict:
    document = _file_ids(stored)
    document.update(_optional(file_name=stored.file_name, mime_type=stored.mime_type))
    document["file_size"] = stored.size
    return document


def _location(params: Params) -> JsonDict:
    location: JsonDict = {"latitude": params["latitude"], "longitude": params["longitude"]}
    if params.get("horizontal_accuracy") is not None:
        location["horizontal_accuracy"] = params["horizontal_accuracy"]
    return location


def _optional(**values: Any) -> JsonDict:
    return {key: value for key, value in values.items() if value is not None}


def _mime(content_type: str) -> str | None:
    return content_type.split(";", 1)[0].strip() or None
