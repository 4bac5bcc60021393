"""``activup demo`` started as people start it: the real command, in its own process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.demo.serve import banner

STARTUP_SECONDS = 30.0


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    url: str
    stderr_path: Path

    def stop(self) -> int:
        """Ctrl-C, as a person at the terminal would; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("the demo did not stop within 20 s of Ctrl-C") from None
        return self.process.returncode

    def log(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_demo(folder: Path) -> RunningDemo:
    port = _free_port()
    stderr_path = folder / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIVUP_")}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=stderr_path.open("w", encoding="utf-8"),
        text=True,
        cwd=folder,
        env=env,
        start_new_session=True,  # our Ctrl-C goes to the demo alone
    )
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(STARTUP_SECONDS)
    line = lines[0] if lines else ""
    if not line:
        process.kill()
        raise AssertionError(
            f"the demo did not start within {STARTUP_SECONDS} s:\n{stderr_path.read_text()}"
        )
    assert line.rstrip("\n") == banner("127.0.0.1", port), line
    return RunningDemo(process, f"http://127.0.0.1:{port}", stderr_path)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningDemo]:
    running = start_demo(tmp_path)
    try:
        yield running
    finally:
        status = running.stop()
    assert status == 0, f"Ctrl-C should stop the demo cleanly:\n{running.log()}"


def chromium_unavailable_reason() -> str | None:
    if shutil.which("chromium") is None:
        return "browser tests need Debian's chromium (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need Playwright for Python (pip install -e '.[dev]')"
    return None
