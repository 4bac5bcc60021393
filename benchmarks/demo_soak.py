"""Click through `activup demo` as people would, for a while, and count what went wrong.

Starts the demo as a real process on a fresh folder, then for ``--minutes`` picks a
phone, reads its chat, and does what a curious visitor does: types a command, taps a
button of a recent message, sends a voice note, moves the clock, switches a language,
adds a participant. At the end it stops the demo with Ctrl-C (SIGINT) and prints one
JSON line: actions, refusals the page would show (HTTP 400), server errors (5xx), log
lines at ERROR or with a traceback, and the exit status.

    python -m benchmarks.demo_soak --minutes 60
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

COMMANDS = [
    "/start", "/help", "/next", "/me", "/today", "/past", "/sessions", "/feedback",
    "/feedback module", "/report", "/invite", "/language", "/voice", "/mydata", "/stop",
    "/absence", "/cancel", "/staff", "/group", "/corrections", "bonjour", "✅", "1",
]  # fmt: skip
LANGUAGES = ["fr", "ar", "fa_AF", "ti", "uk", "nl", "ps", "en", "so", "tr", "ru", "es"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Page:
    """What the page's script does, over the same JSON API."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.refused = 0
        self.server_errors = 0

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                self.server_errors += 1
            else:
                self.refused += 1
            return None


def _wait_for_banner(process: subprocess.Popen[str], limit: float) -> float:
    started = time.monotonic()
    assert process.stdout is not None
    while time.monotonic() - started < limit:
        line = process.stdout.readline()
        if "demo on http" in line:
            return time.monotonic() - started
        if not line and process.poll() is not None:
            break
    raise SystemExit("the demo did not start")


def _one_action(page: Page, rng: random.Random) -> str:
    state = page.call("/api/state")
    accounts = state["accounts"]
    account = rng.choice(accounts)
    chat = page.call(f"/api/chat/{account['telegram_id']}") or {"messages": []}
    roll = rng.random()
    buttons = [
        (message["id"], button["data"])
        for message in chat["messages"][-6:]
        for row in message.get("buttons", [])
        for button in row
        if button.get("data")
    ]
    if roll < 0.45 and buttons:
        message_id, data = rng.choice(buttons)
        page.call(
            "/api/tap",
            {"account": account["telegram_id"], "message_id": message_id, "data": data},
        )
        return "tap"
    if roll < 0.75:
        page.call("/api/send", {"account": account["telegram_id"], "text": rng.choice(COMMANDS)})
        return "text"
    if roll < 0.80:
        page.call("/api/voice", {"account": account["telegram_id"]})
        return "voice"
    if roll < 0.90:
        move = rng.choice(state["moves"])
        page.call("/api/clock", {"move": move, "account": account["telegram_id"]})
        return "clock"
    if roll < 0.95 and account.get("people"):
        person = rng.choice(account["people"])
        if "id" in person:
            language = rng.choice(LANGUAGES)
            page.call("/api/language", {"participant": person["id"], "language": language})
            return "language"
    if state["groups"]:
        group = rng.choice(state["groups"])
        page.call(
            "/api/participant",
            {"name": f"Visiteur {rng.randint(1, 999)}", "group": group["id"],
             "language": rng.choice(LANGUAGES)},
        )  # fmt: skip
        return "participant"
    page.call("/api/key-messages?language=" + rng.choice(LANGUAGES))
    return "key-messages"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between clicks")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="activup-soak-"))
    log_path = folder / "demo.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo", "--port", str(port)],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=log_file, text=True,
        )  # fmt: skip
        start_seconds = _wait_for_banner(process, 120)
        page = Page(f"http://127.0.0.1:{port}")
        rng = random.Random(args.seed)
        counts: dict[str, int] = {}
        end = time.monotonic() + args.minutes * 60
        while time.monotonic() < end and process.poll() is None:
            kind = _one_action(page, rng)
            counts[kind] = counts.get(kind, 0) + 1
            time.sleep(args.pause)
        process.send_signal(signal.SIGINT)
        try:
            status = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            status = -9
    log_text = log_path.read_text(errors="replace")
    bad_lines = [
        line for line in log_text.splitlines() if " ERROR " in line or "Traceback" in line
    ]
    print(
        json.dumps(
            {
                "benchmark": "demo_soak",
                "minutes": args.minutes,
                "start_seconds": round(start_seconds, 1),
                "actions": sum(counts.values()),
                "by_kind": counts,
                "refused_400": page.refused,
                "server_errors_5xx": page.server_errors,
                "error_log_lines": len(bad_lines),
                "first_error": bad_lines[0][:300] if bad_lines else None,
                "exit_status": status,
                "log": str(log_path),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
