"""Is the database there? Wait for a server that does not answer yet; say in one line
what is wrong with one that cannot be used (a missing folder, database or role).

``activup run`` starts before PostgreSQL does after a reboot: it waits, with back-off,
instead of exiting with a traceback and leaving nothing to send the reminders.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

# The server answered, and refused: waiting will not help.
_REFUSALS = ("does not exist", "authentication failed", "no pg_hba.conf", "permission denied")


def where(url: str) -> str:
    """host:port/database, or the SQLite file: never the password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "an unreadable URL"
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or "memory"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def server_address(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def _reason(error: BaseException) -> str:
    """The server's own words, on one line (psycopg puts "FATAL:" before them)."""
    source = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(source).splitlines() if line.strip()]
    for line in lines:
        if "FATAL:" in line:
            return line.split("FATAL:", 1)[1].strip()
    return lines[0] if lines else type(error).__name__


def missing_folder(url: str) -> str | None:
    """The folder a SQLite file should be in, when it is not there (checked before
    connecting: SQLite would only say "unable to open database file")."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    folder = Path(database).parent
    return None if folder.is_dir() else str(folder)


def not_answering(error: BaseException) -> bool:
    """A PostgreSQL server that is down or starting: worth waiting for."""
    if not isinstance(error, DBAPIError) or not isinstance(error.orig, Exception):
        return False
    module = type(error.orig).__module__
    return module.startswith("psycopg") and not any(
        part in _reason(error).lower() for part in _REFUSALS
    )


def describe(error: BaseException, url: str) -> str:
    """One line for the operator about a database that cannot be used."""
    if isinstance(error, NoSuchModuleError | ArgumentError):
        return "ACTIVUP_DATABASE_URL is not a database URL (sqlite:///path or postgresql://...)"
    if isinstance(error, DBAPIError) and not isinstance(error, OperationalError | InterfaceError):
        return f"the database refused the change: {_reason(error)}"
    if url.startswith("sqlite"):
        return (
            f"cannot open the SQLite database {where(url)} ({_reason(error)}): is its folder there?"
        )
    if not_answering(error):
        return f"the database server at {server_address(url)} does not answer"
    return f"cannot use the database at {where(url)}: {_reason(error)}"


async def _probe(url: str) -> None:
    # A host that drops packets must not hold the probe forever: give up after 10 s.
    timeout = {"connect_timeout": 10} if url.startswith("postgresql") else {}
    engine = create_async_engine(url, poolclass=NullPool, connect_args=timeout)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def wait_for_database(
    url: str,
    *,
    say: Callable[[str], None],
    first_delay: float = 1.0,
    longest_delay: float = 30.0,
) -> None:
    """Return once the database answers; while its server does not, say so once and retry
    with back-off. A database that answers with a refusal raises at once."""
    delay = first_delay
    said = False
    while True:
        try:
            asyncio.run(_probe(url))
            return
        except SQLAlchemyError as exc:
            if not not_answering(exc):
                raise
        if not said:
            say(f"waiting for the database at {server_address(url)}…")
            said = True
        time.sleep(delay)
        delay = min(longest_delay, delay * 2)
