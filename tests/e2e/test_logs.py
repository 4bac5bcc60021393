"""The log line of each update names known actions only, never what someone typed."""

from __future__ import annotations

import logging

import pytest

from tests.core.factories import programme
from tests.e2e.harness import Harness


async def test_the_handler_field_holds_only_known_command_and_button_names(
    harness: Harness, caplog: pytest.LogCaptureFixture
):
    h = harness
    await programme(h.deps.sessionmaker, h.clock.now(), participants=1)
    amina = h.server.user(1000, "Amina", language_code="fr")
    caplog.set_level(logging.INFO, logger="bot.updates")
    for typed in ("/0470123456", "/Amina_Khalil", "/mydata", f"/me@{h.server.bot_user.username}"):
        await h.send(amina, typed)
    help_message = await h.say(amina, "/help")
    for data in ("Amina:1:2", "rsvp:1:x:y:z", "0470123456"):
        h.server.send_callback(amina, help_message["message_id"], amina.id, data)
    await h.idle()

    handlers = [getattr(r, "handler", None) for r in caplog.records if r.name == "bot.updates"]
    assert handlers == [
        "command:unknown",
        "command:unknown",
        "/mydata",
        "/me",
        "/help",
        "button:unknown",
        "button:rsvp",
        "button:unknown",
    ]
