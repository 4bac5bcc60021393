"""Sheet redraws: a burst of taps makes few edits, and the last state is always drawn."""

from __future__ import annotations

import asyncio

from bot.sheet_redraws import SheetRedraws


class Sheet:
    """Stands in for the database and the message: what is stored, what is shown."""

    def __init__(self) -> None:
        self.stored = 0
        self.shown = -1
        self.draws = 0
        self.drawing = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def draw(self) -> None:
        self.draws += 1
        seen = self.stored  # read when the draw runs, as the real one reads the database
        self.drawing.set()
        await self.release.wait()
        self.shown = seen


async def test_a_burst_of_taps_is_drawn_twice_and_ends_on_the_last_state():
    redraws = SheetRedraws(interval=0.05)
    sheet = Sheet()
    for _ in range(30):
        sheet.stored += 1
        redraws.request((1, 10), sheet.draw)
        await asyncio.sleep(0)
    await redraws.settled()
    assert sheet.shown == 30
    assert sheet.draws == 2, "the first tap at once, the other 29 in one draw"
    await redraws.close()


async def test_a_tap_during_a_draw_is_drawn_after_it():
    redraws = SheetRedraws(interval=0.0)
    sheet = Sheet()
    sheet.release.clear()
    sheet.stored = 1
    redraws.request((1, 10), sheet.draw)
    await sheet.drawing.wait()
    sheet.stored = 2  # a second referent's tap lands while the first draw is on its way
    redraws.request((1, 10), sheet.draw)
    sheet.release.set()
    await redraws.settled()
    assert (sheet.shown, sheet.draws) == (2, 2)
    await redraws.close()


async def test_two_messages_are_drawn_independently():
    redraws = SheetRedraws(interval=0.05)
    mine, theirs = Sheet(), Sheet()
    mine.stored, theirs.stored = 5, 7
    redraws.request((1, 10), mine.draw)
    redraws.request((2, 20), theirs.draw)
    await redraws.settled()
    assert (mine.shown, theirs.shown) == (5, 7)
    await redraws.close()


async def test_hold_drops_a_pending_draw_so_it_cannot_cover_the_guest_list():
    redraws = SheetRedraws(interval=0.2)
    sheet = Sheet()
    redraws.request((1, 10), sheet.draw)
    await redraws.settled()
    sheet.stored = 9
    redraws.request((1, 10), sheet.draw)  # waits for the interval
    await redraws.hold((1, 10))
    await asyncio.sleep(0.3)
    assert (sheet.shown, sheet.draws) == (0, 1)
    await redraws.close()


async def test_a_failing_draw_is_logged_and_the_next_one_still_runs(caplog):
    redraws = SheetRedraws(interval=0.0)
    sheet = Sheet()

    async def broken() -> None:
        raise RuntimeError("Telegram said no")

    redraws.request((1, 10), broken)
    await redraws.settled()
    sheet.stored = 3
    redraws.request((1, 10), sheet.draw)
    await redraws.settled()
    assert sheet.shown == 3
    assert "sheet redraw failed" in caplog.text
    await redraws.close()
