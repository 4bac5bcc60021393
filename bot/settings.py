"""One settings object, read from ``ACTIVUP_*`` environment variables and an optional ``.env``.

Loaded once in ``main`` and passed down, so tests can build their own without touching
the process environment.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{Path.cwd() / 'activup.sqlite3'}"


class Settings(BaseSettings):
    """What an operator may configure; everything has a working default except the token."""

    model_config = SettingsConfigDict(
        env_prefix="ACTIVUP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    database_url: str = Field(default_factory=lambda: DEFAULT_DATABASE_URL)
    timezone: str = "Europe/Brussels"
    default_language: str = "fr"
    invite_days: int = 14
    bot_username: str = ""
    qr_dir: Path = Path("invites")
    outbox_lease_seconds: float = 60.0
    # Outbox sends on their way to Telegram at once: 30 a second at 50-200 ms each needs
    # 2 to 6; a crash may double up to this many (Telegram has no idempotency key).
    outbox_in_flight: int = 8
    # Updates handled at once (different chats; one chat's always in order).
    updates_at_once: int = 128
    dispatcher_enabled: bool = True
    # An attendance sheet is edited at most this often while a referent taps through it.
    sheet_redraw_seconds: float = 0.5
    # Telegram's documented limit; raising it is for tests against the fake server only.
    telegram_messages_per_second: int = 30
    # Webhook mode (``activup run --webhook``), behind a reverse proxy that terminates TLS.
    webhook_url: str = ""  # the public HTTPS URL Telegram posts to, e.g. https://bot.example.be/tg
    webhook_secret: str = ""  # 1-256 of A-Z a-z 0-9 _ -, sent back by Telegram in a header
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_path: str = "telegram"
    log_format: str = "json"  # or "text"
    retention_months: int = 12  # participants with no session this long are anonymised
    # During a database outage, how often the bot checks whether the database is back.
    database_watch_seconds: float = 5.0

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        url = async_database_url(value)
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "use sqlite:///path/to/file.sqlite3 or postgresql://user@host/database"
            )
        return url

    @field_validator("default_language")
    @classmethod
    def _shipped_language(cls, value: str) -> str:
        from bot.i18n import LANGUAGE_CODES

        if value not in LANGUAGE_CODES:
            raise ValueError(
                f"unknown language {value!r}; one of {', '.join(sorted(LANGUAGE_CODES))}"
            )
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def async_database_url(url: str) -> str:
    """Accept the URLs operators write by habit and pick the async driver we ship."""
    if url.startswith("sqlite:///") or url == "sqlite://":
        return "sqlite+aiosqlite" + url[len("sqlite") :]
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
