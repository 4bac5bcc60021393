"""The fake Telegram server is honest: a real python-telegram-bot talks to it over HTTP.

These tests pin what product end-to-end tests rely on: commands and button
taps reach real handlers, edits land on the stored message, Telegram's refusals
(bad requests, "not modified", blocked users, flood control, faults) reach the
bot as the same exceptions, getUpdates offsets confirm updates, and files round-trip.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.simulator import FakeTelegram, FakeUser, spec_unavailable_reason

SKIP_REASON = spec_unavailable_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

ATTEND_YES = "att:1:7:yes"
ATTEND_NO = "att:1:7:no"


# -- a minimal bot, wired like the product's ------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet, echo the deep-link payload, offer two attendance buttons."""
    assert update.effective_message is not None
    payload = " ".join(context.args or [])
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Présent·e", callback_data=ATTEND_YES),
                InlineKeyboardButton("❌ Absent·e", callback_data=ATTEND_NO),
            ]
        ]
    )
    await update.effective_message.reply_text(
        f"<b>Bienvenue</b> {payload}".strip(), parse_mode="HTML", reply_markup=keyboard
    )


async def attendance(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge the tap with a toast and replace the question by the answer."""
    query = update.callback_query
    assert query is not None
    await query.answer("Merci !")
    answer = "présent·e" if query.data == ATTEND_YES else "absent·e"
    await query.edit_message_text(f"Noté : {answer}")


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the document and report its size and digest."""
    assert update.message is not None and update.message.document is not None
    telegram_file = await update.message.document.get_file()
    content = await telegram_file.download_as_bytearray()
    digest = hashlib.sha256(content).hexdigest()[:12]
    await update.message.reply_text(f"{len(content)} octets {digest}")


def build_application(server: FakeTelegram) -> Application[Any, Any, Any, Any, Any, Any]:
    """The real ApplicationBuilder, only pointed at the fake server."""
    application = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(attendance, pattern=r"^att:"))
    application.add_handler(MessageHandler(filters.Document.ALL, document))
    return application


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest_asyncio.fixture
async def app(server: FakeTelegram) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """A polling application; stopped cleanly so no task outlives the test."""
    application = build_application(server)
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


@pytest_asyncio.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[Bot]:
    """A bare Bot (no polling) for requests a test makes itself."""
    async with Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url) as b:
        yield b


@pytest.fixture
def ana(server: FakeTelegram) -> FakeUser:
    return server.user(42, "Ana", language_code="fr")


async def api(server: FakeTelegram, method: str, **data: Any) -> httpx.Response:
    """A raw form POST, as a hand-written client would send it."""
    async with httpx.AsyncClient() as client:
        return await client.post(f"{server.base_url}{server.token}/{method}", data=data)


# -- conversations through a real Application --------------------------------------------


@pytest.mark.asyncio
async def test_a_command_reaches_the_command_handler_and_the_reply_is_readable(
    server: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any], ana: FakeUser
) -> None:
    sent = server.send_text(ana, "/start promo_42")

    reply = await server.wait_for_bot_message(ana)

    assert sent["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert reply["text"] == "Bienvenue promo_42"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 9}]
    assert reply["from"]["username"] == "activup_test_bot"
    labels = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["✅ Présent·e", "❌ Absent·e"]
    assert server.violations == []


@pytest.mark.asyncio
async def test_a_command_addressed_to_the_bot_in_a_group_is_answered_in_the_group(
    server: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any], ana: FakeUser
) -> None:
    group = server.group_chat(-1001, "Atelier CV", supergroup=True)

    server.send_text(ana, "/start@activup_test_bot", chat=group)

    reply = await server.wait_for_bot_message(group)
    assert reply["chat"]["id"] == -1001
    assert server.bot_messages(ana) == []
    assert server.violations == []


@pytest.mark.asyncio
async def test_a_button_tap_reaches_the_callback_handler_and_the_edit_is_stored(
    server: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any], ana: FakeUser
) -> None:
    server.send_text(ana, "/start")
    question = await server.wait_for_bot_message(ana)

    tap = server.press_button(ana, question, text="✅ Présent·e")

    toast = await server.wait_for_callback_answer(tap)
    await server.wait_until_idle(application=app)
    assert toast == {"text": "Merci !"}
    edited = server.last_bot_message(ana)
    assert edited["message_id"] == question["message_id"]
    assert edited["text"] == "Noté : présent·e"
    assert "reply_markup" not in edited  # an edit without markup removes the keyboard
    history = server.message_history(ana, question["message_id"])
    assert [version["text"] for version in history] == ["Bienvenue", "Noté : présent·e"]
    assert server.unanswered_callback_queries() == []
    assert server.violations == []


