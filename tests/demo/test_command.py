"""``activup demo`` as a newcomer runs it: one line, a page, a believable programme, Ctrl-C."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

from tests.demo.conftest import RunningDemo, start_demo


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def test_the_demo_serves_its_page_and_stops_cleanly_on_ctrl_c(tmp_path: Path):
    demo = start_demo(tmp_path)
    try:
        page = _get(demo.url + "/").decode()
        assert "<title>ACTIV'UP – démo</title>" in page
        assert "+1 heure" in page and "Prochain rappel" in page and "Après la séance" in page
        state = json.loads(_get(demo.url + "/api/state"))
        # A page left open keeps a live-update stream; Ctrl-C must not wait for it.
        stream = urllib.request.urlopen(demo.url + "/events", timeout=10)
        assert stream.readline().decode().startswith("event: change")
    finally:
        status = demo.stop()
    stream.close()
    assert status == 0
    log = demo.log()
    assert "Traceback" not in log and "ERROR" not in log, log
    kinds = Counter(account["kind"] for account in state["accounts"])
    assert kinds["lead"] == 1 and kinds["referent"] == 2
    people = [p for account in state["accounts"] for p in account["people"]]
    assert len(people) == 8
    assert {p["language"] for p in people} == {"fr", "ar", "fa_AF", "ti", "uk", "nl"}
    shared = [a for a in state["accounts"] if len(a["people"]) > 1]
    assert len(shared) == 1, "one family shares a phone"
    assert len(state["groups"]) == 3 and len({g["module"] for g in state["groups"]}) == 3


def test_a_port_in_use_is_refused_in_one_line(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "demo", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(
        f"activup: cannot serve the demo on 127.0.0.1:{port}"
    ), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_the_key_messages_view_shows_right_to_left_languages_right_to_left(demo: RunningDemo):
    for language in ("ar", "fa_AF", "ps"):
        messages = json.loads(_get(f"{demo.url}/api/key-messages?language={language}"))
        assert [m["name"] for m in messages][:2] == ["reminder", "reminder on a shared phone"]
        assert all(m["dir"] == "rtl" for m in messages if m["name"] != "thanks"), language
    french = json.loads(_get(f"{demo.url}/api/key-messages?language=fr"))
    assert all(m["dir"] == "ltr" for m in french)
    assert french[0]["paragraphs"][-1]["text"] == "Vous venez ?"
