"""``activup run`` started before PostgreSQL answers: it says so once, waits, and starts.

The test never stops the shared PostgreSQL server: the bot is given a port on which
nothing listens yet, and the test later opens a TCP proxy there to the real server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot.simulator import FakeTelegram, spec_unavailable_reason
from tests.databases import PG_HOST_URL, PostgresTemplate

TOKEN = "123456:TEST-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def _proxy_to(host: str, port: int):  # type: ignore[no-untyped-def]
    async def forward(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter):
        server_reader, server_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(
            _pipe(client_reader, server_writer), _pipe(server_reader, client_writer)
        )

    return forward


async def test_the_bot_waits_for_postgresql_and_starts_once_it_answers(
    postgres_template: PostgresTemplate, tmp_path: Path
):
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    real = PG_HOST_URL.rsplit("@", 1)[1]  # 127.0.0.1:5432
    real_host, real_port = real.rsplit(":", 1)
    url = postgres_template.fresh(tmp_path)
    port = _free_port()
    later = url.replace(real, f"127.0.0.1:{port}")
    lines: list[str] = []
    async with FakeTelegram(token=TOKEN) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run",
            env={
                **os.environ,
                "ACTIVUP_TELEGRAM_TOKEN": TOKEN,
                "ACTIVUP_TELEGRAM_API_URL": server.base_url,
                "ACTIVUP_TELEGRAM_FILE_URL": server.base_file_url,
                "ACTIVUP_DATABASE_URL": later,
                "ACTIVUP_LOG_FORMAT": "text",
            },
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert process.stderr is not None

        waiting = f"waiting for the database at 127.0.0.1:{port}…"
        said_waiting = asyncio.Event()

        async def read_stderr() -> None:
            assert process.stderr is not None
            while line := await process.stderr.readline():
                lines.append(line.decode("utf-8", "replace"))
                if waiting in lines[-1]:
                    said_waiting.set()

        reader = asyncio.create_task(read_stderr())
        proxy = None
        try:
            await asyncio.wait_for(said_waiting.wait(), 60)
            assert server.requests_for("getUpdates") == [], "not started without its database"

            proxy = await asyncio.start_server(
                _proxy_to(real_host, int(real_port)), "127.0.0.1", port
            )
            await server.wait_for(lambda: bool(server.requests_for("getUpdates")), 60)
            amina = server.user(555, "Amina", language_code="fr")
            server.send_text(amina, "/help")
            await server.wait_for_bot_message(amina.id, count_before=0, timeout=30)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
            await reader
            if proxy is not None:
                proxy.close()
            postgres_template.drop(url)
    output = "".join(lines)
    assert output.count("waiting for the database") == 1, output
    assert "Traceback" not in output, output