@pytest.mark.asyncio
async def test_pressing_a_missing_button_lists_the_buttons_there_are(
    server: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any], ana: FakeUser
) -> None:
    server.send_text(ana, "/start")
    question = await server.wait_for_bot_message(ana)

    with pytest.raises(AssertionError, match=r"available: '✅ Présent·e' -> callback_data"):
        server.press_button(ana, question, text="Peut-être")


@pytest.mark.asyncio
async def test_a_document_sent_by_a_user_can_be_downloaded_by_the_bot(
    server: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any], ana: FakeUser
) -> None:
    content = "nom;prénom\nDupont;Léa\n".encode()

    server.send_document(ana, "inscrits.csv", content, "text/csv")

    reply = await server.wait_for_bot_message(ana)
    assert reply["text"] == f"{len(content)} octets {hashlib.sha256(content).hexdigest()[:12]}"
    assert len(server.downloads) == 1
    assert server.violations == []


@pytest.mark.asyncio
async def test_wait_until_idle_waits_for_every_update_to_be_handled(
    server: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any], ana: FakeUser
) -> None:
    for payload in ("a", "b", "c"):
        server.send_text(ana, f"/start {payload}")

    await server.wait_until_idle(application=app)

    assert [m["text"] for m in server.bot_messages(ana)] == [
        "Bienvenue a",
        "Bienvenue b",
        "Bienvenue c",
    ]
    assert server.pending_updates == []


# -- Telegram's refusals -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_unknown_parameter_is_refused_and_recorded(
    server: FakeTelegram, ana: FakeUser
) -> None:
    response = await api(server, "sendMessage", chat_id="42", text="Bonjour", colour="red")

    assert response.status_code == 400
    assert response.json()["description"].startswith("Bad Request: unknown parameter")
    assert server.violations == [
        'sendMessage: Bad Request: unknown parameter "colour" for method sendMessage'
    ]


@pytest.mark.asyncio
async def test_an_unknown_method_is_not_found(server: FakeTelegram) -> None:
    response = await api(server, "sendTelepathy", chat_id="42")

    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
    assert len(server.violations) == 1


@pytest.mark.asyncio
async def test_a_wrong_token_is_unauthorized(server: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{server.base_url}999:nope/getMe")

    assert response.status_code == 401
    assert response.json()["description"] == "Unauthorized"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "description"),
    [
        ({"text": "   "}, "Bad Request: message text is empty"),
        ({}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "Prix : 5.00", "parse_mode": "MarkdownV2"}, "Bad Request: can't parse entities"),
        ({"text": "a <3 b", "parse_mode": "HTML"}, 'Unsupported start tag "3" at byte offset 2'),
        ({"text": "ok", "parse_mode": "BBCode"}, "Bad Request: unsupported parse_mode"),
        ({"text": "ok", "chat_id": "777"}, "Bad Request: chat not found"),
        ({"text": "ok", "chat_id": "abc"}, "Bad Request: chat not found"),
        (
            {"text": "ok", "reply_markup": '{"inline_keyboard": [{"text": "x"}]}'},
            "must be an Array",
        ),
    ],
)
async def test_a_bad_message_is_refused_with_telegrams_words(
    server: FakeTelegram, ana: FakeUser, data: dict[str, str], description: str
) -> None:
    response = await api(server, "sendMessage", **{"chat_id": "42", **data})

    assert response.status_code == 400
    assert description in response.json()["description"]
    assert len(server.violations) == 1
    assert server.bot_messages(ana) == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("button", "description"),
    [
        (InlineKeyboardButton("é" * 33, callback_data="é" * 33), "BUTTON_DATA_INVALID"),
        (InlineKeyboardButton("Site", url="javascript:alert(1)"), "BUTTON_URL_INVALID"),
        (InlineKeyboardButton("Rien"), "Text buttons are unallowed"),
    ],
)
async def test_a_bad_inline_keyboard_is_refused(
    server: FakeTelegram, bot: Bot, ana: FakeUser, button: InlineKeyboardButton, description: str
) -> None:
    # 33 "é" are 33 characters but 66 bytes: the limit is in bytes.
    with pytest.raises(BadRequest):
        await bot.send_message(42, "Choisis", reply_markup=InlineKeyboardMarkup([[button]]))

    assert len(server.violations) == 1
    assert description in server.violations[0]


