"""Webhook mode: the secret token is checked, updates are handled, health is reported."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

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


def unreachable_url(database_url: str, tmp_path: Path) -> str:
    """A database of the same kind that does not answer: a missing folder, a closed port."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'db.sqlite3'}"
    return "postgresql+psycopg://postgres@127.0.0.1:9/activup?connect_timeout=2"


@asynccontextmanager
async def webhook_bot(database_url: str, clock) -> AsyncIterator[tuple[FakeTelegram, Any, Deps]]:
    """The bot behind its webhook server; yields the fake Telegram, an HTTP client, deps."""
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    async with FakeTelegram(token=TOKEN) as server:
        settings = Settings(
            telegram_token=TOKEN,
            telegram_api_url=server.base_url,
            telegram_file_url=server.base_file_url,
            database_url=database_url,
            webhook_secret=SECRET,
            dispatcher_enabled=False,
            database_watch_seconds=0.1,
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
            async with httpx.AsyncClient(
                base_url=base, headers={SECRET_HEADER: SECRET}, timeout=30
            ) as client:
                yield server, client, deps
        finally:
            http.stop()
            await app.stop()
            await app.shutdown()
            await engine.dispose()


async def test_a_replayed_update_is_acknowledged_and_answered_once(database_url: str, clock):
    async with webhook_bot(database_url, clock) as (server, client, _deps):
        body = json.dumps(_update(7, 100, "/help"))
        first = await client.post("/tg", content=body)
        replay = await client.post("/tg", content=body)
        assert (first.status_code, replay.status_code) == (200, 200)
        assert len(server.bot_messages(100)) == 1, "Telegram re-delivered it: one reply only"


async def test_an_update_that_met_a_database_outage_is_answered_500_then_handled_once(
    database_url: str, clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    async with webhook_bot(database_url, clock) as (server, client, deps):
        working = deps.sessionmaker
        down = make_engine(unreachable_url(database_url, tmp_path))
        deps.sessionmaker = make_sessionmaker(down)
        body = json.dumps(_update(8, 100, "/help"))
        try:
            failed = await client.post("/tg", content=body)
            again = await client.post("/tg", content=body)
        finally:
            deps.sessionmaker = working
            await down.dispose()
        assert (failed.status_code, again.status_code) == (500, 500), "Telegram will retry"
        apologies = [m["text"] for m in server.bot_messages(100)]
        assert all(text.startswith("😕") for text in apologies)

        delivered = await client.post("/tg", content=body)
        replay = await client.post("/tg", content=body)
        assert (delivered.status_code, replay.status_code) == (200, 200)
        answers = [m["text"] for m in server.bot_messages(100) if not m["text"].startswith("😕")]
        assert len(answers) == 1 and "Commandes de l'équipe" in answers[0]
    outage_lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(outage_lines) == 1 and "database unreachable" in outage_lines[0].getMessage()


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"x"', b"null", b"42", b'{"update_id": "x"}', b"[" * 100_000 + b"]" * 100_000],
    ids=["list", "string", "null", "number", "text-id", "nested"],
)
async def test_a_body_that_is_not_an_update_is_refused_with_one_line(
    database_url: str, clock, body: bytes, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG, logger="bot.webhook")
    async with webhook_bot(database_url, clock) as (server, client, _deps):
        caplog.clear()
        answer = await client.post("/tg", content=body)
        assert answer.status_code == 400
        assert server.bot_messages(100) == []
        # What the refusal logged (not what stopping the bot logs afterwards).
        during = list(caplog.records)
    refused = [r for r in during if r.levelno >= logging.INFO]
    assert len(refused) == 1 and refused[0].getMessage().startswith("bad update body")
    assert all(r.exc_info is None for r in caplog.records), "no traceback"


def _replace_file(path: Path, data: bytes) -> bytes:
    """Put ``data`` where the file was; returns what it held."""
    before = path.read_bytes()
    path.write_bytes(data)
    return before


async def test_health_queries_a_table_and_logs_an_outage_once_each_way(
    database_url: str, clock, caplog: pytest.LogCaptureFixture
):
    if not database_url.startswith("sqlite"):
        pytest.skip("replaces the SQLite file underneath the bot")
    caplog.set_level(logging.INFO, logger="bot.database_outage")
    path = Path(database_url.removeprefix("sqlite+aiosqlite:///"))
    async with webhook_bot(database_url, clock) as (_server, client, _deps):
        assert (await client.get("/health")).json()["database"] == "ok"
        saved = _replace_file(path, b"")  # an operator's mistake: an empty file in its place
        try:
            for _ in range(3):
                assert (await client.get("/health")).status_code == 503
        finally:
            _replace_file(path, saved)
        assert (await client.get("/health")).status_code == 200
    lines = [r for r in caplog.records if r.name == "bot.database_outage"]
    assert [r.levelname for r in lines] == ["ERROR", "WARNING"], (
        "one line as it starts, one as it ends"
    )
    assert "database back" in lines[1].getMessage()
