"""Calendars as referents really have them, imported through the CLI and by sending the file.

Each journey runs twice: ``activup calendar import`` (the operator's way) and an ``.ics``
sent to the bot, previewed, then applied with its button (the referent's way). Three
participants are enrolled in the group, so that the notices they get can be counted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import cli
from bot.app import ALLOWED_UPDATES, build_application
from bot.context import Deps
from bot.simulator import FakeUser
from storage.db import make_sessionmaker
from storage.models import CalendarImport, OutboxKind, OutboxMessage, Rsvp, Session, SessionStatus
from tests.core.factories import programme
from tests.e2e.harness import Harness

CALENDARS = Path(__file__).parents[1] / "calendars"
OUTLOOK = CALENDARS / "outlook_atelier_cuisine.ics"
GOOGLE = CALENDARS / "google_cafe_rencontre.ics"
THUNDERBIRD = CALENDARS / "thunderbird_fle.ics"
GROUP_BUTTON = "INSERTION SOCIALE · FLE lundi"
VIA = ["cli", "bot"]


@dataclass
class Team:
    h: Harness
    referent: FakeUser
    people: list[FakeUser]
    group_id: int
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    tmp_path: Path
    seen: dict[int, int] = field(default_factory=dict)

    async def cli(self, *argv: str) -> tuple[int, str]:
        """Run ``activup`` on the bot's database, at the bot's clock; exit code and output."""
        self.monkeypatch.setenv("ACTIVUP_DATABASE_URL", self.h.deps.settings.database_url)
        self.monkeypatch.setattr(cli, "CLOCK", self.h.clock)
        self.capsys.readouterr()
        code = await asyncio.to_thread(cli.main, list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out + captured.err

    async def send_file(self, data: bytes) -> dict[str, Any]:
        """The referent sends the file and picks the group; returns the preview message."""
        before = self.h.server.bot_message_count(self.referent.id)
        self.h.server.send_document(self.referent, "agenda.ics", data, "text/calendar")
        question = await self.h.server.wait_for_bot_message(self.referent.id, count_before=before)
        await self.h.tap(self.referent, question, GROUP_BUTTON)
        preview = self.h.server.message(self.referent.id, question["message_id"])
        assert preview is not None
        return preview

    async def apply(self, preview: dict[str, Any]) -> str:
        await self.h.tap(self.referent, preview, "✅ Appliquer")
        applied = self.h.server.message(self.referent.id, preview["message_id"])
        assert applied is not None
        return str(applied["text"])

    async def import_(self, via: str, data: bytes) -> str:
        """Import and apply the file; what the operator or the referent reads."""
        if via == "cli":
            path = self.tmp_path / f"agenda-{len(list(self.tmp_path.iterdir()))}.ics"
            path.write_bytes(data)
            code, out = await self.cli("calendar", "import", str(path), "--group", "FLE lundi")
            assert code == 0, out
            return out
        preview = await self.send_file(data)
        if "✅ Appliquer" not in str(preview.get("reply_markup")):
            return str(preview["text"])
        return await self.apply(preview)

    async def notices(self) -> list[list[str]]:
        """Run the dispatcher; the texts each participant received since the last call.

        Counted from the previous call, not from now: applying in the bot wakes the
        dispatcher, which may already have sent some.
        """
        await self.h.dispatch()
        received = []
        for person in self.people:
            messages = self.h.server.bot_messages(person.id)
            received.append([m["text"] for m in messages[self.seen.get(person.id, 0) :]])
            self.seen[person.id] = len(messages)
        return received

    async def sessions(self) -> list[Session]:
        async with self.h.deps.sessionmaker() as db:
            return list(
                (await db.scalars(select(Session).order_by(Session.starts_at, Session.id))).all()
            )


@pytest.fixture
async def team(harness: Harness, monkeypatch, capsys, tmp_path) -> Team:
    prog = await programme(harness.deps.sessionmaker, harness.clock.now(), participants=3)
    referent = harness.server.user(prog.referent_telegram_id, "Sophie", language_code="fr")
    people = [harness.server.user(1000 + i, f"P{i}", language_code="fr") for i in range(3)]
    files = tmp_path / "files"
    files.mkdir()
    return Team(harness, referent, people, prog.group_id, monkeypatch, capsys, files)


def scheduled(rows: list[Session]) -> list[Session]:
    return [r for r in rows if r.status == SessionStatus.SCHEDULED]


def without_event(data: bytes, marker: bytes) -> bytes:
    """The file without the VEVENT(s) containing ``marker``, as an organiser deleting it."""
    head, *events = data.split(b"BEGIN:VEVENT")
    kept = [e for e in events if marker not in e.split(b"END:VEVENT")[0]]
    tail = b"" if kept else b"END:VCALENDAR\r\n"
    return head + b"".join(b"BEGIN:VEVENT" + e for e in kept) + tail


# ------------------------------------------------------------------------- 1. all-day events


@pytest.mark.parametrize("via", VIA)
async def test_all_day_events_are_left_out_and_named_and_the_sessions_imported(team, via):
    out = await team.import_(via, GOOGLE.read_bytes())

    assert len(scheduled(await team.sessions())) == 22
    if via == "cli":
        assert "22 new" in out
        assert "3 all-day events left out (no time): Congé de Noël, Congé de carnaval" in out
        assert "all-day 'Congé de Noël' (2026-12-24 - 2027-01-01) falls on days with" in out
    else:
        assert "22 nouvelles séances" in out
        assert "3 événements « toute la journée » laissés de côté" in out
        assert "« Congé de Noël », « Congé de carnaval », « Fête du travail »" in out
        assert "« Congé de Noël » (24 décembre 2026 – 1 janvier 2027) tombe sur" in out
    # Google's date-only UNTIL=20270113 ends the Wednesday series on 6 January, as the
    # library (and Google's own grid) reads it: no session on the 13th.
    games = [r for r in await team.sessions() if r.title.startswith("Jeux")]
    assert games[-1].starts_at == datetime(2027, 1, 6, 9, 0, tzinfo=UTC) and len(games) == 5


# ------------------------------------------------------------------------- 2. THISANDFUTURE


@pytest.mark.parametrize("via", VIA)
async def test_a_series_split_this_and_future_is_imported_and_reimported_unchanged(team, via):
    out = await team.import_(via, THUNDERBIRD.read_bytes())

    rows = scheduled(await team.sessions())
    fle = [r for r in rows if r.title.startswith("Atelier FLE")]
    assert len(fle) == 16 and len({r.occurrence_key for r in fle}) == 16
    assert [r.starts_at.hour for r in fle] == [8] * 8 + [12] * 8  # 09:30, then 13:30 Brussels
    assert ("17 new" if via == "cli" else "17 nouvelles séances") in out
    # The 02:30 departure on the spring-forward night keeps its hour.
    (night,) = [r for r in rows if r.title.startswith("Départ")]
    assert night.ends_at - night.starts_at == timedelta(hours=1)

    again = await team.import_(via, THUNDERBIRD.read_bytes())
    assert ("17 unchanged" if via == "cli" else "17 séances sans changement") in again
    assert await team.notices() == [[], [], []]


# ------------------------------------------------------------------------- 3. UIDs with spaces


@pytest.mark.parametrize("via", VIA)
async def test_uids_that_differ_by_spaces_are_one_series_reported_in_one_line(team, via):
    out = await team.import_(via, OUTLOOK.read_bytes())

    rows = scheduled(await team.sessions())
    assert len(rows) == 12
    moved = [r for r in rows if r.starts_at == datetime(2026, 12, 16, 13, 0, tzinfo=UTC)]
    assert len(moved) == 1, "the override with a spaced UID moves its occurrence, no double"
    assert not [r for r in rows if r.starts_at == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)]
    line = "1 UIDs written with stray spaces" if via == "cli" else "1 série écrite deux fois"
    assert sum(line in text for text in out.splitlines()) == 1


# ------------------------------------------------------------------------- 4. series moved


def at_ten(data: bytes) -> bytes:
    """Outlook after the referent moved the whole series from 09:30 to 10:00."""
    return data.replace(b"T093000", b"T100000").replace(b"T113000", b"T120000")


@pytest.mark.parametrize("via", VIA)
async def test_moving_a_whole_series_moves_each_session_keeps_answers_tells_once(team, via):
    h = team.h
    await team.import_(via, OUTLOOK.read_bytes())
    h.clock.set(datetime(2026, 12, 7, 17, 0, tzinfo=UTC))  # the evening before the first
    await h.dispatch()
    reminder = h.server.bot_messages(team.people[0].id)[-1]
    await h.tap(team.people[0], reminder, "✅ Je viens")
    first_before = scheduled(await team.sessions())[0]

    out = await team.import_(via, at_ten(OUTLOOK.read_bytes()))

    assert ("10 moved" if via == "cli" else "10 séances déplacées") in out
    assert ("0 cancelled" in out) if via == "cli" else ("annulée" not in out)
    rows = scheduled(await team.sessions())
    assert len(rows) == 12
    first = rows[0]
    assert first.id == first_before.id and first.starts_at.astimezone(UTC).hour == 9
    async with h.deps.sessionmaker() as db:
        answers = (await db.scalars(select(Rsvp).where(Rsvp.session_id == first.id))).all()
    assert [a.answer for a in answers] == ["yes"], "the answer stays with the moved session"
    received = await team.notices()
    summaries = [[t for t in texts if "Nouvel horaire" in t] for texts in received]
    assert [len(s) for s in summaries] == [1, 1, 1]
    assert "10:00" in summaries[0][0] and "9:30" in summaries[0][0]
    assert not any("Annulé" in t for texts in received for t in texts)


# ------------------------------------------------------------------------- 5. moved, then cancelled


@pytest.mark.parametrize("via", VIA)
async def test_cancelling_an_occurrence_already_moved_tells_it_is_cancelled(team, via):
    plain = without_event(OUTLOOK.read_bytes(), b"RECURRENCE-ID")
    await team.import_(via, plain)
    await team.notices()

    await team.import_(via, OUTLOOK.read_bytes())  # the 15th moved to Wednesday 16th
    moved = await team.notices()
    assert all(len(texts) == 1 and "Changement" in texts[0] for texts in moved)

    cancelled = OUTLOOK.read_bytes().replace(b"STATUS:CONFIRMED", b"STATUS:CANCELLED")
    out = await team.import_(via, cancelled)

    assert ("1 cancelled" if via == "cli" else "1 séance annulée") in out
    told = await team.notices()
    assert all(len(texts) == 1 and "Annulé" in texts[0] for texts in told)


# ------------------------------------------------------------------------- 6. series deleted


@pytest.mark.parametrize("via", VIA)
async def test_a_series_deleted_from_the_file_is_cancelled_once_confirmed(team, via):
    await team.import_(via, THUNDERBIRD.read_bytes())
    await team.notices()
    gone = without_event(THUNDERBIRD.read_bytes(), b"Atelier FLE")

    if via == "bot":
        preview = await team.send_file(gone)
        assert "Série absente du fichier" in preview["text"]
        assert "« Atelier FLE débutants »" in preview["text"]
        assert len(scheduled(await team.sessions())) == 17, "nothing before confirmation"
        assert await team.notices() == [[], [], []]
        out = await team.apply(preview)
    else:
        out = await team.import_(via, gone)

    assert ("16 cancelled" if via == "cli" else "16 séances annulées") in out
    assert [r.title for r in scheduled(await team.sessions())] == ["Départ de la sortie à la mer"]
    assert all(sum("Annulé" in t for t in texts) == 16 for texts in await team.notices())


# ------------------------------------------------------------------------- 7. own export


@pytest.mark.parametrize("via", VIA)
async def test_reimporting_the_groups_own_export_changes_nothing(team, via):
    await team.import_(via, OUTLOOK.read_bytes())
    exported = team.tmp_path / "export.ics"
    code, _out = await team.cli(
        "calendar", "export", "--group", "FLE lundi", "--out", str(exported)
    )
    assert code == 0

    out = await team.import_(via, exported.read_bytes())

    assert ("0 new" if via == "cli" else "12 séances sans changement") in out
    assert via == "cli" or out.startswith("✅ Ce calendrier est déjà à jour : rien à changer.")
    assert "12 unchanged" in out if via == "cli" else "nouvelle" not in out
    assert len(await team.sessions()) == 12


# ------------------------------------------------------------------------- 8. preview


async def test_the_cli_dry_run_prints_the_changes_and_changes_nothing(team):
    await team.import_("cli", OUTLOOK.read_bytes())
    await team.notices()
    path = team.tmp_path / "ten.ics"
    path.write_bytes(at_ten(OUTLOOK.read_bytes()))

    code, out = await team.cli("calendar", "import", str(path), "--group", "FLE lundi", "--dry-run")

    assert code == 0
    assert out.startswith("FLE lundi (dry run, nothing changed): 0 new, 10 moved, 0 cancelled")
    assert "3 participants will be told" in out
    assert [r.starts_at.hour for r in scheduled(await team.sessions())][:1] == [8]
    assert await team.notices() == [[], [], []]


@asynccontextmanager
async def restarted(h: Harness) -> AsyncIterator[Harness]:
    """The bot process stops and a new one starts on the same database and Telegram."""
    assert h.app.updater is not None
    await h.app.updater.stop()
    await h.app.stop()
    deps = Deps(settings=h.deps.settings, sessionmaker=make_sessionmaker(h.engine), clock=h.clock)
    app = build_application(deps)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    try:
        yield Harness(h.server, app, deps, h.clock, h.engine)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await h.app.start()
        await h.app.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )


async def test_the_bot_previews_applies_on_confirmation_after_a_restart_and_refuses_stale_taps(
    team,
):
    h = team.h
    await team.import_("bot", OUTLOOK.read_bytes())
    await team.notices()
    preview = await team.send_file(at_ten(OUTLOOK.read_bytes()))
    assert "📋 Aperçu : rien n'a encore changé." in preview["text"]
    assert "10 séances déplacées" in preview["text"]
    assert "3 participants seront prévenus." in preview["text"]
    assert scheduled(await team.sessions())[0].starts_at.hour == 8
    # A participant forwarding the button, or anyone forging one, changes nothing.
    intruder = team.people[0]
    h.server.send_callback(intruder, preview["message_id"], team.referent.id, "icy:1:1")
    await h.idle()

    async with restarted(h) as second:
        update = h.server.press_button(team.referent, preview, text="✅ Appliquer")
        await second.idle()
        applied = h.server.message(team.referent.id, preview["message_id"])
        assert applied is not None and applied["text"].startswith("✅ Calendrier importé.")
        old_data = preview["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        again = h.server.send_callback(
            team.referent, preview["message_id"], team.referent.id, old_data
        )
        forged = h.server.send_callback(
            team.referent, preview["message_id"], team.referent.id, "icy:1:999"
        )
        await second.idle()
    answers = h.server.callback_answers
    assert "valable" not in answers[update["callback_query"]["id"]].get("text", "")
    for tap in (again, forged):
        assert answers[tap["callback_query"]["id"]]["text"] == "⚠️ Ce bouton n'est plus valable."
    assert scheduled(await team.sessions())[0].starts_at.hour == 9
    async with h.deps.sessionmaker() as db:
        decided = await db.scalar(select(func.count()).where(CalendarImport.outcome == "applied"))
        notices = await db.scalar(
            select(func.count()).where(OutboxMessage.kind == OutboxKind.NOTICE)
        )
    assert decided == 2 and notices == 3


async def test_cancelling_the_preview_changes_nothing(team):
    preview = await team.send_file(OUTLOOK.read_bytes())
    await team.h.tap(team.referent, preview, "✖️ Annuler")
    dropped = team.h.server.message(team.referent.id, preview["message_id"])
    assert dropped is not None and dropped["text"] == "✖️ Import annulé : rien n'a changé."
    assert await team.sessions() == []


# ------------------------------------------------------------------------- 9. clear reasons


def too_many_events() -> bytes:
    event = (
        "BEGIN:VEVENT\r\nUID:e{0}@cpas\r\nDTSTAMP:20261120T100000Z\r\n"
        "DTSTART:20261210T090000Z\r\nSUMMARY:Atelier {0}\r\nEND:VEVENT\r\n"
    )
    body = "".join(event.format(i) for i in range(2001))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{body}END:VCALENDAR\r\n".encode()


@pytest.mark.parametrize("via", VIA)
async def test_a_refused_file_says_why_in_one_line_and_imports_nothing(team, via):
    cases = [
        (
            (CALENDARS / "no_uid.ics").read_bytes(),
            "event 'Atelier cuisine' on 03 Dec 2026 has no UID",
            "L'événement « Atelier cuisine » du 3 décembre 2026 n'a pas d'identifiant (UID).",
        ),
        (too_many_events(), "more than 2000 events", "plus de 2000 événements"),
    ]
    for data, cli_line, bot_line in cases:
        if via == "cli":
            path = team.tmp_path / "refused.ics"
            path.write_bytes(data)
            code, out = await team.cli("calendar", "import", str(path), "--group", "FLE lundi")
            assert code == 2 and out.strip() == f"activup: calendar refused: {cli_line}"
        else:
            refusal = await team.send_file(data)
            assert bot_line in refusal["text"] and "reply_markup" not in refusal
            assert len(re.findall("\n", refusal["text"])) == 0
    assert await team.sessions() == []
