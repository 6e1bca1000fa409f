"""The review and analytics pages in a real browser (Debian's Chromium, Playwright, axe-core), and the
widget's "Was this helpful?" row with the keyboard against the real bot."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections import Counter
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from clinic.handoff.review_store import ReviewStore
from clinic.handoff.store import HandoffStore
from tests.conftest import ARTIFACTS, ROOT, VENV_BIN
from tests.console_server import STAFF_PASSWORD, console_env, create_staff, running_console
from tests.handoff_samples import clinic_today
from tests.review_samples import RECORDED_NAME, RECORDED_PHONE, TrackerDb, recorded_events
from tests.test_widget_browser import (  # noqa: F401  (fixtures)
    AXE,
    BOT_WAIT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    demo_site,
    open_by_keyboard,
    open_page,
    press_until_focused,
    real_site,
    serious_violations,
    stored,
    wait_until_idle,
)

pytestmark = pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm ci; make test does it)")


@pytest.fixture(scope="module")
def browser():
    """This module's own Chromium, closed when its tests are done: Playwright's sync API allows one
    running instance at a time, and tests/test_widget_browser.py starts its own after this one."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """A console whose database the collector filled from a recorded conversation (one that typed a
    name and a phone number), plus handoffs and counts for the analytics page."""
    folder = tmp_path_factory.mktemp("review-browser")
    database = f"sqlite:///{folder / 'clinic.db'}"
    tracker = TrackerDb(folder / "trackers.db")
    tracker.add("web-browser-1", recorded_events())
    env = console_env(database)
    collected = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "clinic.handoff.collector", "--once", "--tracker-store", tracker.url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert collected.returncode == 0, collected.stderr[-2000:]
    create_staff(env, "rev.rita")
    create_staff(env, "nurse.ned")
    store = HandoffStore(database)
    store.grant_role("rev.rita", "reviewer")
    review = ReviewStore(store)
    today = clinic_today()
    review.add_counts(
        Counter(
            {
                (today - timedelta(days=d), metric, key): n
                for d in range(10)
                for metric, key, n in (
                    ("conversations", "", 20 + d),
                    ("messages", "", 70 + 3 * d),
                    ("outcome", "answered", 30),
                    ("outcome", "asked_back", 5),
                    ("outcome", "deflected", 4),
                    ("topic", "risks", 6),
                    ("topic", "onset", 3),
                    ("red_flag", "urgent", d % 2),
                    ("feedback_yes", "risks", 2),
                    ("feedback_no", "onset", 1),
                )
            }
        )
    )
    with running_console(env, "review_console_browser.log") as base:
        yield base, store
    store.dispose()


def sign_in(page, base, user):
    page.goto(base + "/login")
    page.get_by_label("Name").fill(user)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def console_pages(browser):
    """New tabs on the console: strict ones keep its Content-Security-Policy (so a page that needs
    more than it allows fails), others let axe-core in (the console allows no injected script)."""
    contexts = []

    def make(strict: bool = False):
        context = browser.new_context(viewport=DESKTOP, bypass_csp=not strict)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.csp_errors = []
        page.errors = []
        page.on("console", lambda m: page.csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()


def test_a_reviewer_decides_a_group_with_the_keyboard(console, console_pages):
    base, store = console
    page = console_pages()
    sign_in(page, base, "rev.rita")
    page.get_by_role("navigation").get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name=re.compile("Review queue"))).to_be_visible()
    groups = page.locator("li.group")
    expect(groups.first).to_be_visible()
    count = groups.count()
    assert count >= 3  # deflected, asked back, the give-up and the question after the form
    body = page.locator("main").inner_text()
    assert "how much does it cost" in body and "where do I park?" in body
    # What the patient typed into the form, and the name they wrote into a question, are not here.
    assert RECORDED_NAME.split()[0] not in body and "555" not in body and RECORDED_PHONE not in body
    assert serious_violations(page) == []

    # Keyboard only: to the first group's decision, choose "Needs a new answer", apply.
    first = groups.first.get_attribute("data-group")
    press_until_focused(page, f"#decision-{first}", limit=60)
    page.keyboard.press("End")  # the last choice: Needs a new answer
    expect(page.locator(f"#decision-{first}")).to_have_value("needs_answer")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Apply to the group"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(groups).to_have_count(count - 1)
    assert store.audit_log(limit=1)[0]["action"] == "review_decided"

    page.get_by_role("link", name=re.compile("need a new answer")).first.click()
    expect(page.get_by_role("heading", name=re.compile("Questions that need a new answer"))).to_be_visible()
    assert serious_violations(page) == []

    page.goto(base + "/review")
    groups.first.get_by_role("link", name=re.compile("Open the group")).click()
    expect(page.locator("table.items")).to_be_visible()
    assert serious_violations(page) == []
    assert page.errors == [] and page.csp_errors == []


def test_a_nurse_reads_the_analytics_page_as_charts_and_tables(console, console_pages):
    base, _store = console
    # Under the page's own policy, the charts draw and nothing is refused.
    strict = console_pages(strict=True)
    sign_in(strict, base, "nurse.ned")
    strict.goto(base + "/analytics")
    expect(strict.locator("figure[data-chart] .canvas-box:not([hidden])").first).to_be_visible()
    assert strict.csp_errors == [] and strict.errors == [], strict.csp_errors + strict.errors

    page = console_pages()
    sign_in(page, base, "nurse.ned")
    expect(page.get_by_role("navigation").get_by_role("link", name="Review")).to_have_count(0)
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    charts = page.locator("figure[data-chart] canvas")
    expect(charts).to_have_count(7)
    drawn = page.locator("figure[data-chart] .canvas-box:not([hidden])")
    expect(drawn.first).to_be_visible()
    assert drawn.count() >= 6  # feedback, timing or handoffs may be empty, the rest are drawn
    # The tables stay in the page for screen readers, and a button shows them.
    table = page.locator("#activity-table")
    expect(table).to_have_count(1)
    assert page.get_by_role("table", name=re.compile("Conversations and messages per day")).count() == 1
    toggle = page.locator("#activity-title ~ figure .show-table")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(table).to_be_visible()
    assert serious_violations(page) == []

    # A date range, and the CSV of the same figures.
    page.get_by_label("From", exact=True).fill((clinic_today() - timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Show these dates").click()
    expect(page.locator("#activity-table tbody tr")).to_have_count(3)
    csv = page.request.get(base + page.get_by_role("link", name=re.compile("CSV")).get_attribute("href"))
    assert csv.ok and csv.text().startswith("chart,row,series,value")
    assert page.errors == [] and page.csp_errors == [], page.csp_errors
    page.screenshot(path=str(ARTIFACTS / "console-analytics.png"), full_page=True)


def test_the_widget_feedback_row_works_with_the_keyboard(real_site, rasa_server, open_page):
    # bypass_csp lets axe's own script in; the widget ran under the demo page's policy in
    # tests/test_widget_browser.py, and the feedback goes to the bot's origin, which it allows.
    page = open_page(real_site, viewport=PHONE, bypass_csp=True)
    open_by_keyboard(page)
    wait_until_idle(page)
    page.keyboard.type("how long does the relief last?")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    row = page.locator(".tpi-feedback").last
    expect(row).to_have_attribute("role", "group")
    expect(row.get_by_role("button", name="No")).to_be_visible()
    assert serious_violations(page) == []

    press_until_focused(page, ".tpi-fb-no", key="Shift+Tab", limit=20)
    page.keyboard.press("Enter")
    thanks = row.locator(".tpi-feedback-done")
    expect(thanks).to_contain_text("Thank you")
    assert page.evaluate("document.activeElement.classList.contains('tpi-feedback-done')")
    sender = stored(page, rasa_server)["sender"]
    with urllib.request.urlopen(f"{rasa_server}/conversations/{sender}/tracker", timeout=30) as response:
        events = json.loads(response.read())["events"]
    votes = [e["data"]["tpi_feedback"] for e in events if e["event"] == "agent"]
    assert len(votes) == 1 and votes[0]["helpful"] is False and votes[0]["topic"] == "duration"

    # A reload keeps the answer's thanks instead of asking again; the conversation goes on.
    page.reload()
    page.get_by_role("dialog").wait_for()
    expect(page.locator(".tpi-feedback").last.locator(".tpi-feedback-done")).to_be_visible()
    page.get_by_label("Your message").fill("does the needle hurt?")
    page.get_by_label("Your message").press("Enter")
    wait_until_idle(page)
    expect(page.locator(".tpi-feedback")).to_have_count(2, timeout=BOT_WAIT_MS)
    assert page.alerts == [] and page.errors == []
