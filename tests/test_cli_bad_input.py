"""The command line under bad input: one line, exit status 2, no traceback, no change.

Each case runs a real command against a real database that holds a programme (staff, an
open and a closed group, a participant), and compares every table before and after.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import make_engine, make_sessionmaker
from tests.core.factories import programme
from tests.databases import PG_HOST_URL, postgres_unavailable_reason

SETUP = [
    ["staff", "add", "--telegram-id", "100", "--name", "Sophie M.", "--role", "referent"],
    ["staff", "add", "--telegram-id", "900", "--name", "Admin", "--role", "admin"],
    ["group", "create", "--module", "start", "--name", "Home", "--referent", "100"],
    ["group", "create", "--module", "insertion", "--name", "Old", "--referent", "100"],
    ["group", "close", "--name", "Old"],
]
REPORT = ["report", "--from", "2026-09-01", "--to", "2026-12-31"]
INVITE = ["invite", "create", "--group", "Home", "--name", "Amina K."]
EXPORT = ["calendar", "export", "--group", "Home"]


def dump(database: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table."""
    with sqlite3.connect(database) as conn:
        tables = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith("sqlite_")
        ]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables}


@pytest.fixture
def programme_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    database = tmp_path / "cli.sqlite3"
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ACTIVUP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ACTIVUP_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("ACTIVUP_BOT_USERNAME", "activup_test_bot")
    for argv in SETUP:
        assert main(argv) == 0, argv

    async def one_participant() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        # A group of its own, so that the CLI's groups above stay as they are.
        await programme(
            make_sessionmaker(engine),
            datetime.now(UTC),
            participants=1,
            group="Other",
            referent_telegram_id=101,
        )
        await engine.dispose()

    asyncio.run(one_participant())
    (tmp_path / "folder").mkdir()
    (tmp_path / "fle.ics").write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    return database


BAD_INPUT = {
    "telegram id of 2**63": (
        ["staff", "add", "--telegram-id", str(2**63), "--name", "X", "--role", "lead"],
        "Telegram id",
    ),
    "telegram id of 10**23": (["staff", "deactivate", "--telegram-id", str(10**23)], "Telegram id"),
    "referent id of 2**63": (
        ["group", "create", "--module", "start", "--name", "G", "--referent", str(2**63)],
        "Telegram id",
    ),
    "admin id of 10**23": ([*REPORT, "--out", "r.xlsx", "--admin", str(10**23)], "Telegram id"),
    "non-UTF-8 staff name": (
        [
            "staff",
            "add",
            "--telegram-id",
            "5",
            "--name",
            b"\xff\xfe".decode("utf-8", "surrogateescape"),
            "--role",
            "lead",
        ],
        "UTF-8",
    ),
    "non-UTF-8 group name": (
        [
            "group",
            "rename",
            "--name",
            "Home",
            "--to",
            b"Caf\xe9".decode("utf-8", "surrogateescape"),
        ],
        "UTF-8",
    ),
    "report to 9999-12-31": (
        ["report", "--from", "2026-09-01", "--to", "9999-12-31", "--out", "r.xlsx"],
        "from 2000 to 2099",
    ),
    "report to a folder": ([*REPORT, "--out", "folder"], "is a folder"),
    "report to a missing folder": ([*REPORT, "--out", "missing/r.xlsx"], "no folder missing"),
    "calendar import into a closed group": (
        ["calendar", "import", "fle.ics", "--group", "Old"],
        "is closed",
    ),
    "calendar export to a missing folder": ([*EXPORT, "--out", "missing/x.ics"], "no folder"),
    "calendar export to a folder": ([*EXPORT, "--out", "folder"], "is a folder"),
    "calendar export 100000000 days back": ([*EXPORT, "--days-back", "-100000000"], "--days-back"),
    "invite for 10000000 days": ([*INVITE, "--days", "10000000"], "--days is 1 to 365"),
    "invite for -3 days": ([*INVITE, "--days", "-3"], "--days is 1 to 365"),
    "invite for 0 days": ([*INVITE, "--days", "0"], "--days is 1 to 365"),
    "invite QR code where no file can be": (
        [*INVITE, "--out", "/proc/nope/x.png"],
        "no folder /proc/nope",
    ),
    "move of a participant who does not exist": (
        ["participant", "move", "--id", "999", "--to", "Home"],
        "no participant #999",
    ),
    "erase of telegram id 10**20": (
        ["participant", "erase", "--telegram-id", str(10**20)],
        "Telegram id",
    ),
    "erase of id 2**40": (["participant", "erase", "--id", str(2**40)], "an id is"),
    "nationality group of 10000 characters": (
        ["participant", "set", "--id", "1", "--nationality-group", "x" * 10_000],
        "at most 40 characters",
    ),
    "audit since the year 1": (["audit", "--since", "0001-01-01"], "from 2000 to 2099"),
    "report to a file that cannot be written": (
        [*REPORT, "--out", "/dev/full"],
        "cannot write /dev/full",
    ),
    "db upgrade to nonsense": (["db", "upgrade", "nonsense"], "cannot upgrade to 'nonsense'"),
    "feedback delay of 10**20 minutes": (
        ["feedback", "questions", "--module", "start", "--delay", str(10**20)],
        "--delay",
    ),
    "birth year of 10**20": (
        ["participant", "set", "--id", "1", "--birth-year", str(10**20)],
        "--birth-year",
    ),
}


