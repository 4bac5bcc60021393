"""The running demo: the simulated Telegram, the real bot, its database and the movable clock.

Why one object: the page acts as the people of the demo (a message typed, a button
tapped, an invite opened) and moves the clock; each of those is a user action on the
simulator or a change of time, never a shortcut into the bot.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import unicodedata
import wave
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot import dispatcher
from bot.app import BotApplication
from bot.context import Deps
from bot.core import enrolment, outbox
from bot.demo.clock import MovableClock
from bot.i18n import LANGUAGE_CODES, LANGUAGE_NAMES, format_day, format_time
from bot.simulator import FakeTelegram
from bot.simulator.models import JsonDict
from storage.db import unit_of_work
from storage.models import (
    Group,
    Membership,
    Module,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    Session,
    SessionStatus,
    Staff,
)

log = logging.getLogger(__name__)

FIRST_NEW_ACCOUNT = 3001
CLOCK_MOVES = ("hour", "reminder", "after")
MAX_CATCH_UP_STEPS = 500


class DemoError(Exception):
    """A refusal the page shows as it is (no such reminder, unknown account...)."""


@dataclass
class Account:
    """One phone: a staff member, or one or more participants sharing it."""

    telegram_id: int
    label: str
    kind: str  # "lead", "referent", "admin", "participant" or "new" (not enrolled yet)
    people: list[JsonDict] = field(default_factory=list)


@dataclass
class DemoWorld:
    server: FakeTelegram
    app: BotApplication
    deps: Deps
    clock: MovableClock
    _next_account: int = FIRST_NEW_ACCOUNT
    _reported_violations: int = 0

    # -- who is in the demo -------------------------------------------------------------

    async def accounts(self) -> list[Account]:
        """Staff first (team lead, referents), then participants' phones, then new phones."""
        found: dict[int, Account] = {}
        async with self.deps.sessionmaker() as db:
            for staff in (await db.scalars(select(Staff).order_by(Staff.id))).all():
                found[staff.telegram_user_id] = Account(
                    staff.telegram_user_id, staff.name, str(staff.role)
                )
            rows = (
                await db.execute(
                    select(Participant, Group.name)
                    .outerjoin(
                        Membership,
                        (Membership.participant_id == Participant.id)
                        & Membership.left_at.is_(None),
                    )
                    .outerjoin(Group, Group.id == Membership.group_id)
                    .where(
                        Participant.telegram_user_id.is_not(None),
                        Participant.status != ParticipantStatus.ERASED,
                    )
                    .order_by(Participant.id)
                )
            ).all()
        for participant, group_name in rows:
            telegram_id = participant.telegram_user_id
            assert telegram_id is not None
            account = found.setdefault(telegram_id, Account(telegram_id, "", "participant"))
            if any(p["id"] == participant.id for p in account.people):
                continue
            account.people.append(
                {
                    "id": participant.id,
                    "name": participant.first_name,
                    "language": participant.language,
                    "group": group_name,
                    "status": str(participant.status),
                }
            )
            account.label = " + ".join(p["name"] for p in account.people)
        for user_id, user in self.server.state.users.items():
            if user_id not in found:
                found[user_id] = Account(user_id, f"{user.first_name} (nouveau)", "new")
        order = {"lead": 0, "admin": 0, "referent": 1, "participant": 2, "new": 3}
        return sorted(found.values(), key=lambda a: (order.get(a.kind, 4), a.telegram_id))

    async def groups(self) -> list[JsonDict]:
        async with self.deps.sessionmaker() as db:
            rows = (
                await db.execute(
                    select(Group.id, Group.name, Module.name)
                    .join(Module, Module.id == Group.module_id)
                    .where(Group.closed_at.is_(None))
                    .order_by(Group.id)
                )
            ).all()
        return [{"id": gid, "name": name, "module": module} for gid, name, module in rows]

    def ensure_user(self, telegram_id: int, name: str, language: str | None) -> None:
        """Every account of the database also exists in the simulated Telegram."""
        if telegram_id not in self.server.state.users:
            self.server.user(telegram_id, name.split()[0], language_code=language)

    # -- what a phone shows -------------------------------------------------------------

    def chat(self, telegram_id: int) -> JsonDict:
        """The chat as the person sees it: both sides, edits applied, buttons and toasts."""
        if telegram_id not in self.server.state.users:
            raise DemoError(f"no account {telegram_id}")
        messages = [self.render_message(m) for m in self.server.messages(telegram_id)]
        keyboard = self.server.reply_keyboard(telegram_id)
        toasts = [
            {"id": query_id, "text": answer.get("text", ""), "alert": answer.get("show_alert")}
            for query_id, answer in self.server.callback_answers.items()
            if self.server.state.callback_queries[query_id].user_id == telegram_id
            and answer.get("text")
        ]
        rows = (keyboard or {}).get("keyboard") or []
        return {
            "messages": messages,
            "keyboard": [[_button_text(b) for b in row] for row in rows],
            "toasts": toasts[-5:],
        }

    def render_message(self, data: JsonDict) -> JsonDict:
        text = data.get("text") or data.get("caption") or ""
        shown: JsonDict = {
            "id": data["message_id"],
            "from_bot": bool(data.get("from", {}).get("is_bot")),
            "time": self._local_time(data.get("edit_date") or data["date"]),
            "edited": "edit_date" in data,
            "paragraphs": [{"text": p, "dir": direction(p)} for p in text.split("\n")],
            "dir": direction(text),
        }
        if "photo" in data:
            shown["photo"] = f"/files/{data['photo'][-1]['file_id']}"
        if "document" in data:
            document = data["document"]
            shown["document"] = {
                "url": f"/files/{document['file_id']}",
                "name": document.get("file_name") or "document",
            }
        if "voice" in data:
            shown["voice"] = f"/files/{data['voice']['file_id']}"
        venue = data.get("venue")
        location = venue["location"] if venue else data.get("location")
        if location:
            shown["venue"] = {
                "title": venue["title"] if venue else "",
                "address": venue["address"] if venue else "",
                "latitude": location["latitude"],
                "longitude": location["longitude"],
            }
        markup = data.get("reply_markup") or {}
        shown["buttons"] = [
            [{"text": b["text"], "data": b.get("callback_data"), "url": b.get("url")} for b in row]
            for row in markup.get("inline_keyboard", [])
        ]
        return shown

    def _local_time(self, unix_time: int) -> str:
        tz = self.deps.settings.tz
        return datetime.fromtimestamp(unix_time, tz).strftime("%d/%m %H:%M")

    def file(self, file_id: str) -> tuple[bytes, str, str | None]:
        """Content, MIME type and file name of a file the bot sent."""
        stored = self.server.state.files.get(file_id)
        if stored is None:
            raise DemoError("no such file")
        mime_type = stored.mime_type or "application/octet-stream"
        if stored.content.startswith(b"RIFF") and stored.content[8:12] == b"WAVE":
            mime_type = "audio/wav"  # the demo's stand-in voice notes
        return stored.content, mime_type, stored.file_name

    def clock_view(self) -> JsonDict:
        now = self.clock.now()
        tz = self.deps.settings.tz
        return {
            "iso": now.isoformat(),
            "shown": f"{format_day(now, 'fr', tz)}, {format_time(now, 'fr', tz)}",
            "zone": self.deps.settings.timezone,
        }

    # -- what people do -----------------------------------------------------------------

    def send_text(self, telegram_id: int, text: str) -> None:
        user = self._user(telegram_id)
        if not text.strip():
            raise DemoError("empty message")
        self.server.send_text(user, text)

    def send_voice(self, telegram_id: int) -> None:
        """A voice note: a short tone stands in for a voice (the page records no microphone)."""
        self.server.send_voice(self._user(telegram_id), duration=2, content=tone_wav(2.0))

    def tap(self, telegram_id: int, message_id: int, data: str) -> None:
        """Tap an inline button of a message of this chat, as it is now."""
        user = self._user(telegram_id)
        message = self.server.message(telegram_id, message_id)
        if message is None:
            raise DemoError("no such message")
        try:
            self.server.press_button(user, message, data=data)
        except AssertionError as exc:
            raise DemoError("that button is gone") from exc

    async def add_participant(self, *, name: str, group_id: int, app_language: str) -> int:
        """A referent's invite, opened on a new phone: the enrolment the bot runs for real."""
        first_name = enrolment.clean_first_name(name)
        if first_name is None:
            raise DemoError("a first name and initial, 1 to 40 characters")
        async with unit_of_work(self.deps.sessionmaker) as db:
            group = await db.get(Group, group_id)
            if group is None:
                raise DemoError("no such group")
            try:
                created = await enrolment.create_invite(
                    db,
                    group_id=group_id,
                    first_name=first_name,
                    created_by_id=group.referent_id,
                    now=self.clock.now(),
                    valid_days=self.deps.settings.invite_days,
                )
            except LookupError as exc:
                raise DemoError("that group is closed") from exc
            await db.commit()
        return self.open_invite(created.token, name=first_name, app_language=app_language)

    def open_invite(self, token: str, *, name: str, app_language: str) -> int:
        """A new phone opens ``t.me/<bot>?start=<token>``: Telegram sends ``/start <token>``."""
        language = app_language.split("_")[0] if app_language in LANGUAGE_CODES else None
        telegram_id = self._new_account_id()
        user = self.server.user(telegram_id, name.split()[0] or "Nouveau", language_code=language)
        self.server.send_text(user, f"/start {token}")
        return telegram_id

    def _new_account_id(self) -> int:
        while self._next_account in self.server.state.users:
            self._next_account += 1
        return self._next_account

    async def set_language(self, participant_id: int, language: str) -> None:
        """For translators: this person now reads the bot in ``language``."""
        if language not in LANGUAGE_CODES:
            raise DemoError(f"unknown language {language!r}")
        async with unit_of_work(self.deps.sessionmaker) as db:
            if await db.get(Participant, participant_id) is None:
                raise DemoError("no such participant")
            await enrolment.set_participant_language(db, participant_id, language)
            await db.commit()

    def _user(self, telegram_id: int) -> Any:
        user = self.server.state.users.get(telegram_id)
        if user is None:
            raise DemoError(f"no account {telegram_id}")
        return user

    # -- time ---------------------------------------------------------------------------

    async def move_clock(self, move: str, telegram_id: int | None = None) -> None:
        """Jump ahead, then let the real outbox and JobQueue send what fell due."""
        if move not in CLOCK_MOVES:
            raise DemoError(f"unknown clock move {move!r}")
        async with unit_of_work(self.deps.sessionmaker) as db:
            # What the bot plans on start, at the time before the jump: people enrolled
            # since then get their reminders (a reminder is never planned in the past).
            await outbox.plan_coming(db, now=self.clock.now(), tz=self.deps.settings.tz)
            await db.commit()
        if move == "hour":
            target = self.clock.now() + timedelta(hours=1)
        elif move == "reminder":
            target = await self._next_reminder(telegram_id)
        else:
            target = await self._after_next_session(telegram_id)
        await self._catch_up(target)
        self.clock.jump_to(target)
        dispatcher.wake(self.app, 0.0)

    async def _catch_up(self, target: datetime) -> None:
        """Stop at each due time on the way, as if the hours had passed one by one.

        Each message is judged at its own time: the 08:00 digest goes out at 08:00 even
        when the page jumps from 07:50 to 11:30, instead of expiring as three hours late.
        Sent by the dispatcher's own ``drain``, the function its JobQueue job runs.
        """
        previous: datetime | None = None
        for _ in range(MAX_CATCH_UP_STEPS):
            async with self.deps.sessionmaker() as db:
                due = await outbox.next_due_at(db)
            if due is None or due > target or due == previous:
                return
            previous = due
            self.clock.jump_to(due)
            await dispatcher.drain(self.app.bot, self.deps)

    async def _participant_ids(self, telegram_id: int | None) -> list[int]:
        if telegram_id is None:
            return []
        async with self.deps.sessionmaker() as db:
            return list(
                (
                    await db.scalars(
                        select(Participant.id).where(Participant.telegram_user_id == telegram_id)
                    )
                ).all()
            )

    async def _next_reminder(self, telegram_id: int | None) -> datetime:
        """This phone's next reminder (a participant's), or anybody's."""
        people = await self._participant_ids(telegram_id)
        query = (
            select(OutboxMessage.due_at)
            .where(
                OutboxMessage.kind == OutboxKind.REMINDER,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.due_at > self.clock.now(),
            )
            .order_by(OutboxMessage.due_at)
            .limit(1)
        )
        async with self.deps.sessionmaker() as db:
            due = None
            if people:
                due = await db.scalar(query.where(OutboxMessage.participant_id.in_(people)))
            if due is None:
                due = await db.scalar(query)
        if due is None:
            raise DemoError("no reminder is planned")
        return due

    async def _after_next_session(self, telegram_id: int | None) -> datetime:
        """Just after the feedback question of the session under way or coming next."""
        people = await self._participant_ids(telegram_id)
        query = (
            select(Session.ends_at, Module.feedback_delay_minutes)
            .join(Module, Module.id == Session.module_id)
            .where(Session.status == SessionStatus.SCHEDULED, Session.ends_at > self.clock.now())
            .order_by(Session.ends_at)
            .limit(1)
        )
        if people:
            groups = select(Membership.group_id).where(
                Membership.participant_id.in_(people), Membership.left_at.is_(None)
            )
            query = query.where(Session.group_id.in_(groups) | Session.participant_id.in_(people))
        async with self.deps.sessionmaker() as db:
            staff = await db.scalar(select(Staff).where(Staff.telegram_user_id == telegram_id))
            if staff is not None and str(staff.role) == "referent":
                query = query.where(Session.referent_id == staff.id)
            found = (await db.execute(query)).first()
        if found is None:
            raise DemoError("no session is coming")
        ends_at, delay = found
        return ends_at + timedelta(minutes=delay + 1)

    def report_violations(self) -> None:
        """The simulator found a request Telegram would refuse: say so in the log."""
        for violation in self.server.violations[self._reported_violations :]:
            log.error("invalid Bot API request: %s", violation)
        self._reported_violations = len(self.server.violations)


def language_names() -> JsonDict:
    return dict(LANGUAGE_NAMES)


def tone_wav(seconds: float, frequency: float = 440.0, rate: int = 8000) -> bytes:
    """A soft tone as a WAV file, so the page's audio player has something to play."""
    frames = bytearray()
    for index in range(int(seconds * rate)):
        fade = min(1.0, index / 800, (seconds * rate - index) / 800)
        value = int(9000 * fade * math.sin(2 * math.pi * frequency * index / rate))
        frames += struct.pack("<h", value)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()


def direction(text: str) -> str:
    """Like Telegram: a paragraph runs the way of its first strong character."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _button_text(button: Any) -> str:
    return button if isinstance(button, str) else str(button.get("text", ""))
