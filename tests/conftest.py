"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when it answers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import SettableClock
from storage.db import make_engine, make_sessionmaker
from tests.databases import PostgresTemplate, SqliteTemplate, postgres_unavailable_reason

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteTemplate]:
    template = SqliteTemplate(tmp_path_factory.mktemp("sqlite"))
    yield template
    template.close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    reason = postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs PostgreSQL: {reason}")
    template = PostgresTemplate()
    yield template
    template.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database of each kind."""
    template: SqliteTemplate | PostgresTemplate
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
    else:
        template = request.getfixturevalue("postgres_template")
    url = template.fresh(tmp_path)
    yield url
    template.drop(url)


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> SettableClock:
    """Tuesday 1 December 2026, 10:00 in Brussels."""
    return SettableClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