@pytest.mark.asyncio
async def test_editing_with_identical_content_is_not_modified(
    server: FakeTelegram, bot: Bot, ana: FakeUser
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    sent = await bot.send_message(42, "Séance à 10:00", reply_markup=keyboard)

    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Séance à 10:00", 42, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"[Mm]essage to edit not found"):
        await bot.edit_message_text("Autre", 42, sent.message_id + 10)

    # Telegram's answers, but no breach of the API: these are not violations.
    assert server.violations == []
    assert [r.status for r in server.errors] == [400, 400, 400]


@pytest.mark.asyncio
async def test_a_blocked_user_gives_forbidden(
    server: FakeTelegram, bot: Bot, ana: FakeUser
) -> None:
    server.block(ana)

    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(42, "Rappel : séance demain")

    assert [u["my_chat_member"]["new_chat_member"]["status"] for u in server.pending_updates] == [
        "kicked"
    ]
    server.unblock(ana)
    await bot.send_message(42, "Rappel : séance demain")
    assert server.violations == []


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")  # PTB's own retry_after
async def test_flood_control_refuses_a_second_message_to_one_chat_within_a_second(
    server: FakeTelegram, bot: Bot, ana: FakeUser
) -> None:
    ben = server.user(43, "Ben")
    server.enforce_limits = True

    await bot.send_message(ana.id, "1")
    with pytest.raises(RetryAfter, match="Retry in 1 seconds"):
        await bot.send_message(ana.id, "2")
    await bot.send_message(ben.id, "another chat is fine")

    assert server.http_429 == 1
    assert server.max_sends_in_window(1.0, chat=ana) == 1
    assert server.max_sends_in_window(1.0) == 2
    assert server.violations == []


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")
async def test_injected_faults_reach_the_bot_as_network_errors(
    server: FakeTelegram, ana: FakeUser
) -> None:
    server.slow_delay = 0.5
    server.fail_next(1, "500")
    server.fail_next(1, "drop")
    server.fail_next(1, "429")
    server.fail_next(1, "slow")
    async with Bot(server.token, base_url=server.base_url) as bot:
        with pytest.raises(NetworkError):
            await bot.send_message(42, "a")
        with pytest.raises(NetworkError):
            await bot.send_message(42, "b")
        with pytest.raises(RetryAfter):
            await bot.send_message(42, "c")
        with pytest.raises(TimedOut):
            await bot.send_message(42, "d", read_timeout=0.1)
        await bot.get_me()  # other methods are untouched by faults

    # Only the slow one was carried out: the user got it although the bot timed out.
    assert [m["text"] for m in server.bot_messages(ana)] == ["d"]
    assert [r.fault for r in server.requests_for("sendMessage")] == ["500", "drop", "429", "slow"]


# -- getUpdates ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_updates_offsets_confirm_updates(server: FakeTelegram, ana: FakeUser) -> None:
    for text in ("un", "deux", "trois"):
        server.send_text(ana, text)

    first = (await api(server, "getUpdates", limit="2")).json()["result"]
    again = (await api(server, "getUpdates", offset="2")).json()["result"]
    after = (await api(server, "getUpdates", offset="4", timeout="0")).json()["result"]

    assert [u["update_id"] for u in first] == [1, 2]  # limit, nothing confirmed yet
    assert [u["update_id"] for u in again] == [2, 3]  # offset 2 confirmed update 1
    assert after == []
    assert server.pending_updates == []
    assert server.violations == []


@pytest.mark.asyncio
async def test_a_long_poll_returns_as_soon_as_an_update_is_injected(
    server: FakeTelegram, ana: FakeUser
) -> None:
    loop = asyncio.get_running_loop()
    poll = asyncio.create_task(api(server, "getUpdates", timeout="30"))
    await server.wait_for(lambda: server.long_polls_waiting == 1)
    started = loop.time()

    server.send_text(ana, "coucou")
    updates = (await poll).json()["result"]

    assert loop.time() - started < 1.0
    assert [u["message"]["text"] for u in updates] == ["coucou"]


@pytest.mark.asyncio
async def test_a_long_poll_without_updates_answers_empty_at_its_timeout(
    server: FakeTelegram,
) -> None:
    response = await api(server, "getUpdates", timeout="1")

    assert response.json() == {"ok": True, "result": []}
    assert server.violations == []


# -- setup methods and files ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_commands_are_stored_per_scope_and_language(
    server: FakeTelegram, bot: Bot, ana: FakeUser
) -> None:
    from telegram import BotCommand, BotCommandScopeChat

    await bot.set_my_commands([BotCommand("start", "Commencer")], language_code="fr")
    await bot.set_my_commands(
        [BotCommand("rapport", "Rapport des présences")], scope=BotCommandScopeChat(42)
    )
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("start", "Start")], language_code="fa_AF")

    assert server.commands_for(language_code="fr") == [
        {"command": "start", "description": "Commencer"}
    ]
    assert server.commands_for("chat:42") == [
        {"command": "rapport", "description": "Rapport des présences"}
    ]
    assert await bot.get_my_commands(scope=BotCommandScopeChat(42)) != ()
    assert len(server.violations) == 1
    assert "language_code='fa_AF'" in server.violations[0]


