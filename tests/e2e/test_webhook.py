"""Webhook mode: the secret token is checked, updates are handled, health is reported."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.app import build_application
from bot.context import Deps
from bot.core import organisation
from bot.settings import Settings
from bot.simulator import FakeTelegram, spec_unavailable_reason
from bot.webhook import SECRET_HEADER, make_server_app
from storage.db import make_engine, make_sessionmaker
from tests.e2e.harness import TOKEN

SECRET = "s3cret-token_0123456789"


def _update(update_id: int, user_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Sophie"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Sophie", "language_code": "fr"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


async def test_the_webhook_refuses_a_wrong_secret_and_handles_the_right_one(
    database_url: str, clock, caplog: pytest.LogCaptureFixture
):
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    caplog.set_level(logging.INFO, logger="bot.updates")
    async with FakeTelegram(token=TOKEN) as server:
        settings = Settings(
            telegram_token=TOKEN,
            telegram_api_url=server.base_url,
            telegram_file_url=server.base_file_url,
            database_url=database_url,
            webhook_secret=SECRET,
            _env_file=None,  # type: ignore[call-arg]
        )
        engine = make_engine(database_url)
        deps = Deps(settings, make_sessionmaker(engine), clock)
        async with deps.sessionmaker() as session:
            await organisation.add_staff(
                session, telegram_user_id=100, name="Sophie M.", role="referent", now=clock.now()
            )
            await session.commit()
        server.user(100, "Sophie")
        app = build_application(deps)
        await app.initialize()
        await app.start()
        sockets = bind_sockets(0, "127.0.0.1")
        http = HTTPServer(make_server_app(app, deps, "tg", SECRET))
        http.add_sockets(sockets)
        base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        try:
            async with httpx.AsyncClient(base_url=base) as client:
                body = json.dumps(_update(1, 100, "/help"))
                missing = await client.post("/tg", content=body)
                wrong = await client.post("/tg", content=body, headers={SECRET_HEADER: "nope"})
                assert (missing.status_code, wrong.status_code) == (403, 403)
                assert server.bot_messages(100) == [], "a refused request changes nothing"

                right = await client.post("/tg", content=body, headers={SECRET_HEADER: SECRET})
                assert right.status_code == 200
                assert "Commandes de l'équipe" in server.last_bot_message(100)["text"], (
                    "the update was handled before the webhook answered"
                )
                bad = await client.post(
                    "/tg", content=b"{not json", headers={SECRET_HEADER: SECRET}
                )
                assert bad.status_code == 400

                health = await client.get("/health")
                assert health.status_code == 200
                assert health.json() == {"database": "ok", "scheduler": "ok"}
                await app.stop()
                assert (await client.get("/health")).status_code == 503
        finally:
            http.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
            await engine.dispose()
    lines = [r for r in caplog.records if r.name == "bot.updates"]
    assert [(r.role, r.handler) for r in lines] == [("referent", "/help")]  # type: ignore[attr-defined]
    assert all("Sophie" not in r.getMessage() and "100" not in r.getMessage() for r in lines)
