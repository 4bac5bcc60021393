"""``activup``: run the bot and administer the programme from a terminal.

Each subcommand works in one transaction: on bad input (a value out of range, a file
that cannot be written, a database or a Telegram that cannot be reached) it prints one
line, exits with status 2 and leaves no half-written row.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from alembic.util.exc import CommandError
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import enrolment, organisation
from bot.core.calendars import CalendarError, CalendarErrorKind
from bot.core.clock import Clock, SystemClock
from bot.core.organisation import OrganisationError
from bot.core.schedule import ImportSummary
from bot.i18n import LANGUAGE_CODES
from bot.qr import deep_link, qr_png
from bot.settings import Settings
from storage import migrate, reachable
from storage.db import make_engine, make_sessionmaker, unit_of_work

log = logging.getLogger("activup")

TOKEN_HELP = (
    "ACTIVUP_TELEGRAM_TOKEN is not set: open @BotFather in Telegram, send /newbot, and put "
    "the token it gives in ACTIVUP_TELEGRAM_TOKEN (environment or .env)."
)


class CliError(Exception):
    """A refusal to print as one line, with exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments: one line and status 2, like every other refusal (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _bounded_int(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer in ``low..high``; beyond, the database would overflow."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} is {low} to {high}")
        return value

    return parse


# Telegram user ids have at most 52 significant bits; row ids are 32-bit integers.
telegram_id = _bounded_int(1, 2**52, "a Telegram id")
row_id = _bounded_int(1, 2**31 - 1, "an id")


def _writable(path_text: str) -> Path:
    """Refuse, before anything is changed, a file that cannot be written."""
    path = Path(path_text)
    if path.is_dir():
        raise CliError(f"{path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise CliError(f"no folder {path.parent} to write {path.name} in")
    return path


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _telegram_username(settings: Settings) -> str:
    """Ask Telegram who the bot is; a refusal or no answer is one line, never the token."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError

    where = settings.telegram_api_url

    async def get_me() -> str:
        bot = Bot(settings.telegram_token, base_url=settings.telegram_api_url)
        async with bot:
            return bot.username

    try:
        return asyncio.run(get_me())
    except InvalidToken:
        raise CliError("Telegram refused the token (check ACTIVUP_TELEGRAM_TOKEN)") from None
    except NetworkError:  # timeouts included
        raise CliError(f"cannot reach Telegram at {where}") from None
    except TelegramError as exc:
        raise CliError(f"Telegram answered: {exc.message}") from None


def configure_logging(verbose: bool = False, log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        from bot.logs import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    # httpx logs request URLs at INFO, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # python-telegram-bot logs whole updates (names, texts) at DEBUG.
    if not verbose:
        logging.getLogger("telegram").setLevel(logging.INFO)


def _run_in_session(settings: Settings, action: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Migrate, then run ``action`` in one transaction committed only if it returns."""

    async def runner() -> Any:
        engine = make_engine(settings.database_url)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                session.sync_session.info["actor"] = "cli"  # the audit log's "who"
                result = await action(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    migrate.upgrade(settings.database_url)
    return asyncio.run(runner())


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    if not settings.telegram_token:
        raise CliError(TOKEN_HELP)
    from bot.runner import run_bot

    _telegram_username(settings)

    if args.webhook:
        if not settings.webhook_url.startswith("https://"):
            raise CliError("--webhook needs ACTIVUP_WEBHOOK_URL, the public https:// address")
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", settings.webhook_secret):
            raise CliError(
                "--webhook needs ACTIVUP_WEBHOOK_SECRET: 16 to 256 characters of A-Z a-z 0-9 _ -"
            )
    # After a reboot the bot may start before PostgreSQL: wait for it, in one line.
    reachable.wait_for_database(settings.database_url, say=lambda line: log.warning("%s", line))
    migrate.upgrade(settings.database_url)
    run_bot(settings, webhook=args.webhook, poll=not args.no_polling)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from bot.demo.serve import run_demo

    if not args.verbose:
        # The page is the demo's output; the log keeps warnings and errors only.
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("telegram").setLevel(logging.WARNING)
    if not 0 < args.port < 65536:
        raise CliError("--port is 1 to 65535")
    try:
        run_demo(settings, host=args.host, port=args.port, database_url=args.database_url)
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        raise CliError(f"cannot serve the demo on {where}: {exc.strerror}") from None


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    try:
        migrate.upgrade(settings.database_url, args.revision)
    except CommandError as exc:
        raise CliError(f"cannot upgrade to {args.revision!r}: {exc}") from None
    print(f"database at revision {args.revision}")


def cmd_staff_add(settings: Settings, args: argparse.Namespace) -> None:
    async def action(session: AsyncSession) -> str:
        staff = await organisation.add_staff(
            session,
            telegram_user_id=args.telegram_id,
            name=args.name,
            role=args.role,
            now=SystemClock().now(),
        )
        return f"staff #{staff.id} added: {staff.name} ({staff.role})"

    print(_run_in_session(settings, action))


def cmd_staff_role(settings: Settings, args: argparse.Namespace) -> None:
    async def action(session: AsyncSession) -> str:
        staff = await organisation.set_role(
            session, telegram_user_id=args.telegram_id, role=args.role
        )
        return f"staff #{staff.id} {staff.name}: role {staff.role}"

    print(_run_in_session(settings, action))


def cmd_staff_active(settings: Settings, args: argparse.Namespace) -> None:
    async def action(session: AsyncSession) -> str:
        staff = await organisation.set_active(
            session, telegram_user_id=args.telegram_id, active=args.active
        )
        return f"staff #{staff.id} {staff.name}: {'active' if staff.active else 'deactivated'}"

    print(_run_in_session(settings, action))


def cmd_group_create(settings: Settings, args: argparse.Namespace) -> None:
    async def action(session: AsyncSession) -> str:
        group = await organisation.create_group(
            session,
            module=args.module,
            name=args.name,
            referent_telegram_id=args.referent,
            now=SystemClock().now(),
        )
        return f"group #{group.id} created: {group.name}"

    print(_run_in_session(settings, action))


def cmd_modules(settings: Settings, args: argparse.Namespace) -> None:
    async def action(session: AsyncSession) -> list[str]:
        lines = []
        for module, groups in await organisation.list_groups(session):
            lines.append(f"{module.code:<10} {module.name}")
            for group in groups:
                lines.append(
                    f"    {group.name}  (referent: {group.referent_name}, "
                    f"{group.members} participant(s))"
                )
            if not groups:
                lines.append("    (no group yet)")
        return lines

    print("\n".join(_run_in_session(settings, action)))


def _bot_username(settings: Settings) -> str:
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    if not settings.telegram_token:
        raise CliError(
            "set ACTIVUP_BOT_USERNAME (or ACTIVUP_TELEGRAM_TOKEN) to build the invite link"
        )
    return _telegram_username(settings)


def cmd_invite_create(settings: Settings, args: argparse.Namespace) -> None:
    first_name = enrolment.clean_first_name(args.name)
    if first_name is None:
        raise CliError("the name must be a first name and initial, 1 to 40 characters")
    chosen = _writable(args.out) if args.out else None
    username = _bot_username(settings)

    async def action(session: AsyncSession) -> tuple[enrolment.CreatedInvite, str, Path]:
        group = await organisation.find_group(session, args.group)
        if group.closed_at is not None:
            raise OrganisationError(f"group {group.name!r} is closed")
        created = await enrolment.create_invite(
            session,
            group_id=group.id,
            first_name=first_name,
            created_by_id=None,
            now=SystemClock().now(),
            valid_days=args.days or settings.invite_days,
        )
        # The QR code is written before the invite is committed: no invite without its code.
        link = deep_link(username, created.token)
        out = chosen or settings.qr_dir / f"invite-{created.info.invite_id}.png"
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"cannot create the folder {out.parent}: {exc.strerror}") from None
        _write(out, qr_png(link))
        return created, link, out

    created, link, out = _run_in_session(settings, action)
    print(link)
    print(f"QR code: {out}")
    print(f"valid until {created.info.expires_at.astimezone(settings.tz):%Y-%m-%d %H:%M}, once")


CLOCK: Clock = SystemClock()
"""The time the calendar commands work at; tests and rehearsals set it."""


def describe_refusal(error: CalendarError) -> str:
    """Why a calendar was refused, in one line that names the event or the limit."""
    kind = error.kind
    if kind == CalendarErrorKind.MISSING_UID:
        if error.title and error.day:
            return f"event '{error.title}' on {error.day:%d %b %Y} has no UID"
        return f"event #{error.detail} has no UID"
    if kind == CalendarErrorKind.MALFORMED and error.title:
        return f"event '{error.title}' has an unreadable date or repeat rule"
    if kind == CalendarErrorKind.TOO_LARGE and error.limit:
        return f"larger than {error.limit} bytes"
    if kind == CalendarErrorKind.TOO_MANY_EVENTS and error.limit:
        return f"more than {error.limit} events"
    if kind == CalendarErrorKind.TOO_MANY_OCCURRENCES and error.limit:
        return f"more than {error.limit} sessions within a year"
    if kind == CalendarErrorKind.ALL_DAY:
        return "only all-day events, no session with a time"
    return str(error)


def describe_import(summary: ImportSummary, *, dry_run: bool) -> list[str]:
    """What an import changes (or would change), then what it left out and why."""
    verb = "will be told" if dry_run else "told"
    lines = [
        f"{summary.created} new, {summary.moved} moved, {summary.cancelled} cancelled, "
        f"{summary.updated} updated, {summary.unchanged} unchanged; "
        f"{summary.told} participants {verb}"
    ]
    if summary.removed_series:
        lines.append(
            "series no longer in the file, cancelled: " + ", ".join(summary.removed_series)
        )
    if summary.all_day:
        titles = ", ".join(e.title or e.uid for e in summary.all_day)
        lines.append(f"{len(summary.all_day)} all-day events left out (no time): {titles}")
    for event in summary.all_day_on_session_days:
        lines.append(
            f"all-day '{event.title}' ({event.first_day} - {event.last_day}) "
            "falls on days with sessions of this group"
        )
    if summary.merged_uids:
        lines.append(f"{len(summary.merged_uids)} UIDs written with stray spaces, read as one")
    return lines


def cmd_calendar_import(settings: Settings, args: argparse.Namespace) -> None:
    from bot.core.calendar_sync import import_calendar

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None

    async def action(session: AsyncSession) -> str:
        group = await organisation.find_group(session, args.group)
        if group.closed_at is not None:
            raise OrganisationError(f"group {group.name!r} is closed")
        try:
            summary = await import_calendar(
                session, group_id=group.id, data=data, now=CLOCK.now(), tz=settings.tz
            )
        except CalendarError as exc:
            raise CliError(f"calendar refused: {describe_refusal(exc)}") from None
        lines = describe_import(summary, dry_run=args.dry_run)
        name = group.name
        if args.dry_run:
            await session.rollback()
            name = f"{name} (dry run, nothing changed)"
        lines[0] = f"{name}: {lines[0]}"
        return "\n".join(lines)

    print(_run_in_session(settings, action))


def cmd_calendar_export(settings: Settings, args: argparse.Namespace) -> None:
    from datetime import timedelta

    from bot.core.calendar_sync import export_calendar

    out = None if args.out == "-" else _writable(args.out)

    async def action(session: AsyncSession) -> bytes:
        group = await organisation.find_group(session, args.group)
        since = SystemClock().now() - timedelta(days=args.days_back)
        return await export_calendar(session, group_id=group.id, tz=settings.tz, since=since)

    data: bytes = _run_in_session(settings, action)
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        _write(out, data)
        print(f"calendar written to {out}")


def cmd_module_plan(settings: Settings, args: argparse.Namespace) -> None:
    from bot.core.outbox import module_plan, plan_coming
    from bot.core.reminder_plan import ReminderPlan

    if args.plan is not None:
        try:
            parsed = ReminderPlan.parse(args.plan)
        except ValueError as exc:
            raise CliError(f"bad reminder plan: {exc}") from None

    async def action(session: AsyncSession) -> str:
        module = await organisation.find_module(session, args.module)
        if args.plan is not None:
            module.reminder_plan = parsed.to_text()
            await session.flush()
            await plan_coming(session, now=SystemClock().now(), tz=settings.tz)
        return f"{module.code}: {module_plan(module).to_text()}"

    print(_run_in_session(settings, action))


def cmd_feedback_questions(settings: Settings, args: argparse.Namespace) -> None:
    from bot.core.feedback import FACES, QUESTIONS, module_questions, parse_questions

    if args.set is not None:
        try:
            questions = parse_questions(args.set)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.scale is not None and args.scale not in FACES:
        raise CliError("the scale has 4 or 5 faces")
    if args.delay is not None and not 0 <= args.delay <= 24 * 60:
        raise CliError("the delay is 0 to 1440 minutes after the end of the session")

    async def action(session: AsyncSession) -> str:
        module = await organisation.find_module(session, args.module)
        if args.set is not None:
            module.feedback_questions = ",".join(questions)
        if args.scale is not None:
            module.feedback_scale = args.scale
        if args.delay is not None:
            module.feedback_delay_minutes = args.delay
        return (
            f"{module.code}: questions {','.join(module_questions(module))} "
            f"(known: {', '.join(QUESTIONS)}), {module.feedback_scale} faces, "
            f"asked {module.feedback_delay_minutes} min after the end"
        )

    print(_run_in_session(settings, action))


def cmd_participant_set(settings: Settings, args: argparse.Namespace) -> None:
    async def action(session: AsyncSession) -> str:
        await organisation.set_participant_facts(
            session,
            participant_id=args.id,
            gender=args.gender,
            birth_year=args.birth_year,
            nationality_group=args.nationality_group,
            now_year=SystemClock().now().year,
        )
        return f"participant #{args.id} updated"

    print(_run_in_session(settings, action))


def cmd_participant_move(settings: Settings, args: argparse.Namespace) -> None:
    async def action(session: AsyncSession) -> str:
        group = await organisation.move_participant(
            session, participant_id=args.id, to_group=args.to, now=SystemClock().now()
        )
        return f"participant #{args.id} now in {group.name}"

    print(_run_in_session(settings, action))


def cmd_group_change(settings: Settings, args: argparse.Namespace) -> None:
    async def action(session: AsyncSession) -> str:
        if args.group_command == "rename":
            group = await organisation.rename_group(session, name=args.name, new_name=args.to)
            return f"group renamed: {group.name}"
        if args.group_command == "assign":
            group = await organisation.assign_referent(
                session, name=args.name, referent_telegram_id=args.referent
            )
            return f"group {group.name}: new referent"
        group = await organisation.close_group(session, name=args.name, now=SystemClock().now())
        return f"group {group.name} closed"

    print(_run_in_session(settings, action))


def cmd_participant_erase(settings: Settings, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from bot.core import privacy
    from storage.models import Participant

    async def action(session: AsyncSession) -> str:
        query = select(Participant.id)
        if args.id is not None:
            query = query.where(Participant.id == args.id)
        else:
            query = query.where(Participant.telegram_user_id == args.telegram_id)
        participant_id = await session.scalar(query)
        if participant_id is None or not await privacy.erase(
            session, participant_id, now=SystemClock().now()
        ):
            raise CliError("no such participant, or already erased")
        return f"participant #{participant_id} erased: name and Telegram ids deleted"

    print(_run_in_session(settings, action))


def cmd_retention(settings: Settings, args: argparse.Namespace) -> None:
    from bot.core import privacy

    async def action(session: AsyncSession) -> str:
        erased = await privacy.apply_retention(
            session, now=SystemClock().now(), months=settings.retention_months
        )
        return f"{erased} inactive participant(s) anonymised"

    print(_run_in_session(settings, action))


def cmd_report(settings: Settings, args: argparse.Namespace) -> None:
    from datetime import date, datetime, time, timedelta

    from sqlalchemy import select

    from bot.core.reports import build_report
    from bot.i18n import translations
    from bot.report_files import summary_csv, workbook
    from storage.models import Role, Staff

    try:
        first_day = date.fromisoformat(args.date_from)
        last_day = date.fromisoformat(args.date_to)
    except ValueError:
        raise CliError("dates are YYYY-MM-DD") from None
    if not date(2000, 1, 1) <= first_day <= last_day <= date(2099, 12, 31):
        raise CliError("--from and --to are dates from 2000 to 2099, --from first")
    first = datetime.combine(first_day, time(0), settings.tz)
    last = datetime.combine(last_day, time(0), settings.tz)
    out = _writable(args.out)

    async def action(session: AsyncSession) -> bytes:
        if args.with_names:
            admin = await session.scalar(
                select(Staff).where(
                    Staff.telegram_user_id == (args.admin or -1),
                    Staff.role == Role.ADMIN,
                    Staff.active.is_(True),
                )
            )
            if admin is None:
                raise CliError("--with-names needs --admin TELEGRAM_ID of an active admin")
        report = await build_report(
            session,
            start=first,
            end=last + timedelta(days=1),
            with_names=args.with_names,
            now=SystemClock().now(),
        )
        t = translations(args.language or settings.default_language)
        if args.format == "xlsx":
            return workbook(report, settings.tz, t)
        return summary_csv(report, t)

    data: bytes = _run_in_session(settings, action)
    _write(out, data)
    print(f"report written to {out}")


def cmd_audit(settings: Settings, args: argparse.Namespace) -> None:
    from datetime import date, datetime, time

    from sqlalchemy import select

    from storage.models import AuditEntry

    try:
        day = date.fromisoformat(args.since)
    except ValueError:
        raise CliError("--since is a date, YYYY-MM-DD") from None
    if not date(2000, 1, 1) <= day <= date(2099, 12, 31):
        raise CliError("--since is a date from 2000 to 2099")
    since = datetime.combine(day, time(0), settings.tz)

    async def action(session: AsyncSession) -> list[str]:
        entries = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.at >= since)
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ).all()
        return [
            f"{e.at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}  {e.actor:<14} {e.action:<6} "
            f"{e.target:<20} before={e.before or '-'} after={e.after or '-'}"
            for e in entries
        ]

    lines: list[str] = _run_in_session(settings, action)
    print("\n".join(lines) if lines else "no audited change since then")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="activup", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the bot (long polling by default)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--webhook", action="store_true", help="serve Telegram's webhook instead")
    mode.add_argument(
        "--no-polling",
        action="store_true",
        help="send reminders only (a second instance beside the one that polls)",
    )
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser(
        "demo", help="try the bot in a browser: no token, no network (a simulated Telegram)"
    )
    demo.add_argument("--port", type=int, default=8080, help="the page's port (default 8080)")
    demo.add_argument("--host", default="127.0.0.1", help="the page's address")
    demo.add_argument(
        "--database-url", default=None, help="a database to use instead of a temporary one"
    )
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply the migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    staff = sub.add_parser("staff", help="staff members")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="add a staff member")
    add.add_argument("--telegram-id", type=telegram_id, required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=["referent", "lead", "admin"])
    add.set_defaults(func=cmd_staff_add)
    role = staff_sub.add_parser("role", help="change a staff member's role")
    role.add_argument("--telegram-id", type=telegram_id, required=True)
    role.add_argument("--role", required=True, choices=["referent", "lead", "admin"])
    role.set_defaults(func=cmd_staff_role)
    deactivate = staff_sub.add_parser("deactivate", help="stop a staff member's access now")
    deactivate.add_argument("--telegram-id", type=telegram_id, required=True)
    deactivate.set_defaults(func=cmd_staff_active, active=False)
    reactivate = staff_sub.add_parser("reactivate", help="give a staff member access again")
    reactivate.add_argument("--telegram-id", type=telegram_id, required=True)
    reactivate.set_defaults(func=cmd_staff_active, active=True)

    group = sub.add_parser("group", help="groups")
    group_sub = group.add_subparsers(dest="group_command", required=True)
    create = group_sub.add_parser("create", help="create a group in a module")
    create.add_argument("--module", required=True, help="insertion, benevolat, start, or name")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--referent", type=telegram_id, required=True, help="referent's Telegram id"
    )
    create.set_defaults(func=cmd_group_create)
    rename = group_sub.add_parser("rename", help="rename a group")
    rename.add_argument("--name", required=True)
    rename.add_argument("--to", required=True)
    rename.set_defaults(func=cmd_group_change)
    assign = group_sub.add_parser("assign", help="give a group another referent")
    assign.add_argument("--name", required=True)
    assign.add_argument(
        "--referent", type=telegram_id, required=True, help="referent's Telegram id"
    )
    assign.set_defaults(func=cmd_group_change)
    close = group_sub.add_parser("close", help="close a finished group (members completed)")
    close.add_argument("--name", required=True)
    close.set_defaults(func=cmd_group_change)

    invite = sub.add_parser("invite", help="invites")
    invite_sub = invite.add_subparsers(dest="invite_command", required=True)
    inv = invite_sub.add_parser("create", help="create an invite link and its QR code")
    inv.add_argument("--group", required=True)
    inv.add_argument("--name", required=True, help="first name and initial")
    inv.add_argument(
        "--days", type=_bounded_int(1, 365, "--days"), default=None, help="days of validity"
    )
    inv.add_argument("--out", default=None, help="where to write the QR-code PNG")
    inv.set_defaults(func=cmd_invite_create)

    calendar = sub.add_parser("calendar", help="module calendars (iCalendar)")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True)
    imp = calendar_sub.add_parser("import", help="import an .ics file into a group")
    imp.add_argument("file")
    imp.add_argument("--group", required=True)
    imp.add_argument(
        "--dry-run", action="store_true", help="print what would change, change nothing"
    )
    imp.set_defaults(func=cmd_calendar_import)
    exp = calendar_sub.add_parser("export", help="export a group's sessions as .ics")
    exp.add_argument("--group", required=True)
    exp.add_argument("--out", default="-", help="file to write, or - for standard output")
    exp.add_argument(
        "--days-back",
        type=_bounded_int(0, 3650, "--days-back"),
        default=30,
        help="past days to include",
    )
    exp.set_defaults(func=cmd_calendar_export)

    module = sub.add_parser("module", help="a module's settings")
    module_sub = module.add_subparsers(dest="module_command", required=True)
    plan = module_sub.add_parser("plan", help="show or set a module's reminder plan")
    plan.add_argument("--module", required=True)
    plan.add_argument(
        "--plan",
        default=None,
        help='e.g. "d-1@18:00,-2h;quiet=21:00-08:00" (the day before at 18:00, 2 h before)',
    )
    plan.set_defaults(func=cmd_module_plan)

    fb = sub.add_parser("feedback", help="feedback after collective activities")
    fb_sub = fb.add_subparsers(dest="feedback_command", required=True)
    fq = fb_sub.add_parser("questions", help="show or set a module's feedback questions")
    fq.add_argument("--module", required=True)
    fq.add_argument("--set", default=None, help="1 to 3 of: how,learned,welcome,useful,again")
    fq.add_argument("--scale", type=row_id, default=None, help="4 or 5 faces")
    fq.add_argument(
        "--delay",
        type=_bounded_int(0, 24 * 60, "--delay"),
        default=None,
        help="minutes after the end",
    )
    fq.set_defaults(func=cmd_feedback_questions)

    participant = sub.add_parser("participant", help="participants")
    participant_sub = participant.add_subparsers(dest="participant_command", required=True)
    erase = participant_sub.add_parser("erase", help="erase a participant's personal data")
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--id", type=row_id, default=None)
    who.add_argument("--telegram-id", type=telegram_id, default=None)
    erase.set_defaults(func=cmd_participant_erase)
    pset = participant_sub.add_parser(
        "set", help="optional figures for the funder (entered by staff, never asked by the bot)"
    )
    pset.add_argument("--id", type=row_id, required=True)
    pset.add_argument("--gender", default=None, help="f, m or x ('' clears)")
    pset.add_argument(
        "--birth-year", type=_bounded_int(0, 9999, "--birth-year"), default=None, help="0 clears"
    )
    pset.add_argument("--nationality-group", default=None, help="e.g. 'Afrique de l'Est'")
    pset.set_defaults(func=cmd_participant_set)
    move = participant_sub.add_parser("move", help="move a participant to another group")
    move.add_argument("--id", type=row_id, required=True)
    move.add_argument("--to", required=True, help="the target group")
    move.set_defaults(func=cmd_participant_move)
    retention = sub.add_parser("retention", help="anonymise the inactive now (runs nightly)")
    retention.set_defaults(func=cmd_retention)

    report = sub.add_parser("report", help="the figures for the funder, as XLSX or CSV")
    report.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD, included")
    report.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    report.add_argument("--out", required=True)
    report.add_argument("--with-names", action="store_true", help="first names (admins only)")
    report.add_argument("--admin", type=telegram_id, default=None, help="the admin's Telegram id")
    report.add_argument(
        "--language",
        choices=sorted(LANGUAGE_CODES),
        default=None,
        help="language of headers and labels (default: ACTIVUP_DEFAULT_LANGUAGE)",
    )
    report.set_defaults(func=cmd_report)

    audit = sub.add_parser("audit", help="print the staff actions that changed data")
    audit.add_argument("--since", required=True, help="YYYY-MM-DD")
    audit.set_defaults(func=cmd_audit)

    modules = sub.add_parser("modules", help="list modules and groups")
    modules.set_defaults(func=cmd_modules)
    return parser


def _not_utf8(argv: Sequence[str]) -> str | None:
    """The first argument that is not UTF-8 (Python keeps such bytes as lone surrogates)."""
    for value in argv:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("ascii", "replace")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    bad = _not_utf8(arguments)
    if bad is not None:
        print(f"activup: {bad!r} is not valid UTF-8 text", file=sys.stderr)
        return 2
    args = build_parser().parse_args(arguments)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"activup: bad setting {first['loc'][0]}: {first['msg']}", file=sys.stderr)
        return 2
    # JSON lines for the service (`run`); plain text for a person at the terminal.
    configure_logging(args.verbose, settings.log_format if args.command == "run" else "text")
    folder = reachable.missing_folder(settings.database_url)
    if folder is not None:
        print(f"activup: no folder {folder} for the SQLite database", file=sys.stderr)
        return 2
    try:
        args.func(settings, args)
    except (CliError, OrganisationError) as exc:
        print(f"activup: {exc}", file=sys.stderr)
        return 2
    except (DBAPIError, ArgumentError, NoSuchModuleError) as exc:
        # The database cannot be opened, or refused a value: one line, nothing written.
        print(f"activup: {reachable.describe(exc, settings.database_url)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
