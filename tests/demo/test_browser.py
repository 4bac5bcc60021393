"""The demo page in a real browser (Debian's chromium, driven by Playwright for Python).

A week of the programme in a few clicks, in the order people act: a newcomer enrols in
Arabic through an invite link, answers the reminder, the referent marks the sheet, the
newcomer answers the feedback face, the team lead downloads the report. Each step leaves
a screenshot in ``$ACTIVUP_SCREENSHOTS/<test name>/`` (default: the test's tmp folder).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.demo.conftest import RunningDemo, chromium_unavailable_reason

REASON = chromium_unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]
TIMEOUT_MS = 15_000


@pytest.fixture
def page(demo: RunningDemo) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS, headless=True
        )
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, accept_downloads=True, locale="fr-BE"
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(demo.url)
        page.wait_for_selector("body[data-ready='1']")
        yield page
        context.close()
        browser.close()
    log = demo.log()
    assert "Traceback" not in log and "ERROR" not in log, log


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    root = Path(os.environ.get("ACTIVUP_SCREENSHOTS") or tmp_path / "screenshots")
    folder = root / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _phone(page: Any, index: int) -> Any:
    return page.locator(f".phone[data-phone='{index}']")


def _last_bot_bubble(phone: Any) -> Any:
    return phone.locator(".bubble.bot").last


def _tap(phone: Any, label: str) -> None:
    phone.locator(".bubble .inline-keyboard button", has_text=label).last.click()


def test_a_week_of_the_programme_in_the_browser(page: Any, screenshots: Path):
    step = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=str(screenshots / f"{next(step):02d}-{name}.png"))

    newcomer, referent, lead = _phone(page, 0), _phone(page, 1), _phone(page, 2)
    shot("opened")

    # A newcomer opens the referent's invite link on a new phone set to Arabic.
    newcomer.locator("select.account").select_option("new")
    form = newcomer.locator("form.new-participant")
    form.locator("input[name=name]").fill("Salma B.")
    group = form.locator("select[name=group] option", has_text="FLE Charleroi-Nord")
    form.locator("select[name=group]").select_option(group.get_attribute("value"))
    form.locator("select[name=language]").select_option("ar")
    form.get_by_role("button", name="Ouvrir le lien d'invitation").click()
    picker = newcomer.locator(".bubble.bot .inline-keyboard button").first
    picker.wait_for()
    assert "العربية" in picker.inner_text(), "the app's language is offered first"
    shot("invite-opened")
    picker.click()
    consent = newcomer.locator(".bubble.bot", has_text="/mydata").last
    consent.wait_for()
    assert consent.get_attribute("dir") == "rtl"
    consent.locator(".inline-keyboard button").first.click()
    newcomer.locator(".bubble.bot", has_text="FLE Charleroi-Nord").last.wait_for()
    shot("enrolled-in-arabic")

    # The clock moves to her reminder; she taps ✅.
    page.get_by_role("button", name="Prochain rappel").click()
    reminder = newcomer.locator(".bubble.bot", has_text="Atelier de français").last
    reminder.wait_for()
    assert reminder.get_attribute("dir") == "rtl"
    pin = newcomer.locator(".bubble.bot", has=page.locator(".venue")).last
    pin.wait_for()
    assert "Maison des associations" in pin.inner_text(), "the place comes as a map pin"
    pin.locator(".inline-keyboard button", has_text="✅").click()
    newcomer.locator(".toast").wait_for(state="visible")
    shot("reminder-answered")

    # The referent, an hour before the workshop, opens /today and marks the sheet.
    referent.locator("select.account").select_option("1002")
    referent.locator(".compose input").click()
    page.get_by_role("button", name="+1 heure").click()
    referent.locator(".compose input").fill("/today")
    referent.locator(".compose input").press("Enter")
    today = referent.locator(".bubble.bot", has_text="Vos séances d'aujourd'hui").last
    today.wait_for()
    today.locator(".inline-keyboard button").first.click()
    sheet = referent.locator(".bubble.bot", has_text="Présents").last
    sheet.wait_for()
    sheet.locator(".inline-keyboard button", has_text="Salma B.").click()
    sheet.locator(".inline-keyboard button", has_text="Les autres absents").click()
    sheet.locator(".inline-keyboard button", has_text="❌ Amina K.").wait_for()
    assert "Présents : 1 sur 4" in sheet.inner_text()
    shot("sheet-marked")

    # Past the end of the workshop: the newcomer is asked how it was, and answers.
    page.get_by_role("button", name="Après la séance").click()
    question = newcomer.locator(".bubble.bot", has_text="💬").last
    question.wait_for()
    assert question.get_attribute("dir") == "rtl"
    question.locator(".inline-keyboard button", has_text="😀").click()
    newcomer.locator(".inline-keyboard button", has_text="✏️").wait_for()
    # Asked for a comment, she records a voice note instead of writing.
    newcomer.locator(".compose .voice").click()
    voice = newcomer.locator(".bubble.me audio").last
    voice.wait_for(state="attached")
    played = page.request.get(page.url.rstrip("/") + voice.get_attribute("src"))
    assert played.ok and played.headers["content-type"].startswith("audio/")
    shot("feedback-given")

    # The team lead asks for the report and downloads the workbook.
    lead.locator(".compose input").fill("/report")
    lead.locator(".compose input").press("Enter")
    document = lead.locator(".bubble.bot .document").last
    document.wait_for()
    lead.locator(".bubble.bot img").last.wait_for()
    shot("report-received")
    with page.expect_download() as download_info:
        document.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    content = Path(download.path()).read_bytes()

    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content))
    cells = [
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]
    assert any("INSERTION" in cell for cell in cells), cells[:40]


def test_a_referents_invite_link_opens_on_a_new_phone(page: Any, screenshots: Path):
    referent = _phone(page, 1)
    referent.locator(".compose input").fill("/invite")
    referent.locator(".compose input").press("Enter")
    _tap(referent, "FLE Charleroi-Nord")
    referent.locator(".bubble.bot", has_text="Prénom").last.wait_for()
    referent.locator(".compose input").fill("Tesfay A.")
    referent.locator(".compose input").press("Enter")
    qr = referent.locator(".bubble.bot img").last
    qr.wait_for()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code is an image"
    link = referent.locator("a.invite-link").last
    link.wait_for()
    page.screenshot(path=str(screenshots / "invite-with-qr.png"))
    link.click()
    newcomer = _phone(page, 0)
    newcomer.locator(".bubble.bot .inline-keyboard button", has_text="Français").wait_for()
    assert newcomer.locator(".bubble.me").first.inner_text().startswith("/start ")


def test_right_to_left_bubbles_run_right_to_left(page: Any, screenshots: Path):
    # The seeded Arabic participant's chat, once a reminder has come.
    page.get_by_role("button", name="Prochain rappel").click()
    amina = _phone(page, 0)
    reminder = amina.locator(".bubble.bot", has_text="Atelier de français").last
    reminder.wait_for()
    assert reminder.get_attribute("dir") == "rtl"
    # A translator switches Fatou, who reads French, to Pashto: her reminder comes in Pashto.
    fatou = _phone(page, 2)
    fatou.locator("select.account").select_option("2004")
    fatou.locator("select.language").select_option("ps")
    fatou.locator(".compose input").click()
    page.get_by_role("button", name="Prochain rappel").click()
    pashto = fatou.locator(".bubble.bot", has_text="Animation à la maison de repos").last
    pashto.wait_for()
    assert pashto.get_attribute("dir") == "rtl"
    assert "Vous venez" not in pashto.inner_text()
    page.get_by_role("button", name="Messages clés").click()
    directions = {}
    for language in ("ar", "fa_AF", "ps", "fr"):
        page.locator("#key-language").select_option(language)
        page.locator(f"#key-list[data-language='{language}'] .bubble").nth(5).wait_for()
        directions[language] = page.locator("#key-list .bubble").evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('dir'))"
        )
    page.screenshot(path=str(screenshots / "key-messages-ps.png"))
    for language in ("ar", "fa_AF", "ps"):
        reminder_dir, shared_dir = directions[language][:2]
        assert (reminder_dir, shared_dir) == ("rtl", "rtl"), (language, directions[language])
    assert set(directions["fr"]) == {"ltr"}
