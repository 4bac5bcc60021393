"""Keep every core busy while a test runs: the bot on a machine doing other work.

Used by ``tests/e2e/test_two_processes.py`` when ``ACTIVUP_CPU_HOG=1`` (by hand: it slows
everything else on the machine too).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager


def _spin() -> None:
    while True:
        pass


@contextmanager
def cpu_hog(processes: int | None = None) -> Iterator[None]:
    """One busy process per core (or ``processes``), stopped when the block ends."""
    hogs = [
        multiprocessing.Process(target=_spin, daemon=True)
        for _ in range(processes or os.cpu_count() or 2)
    ]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.join()


def wanted() -> bool:
    return os.environ.get("ACTIVUP_CPU_HOG") == "1"
