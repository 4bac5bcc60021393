"""Kill the bot at random moments of a fan-out and count: ``python -m benchmarks.crash``.

Each trial: a fresh SQLite database with ``--participants`` reminders due now, the real
bot (``activup run``) against the fake Bot API server, SIGKILL after a random number of
sends, a restart, and a count of what each participant received. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

from bot.simulator import FakeTelegram
from storage import migrate
from tests.e2e.crash import TOKEN, kill_and_restart, prepare


async def trial(participants: int, kill_after: int, latency: float = 0.0) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'crash.sqlite3'}"
        await asyncio.to_thread(migrate.upgrade, url)
        await prepare(url, participants)
        async with FakeTelegram(token=TOKEN) as server:
            server.latency = latency
            result = await kill_and_restart(
                server, url, Path(tmp), participants=participants, kill_after=kill_after
            )
    return {"lost": result.lost, "duplicates": result.duplicates}


async def run(trials: int, participants: int, seed: int, latency: float = 0.0) -> dict[str, object]:
    rng = random.Random(seed)
    results = []
    started = time.perf_counter()
    for _ in range(trials):
        results.append(await trial(participants, rng.randint(1, participants - 1), latency))
    return {
        "trials": trials,
        "participants": participants,
        "lost": sum(r["lost"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "max_duplicates_per_kill": max(r["duplicates"] for r in results),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "seed": seed,
        "latency_s": latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the fake takes to answer each call"
    )
    args = parser.parse_args()
    figures = asyncio.run(run(args.trials, args.participants, args.seed, args.latency))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
