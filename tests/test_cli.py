"""The ``activup`` command line: clear one-line errors, non-zero exits, no half-written rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import translations


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    database = tmp_path / "cli.sqlite3"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACTIVUP_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("ACTIVUP_BOT_USERNAME", "activup_test_bot")
    monkeypatch.delenv("ACTIVUP_TELEGRAM_TOKEN", raising=False)
    return database


def count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_an_operator_sets_up_a_group_and_prints_an_invite(env, capsys, tmp_path):
    assert (
        main(["staff", "add", "--telegram-id", "100", "--name", "Sophie M.", "--role", "referent"])
        == 0
    )
    assert (
        main(["group", "create", "--module", "Bénévolat", "--name", "Home", "--referent", "100"])
        == 0
    )
    qr = tmp_path / "amina.png"
    assert (
        main(["invite", "create", "--group", "home", "--name", "Amina K.", "--out", str(qr)]) == 0
    )
    out = capsys.readouterr().out
    assert "https://t.me/activup_test_bot?start=" in out
    assert qr.read_bytes().startswith(b"\x89PNG")
    assert main(["modules"]) == 0
    listing = capsys.readouterr().out
    assert "benevolat" in listing and "Home" in listing and "Sophie M." in listing
    assert count(env, "invites") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["group", "create", "--module", "cuisine", "--name", "G", "--referent", "100"],
            "unknown module",
        ),
        (
            ["group", "create", "--module", "start", "--name", "G", "--referent", "999"],
            "no active staff",
        ),
        (["invite", "create", "--group", "nowhere", "--name", "Amina K."], "unknown group"),
        (["invite", "create", "--group", "Home", "--name", "x" * 41], "first name"),
        (
            ["staff", "add", "--telegram-id", "100", "--name", "Again", "--role", "lead"],
            "already staff",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(env, capsys, argv, message):
    main(["staff", "add", "--telegram-id", "100", "--name", "Sophie M.", "--role", "referent"])
    main(["group", "create", "--module", "start", "--name", "Home", "--referent", "100"])
    capsys.readouterr()
    before = {t: count(env, t) for t in ("staff", "groups", "invites")}
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert {t: count(env, t) for t in ("staff", "groups", "invites")} == before


def test_run_without_a_token_says_how_to_get_one(env, capsys):
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "@BotFather" in err and len(err.splitlines()) == 1


def test_db_upgrade_creates_the_three_modules(env, capsys):
    assert main(["db", "upgrade"]) == 0
    with sqlite3.connect(env) as conn:
        codes = [row[0] for row in conn.execute("SELECT code FROM modules ORDER BY id")]
    assert codes == ["insertion", "benevolat", "start"]


def test_a_module_reminder_plan_can_be_read_and_changed(env, capsys):
    assert main(["module", "plan", "--module", "start"]) == 0
    assert "d-1@18:00" in capsys.readouterr().out
    assert main(["module", "plan", "--module", "start", "--plan", "d-2@17:00,-3h"]) == 0
    capsys.readouterr()
    assert main(["module", "plan", "--module", "start"]) == 0
    assert "d-2@17:00" in capsys.readouterr().out
    assert main(["module", "plan", "--module", "start", "--plan", "tomorrow"]) == 2
    assert "bad reminder plan" in capsys.readouterr().err


def test_a_calendar_is_imported_and_exported_from_the_command_line(env, capsys, tmp_path):
    from tests.core.test_calendar_sync import ics

    main(["staff", "add", "--telegram-id", "100", "--name", "Sophie M.", "--role", "referent"])
    main(["group", "create", "--module", "insertion", "--name", "FLE lundi", "--referent", "100"])
    source = tmp_path / "fle.ics"
    # The CLI reads the real clock: a series starting a week from today.
    start = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y%m%dT").encode()
    source.write_bytes(ics().replace(b"20261207T", start))
    capsys.readouterr()
    assert main(["calendar", "import", str(source), "--group", "FLE lundi"]) == 0
    assert "4 new" in capsys.readouterr().out
    assert main(["calendar", "import", str(source), "--group", "FLE lundi"]) == 0
    second = capsys.readouterr().out
    assert "0 new" in second and "4 unchanged" in second
    out = tmp_path / "export.ics"
    assert main(["calendar", "export", "--group", "FLE lundi", "--out", str(out)]) == 0
    assert out.read_bytes().count(b"BEGIN:VEVENT") == 4
    bad = tmp_path / "bad.ics"
    bad.write_bytes(b"BEGIN:VCALENDAR\nnonsense")
    assert main(["calendar", "import", str(bad), "--group", "FLE lundi"]) == 2
    assert "calendar refused" in capsys.readouterr().err
    assert count(env, "sessions") == 4


def test_a_team_lead_sets_a_modules_feedback_questions(env, capsys):
    assert main(["feedback", "questions", "--module", "benevolat"]) == 0
    assert "questions how" in capsys.readouterr().out
    argv = ["feedback", "questions", "--module", "benevolat", "--set", "learned,welcome"]
    assert main([*argv, "--scale", "5", "--delay", "30"]) == 0
    out = capsys.readouterr().out
    assert "learned,welcome" in out and "5 faces" in out and "30 min" in out
    assert main(["feedback", "questions", "--module", "benevolat", "--set", "a,b,c,d"]) == 2
    assert main(["feedback", "questions", "--module", "benevolat", "--scale", "7"]) == 2


def test_the_audit_log_lists_the_operators_changes(env, capsys):
    main(["staff", "add", "--telegram-id", "100", "--name", "Sophie M.", "--role", "referent"])
    main(["staff", "deactivate", "--telegram-id", "100"])
    capsys.readouterr()
    assert main(["audit", "--since", "2000-01-01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "cli" in lines[0] and "create" in lines[0] and "staff:1" in lines[0]
    assert '"active": true' in lines[1] and '"active": false' in lines[1]
    assert main(["audit", "--since", "yesterday"]) == 2


def test_team_leads_manage_groups_from_the_command_line(env, capsys):
    main(["staff", "add", "--telegram-id", "100", "--name", "Sophie M.", "--role", "referent"])
    main(["staff", "add", "--telegram-id", "101", "--name", "Karim B.", "--role", "referent"])
    main(["group", "create", "--module", "start", "--name", "A", "--referent", "100"])
    assert main(["group", "rename", "--name", "A", "--to", "START lundi"]) == 0
    assert main(["group", "assign", "--name", "START lundi", "--referent", "101"]) == 0
    assert main(["group", "close", "--name", "START lundi"]) == 0
    assert main(["group", "close", "--name", "START lundi"]) == 2
    assert main(["invite", "create", "--group", "START lundi", "--name", "Amina K."]) == 2
    assert main(["participant", "set", "--id", "99", "--gender", "f"]) == 2
    capsys.readouterr()
    main(["modules"])
    assert "START lundi" not in capsys.readouterr().out, "a closed group is no longer listed"


def test_a_report_is_written_and_names_need_an_admin(env, capsys, tmp_path):
    main(["staff", "add", "--telegram-id", "100", "--name", "Sophie M.", "--role", "referent"])
    main(["staff", "add", "--telegram-id", "900", "--name", "Admin", "--role", "admin"])
    out = tmp_path / "report.xlsx"
    argv = ["report", "--from", "2026-09-01", "--to", "2026-12-31", "--out", str(out)]
    assert main(argv) == 0 and out.read_bytes().startswith(b"PK")
    assert main([*argv, "--with-names"]) == 2
    assert main([*argv, "--with-names", "--admin", "100"]) == 2, "a referent is not an admin"
    assert main([*argv, "--with-names", "--admin", "900"]) == 0
    csv_out = tmp_path / "report.csv"
    assert main([*argv[:-2], "--out", str(csv_out), "--format", "csv"]) == 0
    assert csv_out.read_bytes().startswith("\ufeffModule;".encode())
    english = ["--out", str(csv_out), "--format", "csv", "--language", "en"]
    assert main([*argv[:-2], *english]) == 0
    header = csv_out.read_bytes().decode("utf-8-sig").splitlines()[0].split(";")
    assert translations("en").gettext("Taux de présence") in header
    assert "Taux de présence" not in header, "an English header row"


@pytest.mark.parametrize("odd", ["\u202e", "\u200b", "\x07"])
def test_staff_and_group_names_with_bidi_or_control_characters_are_refused(env, capsys, odd):
    main(["staff", "add", "--telegram-id", "100", "--name", "Sophie M.", "--role", "referent"])
    main(["group", "create", "--module", "start", "--name", "Home", "--referent", "100"])
    capsys.readouterr()
    before = {t: count(env, t) for t in ("staff", "groups")}
    for argv in (
        ["staff", "add", "--telegram-id", "101", "--name", f"Eve{odd}K.", "--role", "lead"],
        ["group", "create", "--module", "start", "--name", f"G{odd}2", "--referent", "100"],
        ["group", "rename", "--name", "Home", "--to", f"Ho{odd}me"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "invisible" in err and len(err.splitlines()) == 1
    assert {t: count(env, t) for t in ("staff", "groups")} == before
    main(["modules"])
    assert "Home" in capsys.readouterr().out
