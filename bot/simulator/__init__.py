"""A simulated Telegram Bot API server that a real python-telegram-bot ``Application`` talks to.

Why: end-to-end tests, and ``activup demo``, play users against the bot's real code
path (HTTP requests, error mapping, polling) while Telegram stays honest: every
request is validated against the official spec shipped beside this module
(``api.json``) and against Telegram's content rules, and each breach is recorded in
``server.violations`` (tests assert it stays empty; the demo logs it). Tests skip
when the spec is absent (a broken install)::

    reason = spec_unavailable_reason()
    if reason:
        pytest.skip(reason)

Starting (inside the test's event loop)::

    async with FakeTelegram() as server:          # or: await server.start() / stop()
        app = (ApplicationBuilder().token(server.token)
               .base_url(server.base_url).base_file_url(server.base_file_url).build())

``FakeTelegram(token="123456:TEST-token", *, spec=None, spec_path=None,
bot_username="activup_test_bot", bot_first_name="ACTIV'UP (test)", retry_after=1,
slow_delay=6.0, quiet_period=0.05, unix_time=None)`` (``unix_time``: the clock of
``date`` fields, real time by default). ``server.change_listeners``: callables run on
every change (the demo page's live updates). Routes: ``/bot<token>/<method>`` (GET or
POST; query string, form, multipart or JSON) and ``/file/bot<token>/<file_path>``.
A wrong token answers 401, an unknown method 404.

People and chats
    ``server.user(id, first_name="Ana", *, last_name=None, username=None,
    language_code="fr") -> FakeUser`` (registers its private chat, id == user id);
    ``server.group_chat(id, title, *, supergroup=False, username=None) -> FakeChat``;
    ``server.channel(id, title, *, username=None) -> FakeChat``. Wherever a chat
    is expected, pass its id, the FakeChat, or the FakeUser (private chat).

Users acting (each returns the queued ``Update`` dict and wakes long-polls)
    ``send_text(user, text, chat=None, *, reply_to=None)`` ("/cmd", "/cmd@bot",
    "/start PAYLOAD" get ``bot_command`` entities); ``press_button(user, message, *,
    text=None, data=None)`` (by label or callback_data, on the message's *current*
    keyboard; AssertionError lists the buttons when none matches);
    ``send_callback(user, message_id, chat_id, data)`` (forged data);
    ``send_document(user, filename, content, mime_type=..., *, caption=None)``;
    ``send_voice(user, duration=3)``; ``send_photo(user, *, caption=None)``;
    ``send_sticker(user)``; ``send_location(user, lat, lon)``;
    ``send_contact(user, phone_number)``; ``edit_text(user, message, new_text)``;
    ``send_channel_post(channel, text)``; ``block(user, *, notify=True)`` /
    ``unblock(user)`` (403 "bot was blocked by the user" + ``my_chat_member``);
    ``add_bot_to(user, chat, *, status="member")`` (``my_chat_member`` in a group or
    channel; after ``leaveChat`` sends there answer 403 and ``bot_left(chat)`` is true);
    ``inject(update_dict, *, check=True)`` for anything else. Update ids start at 1.

Reading
    ``bot_messages(chat)``, ``last_bot_message(chat)``, ``messages(chat)`` (both
    sides), ``message(chat, message_id)``, ``message_history(chat, message_id)``,
    ``is_deleted(chat, message_id)``, ``bot_message_count(chat)`` (deleted
    included), ``reply_keyboard(chat)``, ``callback_answers`` (query id -> answer
    params: the toast), ``unanswered_callback_queries()``, ``commands`` ((scope key,
    language) -> list), ``commands_for(scope="default", language_code="")``,
    ``menu_button(chat=None)``, ``pending_updates``, ``requests`` (every
    ``RecordedRequest``: method, params, monotonic, wall, status, description,
    result, fault), ``requests_for(method)``, ``errors``, ``violations``,
    ``downloads``, ``dump()``.

Waiting (never sleep in a test)
    ``await wait_for(predicate, timeout=5.0)``; ``await wait_for_bot_message(chat,
    count_before=None, timeout=5.0) -> dict`` (the first new bot message);
    ``await wait_for_callback_answer(query_id_or_update) -> dict``;
    ``await wait_until_idle(timeout=5.0, *, application=None)``. Timeouts raise
    AssertionError with the last requests.

Faults and limits
    ``block(user)``; ``enforce_limits = True`` plays flood control (more than
    ``global_send_limit`` = 30 sends in ``limit_window`` = 1 s overall, or more than
    ``per_chat_send_limit`` = 1 per chat) with 429 ``retry_after`` =
    ``server.retry_after``, counted in ``http_429``; ``max_sends_in_window(window=1.0,
    chat=None)``; ``fail_next(n, mode)`` with mode "500", "drop", "slow" (done, answered
    after ``slow_delay`` s) or "429" for the next n sending requests
    (send*/edit*/copy*/forward*, not sendChatAction). ``latency`` (seconds, default 0):
    every answer but getUpdates comes that much later, as Telegram's 50-200 ms;
    ``peak_sends_in_flight``: most sending requests answered at once.

Not violations, but visible in ``requests``/``errors``: "message is not
modified", "message to edit/delete not found", 403, 409, 429 and injected faults.
Known simplifications: no webhook delivery, no inline messages, no group privacy
mode, no automatic url/mention entities, no per-group 20/min limit.
"""

from .actions import ChatRef, command_entities
from .api_spec import ApiSpec, SpecMissingError, default_spec_path, spec_unavailable_reason
from .models import ApiError, FakeChat, FakeUser, RecordedRequest, UploadedFile
from .server import DEFAULT_TOKEN, FAULT_MODES, FakeTelegram

__all__ = [
    "DEFAULT_TOKEN",
    "FAULT_MODES",
    "ApiError",
    "ApiSpec",
    "ChatRef",
    "FakeChat",
    "FakeTelegram",
    "FakeUser",
    "RecordedRequest",
    "SpecMissingError",
    "UploadedFile",
    "command_entities",
    "default_spec_path",
    "spec_unavailable_reason",
]