@pytest.mark.parametrize(("argv", "says"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_prints_one_line_exits_2_and_changes_nothing(
    programme_db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
):
    capsys.readouterr()
    before = dump(programme_db)
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse refuses a value before main returns
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2, captured
    assert len(lines) == 1 and says in lines[0], lines
    assert "Traceback" not in captured.out + captured.err
    assert dump(programme_db) == before


BAD_SETTINGS = {
    "default language xx": ({"ACTIVUP_DEFAULT_LANGUAGE": "xx"}, "unknown language 'xx'"),
    "a MySQL URL": ({"ACTIVUP_DATABASE_URL": "mysql://x@localhost/y"}, "sqlite:///"),
    "a SQLite file in a missing folder": (
        {"ACTIVUP_DATABASE_URL": "sqlite:////nonexistent/folder/a.sqlite3"},
        "no folder /nonexistent/folder",
    ),
    "a PostgreSQL server that is not there": (
        {"ACTIVUP_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/activup"},
        "127.0.0.1:9 does not answer",
    ),
}


@pytest.mark.parametrize(("env", "says"), BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_a_bad_setting_is_refused_in_one_line(
    programme_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    says: str,
):
    capsys.readouterr()
    before = dump(programme_db)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["modules"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], lines
    assert dump(programme_db) == before


@pytest.mark.parametrize(
    ("database", "says"),
    [("activup_no_such_database", "does not exist"), ("test", 'role "activup_nobody"')],
    ids=["missing database", "missing role"],
)
def test_a_postgresql_database_or_role_that_is_missing_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database: str, says: str
):
    reason = postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs PostgreSQL: {reason}")
    host = PG_HOST_URL.split("@", 1)[1]
    user = "activup_nobody" if database == "test" else "postgres"
    monkeypatch.setenv("ACTIVUP_DATABASE_URL", f"postgresql://{user}@{host}/{database}")
    assert main(["modules"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], lines


def _activup(
    *args: str | bytes, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    """The installed command, as an operator runs it (real argv bytes, real environment)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        timeout=60,
    )


def test_non_utf8_bytes_on_the_real_command_line_are_refused(programme_db: Path, tmp_path: Path):
    before = dump(programme_db)
    done = _activup(
        "staff", "add", "--telegram-id", "7", "--name", b"Am\xefna", "--role", "lead",
        env={"ACTIVUP_DATABASE_URL": f"sqlite:///{programme_db}"},
        cwd=tmp_path,
    )  # fmt: skip
    err = done.stderr.decode("utf-8", "replace").strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1 and "UTF-8" in err
    assert b"Traceback" not in done.stdout + done.stderr
    assert dump(programme_db) == before


def test_an_invite_when_telegram_cannot_be_reached_says_so_and_writes_nothing(
    programme_db: Path, tmp_path: Path
):
    before = dump(programme_db)
    env = {
        "ACTIVUP_DATABASE_URL": f"sqlite:///{programme_db}",
        "ACTIVUP_BOT_USERNAME": "",
        "ACTIVUP_TELEGRAM_TOKEN": "123456:SECRET-token",
        "ACTIVUP_TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
    }
    done = _activup(*INVITE, env=env, cwd=tmp_path)
    err = done.stderr.decode().strip()
    assert done.returncode == 2, err
    assert err == "activup: cannot reach Telegram at http://127.0.0.1:9/bot"
    assert b"SECRET" not in done.stdout + done.stderr
    assert dump(programme_db) == before


async def test_run_with_a_mistyped_token_or_no_network_says_which_never_the_token(
    tmp_path: Path,
):
    from bot.simulator import FakeTelegram, spec_unavailable_reason

    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    database = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    async with FakeTelegram(token="123456:TEST-token") as server:
        cases = {
            server.base_url: "activup: Telegram refused the token (check ACTIVUP_TELEGRAM_TOKEN)",
            "http://127.0.0.1:9/bot": "activup: cannot reach Telegram at http://127.0.0.1:9/bot",
        }
        for api_url, says in cases.items():
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run",
                env={
                    **os.environ,
                    "ACTIVUP_DATABASE_URL": database,
                    "ACTIVUP_TELEGRAM_TOKEN": "123456:MISTYPED-secret",
                    "ACTIVUP_TELEGRAM_API_URL": api_url,
                },
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(process.communicate(), timeout=60)
            assert process.returncode == 2, err
            assert err.decode().strip() == says
            assert b"MISTYPED" not in out + err
