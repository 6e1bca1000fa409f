"""A nurse signs in to the real console in a real browser (Debian's Chromium driven by Playwright)
and resolves an urgent handoff."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console_server import STAFF_PASSWORD, console_env, create_staff, running_console
from tests.handoff_samples import PATIENT_NAMES, SCRIPT_PROBE, fresh_store, sample_handoff

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium; `make browser`)"
)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'handoffs.db'}"
    env = console_env(url)
    create_staff(env, "nurse.dee")
    with running_console(env, "console_browser.log") as base:
        store = fresh_store(url)
        yield base, store
        store.dispose()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.dialogs = dialogs
        yield page
        browser.close()


def test_a_nurse_signs_in_and_resolves_an_urgent_handoff(console, page):
    from playwright.sync_api import expect

    base, store = console
    routine = store.create_handoff(sample_handoff(0))[0]["reference"]
    urgent = store.create_handoff(
        sample_handoff(
            2,
            kind="urgent",
            urgency="urgent",
            reason=SCRIPT_PROBE,
            red_flags=[{"severity": "urgent", "phrase": "numb and swollen", "at": "2025-01-06T15:00:00+00:00"}],
        )
    )[0]["reference"]

    page.goto(base + "/")
    expect(page).to_have_url(f"{base}/login?next=/")
    page.get_by_label("Name").fill("nurse.dee")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("don't match")

    page.get_by_label("Name").fill("nurse.dee")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Open handoffs")).to_be_visible()

    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-reference", urgent)
    expect(rows.first).to_contain_text("⚠ URGENT")
    expect(rows.nth(1)).to_have_attribute("data-reference", routine)

    page.get_by_role("link", name=urgent).click()
    expect(page.locator("#reason")).to_have_text(SCRIPT_PROBE)  # shown as text, never run
    expect(page.get_by_text("numb and swollen")).to_be_visible()
    expect(page.get_by_text(PATIENT_NAMES[2])).to_be_visible()

    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("status")).to_have_text("You have claimed this handoff.")
    expect(page.locator("#status")).to_contain_text("claimed by nurse.dee")

    page.get_by_label("Outcome").select_option("sent_to_emergency")
    page.get_by_label("Notes").fill("Advised urgent care visit today.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_have_text("Handoff resolved.")
    expect(page.locator("#status")).to_contain_text("resolved")

    page.get_by_role("navigation").get_by_role("link", name="Open handoffs").click()
    expect(rows).to_have_count(1)
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit")).to_contain_text("resolved")

    assert page.dialogs == [], "a patient's text ran as script"
    handoff = store.get_handoff(urgent)
    assert handoff["status"] == "resolved" and handoff["resolved_by"] == "nurse.dee"
    assert handoff["outcome"] == "sent_to_emergency"

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{base}/handoffs/{urgent}")
    expect(page).to_have_url(f"{base}/login?next=/handoffs/{urgent}")