@pytest.mark.asyncio
async def test_a_file_uploaded_by_the_bot_can_be_downloaded_again(
    server: FakeTelegram, bot: Bot, ana: FakeUser
) -> None:
    content = b"%PDF-1.4 attestation"

    sent = await bot.send_document(42, content, filename="attestation.pdf", caption="Voici")
    assert sent.document is not None
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    again = await bot.send_document(42, sent.document.file_id)  # re-send by file_id

    assert bytes(downloaded) == content
    assert again.document is not None and again.document.file_name == "attestation.pdf"
    assert server.last_bot_message(ana)["document"]["file_id"] == sent.document.file_id
    with pytest.raises(BadRequest):
        await bot.send_document(42, "no-such-file-id")
    assert len(server.violations) == 1


@pytest.mark.asyncio
async def test_wait_for_explains_what_it_waited_for(server: FakeTelegram) -> None:
    await api(server, "getMe")

    with pytest.raises(AssertionError, match=r"(?s)waiting for nothing.*getMe\(\) -> 200"):
        await server.wait_for(lambda: False, timeout=0.05, what="nothing")


@pytest.mark.asyncio
async def test_every_injected_update_is_a_valid_update_that_the_bot_can_parse(
    server: FakeTelegram, bot: Bot, ana: FakeUser
) -> None:
    question = await bot.send_message(
        42,
        "Tu viens ?",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="y")]]),
    )
    said = server.send_text(ana, "bonjour")["message"]
    updates = [
        server.edit_text(ana, said, "bonjour !"),
        server.send_voice(ana),
        server.send_photo(ana, caption="affiche"),
        server.send_sticker(ana),
        server.send_location(ana, 50.41, 4.44),
        server.send_contact(ana, "+32470000000"),
        server.send_document(ana, "cv.pdf", b"%PDF", "application/pdf"),
        server.press_button(ana, server.last_bot_message(ana), data="y"),
        server.send_callback(ana, 999, ana, "forged"),
        server.send_channel_post(server.channel(-1003, "Annonces"), "séance annulée"),
    ]
    blocked = server.block(ana)
    assert blocked is not None
    updates.append(blocked)

    parsed = [Update.de_json(update, bot) for update in updates]

    assert server.violations == []
    assert [u.update_id for u in parsed] == list(range(2, 13))
    assert parsed[0].edited_message is not None
    assert parsed[7].callback_query is not None
    assert parsed[7].callback_query.message is not None
    assert parsed[7].callback_query.message.message_id == question.message_id
    assert parsed[8].callback_query is not None
    forged_on = parsed[8].callback_query.message
    assert forged_on is not None and not forged_on.is_accessible  # no such message


@pytest.mark.asyncio
async def test_requests_are_read_from_query_strings_and_json_bodies_too(
    server: FakeTelegram, ana: FakeUser
) -> None:
    async with httpx.AsyncClient() as client:
        by_query = await client.get(
            f"{server.base_url}{server.token}/sendMessage", params={"chat_id": "42", "text": "GET"}
        )
        by_json = await client.post(
            f"{server.base_url}{server.token}/SENDMESSAGE",  # method names ignore case
            json={"chat_id": "42", "text": "123", "disable_notification": True},
        )

    assert by_query.status_code == by_json.status_code == 200
    assert [m["text"] for m in server.bot_messages(ana)] == ["GET", "123"]  # "123" stays text
    assert server.requests_for("sendMessage")[1].params["disable_notification"] is True
    assert server.violations == []
