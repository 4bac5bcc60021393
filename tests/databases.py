"""Real databases for the tests: SQLite always, PostgreSQL when it answers on 127.0.0.1:5432.

Migrations run once per test run into a template; each test gets a fresh copy (a file
copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL) and drops it after.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg

from storage import migrate

PG_ADMIN_DSN = os.environ.get("ACTIVUP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_HOST_URL = PG_ADMIN_DSN.rsplit("/", 1)[0]


def postgres_unavailable_reason() -> str | None:
    """None when PostgreSQL answers, else why the PostgreSQL tests skip."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL does not answer at {PG_ADMIN_DSN} ({first_line})"
    return None


def _admin_execute(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.sqlite3"
        migrate.upgrade(f"sqlite+aiosqlite:///{self.path}")

    def fresh(self, directory: Path) -> str:
        target = directory / f"db-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"

    def drop(self, url: str) -> None:
        Path(url.removeprefix("sqlite+aiosqlite:///")).unlink(missing_ok=True)

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


class PostgresTemplate:
    def __init__(self) -> None:
        self.run_id = uuid.uuid4().hex[:10]
        self.name = f"activup_tpl_{self.run_id}"
        _admin_execute(f'CREATE DATABASE "{self.name}"')
        migrate.upgrade(self.url(self.name))
        self._created: list[str] = []

    def url(self, name: str) -> str:
        return f"{PG_HOST_URL.replace('postgresql://', 'postgresql+psycopg://')}/{name}"

    def fresh(self, directory: Path) -> str:
        name = f"activup_t_{self.run_id}_{uuid.uuid4().hex[:8]}"
        _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        self._created.append(name)
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for name in self._created:
            _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
